-- POST /auth/login as one of 50 workers: the throttle and the account (the argon2 check that follows is the server's own work).
-- The statements the server sends for it, as they appear in PostgreSQL's log (log_statement = all).
\set k random(0, 49)
SELECT failures, last_failure, locked_until FROM login_throttle WHERE username_key = 'worker' || :k;
SELECT id, username, role, created_at, active, password_hash, session_key, must_change_password, available FROM users WHERE lower(username) = 'worker' || :k AND active;
