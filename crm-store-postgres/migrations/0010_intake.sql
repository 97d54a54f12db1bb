-- Intake at the counter: the device left for repair, the job's priority and the time promised,
-- and what the counter searches customers by.

ALTER TABLE tickets
    ADD COLUMN device     JSONB,
    ADD COLUMN serial_key TEXT,
    ADD COLUMN priority   TEXT NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    ADD COLUMN due_at     TIMESTAMPTZ;
COMMENT ON COLUMN tickets.device IS 'The device as crm-core''s Device (kind, brand, model, serial, condition, accessories), NULL when none was given.';
COMMENT ON COLUMN tickets.serial_key IS 'The device serial as searches compare it (crm-core device::serial_key: upper case, no spaces).';
COMMENT ON COLUMN tickets.due_at IS 'When the job was promised to the customer.';

CREATE INDEX tickets_serial_key_idx ON tickets (serial_key) WHERE serial_key IS NOT NULL;
COMMENT ON INDEX tickets_serial_key_idx IS 'The serial filter and the counter search by serial.';
CREATE INDEX tickets_client_order_idx ON tickets (client_id, created_at DESC, id DESC);
COMMENT ON INDEX tickets_client_order_idx IS 'A customer''s tickets, newest first; the counter search by customer.';
CREATE INDEX tickets_due_order_idx ON tickets ((coalesce(due_at, 'infinity'::timestamptz)), (-id));
COMMENT ON INDEX tickets_due_order_idx IS 'Lists sorted by due date: soonest first, none last, then newest.';
CREATE INDEX tickets_open_due_idx ON tickets (due_at) WHERE status <> 'done' AND due_at IS NOT NULL;
COMMENT ON INDEX tickets_open_due_idx IS 'The overdue filter: open tickets promised for a time already past.';

ALTER TABLE clients
    ADD COLUMN name_folded  TEXT,
    ADD COLUMN phone_digits TEXT;
UPDATE clients SET name_folded = lower(name),
                   phone_digits = nullif(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), '');
ALTER TABLE clients ALTER COLUMN name_folded SET NOT NULL;
COMMENT ON COLUMN clients.name_folded IS 'The name case-folded by the application, for search.';
COMMENT ON COLUMN clients.phone_digits IS 'The phone''s digits only (crm-core device::phone_digits), for search.';
CREATE INDEX clients_name_trgm_idx ON clients USING gin (name_folded gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX clients_email_trgm_idx ON clients USING gin (email_key gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX clients_phone_trgm_idx ON clients USING gin (phone_digits gin_trgm_ops) WITH (fastupdate = off);
COMMENT ON INDEX clients_name_trgm_idx IS 'Customer search by a fragment of the name.';
COMMENT ON INDEX clients_email_trgm_idx IS 'Customer search by a fragment of the e-mail.';
COMMENT ON INDEX clients_phone_trgm_idx IS 'Customer search by a fragment of the phone''s digits.';
CREATE INDEX clients_order_idx ON clients (created_at DESC, id DESC);
COMMENT ON INDEX clients_order_idx IS 'The customer list, newest first.';
