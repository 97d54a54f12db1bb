-- Accounts: passwords that change and are reset, sessions that end, and their audit trail.

ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
COMMENT ON COLUMN users.must_change_password IS 'Still on a documented default password, or reset by an admin.';

-- The account audit trail. Append-only like ticket_events.
CREATE TABLE account_events (
    id       BIGSERIAL   PRIMARY KEY,
    user_id  BIGINT      NOT NULL REFERENCES users (id),
    at       TIMESTAMPTZ NOT NULL,
    kind     TEXT        NOT NULL
        CHECK (kind IN ('created', 'password_changed', 'password_reset', 'deleted')),
    actor_id BIGINT      REFERENCES users (id)
);
COMMENT ON TABLE account_events IS 'Immutable account history: creation, password changes and resets, deletion.';
CREATE INDEX account_events_user_idx ON account_events (user_id, id);
COMMENT ON INDEX account_events_user_idx IS 'An account''s history, oldest first.';
CREATE TRIGGER account_events_append_only BEFORE UPDATE OR DELETE ON account_events
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_append_only();

-- Every account that exists already was created: give it its first event.
INSERT INTO account_events (user_id, at, kind)
SELECT id, created_at, 'created' FROM users ORDER BY id;
INSERT INTO account_events (user_id, at, kind)
SELECT id, coalesce(deactivated_at, created_at), 'deleted' FROM users WHERE NOT active ORDER BY id;

-- Signed-out tokens, kept until they would have expired anyway.
CREATE TABLE revoked_tokens (
    token_id   TEXT        PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    expires_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE revoked_tokens IS 'Tokens signed out before their expiry; rows past expires_at are deleted.';
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
COMMENT ON INDEX revoked_tokens_expires_idx IS 'Forgetting revocations of tokens that have expired.';
