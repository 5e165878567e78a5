#!/usr/bin/env bash
# Question sets benchmark: a published set of 20 choice questions, then
#   - GET /question-sets/{id} as an intern (no answer key) at -c64, against
#     /readyz in the same run;
#   - POST .../submissions (scored in one statement, attempt numbered under
#     the trigger's lock): 10 interns x 100 attempts, 10 at a time; wall
#     time, submissions/s, p50 and p99 per request;
#   - the results (one row per person) and the admin's submissions page
#     over those 1,000 submissions: p50 of several runs.
# Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}
runs=${BENCH_REPORT_RUNS:-15}
interns=${BENCH_INTERNS:-10}
attempts=100	# the set's max_attempts (at most 100)
slug=bench-q-$RANDOM$RANDOM

bench_start_db
bench_start_daemon
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
q -c "INSERT INTO orgs (name, slug) VALUES ('Bench Q', '$slug')" >/dev/null
json() { curl -sf -H "$auth" -H 'Content-Type: application/json' "$@"; }

bench_login admin "$slug"
admin_auth=$auth
sid=$(json -d '{"title": "Bench set", "max_attempts": '$attempts'}' \
	"$base/api/v1/question-sets" | sed -n 's/^{"id" *: *"\([^"]*\)".*/\1/p')
[ -n "$sid" ] || { echo "bench: no set made" >&2; exit 1; }
for i in $(seq 10); do
	json -o /dev/null -d '{"kind": "single", "prompt": "S'$i'", "points": 1,
		"choices": ["a", "b", "c", "d"], "answer": [1]}' \
		"$base/api/v1/question-sets/$sid/questions"
	json -o /dev/null -d '{"kind": "multiple", "prompt": "M'$i'", "points": 2,
		"choices": ["a", "b", "c", "d"], "answer": [0, 2]}' \
		"$base/api/v1/question-sets/$sid/questions"
done
json -o /dev/null -X PATCH -d '{"published": true}' "$base/api/v1/question-sets/$sid"

# One body: every question answered with its first choice.
body=$(q -c "SELECT json_build_object('answers', json_agg(json_build_object(
	'question_id', q.id, 'choice_ids', json_build_array((SELECT c.id FROM
	question_choices c WHERE c.question_id = q.id ORDER BY c.position
	LIMIT 1))) ORDER BY q.position)) FROM questions q WHERE q.set_id = '$sid'")
echo "$body" >"$bench_dir/q-body.json"

toks=()
for i in $(seq "$interns"); do
	bench_login intern "$slug"
	toks+=("$auth")
done
auth=${toks[0]}
set_url="$base/api/v1/question-sets/$sid"

echo "== rollcall question sets ($(nproc) cores, ${secs}s per run; 20 questions," \
	"$interns interns x $attempts attempts)"
wrk_line "/readyz -c64" 64 "$secs" "$base/readyz"
readyz=$REQS
wrk_line "GET /me -c64 (authed, 1 row)" 64 "$secs" "$base/api/v1/me" -H "$auth"
me=$REQS
wrk_line "GET /question-sets/{id} -c64" 64 "$secs" "$set_url" -H "$auth"
awk -v m="$REQS" -v r="$readyz" -v me="$me" 'BEGIN { printf "GET /question-sets/{id} is %.0f%% of /readyz, %.0f%% of /me\n", 100 * m / r, 100 * m / me }'

: >"$bench_dir/q-times"
t0=$(date +%s.%N)
pids=()
for a in "${toks[@]}"; do
	for _ in $(seq "$attempts"); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "$a" \
			-H 'Content-Type: application/json' \
			--data-binary @"$bench_dir/q-body.json" "$set_url/submissions"
	done >>"$bench_dir/q-times" &
	pids+=($!)
done
wait "${pids[@]}"	# not the daemon, also a child of this shell
t1=$(date +%s.%N)
sort -k2 -n "$bench_dir/q-times" | awk -v t0="$t0" -v t1="$t1" -v c="$interns" '
	{ t[NR] = $2 * 1000; codes[$1]++ }
	END {
		s = ""; for (k in codes) s = s k ":" codes[k] " ";
		printf "POST submissions x%d, %d at a time: %.1f s, %.0f/s, p50 %.1f ms, p99 %.1f ms (%s)\n",
			NR, c, t1 - t0, NR / (t1 - t0), t[int((NR + 1) / 2)], t[int(NR * 0.99)], s
	}'
echo "   stored: $(q -c "SELECT count(*) || ' submissions, ' || sum(score) || ' points' FROM question_submissions WHERE set_id = '$sid'")"

auth=$admin_auth
times() {
	local label=$1 url=$2 i
	curl -sf -o /dev/null -H "$auth" "$url"	# warm: prepare, cache
	for i in $(seq "$runs"); do
		curl -sf -o /dev/null -w '%{time_total}\n' -H "$auth" "$url"
	done | sort -n | awk -v label="$label" -v n="$runs" '
		{ t[NR] = $1 * 1000 }
		END { printf "%-34s p50 %6.1f ms  min %6.1f  max %6.1f  (%d runs)\n",
			label, t[int((NR + 1) / 2)], t[1], t[NR], n }'
}
times "results JSON (1,000 submissions)" "$set_url/results"
times "results CSV" "$set_url/results?format=csv"
times "submissions page (limit 500)" "$set_url/submissions?limit=500"
