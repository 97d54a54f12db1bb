-- Second stage: sessions that can be ended, sign-in throttling, and a place for the
-- application's own data migrations.

-- Every token carries its account's session key and is refused once the key changes (a new
-- password), or when the account is not the one the token was issued for.
ALTER TABLE users ADD COLUMN session_key BIGINT NOT NULL
    DEFAULT ((random() * 9.2e18)::bigint);
COMMENT ON COLUMN users.session_key IS 'Random key every token of the account carries; redrawn to end older tokens.';

-- Failed sign-ins per lower-cased username (existing or not), shared by every replica.
CREATE TABLE login_throttle (
    username_key TEXT        PRIMARY KEY,
    failures     INT         NOT NULL,
    last_failure TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);
COMMENT ON TABLE login_throttle IS 'Sign-in failures per username and the lock they earned; a success deletes the row.';

-- Versions of data migrations that run in the application (such as refolding titles when the
-- case folding changes), so each runs once whatever replica starts first.
CREATE TABLE store_meta (
    key   TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
COMMENT ON TABLE store_meta IS 'Versions of the data migrations the application itself runs.';

CREATE INDEX login_throttle_last_failure_idx ON login_throttle (last_failure);
COMMENT ON INDEX login_throttle_last_failure_idx IS 'Sweeping usernames whose failures are too old to count.';
