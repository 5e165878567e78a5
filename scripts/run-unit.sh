#!/usr/bin/env bash
# Runs the C unit test binaries given as arguments from the repo root;
# fails if any fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
for t in "$@"; do
	echo "== $(basename "$t")"
	"$t" || { echo "FAILED: $t"; fail=1; }
done
exit $fail
