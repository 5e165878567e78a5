#!/usr/bin/env bash
# Slash-command reply time: 50 concurrent signed commands from 50 linked
# people (wrk -c50), each reply a full verify → act → reply: the team
# lookup, the HMAC check, then `status` (attendance_days over the month,
# beside GET /attendance/today by token, the API's nearest work) or
# `in`/`out` (the punch statement; a toggle that loses a race answers
# "already checked in", the same path). Slack allows 3 s; the target is
# p99 ≤ 100 ms. /readyz in the same run for scale. Prints figures; never
# fails on them. The signatures are made here, valid for 300 s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}
people=50

bench_start_db
bench_start_daemon ROLLCALL_SLACK_WEBHOOK_ALLOW=http://127.0.0.1:1/
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT
slug=slack$RANDOM
team=TB$RANDOM$RANDOM
secret=bench-signing-secret-$RANDOM$RANDOM
psql_() { psql "$DB_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }

org=$(psql_ -c "INSERT INTO orgs (name, slug, weekend_days) VALUES
	('Slack bench', '$slug', '{}') RETURNING id")
psql_ -c "INSERT INTO slack_links (org_id, team_id, signing_secret, notify)
	VALUES ('$org', '$team', '$secret', '{}')"
psql_ -c "INSERT INTO users (org_id, email, name, role, password_hash,
	slack_user_id) SELECT '$org', 'p' || g || '@$slug.test', 'Person ' || g,
	'employee', 'x', 'UB' || g FROM generate_series(1, $people) g"

# make_lua VERB...: a wrk script cycling through one signed body per
# person and verb.
make_lua() {
	/usr/bin/python3 - "$team" "$secret" "$people" "$@" <<'PY'
import hashlib, hmac, sys, time, urllib.parse
team, secret, n, verbs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
ts = str(int(time.time()))
reqs = []
for i in range(1, n + 1):
    for v in verbs:
        body = urllib.parse.urlencode({"team_id": team, "user_id": "UB%d" % i,
            "command": "/rollcall", "text": v,
            "response_url": "https://hooks.slack.com/commands/1"})
        sig = hmac.new(secret.encode(), ("v0:%s:%s" % (ts, body)).encode(),
                       hashlib.sha256).hexdigest()
        reqs.append((body, "v0=" + sig))
print('wrk.method = "POST"')
print('local reqs = {')
for b, s in reqs:
    print('  {%r, %r},' % (b, s))
print('}')
print('local i = 0')
print('request = function()')
print('  i = i %% %d + 1' % len(reqs))
print('  local r = reqs[i]')
print('  return wrk.format(nil, nil, {["Content-Type"] = '
      '"application/x-www-form-urlencoded", ["X-Slack-Request-Timestamp"] = '
      '"%s", ["X-Slack-Signature"] = r[2]}, r[1])' % ts)
print('end')
PY
}

# The API's nearest work, for the ratio: one person's day by token.
bench_login employee "$slug"

make_lua status >"$bench_dir/slack-status.lua"
make_lua in out >"$bench_dir/slack-punch.lua"

echo "== rollcall slash commands ($(nproc) cores, ${secs}s per run, $people people)"
wrk_line "/readyz -c50" 50 "$secs" "$base/readyz"
wrk_line "GET /attendance/today -c50" 50 "$secs" "$base/api/v1/attendance/today" \
	-H "$auth"
wrk_line "slack status -c50" 50 "$secs" "$base/api/v1/integrations/slack/command" \
	-s "$bench_dir/slack-status.lua"
wrk_line "slack in/out -c50" 50 "$secs" "$base/api/v1/integrations/slack/command" \
	-s "$bench_dir/slack-punch.lua"
echo "   events written: $(psql_ -c "SELECT count(*) FROM attendance_events e
	JOIN users u ON u.id = e.user_id WHERE u.org_id = '$org'")"
