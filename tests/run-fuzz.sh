#!/bin/sh
# Run each libFuzzer harness given (build/fuzz/<name>) for SECONDS, starting
# from its committed seeds (tests/fuzz/corpus/<name>/, replayed first: a
# crash found once stays a regression test) and from what earlier runs
# found (build/fuzz/corpus/<name>/, not committed). One line per harness
# with libFuzzer's final numbers, then "fuzz: N passed, N failed".
# Usage: tests/run-fuzz.sh SECONDS build/fuzz/NAME...
set -u
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	work=$(dirname "$bin")/corpus/$name
	art=$(dirname "$bin")/artifacts/$name
	log=$(dirname "$bin")/$name.log
	mkdir -p "$work" "$art"
	# new inputs go to the first directory: the seeds stay as committed
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-artifact_prefix="$art/" "$work" "$here/fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
	last=$(grep -E "^#[0-9]+" "$log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	line="fuzz $name: ${secs}s, $(stat number_of_executed_units) execs, cov ${cov:-?}, ft ${ft:-?}"
	if [ "$rc" -eq 0 ]; then
		echo "$line: ok"
		pass=$((pass + 1))
	else
		echo "$line: FAILED (rc $rc; input in $art/, log $log)"
		grep -E "ERROR|invariant failed|SUMMARY|runtime error" "$log" | head -n 5
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
