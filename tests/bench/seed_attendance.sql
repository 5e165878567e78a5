-- Seeds the attendance benchmark (tests/bench/attendance.sh): an org of
-- :people people (default 1,000) with a whole month of check-ins and
-- check-outs on every working day, one holiday and some approved leave.
-- Set-based (generate_series), so 1,000 x a month takes seconds.
--   psql -v slug=bench-att -v month=2026-10 -v people=1000 -f seed_attendance.sql
-- Nobody but the admin made by the script can sign in (password_hash '!').
\set ON_ERROR_STOP 1
\if :{?people}
\else
\set people 1000
\endif
BEGIN;
INSERT INTO orgs (name, slug, timezone)
	VALUES ('Bench attendance', :'slug', 'Europe/Berlin');

INSERT INTO users (org_id, email, name, role, password_hash)
SELECT o.id, format('p%s@%s.test', i, o.slug), format('Person %s', i),
	CASE WHEN i % 50 = 0 THEN 'manager' ELSE 'employee' END, '!'
FROM orgs o, generate_series(1, :people) i WHERE o.slug = :'slug';

-- The 10th working day is a holiday.
INSERT INTO holidays (org_id, date, name)
SELECT o.id, d, 'Bench holiday'
FROM orgs o, LATERAL (SELECT g::date AS d FROM generate_series(
	(:'month' || '-01')::date, (:'month' || '-01')::date
	+ interval '1 month' - interval '1 day', interval '1 day') g
	WHERE extract(isodow FROM g) < 6 ORDER BY g OFFSET 9 LIMIT 1) h
WHERE o.slug = :'slug';

-- One person in 20 takes days 3..4 of the month off (approved).
INSERT INTO leave_types (org_id, name, days_per_year)
SELECT id, 'Annual', 25 FROM orgs WHERE slug = :'slug';
INSERT INTO leave_requests (org_id, user_id, type_id, start_date, end_date,
	status, days)
SELECT u.org_id, u.id, t.id, (:'month' || '-03')::date,
	(:'month' || '-04')::date, 'approved', 2
FROM users u JOIN orgs o ON o.id = u.org_id JOIN leave_types t
	ON t.org_id = o.id
WHERE o.slug = :'slug' AND u.email ~ '^p[0-9]*0@';

-- Every working day: in between 08:45 and 09:30, out between 17:00 and
-- 18:00 local time; one person in 25 stays away on a given day.
INSERT INTO attendance_events (org_id, user_id, kind, at, source)
SELECT u.org_id, u.id, k.kind,
	((d::date + CASE k.kind WHEN 'in' THEN time '08:45'
	  + (random() * 45) * interval '1 minute' ELSE time '17:00'
	  + (random() * 60) * interval '1 minute' END)::timestamp
	 AT TIME ZONE o.timezone), 'web'
FROM orgs o JOIN users u ON u.org_id = o.id,
	generate_series((:'month' || '-01')::date, (:'month' || '-01')::date
	  + interval '1 month' - interval '1 day', interval '1 day') d,
	(VALUES ('in'), ('out')) k(kind)
WHERE o.slug = :'slug' AND u.password_hash = '!'
	AND extract(isodow FROM d) < 6
	AND NOT EXISTS (SELECT 1 FROM holidays h WHERE h.org_id = o.id
	  AND h.date = d::date)
	AND hashtext(u.id::text || d::text) % 25 <> 0
	AND NOT EXISTS (SELECT 1 FROM leave_requests r WHERE r.user_id = u.id
	  AND d::date BETWEEN r.start_date AND r.end_date)
ORDER BY u.id, d, k.kind;
COMMIT;
ANALYZE;
