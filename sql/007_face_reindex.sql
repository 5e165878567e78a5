-- Reindexing face templates (issue 9): when the matcher's method changes,
-- the jobs worker recomputes every enrolled template from its source
-- picture. A template whose picture no longer yields a face (or is gone)
-- keeps its old row, marked with the reason, so that it is reported (GET
-- /users/{id}/faces shows it; `rollcall face reindex` tries it again)
-- instead of being dropped silently. Such a template is never compared:
-- its method is not the current one.
ALTER TABLE face_templates ADD COLUMN reindex_error text;


ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
	CHECK (kind IN ('mail', 'webhook', 'blob_delete', 'face_reindex'));
