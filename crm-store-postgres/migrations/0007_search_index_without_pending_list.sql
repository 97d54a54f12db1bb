-- The title search's GIN index writes each new title straight into the index instead of a
-- pending list. With the pending list (the default), every search scans the list linearly
-- until a vacuum merges it: after a burst of a few thousand submissions a selective search
-- took ten times longer. A submission now pays the index update itself, once.
ALTER INDEX ticket_search_title_trgm_idx SET (fastupdate = off);
SELECT gin_clean_pending_list('ticket_search_title_trgm_idx'::regclass);
