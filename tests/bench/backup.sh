#!/usr/bin/env bash
# Backup benchmark: an org of 1,000 people with a month of events
# (seed_attendance.sql) and 1,000 pictures (random bytes of JPEG-like
# size, ~120 KiB each plus a ~10 KiB thumbnail, written straight into a
# store and named by pictures rows), then times
#   - rollcall backup (pg_dump of one snapshot + every blob + manifest),
#   - rollcall backup verify,
#   - rollcall restore into a fresh database, store and keys dir,
# and prints the archive's size. Prints figures; never fails on them.
# The data is made once per cluster (var/bench/pg) and kept.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
people=${BENCH_PEOPLE:-1000}
pictures=${BENCH_PICTURES:-1000}
runs=${BENCH_BACKUP_RUNS:-3}
export PGDIR=${BENCH_PGDIR:-$PGDIR}
work=$bench_dir/backup
src_db=bench_backup_${people}_${pictures}
slug=bench-backup

bench_start_db
url_of() { sed "s|///[^?]*|///$1|" <<<"$DB_URL"; }
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$@"; }
run() {	# run DB STORE KEYS rollcall-args...
	local db=$1 store=$2 keys=$3
	shift 3
	env ROLLCALL_CONFIG="$root/conf/rollcall.conf" \
		ROLLCALL_DB_URL="$(url_of "$db")" ROLLCALL_STORE_DIR="$store" \
		ROLLCALL_AUTH_KEYS_DIR="$keys" ROLLCALL_LOG_FILE="$work/rollcall.log" \
		ROLLCALL_DB_MIGRATIONS_DIR="$root/sql" "$BIN" "$@"
}
secs_since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }'; }

mkdir -p "$work"
if [ "$(q "$(url_of postgres)" -c "SELECT count(*) FROM pg_database
	WHERE datname = '$src_db'")" = 0 ] || [ ! -d "$work/src-blobs" ]; then
	rm -rf "$work/src-blobs" "$work/src-keys"
	q "$(url_of postgres)" -c "DROP DATABASE IF EXISTS $src_db" \
		-c "CREATE DATABASE $src_db"
	run "$src_db" "$work/src-blobs" "$work/src-keys" migrate >/dev/null
	t0=$(date +%s.%N)
	month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
	q "$(url_of "$src_db")" -v slug="$slug" -v month="$month" \
		-v people="$people" -f "$(dirname "$0")/seed_attendance.sql" >/dev/null
	# The pictures: blobs into the store, rows through COPY.
	org=$(q "$(url_of "$src_db")" -c "SELECT id FROM orgs WHERE slug = '$slug'")
	/usr/bin/python3 - "$work/src-blobs" "$pictures" "$org" \
		"$(q "$(url_of "$src_db")" -c "SELECT string_agg(id::text, ' ')
		FROM users WHERE org_id = '$org'")" >"$work/pictures.tsv" <<'PY'
import hashlib, os, random, sys
store, n, org, users = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split()
rnd = random.Random(12)
def put(data):
    key = hashlib.sha256(data).hexdigest()
    d = os.path.join(store, key[:2], key[2:4])
    os.makedirs(d, mode=0o700, exist_ok=True)
    with open(os.path.join(d, key), "wb") as f:
        f.write(data)
    return key
for i in range(n):
    full = rnd.randbytes(rnd.randint(90, 150) * 1024)
    thumb = rnd.randbytes(rnd.randint(8, 12) * 1024)
    print("\t".join([org, users[i % len(users)], put(full), put(thumb),
                     "640", "480", str(len(full))]))
PY
	q "$(url_of "$src_db")" -c "\copy pictures (org_id, owner_id, sha256,
		thumb_sha256, width, height, bytes) FROM '$work/pictures.tsv'"
	run "$src_db" "$work/src-blobs" "$work/src-keys" user add \
		--email admin@bench-backup.test --name Admin --role admin \
		--org "$slug" <<<"bench-Passw0rd-backup-long" >/dev/null
	echo "seeded $people people x $month + $pictures pictures in $(secs_since "$t0") s"
fi
# The daemon's keys: made by a daemon start the first time.
if ! ls "$work/src-keys"/*.pem >/dev/null 2>&1; then
	run "$src_db" "$work/src-blobs" "$work/src-keys" serve >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ls "$work/src-keys"/*.pem >/dev/null 2>&1 && break
		sleep 0.1
	done
	kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
fi

counts=$(q "$(url_of "$src_db")" -c "SELECT (SELECT count(*) FROM users) || ' users, ' ||
	(SELECT count(*) FROM attendance_events) || ' events, ' ||
	(SELECT count(*) FROM pictures) || ' pictures'")
store_mib=$(du -sm "$work/src-blobs" | cut -f1)
db_mib=$(q "$(url_of "$src_db")" -c "SELECT pg_database_size(current_database()) / 1048576")
echo "== rollcall backup ($(nproc) cores; $counts; store $store_mib MiB," \
	"database $db_mib MiB; $runs runs each, best and worst)"

times() {	# LABEL then one time per line on stdin
	sort -n | awk -v label="$1" '{ t[NR] = $1 } END {
		printf "%-22s best %6.2f s  worst %6.2f s\n", label, t[1], t[NR] }'
}
for i in $(seq "$runs"); do
	rm -f "$work/archive.tar"
	t0=$(date +%s.%N)
	run "$src_db" "$work/src-blobs" "$work/src-keys" backup \
		--out "$work/archive.tar" >/dev/null
	secs_since "$t0"; echo
done | times "backup"
archive_mib=$(du -m "$work/archive.tar" | cut -f1)
for i in $(seq "$runs"); do
	t0=$(date +%s.%N)
	run "$src_db" "$work/src-blobs" "$work/src-keys" backup verify \
		"$work/archive.tar" >/dev/null
	secs_since "$t0"; echo
done | times "backup verify"
for i in $(seq "$runs"); do
	rm -rf "$work/dst-blobs" "$work/dst-keys"
	q "$(url_of postgres)" -c "DROP DATABASE IF EXISTS bench_backup_dst" \
		-c "CREATE DATABASE bench_backup_dst"
	t0=$(date +%s.%N)
	run bench_backup_dst "$work/dst-blobs" "$work/dst-keys" restore \
		--in "$work/archive.tar" >/dev/null
	secs_since "$t0"; echo
done | times "restore (incl. verify)"
echo "archive: $archive_mib MiB; restored: $(q "$(url_of bench_backup_dst)" -c \
	"SELECT (SELECT count(*) FROM users) || ' users, ' ||
	(SELECT count(*) FROM attendance_events) || ' events, ' ||
	(SELECT count(*) FROM pictures) || ' pictures'"), store $(du -sm \
	"$work/dst-blobs" | cut -f1) MiB"
