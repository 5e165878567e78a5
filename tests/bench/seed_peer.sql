-- Seeds tests/bench/peer.sh: the rows of ../shared/bench/peer-node/seed.sql
-- in rollcall's schema. An org (UTC, so that its dates are the peer's UTC
-- days) whose people each have October 2026's working days (Mon-Fri) as
-- one in and one out: 1,000 people with the person of :email among them,
-- 44,000 events. Run after `rollcall user add` made that person (the one
-- the benchmark signs in as; everyone else has password_hash '!').
--   psql -v slug=bench-peer -v email=peer@bench-peer.test -f seed_peer.sql
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO users (org_id, email, name, role, password_hash)
SELECT o.id, format('p%s@%s.test', i, o.slug), format('Person %s', i),
	'employee', '!'
FROM orgs o, generate_series(1, 999) i WHERE o.slug = :'slug';

-- Person u's minutes past the hour vary with u and the day, as the peer's.
INSERT INTO attendance_events (org_id, user_id, kind, at, source, note)
SELECT u.org_id, u.id, k.kind,
	(d + k.off + make_interval(mins => (u.n * 7
	 + extract(day FROM d)::int) % 30)) AT TIME ZONE 'UTC', 'web',
	CASE WHEN k.kind = 'out' AND u.n % 10 = 0 THEN 'left early' END
FROM (SELECT x.id, x.org_id, row_number() OVER (ORDER BY x.email
	= :'email' DESC, x.email)::int AS n FROM users x JOIN orgs o
	ON o.id = x.org_id WHERE o.slug = :'slug') u,
	generate_series(timestamp '2026-10-01', timestamp '2026-10-31',
	interval '1 day') AS d,
	(VALUES ('in', interval '8 hours'),
	 ('out', interval '16 hours 30 minutes')) AS k(kind, off)
WHERE extract(isodow FROM d) < 6;
COMMIT;
VACUUM ANALYZE attendance_events;
