-- Customers' history: created by their first request, then each correction by staff.
CREATE TABLE client_events (
    id        BIGSERIAL   PRIMARY KEY,
    client_id BIGINT      NOT NULL REFERENCES clients (id),
    at        TIMESTAMPTZ NOT NULL,
    kind      TEXT        NOT NULL,
    actor_id  BIGINT      REFERENCES users (id),
    changes   JSONB
);
COMMENT ON TABLE client_events IS 'A customer record''s history (crm-core ClientEventKind): created, then edited with what changed.';
CREATE INDEX client_events_client_idx ON client_events (client_id, id);
COMMENT ON INDEX client_events_client_idx IS 'A customer''s history, oldest first.';
-- Customers from before: their creation, by whoever took the first request in.
INSERT INTO client_events (client_id, at, kind, actor_id)
SELECT c.id, c.created_at, 'created',
       (SELECT e.actor_id FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id
        WHERE t.client_id = c.id AND e.kind = 'submitted' ORDER BY t.id LIMIT 1)
FROM clients c ORDER BY c.id;
