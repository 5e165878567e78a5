#!/usr/bin/env bash
# Attendance benchmark: an org of 1,000 people with a month of events
# (seed_attendance.sql, made once and kept in var/bench/pg), then
#   - GET /attendance/events (one person, one month) req/s at -c64, against
#     /readyz in the same run (target: >= 50% of it);
#   - the 1,000-person monthly report (JSON and CSV): time per request over
#     several runs, p50 (target: <= 250 ms), and the database's share of it
#     (EXPLAIN ANALYZE of the statement the route runs).
# Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}
runs=${BENCH_REPORT_RUNS:-15}
people=${BENCH_PEOPLE:-1000}
slug=bench-att-$people
# BENCH_PGDIR: another cluster than var/bench/pg (e.g. to try a schema
# without touching the shared one).
export PGDIR=${BENCH_PGDIR:-$PGDIR}

bench_start_db
bench_start_daemon
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

bench_seed_org "$slug" "$people"
month=$(q -c "SELECT to_char(min(e.at AT TIME ZONE o.timezone), 'YYYY-MM')
	FROM attendance_events e JOIN orgs o ON o.id = e.org_id
	WHERE o.slug = '$slug'")
first=$month-01
last=$(date -u -d "$first +1 month -1 day" +%F)
org_id=$(q -c "SELECT id FROM orgs WHERE slug = '$slug'")
uid=$(q -c "SELECT id FROM users WHERE org_id = '$org_id' AND role = 'employee'
	ORDER BY email LIMIT 1")

# A fresh admin each run; the previous runs' are disabled so that the
# report keeps exactly the seeded people plus one.
q -c "UPDATE users SET status = 'disabled' WHERE org_id = '$org_id'
	AND (email LIKE 'admin-%' OR email LIKE 'bench-admin-%')" >/dev/null
bench_login admin "$slug"

events_url="$base/api/v1/attendance/events?user_id=$uid&from=$first&to=$last"
report_url="$base/api/v1/reports/monthly?month=$month"
ev_status=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$events_url")
[ "$ev_status" = 200 ] || echo "bench: GET /attendance/events answers $ev_status: its figure is meaningless" >&2
nev=$(curl -sf -H "$auth" "$events_url" | grep -o '"kind"' | wc -l || true)
nrows=$(curl -sf -H "$auth" "$report_url" | grep -o '"user_id"' | wc -l || true)
echo "== rollcall attendance ($(nproc) cores, ${secs}s per run; org of" \
	"$people, $month; events reply: $nev events; report: $nrows rows)"
wrk_line "/readyz -c64" 64 "$secs" "$base/readyz"
readyz=$REQS
wrk_line "GET /attendance/events -c64" 64 "$secs" "$events_url" -H "$auth"
awk -v m="$REQS" -v r="$readyz" 'BEGIN { printf "/attendance/events is %.0f%% of /readyz (target >= 50%%)\n", 100 * m / r }'

# time_total of N sequential requests: p50, min, max in ms.
report_times() {
	local label=$1 url=$2 i
	for i in $(seq "$runs"); do
		curl -sf -o /dev/null -w '%{time_total}\n' -H "$auth" "$url"
	done | sort -n | awk -v label="$label" -v n="$runs" '
		{ t[NR] = $1 * 1000 }
		END { printf "%-28s p50 %6.1f ms  min %6.1f  max %6.1f  (%d runs; target p50 <= 250 ms)\n",
			label, t[int((NR + 1) / 2)], t[1], t[NR], n }'
}
curl -sf -o /dev/null -H "$auth" "$report_url"	# warm: prepare, cache
report_times "monthly report JSON" "$report_url"
report_times "monthly report CSV" "$report_url&format=csv"
wrk_line "GET /reports/monthly -c4" 4 "$secs" "$report_url" -H "$auth"

# Where the time goes inside PostgreSQL.
echo "-- EXPLAIN ANALYZE attendance_days($people people x $month):"
q -c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON)
	SELECT * FROM attendance_days('$org_id', '$first', '$last')" |
	grep -E 'Execution Time|Planning Time' | sed 's/^ */   /'
