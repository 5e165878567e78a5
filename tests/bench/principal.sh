#!/usr/bin/env bash
# Principal cache: GET /api/v1/me (a verified token, the principal from the
# loop's cache) against GET /readyz (one round trip to PostgreSQL), wrk -t1
# -c64, in one run; the target is /me >= 0.8x /readyz. With
# ROLLCALL_BIN_BEFORE=path the same runs for that binary first (a build
# without the cache), on the same database. Prints figures; never fails on
# them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}

# wrk1 LABEL URL [wrk args]: one -t1 -c64 run; prints a line, sets REQS.
wrk1() {
	local label=$1 url=$2 out
	shift 2
	out=$(wrk -t1 -c64 -d"${secs}s" --latency "$@" "$url" 2>&1)
	REQS=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
	printf '%-24s %10s req/s  p50 %-9s p99 %-9s%s\n' "$label" "$REQS" \
		"$(awk '$1 == "50%" { print $2 }' <<<"$out")" \
		"$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
		"$(awk '/Non-2xx/ { print ", non-2xx: " $NF }' <<<"$out")"
}

# measure NAME BINARY: /readyz, then /me, on a fresh daemon of BINARY.
measure() {
	local name=$1 readyz
	BIN=$2 bench_start_daemon
	base=http://127.0.0.1:$PORT
	bench_login superadmin
	sleep 0.5	# the listener connects
	wrk1 "$name /readyz" "$base/readyz"
	readyz=$REQS
	wrk1 "$name GET /me" "$base/api/v1/me" -H "$auth"
	awk -v m="$REQS" -v r="$readyz" -v n="$name" 'BEGIN {
		printf "%s: /me is %.2fx /readyz (target >= 0.8)\n", n, m / r }'
	curl -sf "$base/metrics" | grep '^rollcall_principal_cache' || true
	bench_stop_daemon
}

bench_start_db
trap bench_stop_daemon EXIT
echo "== principal cache ($(nproc) cores, ${secs}s per run, wrk -t1 -c64)"
if [ -n "${ROLLCALL_BIN_BEFORE:-}" ]; then
	measure before "$ROLLCALL_BIN_BEFORE"
fi
measure after "$BIN"
