-- Notifications: webhook endpoints and an outbox of deliveries written by a trigger in the
-- same transaction as the history events that cause them, so a notification exists exactly
-- when its change committed. Delivery workers on any replica take due rows with
-- FOR UPDATE SKIP LOCKED and a lease (next_attempt_at moved past the attempt), commit, and
-- only then talk to the peer.

CREATE TABLE webhook_endpoints (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        TEXT        NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    topics     TEXT[]      NOT NULL CHECK (
        cardinality(topics) >= 1 AND topics <@ ARRAY[
            'ticket.submitted', 'ticket.assigned', 'ticket.released', 'ticket.status_changed'
        ]),
    secret     TEXT        NOT NULL,
    enabled    BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE webhook_endpoints IS 'Where ticket events are POSTed, signed with secret; disabled by a 410 answer.';

CREATE TABLE notify_settings (
    singleton    BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    mail_enabled BOOLEAN NOT NULL DEFAULT FALSE
);
COMMENT ON TABLE notify_settings IS 'Whether changes record customer e-mail (set by servers that have a mail server).';
INSERT INTO notify_settings DEFAULT VALUES;

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq             BIGINT      NOT NULL,
    ticket_id       BIGINT      NOT NULL REFERENCES tickets (id),
    endpoint_id     BIGINT      REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    topic           TEXT,
    mail_kind       TEXT        CHECK (mail_kind IN ('received', 'started', 'ready')),
    status          TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'disabled')),
    attempts        INT         NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    payload         TEXT,
    last_status     INT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    CHECK ((endpoint_id IS NULL) = (topic IS NULL) AND (topic IS NULL) <> (mail_kind IS NULL))
);
COMMENT ON TABLE outbox IS 'One row per notification (a webhook delivery or a customer e-mail); id is the stable webhook-id.';
COMMENT ON COLUMN outbox.next_attempt_at IS 'When the next attempt is due; while one is in flight, when its lease ends.';
COMMENT ON COLUMN outbox.attempts IS 'Attempts started; an attempt''s outcome is accepted only while this still equals its number.';

CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';
COMMENT ON INDEX outbox_due_idx IS 'Due deliveries for the workers, and the backlog count.';
CREATE INDEX outbox_endpoint_idx ON outbox (endpoint_id, id) WHERE endpoint_id IS NOT NULL;
COMMENT ON INDEX outbox_endpoint_idx IS 'An endpoint''s delivery log, newest first.';
CREATE INDEX outbox_mail_pending_idx ON outbox (ticket_id, id)
    WHERE mail_kind IS NOT NULL AND status = 'pending';
COMMENT ON INDEX outbox_mail_pending_idx IS 'A ticket''s e-mails go out in order: one waits for earlier pending ones.';
CREATE INDEX outbox_failed_idx ON outbox (id) WHERE status = 'failed';
COMMENT ON INDEX outbox_failed_idx IS 'Counting failed deliveries for operators.';

CREATE TABLE outbox_attempts (
    delivery_id BIGINT      NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    number      INT         NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status_code INT,
    error       TEXT,
    PRIMARY KEY (delivery_id, number)
);
COMMENT ON TABLE outbox_attempts IS 'Every attempt at a delivery, for the delivery log.';

-- The notifications of each statement's new events. The rules mirror crm_core::notify
-- (Topic::of, MailKind::of); the conformance suite checks both stores record the same ones.
CREATE FUNCTION ticket_events_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (seq, ticket_id, endpoint_id, topic, next_attempt_at, created_at)
    SELECT e.seq, e.ticket_id, w.id, t.topic, e.at, e.at
    FROM new_events e
    CROSS JOIN LATERAL (SELECT CASE e.kind
        WHEN 'submitted' THEN 'ticket.submitted'
        WHEN 'assigned' THEN 'ticket.assigned'
        WHEN 'released' THEN 'ticket.released'
        WHEN 'status_changed' THEN 'ticket.status_changed'
    END AS topic) t
    JOIN webhook_endpoints w ON w.enabled AND t.topic = ANY (w.topics)
    ORDER BY e.seq, w.id;

    INSERT INTO outbox (seq, ticket_id, mail_kind, next_attempt_at, created_at)
    SELECT e.seq, e.ticket_id, m.kind, e.at, e.at
    FROM new_events e
    CROSS JOIN LATERAL (SELECT CASE
        WHEN e.kind = 'submitted' THEN 'received'
        WHEN e.kind = 'status_changed' AND e.to_status = 'in_progress' THEN 'started'
        WHEN e.kind = 'status_changed' AND e.to_status = 'done' THEN 'ready'
    END AS kind) m
    WHERE m.kind IS NOT NULL AND (SELECT mail_enabled FROM notify_settings)
    ORDER BY e.seq;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_events_outbox AFTER INSERT ON ticket_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION ticket_events_outbox();
