-- Files on tickets: one row per complete object in the object store (the bytes are never
-- here). A row is written only after its object is complete, and removed before its object
-- is deleted, so a row always names bytes that exist or existed; objects no row names are
-- the sweep's (README, "Attachments").
CREATE TABLE ticket_attachments (
    id            BIGSERIAL   PRIMARY KEY,
    ticket_id     BIGINT      NOT NULL REFERENCES tickets (id),
    name          TEXT        NOT NULL,
    content_type  TEXT        NOT NULL,
    size          BIGINT      NOT NULL CHECK (size >= 0),
    sha256        TEXT        NOT NULL,
    visibility    TEXT        NOT NULL CHECK (visibility IN ('internal', 'customer')),
    -- The staff uploader; NULL for the customer.
    author_id     BIGINT      REFERENCES users (id),
    -- Unique: the sweep asks "does a row name this object?" of both.
    object_key    TEXT        NOT NULL UNIQUE,
    thumbnail_key TEXT        UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL
);
-- A ticket's files in order, its count for the per-ticket limit, and a customer's recent ones.
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, id);
