-- Attendance (what InternAttendance did): each org's holidays, the log of
-- check-in/check-out events, the rule that keeps that log a sequence of
-- in→out pairs, and attendance_days(), the one place every daily and
-- monthly figure is computed.
--
-- Instants are stored in UTC (timestamptz); a calendar date is always a date
-- in the org's time zone (orgs.timezone).

CREATE TABLE holidays (
	org_id		uuid NOT NULL REFERENCES orgs (id),
	date		date NOT NULL,
	name		text NOT NULL,
	PRIMARY KEY (org_id, date)
);

CREATE TABLE attendance_events (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	user_id		uuid NOT NULL REFERENCES users (id),
	kind		text NOT NULL CHECK (kind IN ('in', 'out')),
	at		timestamptz NOT NULL,
	source		text NOT NULL DEFAULT 'web'
			CHECK (source IN ('web', 'kiosk', 'slack', 'api')),
	note		text,
	picture_id	uuid,		-- the faces issue adds the pictures table
	created_at	timestamptz NOT NULL DEFAULT now(),
	corrected_at	timestamptz,
	corrected_by	uuid REFERENCES users (id),
	-- A person's events are totally ordered by at: two at the same instant
	-- would leave "which came first" to chance.
	CONSTRAINT attendance_events_user_at UNIQUE (user_id, at)
);

-- The state rule: ordered by at, a person's events alternate in, out, in,
-- out, ... starting with an in. So a check-in needs the last event to be an
-- out (or none), a check-out needs it to be an in, and a correction must not
-- leave two ins or two outs side by side anywhere.
--
-- The database enforces it whoever writes (the API, psql, a bulk load),
-- checking only the places a change touches: around the row's new instant
-- and, when it moved or went away, the gap at its old one. The check runs
-- AFTER the statement's rows are in, so a multi-row INSERT of a valid
-- history passes in any row order. Concurrent writers for one person are
-- serialised by a transaction-scoped advisory lock taken before reading;
-- under READ COMMITTED each query of this (volatile) function takes a fresh
-- snapshot, so it sees what the previous lock holder committed: of 20
-- simultaneous check-ins, one commits and 19 fail here.
--
-- SQLSTATEs the API maps to 409: RC001 an in follows an in (already checked
-- in), RC002 an out without an in before it (not checked in), RC003 any
-- other break (the next event, or the old neighbours, no longer alternate).

-- Raises RC003 when the events either side of instant t (t itself holds no
-- event of the person) do not alternate.
CREATE FUNCTION attendance_check_gap(p_user uuid, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	before_kind text;
	after_kind text;
BEGIN
	SELECT kind INTO after_kind FROM attendance_events
	    WHERE user_id = p_user AND at > t ORDER BY at LIMIT 1;
	IF after_kind IS NULL THEN
		RETURN;
	END IF;
	SELECT kind INTO before_kind FROM attendance_events
	    WHERE user_id = p_user AND at < t ORDER BY at DESC LIMIT 1;
	IF after_kind = COALESCE(before_kind, 'out') THEN
		RAISE EXCEPTION 'attendance: two % events would be adjacent',
		    after_kind USING ERRCODE = 'RC003';
	END IF;
END
$$;

CREATE FUNCTION attendance_check_sequence() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	who uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id
	    ELSE NEW.user_id END;
	prev_kind text;
	next_kind text;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('attendance_events'),
	    hashtext(who::text));
	IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
		RAISE EXCEPTION 'attendance: an event cannot change hands'
		    USING ERRCODE = 'RC003';
	END IF;
	IF TG_OP IN ('UPDATE', 'DELETE') AND (TG_OP = 'DELETE' OR
	    OLD.at <> NEW.at) THEN
		PERFORM attendance_check_gap(who, OLD.at);
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN NULL;
	END IF;
	SELECT kind INTO prev_kind FROM attendance_events
	    WHERE user_id = who AND at < NEW.at ORDER BY at DESC LIMIT 1;
	IF NEW.kind = COALESCE(prev_kind, 'out') THEN
		IF NEW.kind = 'in' THEN
			RAISE EXCEPTION 'attendance: already checked in'
			    USING ERRCODE = 'RC001';
		END IF;
		RAISE EXCEPTION 'attendance: not checked in'
		    USING ERRCODE = 'RC002';
	END IF;
	SELECT kind INTO next_kind FROM attendance_events
	    WHERE user_id = who AND at > NEW.at ORDER BY at LIMIT 1;
	IF NEW.kind = next_kind THEN
		RAISE EXCEPTION 'attendance: two % events would be adjacent',
		    NEW.kind USING ERRCODE = 'RC003';
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER attendance_events_sequence_ins AFTER INSERT
	ON attendance_events FOR EACH ROW
	EXECUTE FUNCTION attendance_check_sequence();
CREATE TRIGGER attendance_events_sequence_upd AFTER UPDATE OF at, kind,
	user_id ON attendance_events FOR EACH ROW
	WHEN (OLD.at IS DISTINCT FROM NEW.at OR OLD.kind IS DISTINCT FROM
	    NEW.kind OR OLD.user_id IS DISTINCT FROM NEW.user_id)
	EXECUTE FUNCTION attendance_check_sequence();
CREATE TRIGGER attendance_events_sequence_del AFTER DELETE
	ON attendance_events FOR EACH ROW
	EXECUTE FUNCTION attendance_check_sequence();

-- One row per person × date in [p_from, p_to]: the people are the org's
-- active users, or p_user alone (whatever their status) when given; dates
-- are calendar dates in the org's zone. One statement over a date series:
-- no loop per day or per person.
--
--   first_in / last_out: the first in and the last out whose instant falls
--     on that local date.
--   worked_minutes: the closed in→out pairs, each cut at local midnights
--     (real elapsed time, so 25- and 23-hour DST days count right): a pair
--     from 22:00 to 06:00 gives 120 minutes to the first date and 360 to
--     the next. Rounded down to whole minutes per date.
--   open_pair: an in on that date has no out after it at all (still in, or
--     a forgotten check-out); an open pair adds no minutes.
--   status, first match wins: holiday, weekend, on_leave (approved leave
--     covering the date; a half day only when the person did not check in
--     that date), late (checked in that date, the first in later than
--     workday_start + late_after_minutes local wall-clock time; never on a
--     half day of leave: the leave may have been the morning), present
--     (checked in that date), absent (a date up to today in the org's
--     zone), else NULL (a future working date: nothing to say yet).
--   A date only reached by a pair carried over from the day before gets its
--   minutes but not "present": presence is checking in on that date.
-- Rows come in no particular order: callers ORDER BY what they need.
-- work_mem: a month of a 1,000-person org is ~44,000 events to sort and
-- group; the default 4 MB would spill them to disk.
CREATE FUNCTION attendance_days(p_org uuid, p_from date, p_to date,
	p_user uuid DEFAULT NULL)
RETURNS TABLE (user_id uuid, date date, first_in timestamptz,
	last_out timestamptz, worked_minutes int, open_pair boolean,
	status text)
LANGUAGE sql STABLE SET work_mem = '32MB' AS $$
WITH o AS (
	SELECT o.id, o.timezone AS tz, o.weekend_days,
	    (o.workday_start - time '00:00') +
	    make_interval(mins => o.late_after_minutes) AS late_after,
	    (now() AT TIME ZONE o.timezone)::date AS today,
	    p_from::timestamp AT TIME ZONE o.timezone AS lo,
	    (p_to + 1)::timestamp AT TIME ZONE o.timezone AS hi
	FROM orgs o WHERE o.id = p_org),
d AS (
	SELECT g::date AS date,
	    extract(isodow FROM g)::int = ANY (o.weekend_days) AS weekend,
	    h.date IS NOT NULL AS holiday
	FROM o CROSS JOIN generate_series(p_from::timestamp,
	    p_to::timestamp, interval '1 day') g
	LEFT JOIN holidays h ON h.org_id = o.id AND h.date = g::date),
p AS (
	SELECT u.id FROM users u, o WHERE u.org_id = o.id
	AND CASE WHEN p_user IS NULL THEN u.status = 'active'
	    ELSE u.id = p_user END),
-- Each person's events of the range, plus their last one before it and
-- first one after it, so that lead() pairs every in that touches the
-- range: three index scans per person, so that a person's history outside
-- the range costs nothing (ORDER BY keeps the planner from turning them
-- into one scan of every event).
e AS (
	SELECT p.id AS user_id, x.kind, x.at FROM p CROSS JOIN o CROSS JOIN
	LATERAL ((SELECT y.kind, y.at FROM attendance_events y
		WHERE y.user_id = p.id AND y.at < o.lo ORDER BY y.at DESC
		LIMIT 1)
	    UNION ALL
	    (SELECT y.kind, y.at FROM attendance_events y
		WHERE y.user_id = p.id AND y.at >= o.lo AND y.at < o.hi
		ORDER BY y.at)
	    UNION ALL
	    (SELECT y.kind, y.at FROM attendance_events y
		WHERE y.user_id = p.id AND y.at >= o.hi ORDER BY y.at
		LIMIT 1)) x),
-- Each event with its local wall-clock time and the next event's: the
-- state rule makes whatever follows an in its out, so an in with a next
-- event is a closed pair.
s AS (
	SELECT x.*, lead(x.at) OVER w AS next_at, lead(x.lat) OVER w AS
	    next_lat
	FROM (SELECT e.*, e.at AT TIME ZONE o.tz AS lat FROM e CROSS JOIN o) x
	WINDOW w AS (PARTITION BY x.user_id ORDER BY x.at)),
-- Per person and local date of the range's events; a pair within one date
-- (nearly all of them) adds its time here.
ev AS (
	SELECT s.user_id, s.lat::date AS date,
	    min(s.at) FILTER (WHERE s.kind = 'in') AS first_in,
	    min(s.lat) FILTER (WHERE s.kind = 'in') AS first_in_local,
	    max(s.at) FILTER (WHERE s.kind = 'out') AS last_out,
	    bool_or(s.kind = 'in' AND s.next_at IS NULL) AS open_pair,
	    sum(extract(epoch FROM s.next_at - s.at)) FILTER (WHERE
		s.kind = 'in' AND s.next_at IS NOT NULL AND
		s.next_lat::date = s.lat::date) AS secs
	FROM s CROSS JOIN o WHERE s.at >= o.lo AND s.at < o.hi
	GROUP BY 1, 2),
-- The pairs that cross local midnight (or the range's ends), spread over
-- the dates they span, cut at each midnight.
w AS (
	SELECT s.user_id, c.date, sum(extract(epoch FROM
	    least(s.next_at, c.day_end) - greatest(s.at, c.day_start))) AS secs
	FROM s CROSS JOIN o CROSS JOIN LATERAL (
	    SELECT g::date AS date, g AT TIME ZONE o.tz AS day_start,
		(g + interval '1 day') AT TIME ZONE o.tz AS day_end
	    FROM generate_series(greatest(s.lat::date, p_from)::timestamp,
		least(s.next_lat::date, p_to)::timestamp, interval '1 day') g) c
	WHERE s.kind = 'in' AND s.next_at IS NOT NULL AND
	    s.next_lat::date <> s.lat::date
	GROUP BY 1, 2),
lv AS (
	SELECT r.user_id, g::date AS date, bool_or(NOT r.half_day) AS full_day,
	    bool_or(r.half_day) AS half_day
	FROM p JOIN leave_requests r ON r.user_id = p.id
	    AND r.status = 'approved' AND r.start_date <= p_to
	    AND r.end_date >= p_from
	CROSS JOIN generate_series(greatest(r.start_date, p_from)::timestamp,
	    least(r.end_date, p_to)::timestamp, interval '1 day') g
	GROUP BY 1, 2)
SELECT p.id, d.date, ev.first_in, ev.last_out,
    floor((COALESCE(ev.secs, 0) + COALESCE(w.secs, 0)) / 60)::int,
    COALESCE(ev.open_pair, false),
    CASE
	WHEN d.holiday THEN 'holiday'
	WHEN d.weekend THEN 'weekend'
	WHEN lv.full_day OR (lv.half_day AND ev.first_in IS NULL)
	    THEN 'on_leave'
	WHEN ev.first_in IS NOT NULL AND NOT COALESCE(lv.half_day, false) AND
	    ev.first_in_local - d.date::timestamp > o.late_after THEN 'late'
	WHEN ev.first_in IS NOT NULL THEN 'present'
	WHEN d.date <= o.today THEN 'absent'
    END
FROM o CROSS JOIN p CROSS JOIN d
LEFT JOIN ev ON ev.user_id = p.id AND ev.date = d.date
LEFT JOIN w ON w.user_id = p.id AND w.date = d.date
LEFT JOIN lv ON lv.user_id = p.id AND lv.date = d.date
$$;
