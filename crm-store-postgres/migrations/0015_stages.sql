-- Stages within each status ("Waiting for parts" while in progress). The status a stage
-- belongs to never changes, and a ticket's stage always belongs to the ticket's status: the
-- composite foreign key below says so, so no race between a stage move and a status change
-- (on any replica) can leave a ticket in a stage of another status.
CREATE TABLE stages (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status          TEXT    NOT NULL CHECK (status IN ('new', 'in_progress', 'done')),
    name            TEXT    NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    notify_customer BOOLEAN NOT NULL DEFAULT false,
    position        INTEGER NOT NULL CHECK (position >= 0),
    UNIQUE (id, status)
);
COMMENT ON TABLE stages IS 'Admin-defined stages within a status; a fresh store has crm-core''s DEFAULT_STAGES.';
-- crm-core's stage::DEFAULT_STAGES, as a fresh store has them.
INSERT INTO stages (status, name, notify_customer, position) VALUES
    ('in_progress', 'Diagnosing', false, 0),
    ('in_progress', 'Waiting for parts', false, 1),
    ('in_progress', 'Waiting for customer approval', false, 2),
    ('in_progress', 'Repairing', false, 3),
    ('done', 'Ready for pickup', true, 0),
    ('done', 'Collected', false, 1);

ALTER TABLE tickets ADD COLUMN stage_id BIGINT, ADD COLUMN stage_at TIMESTAMPTZ,
    ADD CONSTRAINT tickets_stage_fkey FOREIGN KEY (stage_id, status) REFERENCES stages (id, status);
COMMENT ON COLUMN tickets.stage_at IS 'When the ticket entered its stage (the start of the stay the statistics time).';
-- The stage filter, newest first, and the foreign key's check when a stage is removed.
CREATE INDEX tickets_stage_idx ON tickets (stage_id, status, created_at DESC, id DESC)
    WHERE stage_id IS NOT NULL;

-- The counters gain the stage: tickets in it now (n), and the stays that ended there
-- (stage_visits, stage_micros), under the stage the ticket left.
ALTER TABLE ticket_count_deltas ADD COLUMN stage_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN stage_visits BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN stage_micros NUMERIC NOT NULL DEFAULT 0;
ALTER TABLE ticket_counts ADD COLUMN stage_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN stage_visits BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN stage_micros NUMERIC NOT NULL DEFAULT 0;
ALTER TABLE ticket_counts DROP CONSTRAINT ticket_counts_pkey,
    ADD PRIMARY KEY (worker_id, status, stage_id);
DROP VIEW ticket_totals;
CREATE VIEW ticket_totals AS
    SELECT worker_id, status, stage_id, n, resolution_micros, stage_visits, stage_micros
    FROM ticket_counts
    UNION ALL
    SELECT worker_id, status, stage_id, n, resolution_micros, stage_visits, stage_micros
    FROM ticket_count_deltas;
COMMENT ON VIEW ticket_totals IS 'Ticket counts per worker, status and stage (0: none): the folded counts plus the changes since.';

CREATE OR REPLACE FUNCTION ticket_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_count_deltas (worker_id, status, stage_id, n, resolution_micros)
        SELECT coalesce(worker_id, 0), status, coalesce(stage_id, 0), count(*), 0
        FROM new_rows GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO ticket_count_deltas (worker_id, status, stage_id, n, resolution_micros,
                                         stage_visits, stage_micros)
        SELECT w, s, g, sum(d), sum(r), sum(v), sum(m) FROM (
            SELECT coalesce(worker_id, 0) AS w, status AS s, coalesce(stage_id, 0) AS g,
                   -1 AS d, -coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0) AS r,
                   0 AS v, 0 AS m
            FROM old_rows
            UNION ALL
            SELECT coalesce(worker_id, 0), status, coalesce(stage_id, 0), 1,
                   coalesce(extract(epoch FROM done_at - created_at) * 1000000, 0), 0, 0
            FROM new_rows
            UNION ALL
            -- A stay that ended: under the stage left, its worker and status then.
            SELECT coalesce(o.worker_id, 0), o.status, o.stage_id, 0, 0, 1,
                   coalesce(extract(epoch FROM n.updated_at - o.stage_at) * 1000000, 0)
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.stage_id IS NOT NULL AND n.stage_id IS DISTINCT FROM o.stage_id
        ) delta
        GROUP BY w, s, g
        HAVING sum(d) <> 0 OR sum(r) <> 0 OR sum(v) <> 0;
    END IF;
    RETURN NULL;
END $$;

-- The sequencer of migration 0008, folding on the new key.
CREATE OR REPLACE FUNCTION crm_sequence(batch BIGINT, fold BOOLEAN) RETURNS BIGINT
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
    IF fold THEN
        WITH d AS (DELETE FROM ticket_count_deltas RETURNING *),
        s AS (SELECT worker_id, status, stage_id, sum(n) AS n, sum(resolution_micros) AS r,
                     sum(stage_visits) AS v, sum(stage_micros) AS m
              FROM d GROUP BY 1, 2, 3)
        INSERT INTO ticket_counts AS c (worker_id, status, stage_id, n, resolution_micros,
                                        stage_visits, stage_micros)
        SELECT worker_id, status, stage_id, n, r, v, m FROM s ORDER BY 1, 2, 3
        ON CONFLICT (worker_id, status, stage_id) DO UPDATE
        SET n = c.n + excluded.n, resolution_micros = c.resolution_micros + excluded.resolution_micros,
            stage_visits = c.stage_visits + excluded.stage_visits,
            stage_micros = c.stage_micros + excluded.stage_micros;
    END IF;
    RETURN positioned;
END $$;
