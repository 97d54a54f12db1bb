-- Live updates: one global order over every history event, readable from any position.
--
-- Why a counter row and not the id sequence: ids are drawn when a row is inserted, but rows
-- become visible when their transaction commits, and transactions commit in any order. A
-- reader that has seen id 10 and asks for "after 10" would skip id 9 if 9 committed later.
-- Here every event takes its position by incrementing the single row of event_order, which
-- locks that row until the transaction ends: a second transaction taking a position waits
-- until the first commits or rolls back. Positions are therefore handed out in commit order,
-- and "every event after n" read at any moment is exactly what follows n, without gaps.
-- The lock is held only from a transaction's last event insert to its commit (the event
-- insert is the last statement of every change), so writers queue for microseconds.

CREATE TABLE event_order (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_seq  BIGINT  NOT NULL
);
COMMENT ON TABLE event_order IS 'The last position given to a history event; its row lock orders events by commit.';

ALTER TABLE ticket_events
    ADD COLUMN seq            BIGINT,
    ADD COLUMN status         TEXT CHECK (status IN ('new', 'in_progress', 'done')),
    ADD COLUMN ticket_worker  BIGINT REFERENCES users (id),
    ADD COLUMN prev_worker    BIGINT REFERENCES users (id);
COMMENT ON COLUMN ticket_events.seq IS 'Position in the global order of events (commit order).';
COMMENT ON COLUMN ticket_events.status IS 'The ticket''s status after the event.';
COMMENT ON COLUMN ticket_events.ticket_worker IS 'The ticket''s worker after the event.';
COMMENT ON COLUMN ticket_events.prev_worker IS 'The ticket''s worker before the event, when the event changed it.';

-- Existing events: positions in id order (they are all committed), and the state after each
-- as far as the trail tells it.
ALTER TABLE ticket_events DISABLE TRIGGER ticket_events_append_only;
UPDATE ticket_events e SET
    seq = e.id,
    status = CASE
        WHEN e.kind IN ('submitted', 'released') THEN 'new'
        WHEN e.kind = 'status_changed' THEN e.to_status
        ELSE (SELECT coalesce(
                (SELECT p.to_status FROM ticket_events p
                 WHERE p.ticket_id = e.ticket_id AND p.id < e.id AND p.to_status IS NOT NULL
                 ORDER BY p.id DESC LIMIT 1), 'new'))
    END,
    ticket_worker = CASE
        WHEN e.kind = 'assigned' THEN e.worker_id
        WHEN e.kind IN ('submitted', 'released') THEN NULL
        ELSE (SELECT p.worker_id FROM ticket_events p
              WHERE p.ticket_id = e.ticket_id AND p.id < e.id AND p.kind IN ('assigned', 'released')
              ORDER BY p.id DESC LIMIT 1)
    END;
UPDATE ticket_events e SET ticket_worker = NULL
WHERE e.kind NOT IN ('assigned') AND EXISTS (
    SELECT 1 FROM ticket_events p WHERE p.ticket_id = e.ticket_id AND p.id < e.id
      AND p.kind = 'released'
      AND NOT EXISTS (SELECT 1 FROM ticket_events q WHERE q.ticket_id = e.ticket_id
                      AND q.id > p.id AND q.id < e.id AND q.kind = 'assigned'));
ALTER TABLE ticket_events ENABLE TRIGGER ticket_events_append_only;
INSERT INTO event_order (last_seq) SELECT coalesce(max(seq), 0) FROM ticket_events;

ALTER TABLE ticket_events ALTER COLUMN seq SET NOT NULL, ALTER COLUMN status SET NOT NULL;
CREATE UNIQUE INDEX ticket_events_seq_key ON ticket_events (seq);
COMMENT ON INDEX ticket_events_seq_key IS 'Reading the events after a position, in order.';

CREATE FUNCTION ticket_events_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE event_order SET last_seq = last_seq + 1 RETURNING last_seq INTO NEW.seq;
    RETURN NEW;
END $$;
CREATE TRIGGER ticket_events_position BEFORE INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_position();

-- Wake every replica's listeners when events commit (NOTIFY is delivered at commit; the
-- table stays the source of truth, so a lost notification only delays a reader's poll).
CREATE FUNCTION ticket_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_events_notify AFTER INSERT ON ticket_events
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_notify();

-- Account changes that end sessions (deletion, password change or reset, sign-out) wake the
-- listeners too, so open streams of that account end at once.
CREATE FUNCTION account_change_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_accounts', NEW.user_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER account_events_notify AFTER INSERT ON account_events
    FOR EACH ROW EXECUTE FUNCTION account_change_notify();
CREATE TRIGGER revoked_tokens_notify AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION account_change_notify();

-- Single-use things (stream tickets): a use is an insert that succeeds once.
CREATE TABLE used_nonces (
    nonce      TEXT        PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE used_nonces IS 'Single-use tickets already used; rows past expires_at are deleted.';
CREATE INDEX used_nonces_expires_idx ON used_nonces (expires_at);
