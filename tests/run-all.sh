#!/bin/sh
# The whole suite: unit tests (cmocka), then integration tests (pytest).
# Prints one closing line "N passed, N failed[, N skipped]" over both.
set -u
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$here/run-unit.sh" "$@" | tee "$log"
"$here/run-integration.sh" | tee -a "$log"

count() { # sum "N word" over the summary lines
	grep -E "^(unit: )?[0-9]+ passed|^=+ .*(passed|failed|error)|^[0-9]+ (passed|failed)" "$log" |
		grep -oE "[0-9]+ $1" | awk '{s += $1} END {print s + 0}'
}
pass=$(count passed)
fail=$(( $(count failed) + $(count error) ))
skip=$(count skipped)
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
