#!/usr/bin/env bash
# Pictures and faces benchmark:
#   - `rollcall face-eval --enroll 5` on each set in ../shared/data/faces
#     (default method; orl also with the YuNet detector when its model is
#     there): rank-1, failure to detect, TAR at FAR, ms per photo, 1:N time;
#   - under wrk, with real photos: POST /pictures (decode, orient, re-encode,
#     thumbnail, two blob writes, one row) and POST /faces/identify against
#     a gallery of the 40 LFW people x 5 photos, then against 10,000
#     templates (synthetic copies, for timing).
# Prints figures; never fails on them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-8}
faces=$root/../shared/data/faces
yunet=$root/../shared/data/models/face_detection_yunet_2022mar.onnx

eval_line() {
	local label=$1
	shift
	"$BIN" face-eval "$@" --json | /usr/bin/python3 -c '
import json, sys
f = json.load(sys.stdin)
print("%-26s rank-1 %.3f  FTD %.3f  TAR@FAR1%% %.3f  TAR@FAR0.1%% %.3f  "
      "thr %.3f  ms/photo p50 %.1f p95 %.1f  1:N 1k %.2f ms 10k %.2f ms"
      % (sys.argv[1], f["rank1_accuracy"], f["failure_to_detect"],
         f["tar_at_far_1pct"], f["tar_at_far_0_1pct"], f["threshold"],
         f["ms_per_photo_p50"], f["ms_per_photo_p95"],
         f["identify_ms_1k"], f["identify_ms_10k"]))' "$label"
}

echo "== face-eval --enroll 5 (one process, CPU pool not involved)"
for set in orl lfw-deepfunneled; do
	[ -d "$faces/$set" ] && eval_line "$set" "$faces/$set" --enroll 5
done
[ -f "$yunet" ] && eval_line "orl (YuNet detector)" "$faces/orl" --enroll 5 \
	--detector-model "$yunet"
[ -f "$yunet" ] && eval_line "lfw (YuNet detector)" "$faces/lfw-deepfunneled" \
	--enroll 5 --detector-model "$yunet"

bench_start_db
rm -rf "$bench_dir/blobs"
bench_start_daemon ROLLCALL_STORE_DIR="$bench_dir/blobs"
trap bench_stop_daemon EXIT
base=http://127.0.0.1:$PORT
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

# A fresh org per run, so the gallery holds exactly what this run enrols.
slug=bench-faces-$RANDOM$RANDOM
q -c "INSERT INTO orgs (name, slug) VALUES ('Bench faces', '$slug')" >/dev/null
bench_login admin "$slug"
echo "daemon RSS at start $(rss_mib "$PID") MiB"
org_id=$(q -c "SELECT id FROM orgs WHERE slug = '$slug'")

# Enrol the first 5 photos of each LFW person through the API, timed.
t0=$(date +%s.%N)
n=0
for dir in "$faces"/lfw-deepfunneled/*/; do
	person=$(basename "$dir")
	uid=$(curl -sf -H "$auth" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$person@$slug.test\",\"name\":\"$person\",
		     \"role\":\"employee\",\"send_credentials\":false}" \
		"$base/api/v1/users" | /usr/bin/python3 -c \
		'import json, sys; print(json.load(sys.stdin).get("id", ""))' \
		2>/dev/null || true)
	[ -n "$uid" ] || uid=$(q -c "SELECT id FROM users
		WHERE email = '$person@$slug.test'")
	for i in 01 02 03 04 05; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" \
			-H 'Content-Type: image/jpeg' --data-binary "@$dir/$i.jpg" \
			"$base/api/v1/users/$uid/faces")
		[ "$code" = 201 ] && n=$((n + 1))
	done
done
awk -v n="$n" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN {
	printf "enrolled %d LFW photos through the API in %.1f s (%.1f ms each, serial)\n",
	n, t1 - t0, 1000 * (t1 - t0) / (n ? n : 1) }'

echo "daemon RSS after enrolling $(rss_mib "$PID") MiB"
probe=$faces/lfw-deepfunneled/Hans_Blix/08.jpg
lua=$bench_dir/post-image.lua
cat >"$lua" <<EOF
local f = assert(io.open(os.getenv("BENCH_IMAGE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
wrk.headers["Authorization"] = "Bearer $tok"
EOF
export BENCH_IMAGE=$probe

# CPU the daemon spends per request (all its threads, from /proc), over 30
# serial requests: unlike req/s it does not depend on what else the
# machine runs (the CPU pool's threads run at nice 10).
cpu_per_request() {
	local label=$1 url=$2 c0 c1 i
	curl -s -o /dev/null -H "$auth" -H 'Content-Type: image/jpeg' \
		--data-binary "@$probe" "$url"
	c0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	for i in $(seq 30); do
		curl -s -o /dev/null -H "$auth" -H 'Content-Type: image/jpeg' \
			--data-binary "@$probe" "$url"
	done
	c1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v l="$label" \
		'BEGIN { printf "%-30s %.1f ms of daemon CPU per request\n", l,
		1000 * c / hz / 30 }'
}
cpu_per_request "POST /pictures" "$base/api/v1/pictures"
cpu_per_request "POST /faces/identify (200)" "$base/api/v1/faces/identify"

echo "== under wrk, -c$conns, ${secs}s, one 250x250 LFW JPEG per request"
wrk_line "POST /pictures" "$conns" "$secs" "$base/api/v1/pictures" -s "$lua"
echo "daemon RSS after the uploads $(rss_mib "$PID") MiB"
wrk_line "POST /faces/identify (200)" "$conns" "$secs" \
	"$base/api/v1/faces/identify" -s "$lua"
echo "daemon RSS after identify $(rss_mib "$PID") MiB"
curl -s -H "$auth" -H 'Content-Type: image/jpeg' --data-binary "@$probe" \
	"$base/api/v1/faces/identify" | head -c 200
echo

# 10,000 templates: copies of the enrolled ones under synthetic people.
q <<SQL >/dev/null
INSERT INTO users (org_id, email, name, role, password_hash)
SELECT '$org_id', 'synthetic-' || g || '@$slug.test', 'Synthetic ' || g,
	'employee', 'x' FROM generate_series(1, 9800) g;
INSERT INTO face_templates (org_id, user_id, method, version, template, quality)
SELECT '$org_id', u.id, t.method, t.version, t.template, t.quality
FROM (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users
      WHERE email LIKE 'synthetic-%@$slug.test') u
JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k,
	count(*) OVER () AS total FROM face_templates
      WHERE org_id = '$org_id') t ON t.k = u.n % t.total;
SQL
echo "gallery now $(q -c "SELECT count(*) FROM face_templates
	WHERE org_id = '$org_id'") templates"
curl -s -o /dev/null -H "$auth" -H 'Content-Type: image/jpeg' \
	--data-binary "@$probe" "$base/api/v1/faces/identify"
wrk_line "POST /faces/identify (10k)" "$conns" "$secs" \
	"$base/api/v1/faces/identify" -s "$lua"
echo "daemon RSS $(rss_mib "$PID") MiB; blobs $(du -sh "$bench_dir/blobs" | cut -f1)"
