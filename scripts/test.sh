#!/usr/bin/env bash
# Every test: the C unit tests, then the API tests against the real daemon,
# a throwaway PostgreSQL and a real SMTP server.
#   scripts/test.sh BIN UNIT_BIN...   (the Makefile passes them)
# PYTEST_ARGS adds arguments to pytest (e.g. "-k metrics").
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$1
shift

unit=0
scripts/run-unit.sh "$@" || unit=1

export ROLLCALL_BIN=$PWD/$bin
export ROLLCALL_TEST_PGDIR=$PWD/var/test-pg
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh start >/dev/null || exit 1
api=0
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/api ${PYTEST_ARGS:-} || api=1
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh stop >/dev/null || true

if [ $unit -ne 0 ] || [ $api -ne 0 ]; then
	echo "test: FAILED (unit=$unit api=$api)"
	exit 1
fi
echo "test: all passed"
