#!/usr/bin/env bash
# Runs each libFuzzer driver given as an argument for FUZZ_SECONDS (default
# 60) from its seed corpus tests/fuzz/corpus/<driver>/ (read only: new
# inputs go to a scratch folder), under the ASan+UBSan build. Fails on any
# crash, leak or timeout; prints execs/s and coverage per driver.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/$name
	work=$(mktemp -d "/tmp/rollcall-$name-XXXXXX")
	log=$work.log
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/" "$work" "$seeds" \
	    >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ $rc -ne 0 ]; then
		echo "FAILED: $name (exit $rc); log $log, inputs in $work:"
		grep -E 'ERROR|SUMMARY|crash-|leak-|timeout-' "$log" | head -20
		fail=1
	else
		echo "$name: ${execs:-?} execs/s, ${cov:-cov: ?} (${secs}s)"
		rm -rf "$work" "$log"
	fi
done
exit $fail
