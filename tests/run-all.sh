#!/bin/sh
# The whole suite: unit tests (cmocka), integration tests (pytest, real
# BPF), a smoke run of the benchmark so it cannot rot, then the integration
# tests again on a second kernel (scripts/vmtest.sh: Debian 6.1 in qemu). Prints one
# closing line "N passed, N failed[, N skipped]" over all of them.
set -u
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log" "$log.vm"' EXIT

"$here/run-unit.sh" "$@" | tee "$log"
"$here/run-integration.sh" | tee -a "$log"

echo "bench smoke: scripts/bench.py --smoke"
if "$here/../scripts/bench.py" --smoke -o "$here/../build/bench-smoke.json"; then
	echo "bench-smoke: 1 passed, 0 failed" | tee -a "$log"
else
	echo "bench-smoke: 0 passed, 1 failed" | tee -a "$log"
fi

# the integration suite again, on Debian's 6.1 kernel in a qemu guest
if [ "${TCPDWELL_SKIP_VMTEST:-0}" = 1 ]; then
	echo "vmtest: 0 passed, 0 failed, 1 skipped (TCPDWELL_SKIP_VMTEST=1)" | tee -a "$log"
else
	# only its own summary counts: the guest's pytest lines would count twice
	"$here/../scripts/vmtest.sh" 2>&1 | tee "$log.vm"
	grep "^vmtest: [0-9]" "$log.vm" >> "$log" || echo "vmtest: 0 passed, 1 failed" >> "$log"
	rm -f "$log.vm"
fi

count() { # sum "N word" over the summary lines
	grep -E "^(unit: |bench-smoke: |vmtest: )?[0-9]+ passed|^=+ .*(passed|failed|error)|^[0-9]+ (passed|failed)" "$log" |
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
