-- Slack (what SlackIntegrationLambdaFunction did): an org's link to one
-- Slack workspace, people's Slack user ids, and the notifications, queued
-- as `webhook` jobs by triggers in the same transaction as the change, so
-- a leave request made in the app, the API or Slack is announced alike.
-- The signing secret and the webhook URL live only in slack_links: no
-- audit row, job payload or log line carries them (src/api/slack.c).
CREATE TABLE slack_links (
	org_id		uuid PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
	team_id		text UNIQUE CHECK (team_id ~ '^[A-Za-z0-9_-]{1,64}$'),
	signing_secret	text,
	webhook_url	text,
	notify		text[] NOT NULL DEFAULT '{leave,digest}'
			CHECK (notify <@ '{leave,digest,punches}'),
	digest_time	time NOT NULL DEFAULT '09:00',
	-- the org's local date of the last digest queued: one a day, whichever
	-- daemon's worker gets there first
	digest_sent_on	date,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER slack_links_touch BEFORE UPDATE ON slack_links
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

ALTER TABLE users ADD COLUMN slack_user_id text
	CHECK (slack_user_id ~ '^[A-Za-z0-9_-]{1,64}$');
CREATE UNIQUE INDEX users_slack_user ON users (org_id, slack_user_id)
	WHERE slack_user_id IS NOT NULL;

-- What GET /orgs/{id} shows of a link: never the secrets, only whether
-- they are set. NULL for an org without one.
CREATE FUNCTION slack_public(s slack_links) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN s.org_id IS NULL THEN NULL ELSE json_build_object(
    'team_id', s.team_id, 'notify', to_json(s.notify),
    'digest_time', to_char(s.digest_time, 'HH24:MI'),
    'signing_secret_set', s.signing_secret IS NOT NULL,
    'webhook_set', s.webhook_url IS NOT NULL) END
$$;

CREATE FUNCTION slack_org_json(p_org uuid) RETURNS json
LANGUAGE sql STABLE AS $$
SELECT slack_public(s) FROM slack_links s WHERE s.org_id = p_org
$$;

-- Whether org p_org wants notifications of kind p_what and can get them:
-- the triggers ask first, so that an org without Slack pays one index
-- lookup per change.
CREATE FUNCTION slack_wants(p_org uuid, p_what text) RETURNS boolean
LANGUAGE sql STABLE AS $$
SELECT EXISTS (SELECT 1 FROM slack_links s WHERE s.org_id = p_org
    AND s.webhook_url IS NOT NULL AND p_what = ANY (s.notify))
$$;

-- Queues one webhook job for org p_org when it has a webhook and asks for
-- notifications of kind p_what. The payload names people and dates only;
-- the worker builds the Block Kit message (src/slack) and reads the URL
-- from slack_links at delivery.
CREATE FUNCTION slack_queue(p_org uuid, p_what text, p_payload jsonb)
RETURNS void LANGUAGE sql AS $$
INSERT INTO jobs (kind, payload, org_id)
SELECT 'webhook', p_payload, s.org_id FROM slack_links s
WHERE s.org_id = p_org AND s.webhook_url IS NOT NULL
    AND p_what = ANY (s.notify)
$$;

-- A new request: to its approvers (the manager, else the org's admins),
-- mentioned by their Slack ids where linked.
CREATE FUNCTION slack_leave_requested() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT slack_wants(NEW.org_id, 'leave') THEN
		RETURN NULL;
	END IF;
	PERFORM slack_queue(NEW.org_id, 'leave', jsonb_build_object(
	    'event', 'leave_requested', 'request_id', NEW.id,
	    'requester', u.name, 'requester_slack', u.slack_user_id,
	    'approvers', COALESCE((SELECT jsonb_agg(jsonb_build_object(
		'name', a.name, 'slack', a.slack_user_id) ORDER BY a.name)
		FROM users a WHERE a.status = 'active' AND (a.id = u.manager_id
		OR (NOT EXISTS (SELECT 1 FROM users m WHERE m.id = u.manager_id
		AND m.status = 'active') AND a.org_id = u.org_id AND
		a.role = 'admin' AND a.id <> u.id))), '[]'),
	    'leave_type', t.name, 'start_date', NEW.start_date,
	    'end_date', NEW.end_date, 'days', NEW.days,
	    'half_day', NEW.half_day, 'reason', COALESCE(NEW.reason, '')))
	FROM users u, leave_types t WHERE u.id = NEW.user_id
	    AND t.id = NEW.type_id;
	RETURN NULL;
END
$$;
CREATE TRIGGER slack_leave_requested AFTER INSERT ON leave_requests
	FOR EACH ROW EXECUTE FUNCTION slack_leave_requested();

-- A decision: to the requester.
CREATE FUNCTION slack_leave_decided() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT slack_wants(NEW.org_id, 'leave') THEN
		RETURN NULL;
	END IF;
	PERFORM slack_queue(NEW.org_id, 'leave', jsonb_build_object(
	    'event', 'leave_decided', 'request_id', NEW.id,
	    'decision', NEW.status, 'requester', u.name,
	    'requester_slack', u.slack_user_id,
	    'decided_by', COALESCE(d.name, ''), 'leave_type', t.name,
	    'start_date', NEW.start_date, 'end_date', NEW.end_date,
	    'days', NEW.days, 'comment', COALESCE(NEW.comment, '')))
	FROM users u JOIN leave_types t ON t.id = NEW.type_id
	LEFT JOIN users d ON d.id = NEW.decided_by WHERE u.id = NEW.user_id;
	RETURN NULL;
END
$$;
CREATE TRIGGER slack_leave_decided AFTER UPDATE OF status ON leave_requests
	FOR EACH ROW WHEN (OLD.status = 'pending' AND
	    NEW.status IN ('approved', 'rejected'))
	EXECUTE FUNCTION slack_leave_decided();

-- The optional echo of check-ins and check-outs, in the org's local time.
CREATE FUNCTION slack_punch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT slack_wants(NEW.org_id, 'punches') THEN
		RETURN NULL;
	END IF;
	PERFORM slack_queue(NEW.org_id, 'punches', jsonb_build_object(
	    'event', 'punch', 'kind', NEW.kind, 'source', NEW.source,
	    'name', u.name, 'slack', u.slack_user_id,
	    'time', to_char(NEW.at AT TIME ZONE o.timezone, 'HH24:MI'),
	    'date', to_char(NEW.at AT TIME ZONE o.timezone, 'YYYY-MM-DD'),
	    'timezone', o.timezone))
	FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = NEW.user_id;
	RETURN NULL;
END
$$;
CREATE TRIGGER slack_punch AFTER INSERT ON attendance_events
	FOR EACH ROW EXECUTE FUNCTION slack_punch();

-- The daily digests that are due: for each org asking for one whose local
-- time has passed digest_time on a working day (no weekend, no holiday)
-- and that has not had today's, one job listing who is absent, on leave
-- and late (attendance_days' statuses). Run by the jobs worker every
-- slack.digest_interval_seconds; the UPDATE's row lock makes two daemons
-- queue one digest. Returns the jobs queued.
CREATE FUNCTION slack_queue_digests() RETURNS int
LANGUAGE sql AS $$
WITH due AS (
	UPDATE slack_links s SET digest_sent_on = x.today
	FROM (SELECT o.id, (now() AT TIME ZONE o.timezone)::date AS today,
	    (now() AT TIME ZONE o.timezone)::time AS now_local, o.weekend_days
	    FROM orgs o) x
	WHERE x.id = s.org_id AND 'digest' = ANY (s.notify)
	    AND s.webhook_url IS NOT NULL AND x.now_local >= s.digest_time
	    AND s.digest_sent_on IS DISTINCT FROM x.today
	    AND NOT (extract(isodow FROM x.today)::int = ANY (x.weekend_days))
	    AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.org_id = x.id
		AND h.date = x.today)
	RETURNING s.org_id, x.today),
j AS (
	INSERT INTO jobs (kind, payload, org_id)
	SELECT 'webhook', jsonb_build_object('event', 'digest',
	    'org', o.name, 'date', due.today,
	    'absent', COALESCE(jsonb_agg(jsonb_build_object('name', u.name,
		'slack', u.slack_user_id) ORDER BY u.name) FILTER (WHERE
		a.status = 'absent'), '[]'),
	    'on_leave', COALESCE(jsonb_agg(jsonb_build_object('name', u.name,
		'slack', u.slack_user_id) ORDER BY u.name) FILTER (WHERE
		a.status = 'on_leave'), '[]'),
	    'late', COALESCE(jsonb_agg(jsonb_build_object('name', u.name,
		'slack', u.slack_user_id) ORDER BY u.name) FILTER (WHERE
		a.status = 'late'), '[]'),
	    'present', count(*) FILTER (WHERE a.status IN ('present', 'late'))),
	    due.org_id
	FROM due JOIN orgs o ON o.id = due.org_id
	LEFT JOIN LATERAL attendance_days(due.org_id, due.today, due.today) a
	    ON true
	LEFT JOIN users u ON u.id = a.user_id
	GROUP BY due.org_id, due.today, o.name
	RETURNING 1)
SELECT count(*)::int FROM j
$$;
