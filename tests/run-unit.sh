#!/bin/sh
# Run the cmocka unit-test binaries given as arguments; print their output
# and a closing "N passed, N failed" line. Exit 1 if anything failed.
set -u
pass=0
fail=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	# cmocka's own summary: "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	# a binary that crashed before its summary counts as one failure
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "${TD_UNIT_LABEL:-unit}: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
