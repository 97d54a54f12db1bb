-- Writes without a global lock: events get their positions after they commit, counters are
-- appended instead of updated, and no write NOTIFYs. Before this, every writing transaction
-- locked the one event_order row, one of 16 counter rows and PostgreSQL's notification queue
-- until its commit had been flushed, so writes on every replica ran one commit at a time.
--
-- ## How events get their positions
--
-- A writing transaction inserts its events (ids from the identity sequence, which never
-- waits; each row records its transaction's id in `xid`). Nothing else: it takes no lock
-- another ticket's write needs. After commit, a sequencer (`crm_sequence` below, called by
-- crm-store-postgres `PgStore::sequence` from the live hub of any replica) does, in one
-- transaction:
--
--   1. pg_advisory_xact_lock(SEQUENCER_LOCK): one sequencer at a time, on every replica;
--      the lock ends with the transaction, so a sequencer whose connection dies (a replica
--      killed mid-way) rolls back and releases it;
--   2. in one statement (one snapshot, taken after the lock was granted: plpgsql takes a new
--      one for each statement): find the committed events it can see that have no position,
--      in id order, and insert them into event_positions with the positions that follow the
--      largest one given so far, in that order;
--   3. NOTIFY crm_events when it positioned any (one notification per batch, not per write);
--   4. remember the oldest transaction still running in that snapshot (`low_xid`): every
--      event of an older transaction was then either visible, and is now positioned, or
--      rolled back, so later sequencers look only at events of that transaction or newer
--      (an index range of the latest events, not the whole table);
--   5. commit.
--
-- Why this is the contract of SPEC "Live updates":
--
-- * Positive, never repeated, never backwards: positions are given only by the sequencer,
--   which holds the lock, reads the largest position given so far after it got the lock (so
--   it sees every earlier sequencer's commit), and takes consecutive numbers after it. A
--   sequencer that rolls back gives nothing, and the next takes the same numbers: no holes.
-- * "Every event after n" is complete and in order: sequencers commit one after another,
--   each adding positions above all earlier ones, so any reader's snapshot holds exactly
--   the positions 1..m for some m. A reader that saw n and reads again sees n+1.. and never
--   a position below n it did not see. An event whose transaction commits late simply gets
--   a later position when a sequencer finds it: commit order no longer matters.
-- * One ticket's events keep their order: every event is written by a transaction that has
--   updated (so row-locked) its ticket first, so a later event of a ticket is inserted only
--   after the earlier one's transaction committed. Its id is therefore larger, and any
--   snapshot that sees the later one sees the earlier one too; a sequencer positions what it
--   sees in id order. So positions follow each ticket's own history, which is what a
--   stream's "status after the event" and a customer's progress rely on.
-- * Rolled back events are never visible, so never positioned, and take no number.
-- * Nothing is missed by looking only at `xid >= low_xid`: an event without a position whose
--   transaction is older than low_xid would have been final when low_xid was taken, so
--   visible to that sequencer (it committed) and positioned by it. A long transaction
--   anywhere in the cluster only holds low_xid back, making the range longer, never wrong.
-- * Across replicas within a second: the replica that wrote wakes its own sequencer at once
--   (in process); every replica also runs one each second, so events committed by a replica
--   that died before sequencing are positioned by another; the sequencer's NOTIFY wakes the
--   readers of every replica.
--
-- What it costs: a stream sees an event a few milliseconds after its commit instead of at
-- it. What it buys: writers never wait for each other's commits (README's PostgreSQL load
-- benchmark, "what the old design cost").

DROP TRIGGER ticket_events_position ON ticket_events;
DROP FUNCTION ticket_events_position();
DROP TRIGGER ticket_events_notify ON ticket_events;
DROP FUNCTION ticket_events_notify();
-- The outbox rows are written by the event's own statement now, with what crm-core decided
-- (topic and e-mail per event); SQL only joins the subscribed endpoints.
DROP TRIGGER ticket_events_outbox ON ticket_events;
DROP FUNCTION ticket_events_outbox();

CREATE TABLE event_positions (
    seq           BIGINT PRIMARY KEY CHECK (seq > 0),
    event_id      BIGINT NOT NULL UNIQUE REFERENCES ticket_events (id),
    ticket_worker BIGINT,
    prev_worker   BIGINT
);
COMMENT ON TABLE event_positions IS 'The global order of events, given after commit by one sequencer at a time (see migration 0008).';
COMMENT ON COLUMN event_positions.ticket_worker IS 'The event''s ticket_worker, copied so a worker''s replay is an index range.';
COMMENT ON COLUMN event_positions.prev_worker IS 'The event''s prev_worker, copied likewise.';
INSERT INTO event_positions (seq, event_id, ticket_worker, prev_worker)
SELECT seq, id, ticket_worker, prev_worker FROM ticket_events;
CREATE INDEX event_positions_ticket_worker_idx ON event_positions (ticket_worker, seq)
    WHERE ticket_worker IS NOT NULL;
COMMENT ON INDEX event_positions_ticket_worker_idx IS 'A worker''s replay: events of tickets it has.';
CREATE INDEX event_positions_prev_worker_idx ON event_positions (prev_worker, seq)
    WHERE prev_worker IS NOT NULL;
COMMENT ON INDEX event_positions_prev_worker_idx IS 'A worker''s replay: events that took a ticket from it.';

ALTER TABLE ticket_events ADD COLUMN xid xid8 DEFAULT pg_current_xact_id();
COMMENT ON COLUMN ticket_events.xid IS 'The writing transaction, so the sequencer looks only at recent events (migration 0008).';
CREATE INDEX ticket_events_xid_idx ON ticket_events (xid);
COMMENT ON INDEX ticket_events_xid_idx IS 'The sequencer''s range: events of transactions from low_xid on.';

CREATE TABLE event_sequencer (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    low_xid   xid8    NOT NULL
);
COMMENT ON TABLE event_sequencer IS 'The oldest transaction whose events may still lack a position; written only by the sequencer.';
-- Every event so far has its position (above): nothing older than now needs looking at.
INSERT INTO event_sequencer (low_xid) VALUES (pg_snapshot_xmin(pg_current_snapshot()));

-- The outbox names its event; a delivery's position is read from event_positions, and a
-- notification is claimed only once its event has one.
ALTER TABLE outbox ADD COLUMN event_id BIGINT REFERENCES ticket_events (id),
                   ADD COLUMN snapshot JSONB;
COMMENT ON COLUMN outbox.event_id IS 'The event that caused the notification.';
COMMENT ON COLUMN outbox.snapshot IS 'The ticket (the columns of a staff ticket row) right after the event, taken in the event''s statement.';
UPDATE outbox o SET event_id = e.id FROM ticket_events e WHERE e.seq = o.seq;
ALTER TABLE outbox ALTER COLUMN event_id SET NOT NULL, DROP COLUMN seq;
CREATE INDEX outbox_event_idx ON outbox (event_id);
COMMENT ON INDEX outbox_event_idx IS 'Finding a delivery''s event.';
-- Topic and e-mail names are crm-core's (notify::Topic, notify::MailKind): not spelled again here.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_topics_check,
    ADD CONSTRAINT webhook_endpoints_topics_check CHECK (cardinality(topics) >= 1);
ALTER TABLE outbox DROP CONSTRAINT outbox_mail_kind_check;

DROP INDEX ticket_events_assigned_idx;
CREATE INDEX ticket_events_assigned_idx ON ticket_events (worker_id, id) WHERE kind = 'assigned';
COMMENT ON INDEX ticket_events_assigned_idx IS 'A worker''s latest assignment (least_open ties).';
DROP INDEX ticket_events_seq_key;
ALTER TABLE ticket_events DROP COLUMN seq;
DROP TABLE event_order;

-- Counters: each statement appends its net change to ticket_count_deltas, which nothing
-- else writes to but the sequencer's fold into ticket_counts; so no two writes ever update
-- the same counter row. Readers add both (ticket_totals).
CREATE TABLE ticket_count_deltas (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id         BIGINT  NOT NULL,
    status            TEXT    NOT NULL,
    n                 BIGINT  NOT NULL,
    resolution_micros NUMERIC NOT NULL
);
COMMENT ON TABLE ticket_count_deltas IS 'Net counter changes appended by each statement on tickets; folded into ticket_counts every moment.';

WITH folded AS (DELETE FROM ticket_counts RETURNING *)
INSERT INTO ticket_count_deltas (worker_id, status, n, resolution_micros)
SELECT worker_id, status, sum(n), sum(resolution_micros) FROM folded GROUP BY 1, 2;
ALTER TABLE ticket_counts DROP CONSTRAINT ticket_counts_pkey, DROP COLUMN shard,
    ADD PRIMARY KEY (worker_id, status);
COMMENT ON TABLE ticket_counts IS 'Counts per worker and status as last folded; add ticket_count_deltas (see ticket_totals).';
INSERT INTO ticket_counts (worker_id, status, n, resolution_micros)
SELECT worker_id, status, sum(n), sum(resolution_micros) FROM ticket_count_deltas GROUP BY 1, 2;
DELETE FROM ticket_count_deltas;

CREATE VIEW ticket_totals AS
    SELECT worker_id, status, n, resolution_micros FROM ticket_counts
    UNION ALL
    SELECT worker_id, status, n, resolution_micros FROM ticket_count_deltas;
COMMENT ON VIEW ticket_totals IS 'Ticket counts per worker and status: the folded counts plus the changes since.';

CREATE OR REPLACE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_count_deltas (worker_id, status, n, resolution_micros)
        SELECT coalesce(worker_id, 0), status, count(*), 0 FROM new_rows GROUP BY 1, 2;
    ELSE
        INSERT INTO ticket_count_deltas (worker_id, status, n, resolution_micros)
        SELECT w, s, sum(d), sum(r) FROM (
            SELECT coalesce(worker_id, 0) AS w, status AS s, -1 AS d,
                   -coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0) AS r
            FROM old_rows
            UNION ALL
            SELECT coalesce(worker_id, 0), status, 1,
                   coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0)
            FROM new_rows
        ) delta
        GROUP BY w, s
        HAVING sum(d) <> 0 OR sum(r) <> 0;
    END IF;
    RETURN NULL;
END $$;

-- The search copy keeps the status as the tickets table spells it (crm-core's names), not a
-- number of its own.
DROP TRIGGER ticket_search_update ON tickets;
ALTER TABLE ticket_search ALTER COLUMN status TYPE TEXT USING
    (CASE status WHEN 0 THEN 'new' WHEN 1 THEN 'in_progress' ELSE 'done' END);
ALTER TABLE ticket_search ADD CONSTRAINT ticket_search_status_check
    CHECK (status IN ('new', 'in_progress', 'done'));
CREATE OR REPLACE FUNCTION ticket_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_search (id, created_at, status, worker_id, title)
        VALUES (NEW.id, NEW.created_at, NEW.status, NEW.worker_id, NEW.title_folded);
    ELSE
        UPDATE ticket_search SET status = NEW.status, worker_id = NEW.worker_id
        WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_update AFTER UPDATE OF status, worker_id ON tickets
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.worker_id IS DISTINCT FROM NEW.worker_id)
    EXECUTE FUNCTION ticket_search_sync();
DROP FUNCTION status_code(TEXT);

-- The sequencer, one call one transaction (see the top of this file). Returns how many
-- events it positioned; with nothing to position (or fold) it takes no lock and writes
-- nothing. Keep the lock key equal to crm-store-postgres `SEQUENCER_LOCK`.
CREATE FUNCTION crm_sequence(batch BIGINT, fold BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    low xid8;
    horizon xid8;
    positioned BIGINT;
BEGIN
    SELECT low_xid INTO low FROM event_sequencer;
    IF NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.xid >= low
                   AND NOT EXISTS (SELECT 1 FROM event_positions p WHERE p.event_id = e.id))
       AND NOT (fold AND EXISTS (SELECT 1 FROM ticket_count_deltas)) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(7165910213825229056);
    -- A new snapshot: every earlier sequencer's commit is in it.
    SELECT low_xid INTO low FROM event_sequencer;
    WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
    todo AS (
        SELECT e.id, e.ticket_worker, e.prev_worker FROM ticket_events e
        WHERE e.xid >= low
          AND NOT EXISTS (SELECT 1 FROM event_positions p WHERE p.event_id = e.id)
        ORDER BY e.id LIMIT batch),
    base AS (SELECT coalesce(max(seq), 0) AS last FROM event_positions),
    ins AS (
        INSERT INTO event_positions (seq, event_id, ticket_worker, prev_worker)
        SELECT base.last + row_number() OVER (ORDER BY todo.id), todo.id, todo.ticket_worker,
               todo.prev_worker
        FROM todo CROSS JOIN base
        RETURNING 1)
    SELECT (SELECT count(*) FROM ins), (SELECT xmin FROM snap) INTO positioned, horizon;
    IF positioned > 0 THEN
        PERFORM pg_notify('crm_events', '');
    END IF;
    IF positioned < batch AND horizon > low THEN
        UPDATE event_sequencer SET low_xid = horizon;
    END IF;
    -- The counter changes appended since the last fold (nobody else updates ticket_counts,
    -- and writers only insert deltas, so no write waits on this).
    IF fold THEN
        WITH d AS (DELETE FROM ticket_count_deltas RETURNING *),
        s AS (SELECT worker_id, status, sum(n) AS n, sum(resolution_micros) AS r
              FROM d GROUP BY 1, 2)
        INSERT INTO ticket_counts AS c (worker_id, status, n, resolution_micros)
        SELECT worker_id, status, n, r FROM s ORDER BY 1, 2
        ON CONFLICT (worker_id, status) DO UPDATE
        SET n = c.n + excluded.n, resolution_micros = c.resolution_micros + excluded.resolution_micros;
    END IF;
    RETURN positioned;
END $$;
COMMENT ON FUNCTION crm_sequence(BIGINT, BOOLEAN) IS 'Positions committed events (and folds the counter changes when asked): one sequencer at a time.';
