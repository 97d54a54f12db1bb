-- Automatic assignment: who is available, the shop's settings, and the indexes its one
-- atomic step reads.

ALTER TABLE users ADD COLUMN available BOOLEAN NOT NULL DEFAULT TRUE;
COMMENT ON COLUMN users.available IS 'Whether automatic assignment may choose this worker.';

-- One row. Taking its row lock (SELECT ... FOR UPDATE) is what serialises automatic
-- assignment across every replica: the candidates, their open counts and the cursor are read
-- and the choices written while it is held.
CREATE TABLE assignment_settings (
    singleton           BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    mode                TEXT    NOT NULL DEFAULT 'off'
        CHECK (mode IN ('off', 'least_open', 'round_robin')),
    max_open_per_worker INT     CHECK (max_open_per_worker >= 1),
    rr_cursor           BIGINT  REFERENCES users (id)
);
COMMENT ON TABLE assignment_settings IS 'Automatic assignment settings and the round-robin cursor; its row lock serialises assignment.';
INSERT INTO assignment_settings DEFAULT VALUES;

CREATE INDEX tickets_waiting_idx ON tickets (created_at, id)
    WHERE worker_id IS NULL AND status = 'new';
COMMENT ON INDEX tickets_waiting_idx IS 'Tickets waiting for a worker, oldest first.';

CREATE INDEX ticket_events_assigned_idx ON ticket_events (worker_id, seq)
    WHERE kind = 'assigned';
COMMENT ON INDEX ticket_events_assigned_idx IS 'A worker''s latest assignment (least_open ties).';
