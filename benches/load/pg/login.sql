-- POST /auth/login as one of 50 workers: the attempt reserved in the throttle, the account, and (after the argon2 check, the server's own work) the reservation forgotten.
-- The statements the server sends for it, as they appear in PostgreSQL's log (log_statement = all).
\set k random(0, 49)
SELECT failures, last_failure, locked_until FROM login_throttle WHERE username_key = 'worker' || :k;
INSERT INTO login_throttle (username_key, failures, last_failure, locked_until) VALUES ('worker' || :k, 1, now(), NULL) ON CONFLICT (username_key) DO NOTHING;
SELECT id, username, role, created_at, active, password_hash, session_key, must_change_password, available FROM users WHERE lower(username) = 'worker' || :k AND active;
DELETE FROM login_throttle WHERE username_key = 'worker' || :k;
