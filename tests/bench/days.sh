#!/usr/bin/env bash
# Per-person day reads: GET /attendance/days (a month), /today and /events
# for one person of the 1,000-person org that reports.sh seeds (run it
# first), read by an admin; wrk -t1 -c16. Prints req/s, p50, p99; never
# fails on them. These are the routes that call attendance_person_days()
# (sql/013): before it they planned its body at every call.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
slug=bench-rep-${BENCH_PEOPLE:-1000}
export PGDIR=${BENCH_PGDIR:-$PGDIR}
bench_start_db
trap bench_stop_daemon EXIT
bench_start_daemon
base=http://127.0.0.1:$PORT
u=$(psql -X -tA "$DB_URL" -c "SELECT u.id FROM users u JOIN orgs o ON
	o.id = u.org_id WHERE o.slug = '$slug' AND u.password_hash = '!'
	ORDER BY u.id LIMIT 1")
[ -n "$u" ] || { echo "bench: no org $slug (run reports.sh first)" >&2; exit 0; }
bench_login admin "$slug"
echo "== per-person day reads ($(nproc) cores, shared; wrk -t1 -c16, 6 s)"
for path in "attendance/days?user=$u&from=2026-11-01&to=2026-11-30" \
	"attendance/today?user=$u" \
	"attendance/events?user=$u&from=2026-11-01&to=2026-11-30"; do
	wrk -t1 -c16 -d2s -H "$auth" "$base/api/v1/$path" >/dev/null
	wrk -t1 -c16 -d6s --latency -H "$auth" "$base/api/v1/$path" |
		awk -v p="GET /${path%%\?*}" '/Requests\/sec/ { r = $2 }
		/ 50%/ { m = $2 } / 99%/ { n = $2 }
		END { printf "%-28s %8s req/s  p50 %8s  p99 %8s\n", p, r, m, n }'
done
