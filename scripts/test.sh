#!/usr/bin/env bash
# Every test: the C unit tests, then the API tests against the real daemon,
# a throwaway PostgreSQL and a real SMTP server, then the browser tests
# (tests/e2e: headless Chromium on the same daemon, database and SMTP),
# then the install tests (tests/install: make install into a DESTDIR,
# the units through systemd-analyze, the .deb installed and purged).
#   scripts/test.sh BIN UNIT_BIN...   (the Makefile passes them)
#   scripts/test.sh --e2e BIN         the browser tests only (make e2e;
#                                     make screenshots sets E2E_SCREENSHOTS)
#   scripts/test.sh --api BIN         the API tests only (make api)
# PYTEST_ARGS adds arguments to pytest (e.g. "-k metrics").
set -uo pipefail
cd "$(dirname "$0")/.."
only_e2e=0
only_api=0
if [ "${1:-}" = --e2e ]; then
	only_e2e=1
	shift
elif [ "${1:-}" = --api ]; then
	only_api=1
	shift
fi
bin=$1
shift

unit=0
[ $only_e2e -eq 1 ] || [ $only_api -eq 1 ] || scripts/run-unit.sh "$@" || unit=1

export ROLLCALL_BIN=$PWD/$bin
export ROLLCALL_TEST_PGDIR=$PWD/var/test-pg
# Each run starts on a new cluster and a new temporary folder and removes
# both at the end: what tests leave behind (databases, blob stores, logs,
# pytest's tmp_path) must not pile up across make test and make asan on a
# CI machine with little disk.
export TMPDIR=$PWD/var/test-tmp
clean_up() {
	PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh destroy >/dev/null 2>&1 || true
	rm -rf "$TMPDIR"
}
clean_up
mkdir -p "$TMPDIR"
trap clean_up EXIT
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh start >/dev/null || exit 1
api=0
if [ $only_e2e -eq 0 ]; then
	# shellcheck disable=SC2086
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/api ${PYTEST_ARGS:-} || api=1
fi
e2e=0
if [ $only_api -eq 0 ]; then
	# shellcheck disable=SC2086
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/e2e ${PYTEST_ARGS:-} || e2e=1
fi
PGDIR=$ROLLCALL_TEST_PGDIR scripts/pg.sh destroy >/dev/null || true
install=0
if [ $only_e2e -eq 0 ] && [ $only_api -eq 0 ]; then
	# shellcheck disable=SC2086
	/usr/bin/python3 -m pytest -p no:cacheprovider -q -ra tests/install ${PYTEST_ARGS:-}
	rc=$?
	# 5: PYTEST_ARGS (-k ...) selected none of these.
	[ $rc -eq 0 ] || [ $rc -eq 5 ] || install=1
fi

if [ $unit -ne 0 ] || [ $api -ne 0 ] || [ $e2e -ne 0 ] || [ $install -ne 0 ]; then
	echo "test: FAILED (unit=$unit api=$api e2e=$e2e install=$install)"
	exit 1
fi
echo "test: all passed"
