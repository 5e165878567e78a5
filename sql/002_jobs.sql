-- The outbox (what SES's queueing did): mail and webhook jobs written in the
-- same transaction as the change that causes them, delivered by the worker
-- in `rollcall serve` with backoff, dead-lettered after too many attempts.
CREATE TABLE jobs (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	kind		text NOT NULL CHECK (kind IN ('mail', 'webhook')),
	payload		jsonb NOT NULL,
	org_id		uuid,			-- no FK here (orgs come in 003)
	state		text NOT NULL DEFAULT 'pending'
			CHECK (state IN ('pending', 'done', 'dead')),
	attempts	int NOT NULL DEFAULT 0,
	run_at		timestamptz NOT NULL DEFAULT now(),
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	done_at		timestamptz
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';

-- Wakes every listening worker when a job is committed, so mail goes out at
-- once instead of at the next poll. Notifications are sent at COMMIT and
-- PostgreSQL folds identical ones within a transaction, so a bulk insert
-- wakes each worker once.
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('jobs', '');
	RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
	FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify();
