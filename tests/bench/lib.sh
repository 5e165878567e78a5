# Shared by the benchmarks: a private PostgreSQL, a daemon on a free port,
# wrk runs parsed into one line each. Not part of the pass/fail suite.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_dir=$root/var/bench
mkdir -p "$bench_dir"
export PGDIR=$bench_dir/pg
BIN=${ROLLCALL_BIN:-$root/bin/rollcall}

bench_start_db() {
	DB_URL=$("$root/scripts/pg.sh" start)
	export DB_URL
}

# bench_start_daemon [ENV=VALUE...]: starts rollcall serve; sets PORT, PID.
bench_start_daemon() {
	local out=$bench_dir/serve.out
	env ROLLCALL_CONFIG="$root/conf/rollcall.conf" ROLLCALL_DB_URL="$DB_URL" \
		ROLLCALL_SERVER_PORT=0 ROLLCALL_DB_MIGRATE_ON_START=true \
		ROLLCALL_LOG_FILE="$bench_dir/rollcall.log" \
		ROLLCALL_AUTH_KEYS_DIR="$bench_dir/keys" \
		ROLLCALL_MAIL_SPOOL_DIR="$bench_dir/mail" \
		ROLLCALL_LIMITS_MAX_IN_FLIGHT=5000 "$@" \
		"$BIN" serve >"$out" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
		[ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
		sleep 0.1
	done
	echo "bench: daemon did not start" >&2
	cat "$out" >&2
	return 1
}

bench_stop_daemon() {
	kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
}

# bench_login ROLE [SLUG]: a fresh user of ROLE (in org SLUG), logged in
# on $base; sets tok and auth ("Authorization: Bearer ...").
bench_login() {
	local role=$1 slug=${2:-} email pw
	email=bench-$role-$RANDOM$RANDOM@${slug:-bench}.test
	pw=bench-Passw0rd-$RANDOM-long
	env ROLLCALL_CONFIG="$root/conf/rollcall.conf" ROLLCALL_DB_URL="$DB_URL" \
		"$BIN" user add --email "$email" --name Bench --role "$role" \
		${slug:+--org "$slug"} <<<"$pw" >/dev/null
	tok=$(curl -sf -H 'Content-Type: application/json' \
		-d "{\"email\":\"$email\",\"password\":\"$pw\"}" \
		"$base/api/v1/auth/login" |
		sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	[ -n "$tok" ] || { echo "bench: login failed" >&2; return 1; }
	auth="Authorization: Bearer $tok"
}

# bench_seed_org SLUG PEOPLE: an org of PEOPLE people with last month's
# attendance (seed_attendance.sql), once: kept in the cluster for the next
# runs. Needs q() (psql on $DB_URL).
bench_seed_org() {
	local slug=$1 people=$2 month t0
	[ "$(q -c "SELECT count(*) FROM orgs WHERE slug = '$slug'")" = 0 ] ||
		return 0
	month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
	t0=$(date +%s.%N)
	q -v slug="$slug" -v month="$month" -v people="$people" \
		-f "$root/tests/bench/seed_attendance.sql"
	awk -v p="$people" -v m="$month" -v t0="$t0" -v t1="$(date +%s.%N)" \
		'BEGIN { printf "seeded %s people x %s in %.1f s\n", p, m, t1 - t0 }'
}

rss_mib() {
	awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# wrk_line LABEL CONNECTIONS SECONDS URL [wrk args]: prints one result line
# "LABEL req/s p50 p99 errors" and sets REQS.
wrk_line() {
	local label=$1 conns=$2 secs=$3 url=$4 out
	shift 4
	out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "$url" 2>&1)
	REQS=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
	local p50 p99 errs
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	errs=$(awk '/Socket errors/ { print $0 }' <<<"$out" | sed 's/^ *//')
	local non2xx
	non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
	printf '%-28s %10s req/s  p50 %-9s p99 %-9s %s%s\n' "$label" "$REQS" \
		"$p50" "$p99" "${errs:-no socket errors}" \
		"${non2xx:+, non-2xx: $non2xx}"
}
