#!/usr/bin/env bash
# HTTP core benchmark: /healthz and /readyz under wrk at -c 64 and -c 1000,
# the daemon's RSS under load, and pgbench -S as the raw query ceiling of the
# same cluster. Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ulimit -n 65536 2>/dev/null || true
secs=${BENCH_SECONDS:-10}

bench_start_db
bench_start_daemon
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT

echo "== rollcall HTTP core ($(nproc) cores, ${secs}s per run, pid $PID)"
wrk_line "/healthz -c64" 64 "$secs" "$base/healthz"
(sleep $((secs / 2)); rss_mib "$PID" >"$bench_dir/rss") &
wrk_line "/healthz -c1000" 1000 "$secs" "$base/healthz"
rss_load=$(cat "$bench_dir/rss")
echo "   RSS during /healthz -c1000: ${rss_load} MiB"
wrk_line "/readyz -c64" 64 "$secs" "$base/readyz"
readyz=$REQS
(sleep $((secs / 2)); rss_mib "$PID" >"$bench_dir/rss") &
wrk_line "/readyz -c1000" 1000 "$secs" "$base/readyz"
rss_load2=$(cat "$bench_dir/rss")
echo "   RSS during /readyz -c1000: ${rss_load2} MiB; after: $(rss_mib "$PID") MiB"

pgdb=$(sed -n 's|^postgresql:///\([^?]*\)?.*|\1|p' <<<"$DB_URL")
pghost=$(sed -n 's|.*host=\([^&]*\).*|\1|p' <<<"$DB_URL")
pguser=$(sed -n 's|.*user=\([^&]*\).*|\1|p' <<<"$DB_URL")
psql -q "postgresql:///postgres?host=$pghost&user=$pguser" -c "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench"
pgbench -q -i -s 1 -h "$pghost" -U "$pguser" pgbench >/dev/null 2>&1
tps=$(pgbench -S -M prepared -c 8 -j 2 -T "$secs" -h "$pghost" -U "$pguser" pgbench 2>/dev/null |
	awk '/^tps/ { print $3; exit }')
echo "pgbench -S -M prepared -c8       ${tps} tps"
awk -v r="$readyz" -v t="$tps" 'BEGIN { printf "/readyz -c64 is %.0f%% of the pgbench figure (target >= 50%%)\n", 100 * r / t }'
: "$pgdb"
