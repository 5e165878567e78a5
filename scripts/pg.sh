#!/usr/bin/env bash
# A throwaway PostgreSQL for development and tests.
#   scripts/pg.sh start|stop|destroy|status|psql|url [DIR]
# DIR (default $PGDIR, else var/pg) holds the cluster; it is created on first
# use. The server listens on a Unix socket in DIR only (no TCP) and runs as
# the postgres user when started as root (initdb refuses root). `start` and
# `url` print the connection string on stdout; `destroy` stops it and
# removes the cluster.
set -euo pipefail

cmd=${1:-status}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-${PGDIR:-$root/var/pg}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
dbname=${PGDATABASE_NAME:-rollcall}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/pg_ctl" ] || { echo "pg.sh: PostgreSQL server binaries not found (make deps)" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The socket path must fit in sun_path (107 bytes) and be reachable by the
# postgres user; if not, the socket lives in a short private folder.
sockdir=$dir
if [ ${#dir} -gt 80 ] || { [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; }; then
	sockdir=/tmp/rollcall-pg-$(printf '%s' "$dir" | sha1sum | cut -c1-12)
fi
data=$dir/data
if [ "$sockdir" != "$dir" ]; then
	data=$sockdir/data
fi
user=$( [ "$(id -u)" = 0 ] && echo postgres || id -un )
url="postgresql:///$dbname?host=$sockdir&user=$user"

init_cluster() {
	[ -f "$data/PG_VERSION" ] && return 0
	mkdir -p "$data"
	if [ "$(id -u)" = 0 ]; then
		chown postgres:postgres "$data" "$sockdir"
	fi
	chmod 700 "$data"
	as_owner "$bindir/initdb" -D "$data" --auth=trust --encoding=UTF8 \
		--locale=C.UTF-8 -U "$user" >"$sockdir/initdb.log" 2>&1 ||
		{ cat "$sockdir/initdb.log" >&2; exit 1; }
	cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0700
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 256MB
min_wal_size = 32MB
log_min_messages = warning
CONF
}

running() {
	as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

case $cmd in
start)
	mkdir -p "$sockdir"
	init_cluster
	if ! running; then
		as_owner "$bindir/pg_ctl" -D "$data" -l "$sockdir/server.log" \
			-w -t 30 start >/dev/null ||
			{ tail -n 20 "$sockdir/server.log" >&2; exit 1; }
	fi
	# A server that crashed restarts through recovery: "running" but not
	# yet accepting connections.
	for _ in $(seq 1 300); do
		as_owner "$bindir/pg_isready" -q -h "$sockdir" -U "$user" -d postgres && break
		sleep 0.1
	done
	if ! as_owner "$bindir/../bin/psql" -h "$sockdir" -U "$user" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$dbname'" | grep -q 1; then
		as_owner "$bindir/createdb" -h "$sockdir" -U "$user" "$dbname"
	fi
	echo "$url"
	;;
stop)
	if [ -f "$data/PG_VERSION" ] && running; then
		as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	fi
	;;
destroy)
	if [ -f "$data/PG_VERSION" ] && running; then
		as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
	fi
	rm -rf "$data"
	[ "$sockdir" = "$dir" ] || rm -rf "$sockdir"
	;;
status)
	if [ -f "$data/PG_VERSION" ] && running; then
		echo "running: $url"
	else
		echo "stopped"
		exit 3
	fi
	;;
psql)
	shift $(( $# >= 2 ? 2 : $# ))
	exec psql "$url" "$@"
	;;
url)
	echo "$url"
	;;
*)
	echo "usage: scripts/pg.sh start|stop|destroy|status|psql|url [DIR]" >&2
	exit 2
	;;
esac
