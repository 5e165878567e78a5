#!/usr/bin/env bash
# Reports benchmark (issue 11, item 6): an org of 1,000 people with a month
# of events (seed_attendance.sql, made once and kept in var/bench/pg), then
#   - GET /reports/monthly (JSON, CSV) and GET /reports/sheet (JSON, CSV):
#     time per request over sequential runs, p50/p99 (targets: monthly
#     p50 <= 30 ms, sheet <= 50 ms), read from the rollup ("after", this
#     tree's daemon) and, in the same run on the same database, from
#     attendance_days() ("before": the daemon of BENCH_BEFORE_REF, default
#     main, built once into var/bench/before-<commit>; or BENCH_BEFORE_BIN);
#   - the statements alone (psql, server time) both ways, and EXPLAIN
#     ANALYZE of the ones the routes run;
#   - what the rollup costs the writes: check-ins, a holiday, a change of
#     the org's zone (each in a transaction rolled back).
# Prints figures; never fails on them. The machine is shared: run it twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
runs=${BENCH_REPORT_RUNS:-41}
people=${BENCH_PEOPLE:-1000}
slug=bench-rep-$people
export PGDIR=${BENCH_PGDIR:-$PGDIR}

bench_start_db
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
trap bench_stop_daemon EXIT
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

# The statements exactly as the routes send them, this tree's and the
# reference's (report_sql.c prints one).
before_ref=$(git -C "$root" rev-parse --short "${BENCH_BEFORE_REF:-main}")
sql_bin=$bench_dir/report_sql
cc -std=c17 -I"$root/include" $(pkg-config --cflags libpq jansson) \
	"$root/tests/bench/report_sql.c" "$root/src/reports/queries.c" \
	-o "$sql_bin"
git -C "$root" show "$before_ref:src/reports/queries.c" \
	>"$bench_dir/queries-before.c"
cc -std=c17 -I"$root/include" $(pkg-config --cflags libpq jansson) \
	"$root/tests/bench/report_sql.c" "$bench_dir/queries-before.c" \
	-o "$sql_bin-before"

# The reference daemon, built once per commit.
before_bin=${BENCH_BEFORE_BIN:-}
if [ -z "$before_bin" ]; then
	src=$bench_dir/before-$before_ref
	if [ ! -x "$src/bin/rollcall" ]; then
		echo "building $before_ref's daemon in $src (once)..."
		mkdir -p "$src"
		git -C "$root" archive "$before_ref" | tar -x -C "$src"
		make -C "$src" -j2 bin/rollcall >"$src.log" 2>&1 ||
			{ echo "bench: building $before_ref failed ($src.log)" >&2; exit 1; }
	fi
	before_bin=$src/bin/rollcall
fi

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
	local kind=$1 tag=$2 bin=$3
	echo "-- EXPLAIN ANALYZE reports_$kind ($tag):"
	{
		echo "PREPARE s AS $("$bin" "$kind");"
		echo "EXPLAIN (ANALYZE, BUFFERS, SUMMARY ON)"
		echo "EXECUTE s('$org_id', NULL, '$month');"
	} | q | grep -E "$EXPLAIN_LINES" | sed 's/^ */   /' | cut -c1-150
}
EXPLAIN_LINES=${BENCH_EXPLAIN_LINES:-'Execution Time|Planning Time|attendance_rollup|attendance_days|Hash Join|Aggregate  |Sort  |Function Scan'}

# The statement alone, prepared, N runs in one session: p50 and min of
# psql's \timing (server time plus the transfer of the JSON).
stmt_times() {
	local label=$1 bin=$2 kind=$3 i
	{
		echo '\timing on'
		echo "PREPARE s AS $("$bin" "$kind");"
		for i in $(seq "$runs"); do
			echo "EXECUTE s('$org_id', NULL, '$month') \\g /dev/null"
		done
	} | q | awk '/^Time:/ { print $2 }' | tail -n "$runs" | sort -n |
		awk -v label="$label" '{ t[NR] = $1 } END {
		printf "%-30s p50 %6.1f ms  min %6.1f  (psql, statement only)\n",
		label, t[int((NR + 1) / 2)], t[1] }'
}

all_times after
for k in monthly sheet; do
	stmt_times "$k statement (after)" "$sql_bin" "$k"
	stmt_times "$k statement (before)" "$sql_bin-before" "$k"
done
explain monthly after "$sql_bin"
explain sheet after "$sql_bin"

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

# Before: the reference daemon (attendance_days() behind every report) on
# the same database, which it reads as it is (no migration).
bench_stop_daemon
BIN=$before_bin bench_start_daemon ROLLCALL_DB_MIGRATE_ON_START=false
base=http://127.0.0.1:$PORT
monthly_url="$base/api/v1/reports/monthly?month=$month"
sheet_url="$base/api/v1/reports/sheet?month=$month"
all_times "before, $before_ref"
explain monthly "before, $before_ref" "$sql_bin-before"
