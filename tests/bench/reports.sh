#!/usr/bin/env bash
# Reports benchmark (issue 11, item 6): an org of 1,000 people with a month
# of events (seed_attendance.sql, made once and kept in var/bench/pg), then
#   - GET /reports/monthly (JSON, CSV) and GET /reports/sheet (JSON, CSV):
#     time per request over sequential runs, p50/p99 (targets: monthly
#     p50 <= 30 ms, sheet <= 50 ms), read from the rollup ("after") and,
#     in the same run, from attendance_days() itself ("before": the same
#     statements with attendance_days_rollup() made a wrapper of it, which
#     is main's code);
#   - EXPLAIN ANALYZE of the statements the routes run, both ways;
#   - what the rollup costs the writes: an event, a holiday, a change of
#     the org's zone (each in a transaction rolled back).
# Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
runs=${BENCH_REPORT_RUNS:-41}
people=${BENCH_PEOPLE:-1000}
slug=bench-rep-$people
export PGDIR=${BENCH_PGDIR:-$PGDIR}

bench_start_db
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
reader_sql=$bench_dir/attendance_days_rollup.sql
cleanup() {
	bench_stop_daemon
	# Put the rollup's reader back if the "before" run replaced it.
	[ -s "$reader_sql" ] && q -f "$reader_sql" >/dev/null && rm -f "$reader_sql"
}
trap cleanup EXIT
bench_start_daemon
base=http://127.0.0.1:$PORT

bench_seed_org "$slug" "$people"	# rollup triggers included
org_id=$(q -c "SELECT id FROM orgs WHERE slug = '$slug'")
month=$(q -c "SELECT to_char(min(e.at AT TIME ZONE o.timezone), 'YYYY-MM')
	FROM attendance_events e JOIN orgs o ON o.id = e.org_id
	WHERE o.id = '$org_id'")
first=$month-01
last=$(date -u -d "$first +1 month -1 day" +%F)
q -c "UPDATE users SET status = 'disabled' WHERE org_id = '$org_id'
	AND email LIKE 'bench-admin-%'" >/dev/null
bench_login admin "$slug"

# The statements exactly as the routes send them.
sql_bin=$bench_dir/report_sql
cc -std=c17 -I"$root/include" $(pkg-config --cflags libpq jansson) \
	"$root/tests/bench/report_sql.c" "$root/src/reports/queries.c" \
	-o "$sql_bin"

monthly_url="$base/api/v1/reports/monthly?month=$month"
sheet_url="$base/api/v1/reports/sheet?month=$month"
nrows=$(curl -sf -H "$auth" "$monthly_url" | grep -o '"user_id"' | wc -l || true)
nroll=$(q -c "SELECT count(*) FROM attendance_rollup WHERE org_id = '$org_id'
	AND date BETWEEN '$first' AND '$last'")
echo "== rollcall reports ($(nproc) cores, shared; org of $people, $month:" \
	"$nrows report rows, $nroll rollup rows; $runs sequential runs each)"

# N sequential requests: p50, p99, min, max in ms (curl's time_total).
report_times() {
	local label=$1 url=$2 target=$3 i
	local st
	st=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url")	# warm
	[ "$st" = 200 ] || echo "bench: $label answers $st: its figure is meaningless" >&2
	for i in $(seq "$runs"); do
		curl -s -o /dev/null -w '%{time_total}\n' -H "$auth" "$url"
	done | sort -n | awk -v label="$label" -v target="$target" '
		{ t[NR] = $1 * 1000 }
		END { p99 = int(NR * 0.99 + 0.999); if (p99 > NR) p99 = NR
			printf "%-30s p50 %6.1f ms  p99 %6.1f  min %6.1f  max %6.1f  (target p50 <= %s ms)\n",
			label, t[int((NR + 1) / 2)], t[p99], t[1], t[NR], target }'
}

all_times() {
	local tag=$1
	report_times "monthly JSON ($tag)" "$monthly_url" 30
	report_times "monthly CSV ($tag)" "$monthly_url&format=csv" 30
	report_times "sheet JSON ($tag)" "$sheet_url" 50
	report_times "sheet CSV ($tag)" "$sheet_url&format=csv" 50
}

# EXPLAIN ANALYZE of a report statement (monthly|sheet) for the org.
explain() {
	local kind=$1 tag=$2
	echo "-- EXPLAIN ANALYZE reports_$kind ($tag):"
	{
		echo "PREPARE s AS $("$sql_bin" "$kind");"
		echo "EXPLAIN (ANALYZE, BUFFERS, SUMMARY ON)"
		echo "EXECUTE s('$org_id', NULL, '$month');"
	} | q | grep -E "$EXPLAIN_LINES" | sed 's/^ */   /' | cut -c1-150
}
EXPLAIN_LINES=${BENCH_EXPLAIN_LINES:-'Execution Time|Planning Time|attendance_rollup|attendance_days|Hash Join|Aggregate  |Sort  |Function Scan'}

all_times after
explain monthly after
explain sheet after
echo "-- EXPLAIN ANALYZE attendance_days_rollup() alone vs attendance_days():"
for f in attendance_days_rollup attendance_days; do
	q -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON)
		SELECT * FROM $f('$org_id', '$first', '$last')" |
		grep -E 'Execution Time|Planning Time' | sed "s/^ */   $f: /"
done

# What the rollup adds to writes, each in a transaction rolled back:
# check-ins of 200 people (one statement each, as the route does), a
# holiday (the org's 1,000 people on that date), a change of time zone
# (the org's whole history again).
write_cost() {
	local label=$1 sql=$2 t
	t=$(q -c "BEGIN" -c '\timing on' -c "$sql" -c "ROLLBACK" |
		awk '/^Time:/ { print $2; exit }')
	printf '%-40s %9s ms\n' "$label" "$t"
}
checkins="DO \$\$ DECLARE u uuid; BEGIN FOR u IN SELECT id FROM users
	WHERE org_id = '$org_id' AND password_hash = '!' ORDER BY id LIMIT 200
	LOOP INSERT INTO attendance_events (org_id, user_id, kind, at)
	VALUES ('$org_id', u, 'in', '$last'::date + 40); END LOOP; END \$\$"
echo "-- writes (psql \\timing of the statement, rolled back):"
write_cost "200 check-ins, rollup kept" "$checkins"
write_cost "200 check-ins, rollup triggers off" \
	"ALTER TABLE attendance_events DISABLE TRIGGER attendance_rollup_events_ins; $checkins"
write_cost "a holiday on a working day" "INSERT INTO holidays VALUES
	('$org_id', '$first'::date + 20, 'bench')"
write_cost "a change of the org's time zone" "UPDATE orgs SET timezone =
	'Europe/London' WHERE id = '$org_id'"

# Before: the same statements fed by attendance_days() (main's code).
q -c "SELECT pg_get_functiondef('attendance_days_rollup'::regproc)" \
	>"$reader_sql"
q -c "CREATE OR REPLACE FUNCTION attendance_days_rollup(p_org uuid,
	p_from date, p_to date) RETURNS TABLE (user_id uuid, date date,
	first_in timestamptz, last_out timestamptz, worked_minutes int,
	open_pair boolean, status text) LANGUAGE sql STABLE AS
	\$\$ SELECT * FROM attendance_days(p_org, p_from, p_to) \$\$"
bench_stop_daemon
bench_start_daemon
base=http://127.0.0.1:$PORT
monthly_url="$base/api/v1/reports/monthly?month=$month"
sheet_url="$base/api/v1/reports/sheet?month=$month"
all_times before
explain monthly before
q -f "$reader_sql" >/dev/null && rm -f "$reader_sql"
