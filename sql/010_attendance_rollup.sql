-- The attendance rollup: attendance_days() kept per person and date, so a
-- monthly report or sheet reads ~22,000 small rows of a 1,000-person org
-- instead of deriving them from the month's ~44,000 events (issue 11).
--
-- attendance_days() stays the one definition of a day: every row here is
-- a row it returned, written by triggers in the same transaction as the
-- change that makes it stale (events and their corrections, leave
-- approved or no longer approved, holidays, the org's zone, weekend and
-- lateness settings, a person enabled, disabled or moved), recomputing
-- only the days that change can touch. attendance_days_rollup() reads it
-- back in attendance_days()' shape; tests/api/test_rollup.py holds both
-- equal day by day.
--
-- What is stored (so that the rows do not go stale with time):
--   - only active people (the reports' people, as attendance_days(org, ..)
--     without p_user); disabling drops a person's rows, enabling rebuilds;
--   - only the days that differ from a plain day, where a plain day has no
--     event, no minutes, no open pair and the status of the calendar alone
--     (holiday, weekend, else absent or nothing yet): a plain day is made
--     again from holidays and orgs when read;
--   - status NULL for 'absent': whether a day without a check-in is
--     absent (up to today) or still to come depends on when it is read, so
--     the reader decides with its own now(), as attendance_days() does.
--     Every other status (holiday, weekend, on_leave, late, present) is
--     fixed by the data alone.

CREATE TABLE attendance_rollup (
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	date		date NOT NULL,
	org_id		uuid NOT NULL REFERENCES orgs (id),
	first_in	timestamptz,
	last_out	timestamptz,
	worked_minutes	int NOT NULL,
	open_pair	boolean NOT NULL,
	status		text CHECK (status IN ('present', 'late', 'on_leave',
			    'holiday', 'weekend')),
	PRIMARY KEY (user_id, date)
);
-- The reports read an org's month; the refreshes go by person (the key).
CREATE INDEX attendance_rollup_org_date ON attendance_rollup (org_id, date);

-- Concurrent refreshes of one person's days are serialised, and an org's
-- whole refresh excludes them all: a refresh that waited reads what the
-- other committed (READ COMMITTED: each query of a volatile function has
-- a fresh snapshot), so the last writer of a day saw every change to it.
CREATE FUNCTION attendance_rollup_lock(p_org uuid, p_user uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF p_user IS NULL THEN
		PERFORM pg_advisory_xact_lock(hashtext('attendance_rollup:org'),
		    hashtext(p_org::text));
		RETURN;
	END IF;
	PERFORM pg_advisory_xact_lock_shared(hashtext('attendance_rollup:org'),
	    hashtext(p_org::text));
	PERFORM pg_advisory_xact_lock(hashtext('attendance_rollup:user'),
	    hashtext(p_user::text));
END
$$;

-- Whether a row of attendance_days() is a plain day (see the top): the
-- reader makes those from the calendar, so they are not stored.
CREATE FUNCTION attendance_rollup_plain(first_in timestamptz,
	last_out timestamptz, worked_minutes int, open_pair boolean,
	status text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
SELECT first_in IS NULL AND last_out IS NULL AND worked_minutes = 0
    AND NOT open_pair AND COALESCE(status, 'absent') IN ('holiday',
    'weekend', 'absent')
$$;

-- Recomputes one person's days [p_from, p_to] from attendance_days(); a
-- person not active (or without an org) keeps no rows.
CREATE FUNCTION attendance_rollup_refresh(p_user uuid, p_from date,
	p_to date)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	v_org uuid;
	v_active boolean;
BEGIN
	SELECT org_id, status = 'active' INTO v_org, v_active
	    FROM users WHERE id = p_user;
	IF v_org IS NULL THEN
		DELETE FROM attendance_rollup WHERE user_id = p_user;
		RETURN;
	END IF;
	PERFORM attendance_rollup_lock(v_org, p_user);
	DELETE FROM attendance_rollup
	    WHERE user_id = p_user AND date BETWEEN p_from AND p_to;
	IF v_active THEN
		INSERT INTO attendance_rollup (user_id, date, org_id, first_in,
		    last_out, worked_minutes, open_pair, status)
		SELECT a.user_id, a.date, v_org, a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, NULLIF(a.status, 'absent')
		FROM attendance_days(v_org, p_from, p_to, p_user) a
		WHERE NOT attendance_rollup_plain(a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, a.status);
	END IF;
END
$$;

-- Recomputes every active person's days [p_from, p_to] of an org, a
-- month per statement (attendance_days() of a 1,000-person month is
-- ~300 ms and 32 MB of work_mem; a year is twelve of those).
CREATE FUNCTION attendance_rollup_refresh_org(p_org uuid, p_from date,
	p_to date)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	lo date := p_from;
	hi date;
BEGIN
	PERFORM attendance_rollup_lock(p_org, NULL);
	WHILE lo <= p_to LOOP
		hi := least(p_to, (date_trunc('month', lo) + interval '1 month'
		    - interval '1 day')::date);
		DELETE FROM attendance_rollup
		    WHERE org_id = p_org AND date BETWEEN lo AND hi;
		INSERT INTO attendance_rollup (user_id, date, org_id, first_in,
		    last_out, worked_minutes, open_pair, status)
		SELECT a.user_id, a.date, p_org, a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, NULLIF(a.status, 'absent')
		FROM attendance_days(p_org, lo, hi) a
		WHERE NOT attendance_rollup_plain(a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, a.status);
		lo := hi + 1;
	END LOOP;
END
$$;

-- The dates an org's rows can be on: its rows as they are, its people's
-- events as dates of the org's zone now, its approved leave. The events
-- by person, first and last (the (user_id, at) key), not by a scan of
-- them all.
CREATE FUNCTION attendance_rollup_rebuild_org(p_org uuid)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	tz text;
	lo date;
	hi date;
BEGIN
	SELECT timezone INTO tz FROM orgs WHERE id = p_org;
	SELECT least((SELECT min(date) FROM attendance_rollup
		WHERE org_id = p_org),
	    (SELECT (min(f.at) AT TIME ZONE tz)::date FROM users u
		CROSS JOIN LATERAL (SELECT at FROM attendance_events
		    WHERE user_id = u.id ORDER BY at LIMIT 1) f
		WHERE u.org_id = p_org),
	    (SELECT min(start_date) FROM leave_requests
		WHERE org_id = p_org AND status = 'approved')),
	    greatest((SELECT max(date) FROM attendance_rollup
		WHERE org_id = p_org),
	    (SELECT (max(l.at) AT TIME ZONE tz)::date FROM users u
		CROSS JOIN LATERAL (SELECT at FROM attendance_events
		    WHERE user_id = u.id ORDER BY at DESC LIMIT 1) l
		WHERE u.org_id = p_org),
	    (SELECT max(end_date) FROM leave_requests
		WHERE org_id = p_org AND status = 'approved'))
	INTO lo, hi;
	IF lo IS NOT NULL THEN
		PERFORM attendance_rollup_refresh_org(p_org, lo, hi);
	END IF;
END
$$;

-- ---- Events ----------------------------------------------------------

-- A statement changed these people's events, each at instants within
-- [tmin, tmax] (old and new instants alike). Nothing of a person before
-- tmin or after tmax changed, so P, the last event before tmin, and N,
-- the first after tmax, are the same before and after, and the state
-- rule makes what follows P the other kind in both. So only a pair from P
-- (an in) reaches back before tmin, and only a pair into N (an out)
-- reaches past tmax: the dates to recompute run from P's (an in) or
-- tmin's to N's (an out) or tmax's. A check-in: today alone; a
-- midnight-crossing pair: both dates; a correction of an out: from its in
-- to the next in.
--
-- A statement that touched many people of an org (a bulk load, an
-- import) recomputes the org's dates at once: one attendance_days() of
-- 1,000 people is ~100 times cheaper than 1,000 of one person.
CREATE FUNCTION attendance_rollup_events(p_users uuid[],
	p_tmin timestamptz[], p_tmax timestamptz[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
	i int;
BEGIN
	FOR r IN
	SELECT u.org_id, array_agg(c.user_id ORDER BY c.user_id) AS users,
	    array_agg(s.lo ORDER BY c.user_id) AS los,
	    array_agg(s.hi ORDER BY c.user_id) AS his,
	    min(s.lo) AS lo, max(s.hi) AS hi,
	    (SELECT count(*) FROM users a WHERE a.org_id = u.org_id
		AND a.status = 'active') AS people
	FROM unnest(p_users, p_tmin, p_tmax) c (user_id, tmin, tmax)
	JOIN users u ON u.id = c.user_id
	JOIN orgs o ON o.id = u.org_id
	LEFT JOIN LATERAL (SELECT kind, at FROM attendance_events
	    WHERE user_id = c.user_id AND at < c.tmin
	    ORDER BY at DESC LIMIT 1) p ON true
	LEFT JOIN LATERAL (SELECT kind, at FROM attendance_events
	    WHERE user_id = c.user_id AND at > c.tmax
	    ORDER BY at LIMIT 1) n ON true
	CROSS JOIN LATERAL (SELECT
	    ((CASE WHEN p.kind = 'in' THEN p.at ELSE c.tmin END)
		AT TIME ZONE o.timezone)::date AS lo,
	    ((CASE WHEN n.kind = 'out' THEN n.at ELSE c.tmax END)
		AT TIME ZONE o.timezone)::date AS hi) s
	GROUP BY u.org_id ORDER BY u.org_id
	LOOP
		IF cardinality(r.users) > 20 AND
		    cardinality(r.users) * 8 >= r.people THEN
			PERFORM attendance_rollup_refresh_org(r.org_id, r.lo,
			    r.hi);
			CONTINUE;
		END IF;
		FOR i IN 1 .. cardinality(r.users) LOOP
			PERFORM attendance_rollup_refresh(r.users[i], r.los[i],
			    r.his[i]);
		END LOOP;
	END LOOP;
END
$$;

-- Statement-level, with the changed rows as a transition table (the new
-- rows of an INSERT, the old of a DELETE: both triggers name it
-- changed_rows), so that a bulk load refreshes each person, or the org,
-- once.
CREATE FUNCTION attendance_rollup_events_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM attendance_rollup_events(array_agg(user_id), array_agg(tmin),
	    array_agg(tmax))
	FROM (SELECT user_id, min(at) AS tmin, max(at) AS tmax
	    FROM changed_rows GROUP BY user_id) c;
	RETURN NULL;
END
$$;

-- Only rows whose instant, kind or person changed (a note does not count).
CREATE FUNCTION attendance_rollup_events_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM attendance_rollup_events(array_agg(user_id), array_agg(tmin),
	    array_agg(tmax))
	FROM (SELECT x.user_id, min(x.at) AS tmin, max(x.at) AS tmax
	    FROM old_rows o JOIN new_rows n ON n.id = o.id
	    CROSS JOIN LATERAL (VALUES (o.user_id, o.at), (n.user_id, n.at))
		x (user_id, at)
	    WHERE (o.at, o.kind, o.user_id) IS DISTINCT FROM
		(n.at, n.kind, n.user_id)
	    GROUP BY x.user_id) c;
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_rollup_events_ins AFTER INSERT
	ON attendance_events REFERENCING NEW TABLE AS changed_rows
	FOR EACH STATEMENT EXECUTE FUNCTION attendance_rollup_events_changed();
CREATE TRIGGER attendance_rollup_events_upd AFTER UPDATE
	ON attendance_events REFERENCING OLD TABLE AS old_rows
	NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION attendance_rollup_events_upd();
CREATE TRIGGER attendance_rollup_events_del AFTER DELETE
	ON attendance_events REFERENCING OLD TABLE AS changed_rows
	FOR EACH STATEMENT EXECUTE FUNCTION attendance_rollup_events_changed();

-- ---- Leave -----------------------------------------------------------

-- attendance_days() counts approved requests only: their dates before and
-- after, when the request is or was approved and what counts changed.
CREATE FUNCTION attendance_rollup_leave() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND (OLD.status, OLD.user_id, OLD.start_date,
	    OLD.end_date, OLD.half_day) IS NOT DISTINCT FROM (NEW.status,
	    NEW.user_id, NEW.start_date, NEW.end_date, NEW.half_day) THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' AND OLD.status = 'approved' THEN
		PERFORM attendance_rollup_refresh(OLD.user_id, OLD.start_date,
		    OLD.end_date);
	END IF;
	IF TG_OP <> 'DELETE' AND NEW.status = 'approved' THEN
		PERFORM attendance_rollup_refresh(NEW.user_id, NEW.start_date,
		    NEW.end_date);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_rollup_leave AFTER INSERT OR UPDATE OR DELETE
	ON leave_requests FOR EACH ROW
	EXECUTE FUNCTION attendance_rollup_leave();

-- ---- Holidays, org settings, people ----------------------------------

-- A holiday changes that date for everyone of the org.
CREATE FUNCTION attendance_rollup_holidays() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		PERFORM attendance_rollup_refresh_org(OLD.org_id, OLD.date,
		    OLD.date);
	END IF;
	IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR (OLD.org_id, OLD.date)
	    IS DISTINCT FROM (NEW.org_id, NEW.date)) THEN
		PERFORM attendance_rollup_refresh_org(NEW.org_id, NEW.date,
		    NEW.date);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_rollup_holidays AFTER INSERT OR UPDATE OR DELETE
	ON holidays FOR EACH ROW EXECUTE FUNCTION attendance_rollup_holidays();

-- The zone moves every event to other dates, the weekend days and the
-- lateness rule change any date's status: the org's whole history again.
-- (workday_end is not one of attendance_days()' inputs.)
CREATE FUNCTION attendance_rollup_orgs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM attendance_rollup_rebuild_org(NEW.id);
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_rollup_orgs AFTER UPDATE ON orgs FOR EACH ROW
	WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone OR
	    OLD.weekend_days IS DISTINCT FROM NEW.weekend_days OR
	    OLD.workday_start IS DISTINCT FROM NEW.workday_start OR
	    OLD.late_after_minutes IS DISTINCT FROM NEW.late_after_minutes)
	EXECUTE FUNCTION attendance_rollup_orgs();

-- A person enabled, disabled or moved to another org: all their rows go,
-- and come back from their whole history when they are active.
CREATE FUNCTION attendance_rollup_users() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	tz text;
	lo date;
	hi date;
BEGIN
	SELECT timezone INTO tz FROM orgs WHERE id = NEW.org_id;
	SELECT least((SELECT min(date) FROM attendance_rollup
		WHERE user_id = NEW.id),
	    (SELECT (min(at) AT TIME ZONE tz)::date FROM attendance_events
		WHERE user_id = NEW.id),
	    (SELECT min(start_date) FROM leave_requests
		WHERE user_id = NEW.id AND status = 'approved')),
	    greatest((SELECT max(date) FROM attendance_rollup
		WHERE user_id = NEW.id),
	    (SELECT (max(at) AT TIME ZONE tz)::date FROM attendance_events
		WHERE user_id = NEW.id),
	    (SELECT max(end_date) FROM leave_requests
		WHERE user_id = NEW.id AND status = 'approved'))
	INTO lo, hi;
	IF lo IS NOT NULL THEN
		PERFORM attendance_rollup_refresh(NEW.id, lo, hi);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_rollup_users AFTER UPDATE ON users FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status OR
	    OLD.org_id IS DISTINCT FROM NEW.org_id)
	EXECUTE FUNCTION attendance_rollup_users();

-- ---- Reading ---------------------------------------------------------

-- The dates [p_from, p_to], estimated at a month's 31 rows: the planner
-- takes a generate_series() of computed bounds for 1,000 rows, which makes
-- a 1,000-person month look like 1,000,000 person-days and pays seconds
-- of JIT compilation for a query that runs in milliseconds. (plpgsql, so
-- that it is not inlined and its ROWS holds.)
CREATE FUNCTION attendance_dates(p_from date, p_to date) RETURNS SETOF date
LANGUAGE plpgsql IMMUTABLE STRICT ROWS 31 AS $$
BEGIN
	RETURN QUERY SELECT g::date FROM generate_series(p_from::timestamp,
	    p_to::timestamp, interval '1 day') g;
END
$$;

-- attendance_days(p_org, p_from, p_to) from the rollup: the same rows
-- (the org's active people x the dates), a stored day as stored, any
-- other day plain, and 'absent' against today in the org's zone. One
-- SELECT, no SET: the planner inlines it into the report's statement.
CREATE FUNCTION attendance_days_rollup(p_org uuid, p_from date, p_to date)
RETURNS TABLE (user_id uuid, date date, first_in timestamptz,
	last_out timestamptz, worked_minutes int, open_pair boolean,
	status text)
LANGUAGE sql STABLE AS $$
SELECT u.id, d.date, r.first_in, r.last_out,
    COALESCE(r.worked_minutes, 0), COALESCE(r.open_pair, false),
    COALESCE(r.status, CASE
	WHEN d.holiday THEN 'holiday'
	WHEN d.weekend THEN 'weekend'
	WHEN d.date <= d.today THEN 'absent'
    END)
FROM (SELECT o.id AS org_id, g AS date,
	extract(isodow FROM g)::int = ANY (o.weekend_days) AS weekend,
	EXISTS (SELECT 1 FROM holidays h WHERE h.org_id = o.id
	    AND h.date = g) AS holiday,
	(now() AT TIME ZONE o.timezone)::date AS today
    FROM orgs o CROSS JOIN attendance_dates(p_from, p_to) g
    WHERE o.id = p_org) d
JOIN users u ON u.org_id = d.org_id AND u.status = 'active'
LEFT JOIN (SELECT * FROM attendance_rollup x WHERE x.org_id = p_org
    AND x.date BETWEEN p_from AND p_to) r
    ON r.user_id = u.id AND r.date = d.date
$$;

-- ---- Backfill --------------------------------------------------------

SELECT attendance_rollup_rebuild_org(id) FROM orgs ORDER BY id;
ANALYZE attendance_rollup;
