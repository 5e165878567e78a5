#!/usr/bin/env bash
# `make run`: a private PostgreSQL under var/pg, migrations, a demo
# organisation and admin on first start, then the server on
# http://127.0.0.1:8080 (Ctrl-C stops it; the database keeps running until
# `scripts/pg.sh stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ROLLCALL_DB_URL:-}" ]; then
	ROLLCALL_DB_URL=$(scripts/pg.sh start)
	export ROLLCALL_DB_URL
fi
export ROLLCALL_DB_MIGRATE_ON_START=${ROLLCALL_DB_MIGRATE_ON_START:-true}
export ROLLCALL_AUTH_DEMO_SEED=${ROLLCALL_AUTH_DEMO_SEED:-true}
mkdir -p var
exec bin/rollcall serve
