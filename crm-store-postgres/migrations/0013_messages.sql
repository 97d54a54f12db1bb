-- The conversation on a ticket: internal notes and messages with the customer.
CREATE TABLE ticket_messages (
    id         BIGSERIAL   PRIMARY KEY,
    ticket_id  BIGINT      NOT NULL REFERENCES tickets (id),
    body       TEXT        NOT NULL,
    visibility TEXT        NOT NULL CHECK (visibility IN ('internal', 'customer')),
    -- The staff writer; NULL for the customer.
    author_id  BIGINT      REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
-- A conversation in order, and a customer's recent messages (the daily allowance).
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);

-- Whether the newest customer-visible message is the customer's.
ALTER TABLE tickets ADD COLUMN awaiting_reply BOOLEAN NOT NULL DEFAULT false;
-- The counter's "waiting for an answer" list, newest first, without reading the rest.
CREATE INDEX tickets_awaiting_reply_idx ON tickets (created_at DESC, id DESC) WHERE awaiting_reply;

-- Events about a message or a file say which, and who may know of them.
ALTER TABLE ticket_events ADD COLUMN visibility TEXT, ADD COLUMN item_id BIGINT;
ALTER TABLE outbox ADD COLUMN visibility TEXT, ADD COLUMN item_id BIGINT;
-- The conversation's compare-and-set: a new message is written only against the last one read,
-- so the customer's daily allowance is counted under the same rule as every other race.
ALTER TABLE tickets ADD COLUMN last_message_id BIGINT;
