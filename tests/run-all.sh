#!/bin/sh
# The whole suite: unit tests (cmocka), the same under ASan+UBSan with a
# sanitized tcpdwell smoke (make check-asan), a short run of each fuzz
# harness (replaying its committed corpus), integration tests (pytest, real
# BPF), the same with tcpdwell under valgrind, a smoke run of the benchmark so it
# cannot rot, then the integration tests again on a second kernel
# (scripts/vmtest-all.sh: each of Debian's kernels in $KERNELS, in qemu,
# side by side). Prints
# one closing line
# "N passed, N failed[, N skipped]" over all of them.
set -u
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log" "$log.vm" "$log.times"' EXIT

build=$here/../build
t0=$(date +%s)
# how long each part took, for the closing lines (docs/development.md)
took() { echo "time: $1 $(( $(date +%s) - t0 )) s" >> "$log.times"; t0=$(date +%s); }
: > "$log.times"
"$here/run-unit.sh" "$@" | tee "$log"
took unit

# the same unit tests, built with ASan+UBSan (the Makefile's check-asan)
asan_units=""
for t in "$@"; do asan_units="$asan_units $build/asan/tests/$(basename "$t")"; done
# shellcheck disable=SC2086
"$here/run-asan.sh" "$build/asan/tcpdwell" $asan_units | tee -a "$log"
took asan

# each fuzz harness briefly: its committed corpus (regressions included)
# replays first, then new inputs for TCPDWELL_FUZZ_SECONDS
fuzz_bins=""
for f in "$here"/fuzz/*.c; do fuzz_bins="$fuzz_bins $build/fuzz/$(basename "$f" .c)"; done
# shellcheck disable=SC2086
nice -n 10 "$here/run-fuzz.sh" "${TCPDWELL_FUZZ_SECONDS:-5}" $fuzz_bins | tee -a "$log"
took fuzz

"$here/run-integration.sh" | tee -a "$log"
took integration

# the integration suite again, tcpdwell under valgrind's memcheck
"$here/run-valgrind.sh" | tee -a "$log"
took valgrind

echo "bench smoke: scripts/bench.py --smoke"
if "$here/../scripts/bench.py" --smoke -o "$here/../build/bench-smoke.json"; then
	echo "bench-smoke: 1 passed, 0 failed" | tee -a "$log"
else
	echo "bench-smoke: 0 passed, 1 failed" | tee -a "$log"
fi
took bench-smoke

# the integration suite again, on each of Debian's kernels in a qemu guest
if [ "${TCPDWELL_SKIP_VMTEST:-0}" = 1 ]; then
	echo "vmtest: 0 passed, 0 failed, 1 skipped (TCPDWELL_SKIP_VMTEST=1)" | tee -a "$log"
	took vmtest
else
	# the kernels are the Makefile's KERNELS (make test passes them on),
	# booted side by side (scripts/vmtest-all.sh)
	# shellcheck disable=SC2086
	"$here/../scripts/vmtest-all.sh" ${KERNELS:?"set by make test (the Makefile's KERNELS)"} 2>&1 |
		tee "$log.vm"
	# only the guests' own summaries count: their pytest lines would count twice
	grep -E "^vmtest [0-9.]+: [0-9]" "$log.vm" >> "$log"
	grep "^time: vmtest-" "$log.vm" >> "$log.times"
	rm -f "$log.vm"
fi
cat "$log.times"

count() { # sum "N word" over the summary lines
	grep -E "^(unit: |asan-unit: |asan-smoke: |fuzz: |bench-smoke: |vmtest( [0-9.]+)?: )?[0-9]+ passed|^=+ .*(passed|failed|error)|^[0-9]+ (passed|failed)" "$log" |
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
