#!/usr/bin/env bash
# Every test: the C unit tests, then the API tests against the real daemon,
# a throwaway PostgreSQL and a real SMTP server, then the browser tests
# (tests/e2e: headless Chromium on the same daemon, database and SMTP).
#   scripts/test.sh BIN UNIT_BIN...   (the Makefile passes them)
#   scripts/test.sh --e2e BIN         the browser tests only (make e2e;
#                                     make screenshots sets E2E_SCREENSHOTS)
# PYTEST_ARGS adds arguments to pytest (e.g. "-k metrics").
set -uo pipefail
cd "$(dirname "$0")/.."
only_e2e=0
if [ "${1:-}" = --e2e ]; then
	only_e2e=1
	shift
fi
bin=$1
shift

unit=0
[ $only_e2e -eq 1 ] || scripts/run-unit.sh "$@" || unit=1

export ROLLCALL_BIN=$PWD/$bin
export ROLLCALL_TEST_PGDIR=$PWD/var/test-pg
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh start >/dev/null || exit 1
api=0
if [ $only_e2e -eq 0 ]; then
	# shellcheck disable=SC2086
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/api ${PYTEST_ARGS:-} || api=1
fi
e2e=0
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/e2e ${PYTEST_ARGS:-} || e2e=1
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh stop >/dev/null || true

if [ $unit -ne 0 ] || [ $api -ne 0 ] || [ $e2e -ne 0 ]; then
	echo "test: FAILED (unit=$unit api=$api e2e=$e2e)"
	exit 1
fi
echo "test: all passed"
