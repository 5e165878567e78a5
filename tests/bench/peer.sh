#!/usr/bin/env bash
# The peer comparison of issue 11: ../shared/bench/run-peer.sh (a Node.js
# server, fastify + pg + fast-jwt, and pgbench on the same SELECT), then in
# the same run rollcall's GET /api/v1/attendance/events for one person over
# 10 working days (20 events; seed_peer.sql holds the peer's rows in
# rollcall's schema) with the same wrk settings (-t1 -c64, 3 s warm-up,
# DUR measured), and the ratios; the daemon's RSS idle and under -c1000.
# The face models cannot be left out (face.models_dir empty means the
# default folder, a missing one stops `serve`): RSS idle is the daemon with
# them loaded and nothing served, the -c1000 figure minus it is what
# serving adds.
# Prints figures; never fails on them. Needs what run-peer.sh needs (jq,
# node + npm and the npm registry, pgbench, wrk).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The config's relative paths (static/, the face models) are the tree's.
cd "$root"
ulimit -n 65536 2>/dev/null || true
DUR=${DUR:-10s}
export DUR
slug=bench-peer
email=peer@$slug.test
pw=bench-Passw0rd-peer-long
peer_script=${PEER_SCRIPT:-$root/../shared/bench/run-peer.sh}
export PGDIR=${BENCH_PGDIR:-$PGDIR}

# --- the peer and pgbench -------------------------------------------------
peer_out=$bench_dir/peer.out
if [ -x "$peer_script" ] || [ -f "$peer_script" ]; then
	bash "$peer_script" | tee "$peer_out"
else
	echo "bench: $peer_script not found: no peer figures" >&2
	: >"$peer_out"
fi
peer_rps=$(awk '/^peer GET events/ { print $5 }' "$peer_out")
pgb_tps=$(awk '/^pgbench same SELECT/ { print $6 }' "$peer_out")

# --- rollcall on the same rows --------------------------------------------
bench_start_db
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
run_daemon() {
	bench_start_daemon "$@"
	base=http://127.0.0.1:$PORT
	url="$base/api/v1/attendance/events?from=2026-10-01&to=2026-10-14"
}
run_daemon
trap bench_stop_daemon EXIT
rss_idle=$(rss_mib "$PID")
if [ "$(q -c "SELECT count(*) FROM orgs WHERE slug = '$slug'")" = 0 ]; then
	q -c "INSERT INTO orgs (name, slug, timezone)
		VALUES ('Bench peer', '$slug', 'UTC')"
	env ROLLCALL_CONFIG="$root/conf/rollcall.conf" ROLLCALL_DB_URL="$DB_URL" \
		"$BIN" user add --email "$email" --name Peer --role employee \
		--org "$slug" <<<"$pw" >/dev/null
	q -v slug="$slug" -v email="$email" -f "$root/tests/bench/seed_peer.sql"
fi
tok=$(curl -sf -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$pw\"}" \
	"$base/api/v1/auth/login" | jq -r .access_token)
auth="Authorization: Bearer $tok"
n=$(curl -sf -H "$auth" "$url" | jq '.items | length')
[ "$n" = 20 ] || echo "bench: expected 20 events, got $n: the figure is meaningless" >&2

pool=$(sed -n 's/^pool_size *= *//p' "$root/conf/rollcall.conf")
# CPU per request (the daemon's, and its PostgreSQL backends'): the figure
# that holds on a shared machine, where req/s follow the neighbours' load.
pgdata=$(psql -X -tA "$DB_URL" -c 'SHOW data_directory')
pg_backends() { ps -o pid= --ppid "$(head -1 "$pgdata/postmaster.pid")"; }
cpu_ticks() { local t=0 p; for p in "$@"; do
	t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done; echo "$t"; }
# bench_peer LABEL URL [wrk args]: run-peer.sh's way (-t1 -c64, 3 s warm-up,
# then DUR with the daemon's RSS sampled a second before the end).
rows=()
bench_peer() {
	local label=$1 u=$2 conns=${CONNS:-64} w rss
	shift 2
	wrk -t1 -c"$conns" -d3s "$@" "$u" >/dev/null 2>&1 || true
	# Let requests the warm-up left queued drain: at -c1000 they would
	# fill db.queue_max and answer 503.
	sleep 2
	local backends r0 p0 r1 p1
	backends=$(pg_backends)
	r0=$(cpu_ticks "$PID")
	p0=$(cpu_ticks $backends)
	wrk -t1 -c"$conns" -d"$DUR" --latency "$@" "$u" >"$bench_dir/wrk.out" 2>&1 &
	w=$!
	sleep "$(( ${DUR%s} - 1 ))"
	rss=$(rss_mib "$PID")
	wait "$w" || true
	r1=$(cpu_ticks "$PID")
	p1=$(cpu_ticks $backends)
	rows+=("$(awk -v l="$label" -v rss="$rss MiB" -v hz="$(getconf CLK_TCK)" \
		-v rc=$((r1 - r0)) -v pg=$((p1 - p0)) '
		/Requests\/sec/ {rps=$2} / 50%/ {p50=$2} / 99%/ {p99=$2}
		/requests in/ {n=$1}
		/Non-2xx/ {bad+=$NF} /Socket errors/ {gsub(/,/,""); bad+=$4+$6+$8+$10}
		END {printf "%s|%.0f|%s|%s|%d|%s|%.0f + %.0f us", l, rps, p50, p99,
			bad, rss, n ? rc / hz / n * 1e6 : 0, n ? pg / hz / n * 1e6 : 0}' \
		"$bench_dir/wrk.out")")
	REQS=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$bench_dir/wrk.out")
}
bench_peer "rollcall GET /readyz" "$base/readyz"
bench_peer "rollcall GET events" "$url" -H "$auth"
ev_rps=$REQS
CONNS=1000 bench_peer "rollcall GET events -c1000" "$url" -H "$auth"

echo
echo "== rollcall vs the peer ($(nproc) cores, wrk -t1, $DUR per run;" \
	"RSS: rollcall's, ${rss_idle} MiB idle with the face models;" \
	"db.pool_size $pool per loop)"
{ echo "what|req/s|p50|p99|non-2xx/errors|RSS|CPU/req daemon + db"; printf '%s\n' "${rows[@]}"; } |
	column -t -s'|'
awk -v e="$ev_rps" -v p="${peer_rps:-0}" -v t="${pgb_tps:-0}" 'BEGIN {
	if (p > 0) printf "events route / Node peer:       %.2fx (target >= 3)\n", e / p
	if (t > 0) printf "events route / pgbench SELECT:  %.2fx (target >= 0.5)\n", e / t }'
