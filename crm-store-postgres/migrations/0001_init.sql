-- repair-crm schema. Every invariant that concurrency could break is enforced here, by a
-- constraint or an index, never by a check in application code.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Staff accounts. Deleting a user deactivates it: the row stays so history and statistics
-- keep their worker.
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT        NOT NULL,
    password_hash  TEXT        NOT NULL,
    role           TEXT        NOT NULL CHECK (role IN ('admin', 'worker')),
    active         BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL,
    deactivated_at TIMESTAMPTZ
);
COMMENT ON TABLE users IS 'Staff accounts (admins and workers); deleted accounts stay, inactive.';

-- Usernames are unique among active users, case-insensitively; a deleted user's name is free.
CREATE UNIQUE INDEX users_active_username_key ON users (lower(username)) WHERE active;
COMMENT ON INDEX users_active_username_key IS 'Username uniqueness among active accounts (case-insensitive).';

-- Customers, identified by their lower-cased, trimmed e-mail; never updated by later requests.
CREATE TABLE clients (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT        NOT NULL,
    email      TEXT        NOT NULL,
    email_key  TEXT        NOT NULL,
    phone      TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE clients IS 'Customers; created by their first request, found by e-mail afterwards.';
CREATE UNIQUE INDEX clients_email_key_key ON clients (email_key);
COMMENT ON INDEX clients_email_key_key IS 'One client per normalised e-mail, even under racing first requests.';

-- Repair requests.
CREATE TABLE tickets (
    id             BIGSERIAL PRIMARY KEY,
    title          TEXT        NOT NULL,
    -- The title case-folded by the application, so search means the same on every backend
    -- whatever the database's locale.
    title_folded   TEXT        NOT NULL,
    description    TEXT        NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('new', 'in_progress', 'done')),
    viewed         BOOLEAN     NOT NULL DEFAULT FALSE,
    client_id      BIGINT      NOT NULL REFERENCES clients (id),
    worker_id      BIGINT      REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    assigned_at    TIMESTAMPTZ,
    in_progress_at TIMESTAMPTZ,
    done_at        TIMESTAMPTZ,
    requester_ip   TEXT,
    requester_ua   TEXT,
    tracking_code  TEXT        NOT NULL,
    -- A ticket in progress or done has (or had, when done) a worker.
    CONSTRAINT tickets_started_has_worker CHECK (status = 'new' OR worker_id IS NOT NULL)
);
COMMENT ON TABLE tickets IS 'Repair requests with a timestamp for every step.';

CREATE UNIQUE INDEX tickets_tracking_code_key ON tickets (tracking_code);
COMMENT ON INDEX tickets_tracking_code_key IS 'Lookup of the public progress view; codes are unique.';

-- Duplicate detection: one open ticket per (client e-mail, title, description). Hashes keep
-- the key small (descriptions reach 5000 characters, beyond a btree entry's limit).
CREATE UNIQUE INDEX tickets_open_dedup_key
    ON tickets (client_id, md5(title), md5(description))
    WHERE status <> 'done';
COMMENT ON INDEX tickets_open_dedup_key IS 'Rejects an identical request while the earlier one is not done.';

-- Newest-first lists: unfiltered, by status, by worker, by worker and status.
CREATE INDEX tickets_order_idx ON tickets (created_at DESC, id DESC);
COMMENT ON INDEX tickets_order_idx IS 'Unfiltered list order (newest first) and deep pages.';
CREATE INDEX tickets_status_order_idx ON tickets (status, created_at DESC, id DESC);
COMMENT ON INDEX tickets_status_order_idx IS 'Lists filtered by status.';
CREATE INDEX tickets_worker_order_idx ON tickets (worker_id, created_at DESC, id DESC)
    WHERE worker_id IS NOT NULL;
COMMENT ON INDEX tickets_worker_order_idx IS 'A worker''s own list and the admin worker filter; releasing a worker''s tickets.';
CREATE INDEX tickets_worker_status_order_idx ON tickets (worker_id, status, created_at DESC, id DESC)
    WHERE worker_id IS NOT NULL;
COMMENT ON INDEX tickets_worker_status_order_idx IS 'Lists filtered by worker and status.';

-- Title search works on a narrow copy of what a searched list needs (id, order, filters,
-- title), kept by triggers in the same transaction as every change. Recheck of a broad match
-- then reads a small heap instead of the wide tickets table, and a count never touches it.
CREATE TABLE ticket_search (
    id         BIGINT      PRIMARY KEY REFERENCES tickets (id),
    created_at TIMESTAMPTZ NOT NULL,
    status     SMALLINT    NOT NULL, -- 0 new, 1 in_progress, 2 done
    worker_id  BIGINT,
    title      TEXT        NOT NULL -- tickets.title_folded
);
COMMENT ON TABLE ticket_search IS 'Narrow copy of tickets for title search; kept by triggers on tickets.';
CREATE INDEX ticket_search_title_trgm_idx ON ticket_search USING gin (title gin_trgm_ops);
COMMENT ON INDEX ticket_search_title_trgm_idx IS 'Case-insensitive substring search (LIKE on folded titles).';
CREATE INDEX ticket_search_order_idx ON ticket_search (created_at DESC, id DESC);
COMMENT ON INDEX ticket_search_order_idx IS 'Broad searches: walk newest first and stop after one page.';

CREATE FUNCTION status_code(s TEXT) RETURNS SMALLINT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE s WHEN 'new' THEN 0 WHEN 'in_progress' THEN 1 ELSE 2 END::smallint
$$;

CREATE FUNCTION ticket_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_search (id, created_at, status, worker_id, title)
        VALUES (NEW.id, NEW.created_at, status_code(NEW.status), NEW.worker_id, NEW.title_folded);
    ELSE
        UPDATE ticket_search SET status = status_code(NEW.status), worker_id = NEW.worker_id
        WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_sync();
CREATE TRIGGER ticket_search_update AFTER UPDATE OF status, worker_id ON tickets
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.worker_id IS DISTINCT FROM NEW.worker_id)
    EXECUTE FUNCTION ticket_search_sync();

-- The audit trail. Append-only: a trigger refuses updates and deletes.
CREATE TABLE ticket_events (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT      NOT NULL REFERENCES tickets (id),
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT        NOT NULL
        CHECK (kind IN ('submitted', 'assigned', 'released', 'status_changed', 'viewed')),
    actor_id    BIGINT      REFERENCES users (id),
    worker_id   BIGINT      REFERENCES users (id),
    from_status TEXT,
    to_status   TEXT
);
COMMENT ON TABLE ticket_events IS 'Immutable history: one event per change, written in the change''s transaction.';
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, id);
COMMENT ON INDEX ticket_events_ticket_idx IS 'A ticket''s history, oldest first.';

CREATE FUNCTION ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ticket_events is append-only';
END $$;
CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_append_only();

-- Ticket counts by (worker, status), spread over 16 shards so concurrent submissions do not
-- queue on one hot row. Lists without a search read their totals here, and statistics read
-- here, instead of counting a million rows. worker_id 0 means unassigned.
CREATE TABLE ticket_counts (
    worker_id         BIGINT  NOT NULL,
    status            TEXT    NOT NULL,
    shard             INT     NOT NULL,
    n                 BIGINT  NOT NULL,
    resolution_micros NUMERIC NOT NULL,
    PRIMARY KEY (worker_id, status, shard)
);
COMMENT ON TABLE ticket_counts IS 'Sharded running counts per worker and status, kept by statement triggers on tickets.';

-- Applies the net change of one statement, in key order so concurrent statements lock counter
-- rows in the same order and cannot deadlock.
CREATE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_counts AS c (worker_id, status, shard, n, resolution_micros)
        SELECT coalesce(worker_id, 0), status, (id % 16)::int, count(*), 0
        FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (worker_id, status, shard)
        DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO ticket_counts AS c (worker_id, status, shard, n, resolution_micros)
        SELECT w, s, sh, sum(d), sum(r) FROM (
            SELECT coalesce(worker_id, 0) AS w, status AS s, (id % 16)::int AS sh, -1 AS d,
                   -coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0) AS r
            FROM old_rows
            UNION ALL
            SELECT coalesce(worker_id, 0), status, (id % 16)::int, 1,
                   coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0)
            FROM new_rows
        ) delta
        GROUP BY w, s, sh
        HAVING sum(d) <> 0 OR sum(r) <> 0
        ORDER BY w, s, sh
        ON CONFLICT (worker_id, status, shard)
        DO UPDATE SET n = c.n + excluded.n,
                      resolution_micros = c.resolution_micros + excluded.resolution_micros;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_counts_insert AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_counts_apply();
CREATE TRIGGER ticket_counts_update AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_counts_apply();
