-- Quotes: every version of a ticket's price, in the ticket's currency at the time, with the
-- customer's decision and its evidence. Sending and deciding lock the ticket row first, so a
-- send supersedes exactly the version sent before and two decisions settle on one.
CREATE TABLE ticket_quotes (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id       BIGINT      NOT NULL REFERENCES tickets (id),
    version         INTEGER     NOT NULL CHECK (version >= 1),
    currency        TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_by      BIGINT      NOT NULL REFERENCES users (id),
    lines           JSONB       NOT NULL,
    tax_rate        INTEGER     NOT NULL CHECK (tax_rate BETWEEN 0 AND 10000),
    valid_days      INTEGER     NOT NULL CHECK (valid_days BETWEEN 1 AND 90),
    note            TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    superseded_at   TIMESTAMPTZ,
    decision        TEXT        CHECK (decision IN ('approve', 'decline')),
    decided_name    TEXT,
    decided_comment TEXT,
    decided_at      TIMESTAMPTZ,
    decided_ip      TEXT,
    decided_ua      TEXT,
    UNIQUE (ticket_id, version)
);
COMMENT ON TABLE ticket_quotes IS 'Every version of a ticket''s quote; amounts in minor units of currency; the lines are crm-core''s QuoteLine as JSON.';
COMMENT ON COLUMN ticket_quotes.decided_ip IS 'Where the decision came from: evidence for staff, never shown to the public.';

-- The latest sent version's state, for the list filter `quote=`.
ALTER TABLE tickets ADD COLUMN quote_id BIGINT, ADD COLUMN quote_state TEXT
        CHECK (quote_state IN ('sent', 'approved', 'declined')),
    ADD COLUMN quote_expires_at TIMESTAMPTZ;
CREATE INDEX tickets_quote_idx ON tickets (quote_state, created_at DESC, id DESC)
    WHERE quote_state IS NOT NULL;
