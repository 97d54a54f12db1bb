-- Edits: the `edited` event and what it changed; the title search follows a corrected title.

-- Event kinds are crm-core's (history::EventKind): not spelled again here.
ALTER TABLE ticket_events DROP CONSTRAINT ticket_events_kind_check;
ALTER TABLE ticket_events ADD COLUMN changes JSONB;
COMMENT ON COLUMN ticket_events.changes IS 'What an edited event changed: [{"field","from","to"}], crm-core''s FieldChange.';

CREATE OR REPLACE FUNCTION ticket_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_search (id, created_at, status, worker_id, title)
        VALUES (NEW.id, NEW.created_at, NEW.status, NEW.worker_id, NEW.title_folded);
    ELSE
        UPDATE ticket_search SET status = NEW.status, worker_id = NEW.worker_id,
                                 title = NEW.title_folded
        WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER ticket_search_update ON tickets;
CREATE TRIGGER ticket_search_update AFTER UPDATE OF status, worker_id, title_folded ON tickets
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.worker_id IS DISTINCT FROM NEW.worker_id
                       OR OLD.title_folded IS DISTINCT FROM NEW.title_folded)
    EXECUTE FUNCTION ticket_search_sync();
