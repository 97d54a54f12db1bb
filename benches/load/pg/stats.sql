-- GET /tickets/stats as admin.
-- The statements the server sends for it, as they appear in PostgreSQL's log (log_statement = all).
SELECT id, username, role, created_at, active, password_hash, session_key, must_change_password, available, EXISTS ( SELECT 1 FROM revoked_tokens WHERE token_id = :jti AND user_id = :uid) AS revoked FROM users WHERE id = :uid;
SELECT status, sum(n)::bigint AS n, sum(resolution_micros)::float8 AS resolution_micros FROM ticket_totals WHERE (NULL::bigint IS NULL OR worker_id = NULL::bigint) GROUP BY status;
