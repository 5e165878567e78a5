#!/usr/bin/env bash
# Identity benchmark: login throughput (argon2id on the CPU pool, default
# INTERACTIVE limits), and GET /me p50/p99 at -c64 alone and again while
# logins run in parallel: hashing must never stall the loops. /readyz in
# the same run for scale. Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}

bench_start_db
bench_start_daemon
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT
email=bench-$RANDOM@bench.test
pw=bench-Passw0rd-$RANDOM-long
env ROLLCALL_CONFIG="$root/conf/rollcall.conf" ROLLCALL_DB_URL="$DB_URL" \
	"$BIN" user add --email "$email" --name Bench --role superadmin \
	<<<"$pw" >/dev/null
body="{\"email\":\"$email\",\"password\":\"$pw\"}"
cat >"$bench_dir/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
tok=$(curl -sf -H 'Content-Type: application/json' -d "$body" "$base/api/v1/auth/login" |
	sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$tok" ] || { echo "bench: login failed" >&2; exit 1; }

echo "== rollcall identity ($(nproc) cores, ${secs}s per run)"
wrk_line "/readyz -c64" 64 "$secs" "$base/readyz"
readyz=$REQS
wrk_line "POST /auth/login -c8" 8 "$secs" "$base/api/v1/auth/login" -s "$bench_dir/login.lua"
wrk_line "GET /me -c64 alone" 64 "$secs" "$base/api/v1/me" -H "Authorization: Bearer $tok"
me=$REQS
wrk -t1 -c8 -d"$((secs + 2))s" -s "$bench_dir/login.lua" "$base/api/v1/auth/login" \
	>"$bench_dir/login-under.out" 2>&1 &
sleep 1
wrk_line "GET /me -c64 under logins" 64 "$secs" "$base/api/v1/me" -H "Authorization: Bearer $tok"
wait $!
echo "   logins meanwhile: $(awk '/Requests\/sec/ { print $2 }' "$bench_dir/login-under.out") req/s"
awk -v m="$me" -v r="$readyz" 'BEGIN { printf "/me is %.0f%% of /readyz (target >= 50%%)\n", 100 * m / r }'
