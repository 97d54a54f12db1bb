-- API keys and second factors. A key is kept only as its SHA-256; every request with one is
-- a probe of the unique index on the hash joined to its account, so a revoked key (a deleted
-- row) or a deleted account stops working on every replica at once.
ALTER TABLE account_events DROP CONSTRAINT account_events_kind_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_kind_check
    CHECK (kind IN ('created', 'password_changed', 'password_reset', 'deleted',
                    'totp_enabled', 'totp_disabled', 'totp_reset',
                    'api_key_created', 'api_key_revoked'));

CREATE TABLE api_keys (
    id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id),
    name         TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    scope        TEXT        NOT NULL CHECK (scope IN ('read', 'write')),
    key_hash     BYTEA       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
COMMENT ON TABLE api_keys IS 'Integration keys acting as their account; key_hash is the SHA-256 of crm_<hex>, the key itself is nowhere.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Written at most once a minute per key (crm-core KEY_USE_RESOLUTION).';
CREATE INDEX api_keys_user_idx ON api_keys (user_id, id);

-- The second factor: the secret codes are checked against (needed in the clear to compute
-- them), a setup's secret until a code confirms it, and the last time step a code was
-- accepted for, which settles replays on any replica with one compare-and-set.
ALTER TABLE users
    ADD COLUMN totp_secret    BYTEA,
    ADD COLUMN totp_pending   BYTEA,
    ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
COMMENT ON COLUMN users.totp_secret IS 'RFC 6238 secret while two-factor sign-in is on; NULL when off.';

CREATE TABLE totp_recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id),
    code_hash BYTEA  NOT NULL CHECK (octet_length(code_hash) = 32),
    PRIMARY KEY (user_id, code_hash)
);
COMMENT ON TABLE totp_recovery_codes IS 'Unused recovery codes as SHA-256; a use deletes the row.';

-- Revoking a key and turning the second factor on or off are account events, whose trigger
-- already wakes every replica's listeners (open streams re-check their session).
