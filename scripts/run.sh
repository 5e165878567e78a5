#!/usr/bin/env bash
# `make run`: a private PostgreSQL under var/pg, migrations, a demo
# organisation and admin on first start, then the server on
# http://127.0.0.1:8080 (Ctrl-C stops it; the database keeps running until
# `scripts/pg.sh stop`). The private cluster's URL goes to var/db.url (the
# default db.url_file), where `bin/rollcall user add ...` and the other
# commands find it while db.url is empty.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
if [ -z "${ROLLCALL_DB_URL:-}" ]; then
	ROLLCALL_DB_URL=$(scripts/pg.sh start)
	export ROLLCALL_DB_URL
	(umask 077 && printf '%s\n' "$ROLLCALL_DB_URL" >var/db.url.tmp &&
		mv var/db.url.tmp var/db.url)
fi
export ROLLCALL_DB_MIGRATE_ON_START=${ROLLCALL_DB_MIGRATE_ON_START:-true}
export ROLLCALL_AUTH_DEMO_SEED=${ROLLCALL_AUTH_DEMO_SEED:-true}
exec bin/rollcall serve
