-- Who has opened which ticket: each staff member's own "new to me" cue. The seed's
-- tickets.viewed (anyone has opened it) keeps its meaning beside it.
CREATE TABLE ticket_views (
    user_id   BIGINT      NOT NULL REFERENCES users (id),
    ticket_id BIGINT      NOT NULL REFERENCES tickets (id),
    seen_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
COMMENT ON TABLE ticket_views IS 'The first time each staff member opened each ticket; a list shows the rest as new to them.';
