#!/usr/bin/env bash
# `make bench`: every benchmark in this folder, one after another.
set -uo pipefail
cd "$(dirname "$0")"
for b in http.sh $(ls *.sh | grep -v -e '^http.sh$' -e '^run.sh$' -e '^lib.sh$'); do
	echo
	bash "./$b" || echo "bench: $b failed"
done
