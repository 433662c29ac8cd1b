#!/bin/sh
# The integration suite on several of Debian's kernels, guests side by side.
#
#   scripts/vmtest-all.sh 5.10 6.12    (make vmtest KERNELS="5.10 6.12")
#
# Each guest takes one host thread (scripts/vmtest.sh: TCG, thread=single),
# so VMTEST_JOBS guests (default: the host's CPUs) run at once, in lanes:
# the kernels are dealt to the lanes in turn and each lane boots its own one
# after the other. Packages and kernels are fetched first, one at a time
# (apt takes a lock). Each guest's output is printed whole when all have
# ended, in the order given, then how long it ran ("time: vmtest-K N s").
# A guest that printed no summary line counts as "vmtest K: 0 passed,
# 1 failed". Exit status: 0 when every guest passed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: vmtest-all.sh KERNEL..." >&2; exit 2; }
out=$top/build/vm
mkdir -p "$out"
for k in "$@"; do
	rm -f "$out/$k.out" "$out/$k.rc" "$out/$k.time"
	VMTEST_KERNEL=$k "$top/scripts/vmtest.sh" --prepare || {
		echo "vmtest $k: 0 passed, 1 failed"
		exit 1
	}
done

jobs=${VMTEST_JOBS:-$(nproc)}
lane=0
while [ "$lane" -lt "$jobs" ]; do
	(
		i=0
		for k in "$@"; do
			if [ $((i % jobs)) -eq "$lane" ]; then
				t0=$(date +%s)
				VMTEST_KERNEL=$k "$top/scripts/vmtest.sh" > "$out/$k.out" 2>&1
				echo $? > "$out/$k.rc"
				echo "time: vmtest-$k $(($(date +%s) - t0)) s" > "$out/$k.time"
			fi
			i=$((i + 1))
		done
	) &
	lane=$((lane + 1))
done
wait

rc=0
for k in "$@"; do
	cat "$out/$k.out"
	grep -q "^vmtest $k: [0-9]" "$out/$k.out" || echo "vmtest $k: 0 passed, 1 failed"
	[ "$(cat "$out/$k.rc" 2>/dev/null)" = 0 ] || rc=1
done
for k in "$@"; do cat "$out/$k.time"; done
exit $rc
