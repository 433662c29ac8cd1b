#!/bin/sh
# The integration suite on one of Debian's kernels, in a qemu guest.
#
#   scripts/vmtest.sh           the integration suite (make vmtest)
#   scripts/vmtest.sh --smoke   a quick look: trace, retrans, timewait --once
#   scripts/vmtest.sh --prepare the packages and the kernel, nothing booted
#   VMTEST_KERNEL=6.12 scripts/vmtest.sh
#                               on that kernel (5.10, 6.1 (the default), 6.12;
#                               make vmtest KERNELS="..." runs several)
#   VMTEST_ARGS="test_timewait.py -k reasons" scripts/vmtest.sh
#                               a part of the suite (pytest arguments)
#
# How: the kernel is one of Debian's own builds, fetched and cached under
# build/kernels by scripts/kernels.sh; its uncompressed vmlinux ELF is booted
# directly (PVH: no real-mode decompressor; TCG, since KVM is not usable
# here). A busybox initramfs loads the virtio/9p modules of that kernel,
# mounts this machine's / read-only over 9p (so the guest has the same
# Debian userspace: python3, pytest, ip, nft, nstat, ss) with tmpfs for /tmp
# and /run, switches to it, mounts this tree (a second 9p share, read-only)
# at its own path and the kernel's /lib/modules and /boot. The guest runs
# the same static ./tcpdwell and the same tests/integration as the host,
# from this tree, then prints a result line ("N passed, N failed", read back
# from the serial console) and ends qemu through isa-debug-exit with its
# verdict: qemu exits 1 when the guest passed, 3 when it failed. A panic, a
# timeout, another exit code or a missing result line is a failure, never a
# pass. The summary line names the kernel: "vmtest 6.1: N passed, N failed".
#
# Needs root (apt): qemu-system-x86 busybox-static cpio zstd xz-utils kmod
# (depmod and modprobe: a fresh Debian may lack them).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
kname=${VMTEST_KERNEL:-6.1}
work=${VM_WORK:-$top/build/vm/$kname}
mode=${1:-test}
timeout_s=${VMTEST_TIMEOUT:-840} # 14 min: the whole run must stay under 15
mem=${VMTEST_MEM:-2048}

missing=""
for p in qemu-system-x86 busybox-static cpio zstd xz-utils kmod; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "vmtest: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
kdir=$("$top/scripts/kernels.sh" "$kname") || exit 2
# --prepare: packages and kernel only, one guest after the other (apt takes
# a lock), before scripts/vmtest-all.sh boots several guests at once
[ "$mode" = "--prepare" ] && exit 0
[ -x "$top/tcpdwell" ] || { echo "vmtest: build ./tcpdwell first (make)" >&2; exit 2; }
kver=$(cat "$kdir/release")

mkdir -p "$work"
# --- the initramfs: busybox, the 9p/virtio modules, /init ---------------
root=$work/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/newroot" "$root/lib/modules"
cp /bin/busybox "$root/bin/"
# the modules of the 9p root, dependencies first, unpacked (busybox's
# insmod takes plain .ko files; 6.12 ships .ko.xz); built-in ones are skipped
/sbin/modprobe -d "$kdir/root" -S "$kver" --show-depends -a virtio_pci 9p 9pnet_virtio |
	awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r m; do
	b=$(basename "$m" .xz)
	case $m in
	*.xz) xz -dc "$m" > "$root/lib/modules/$b" ;;
	*) cp "$m" "$root/lib/modules/$b" ;;
	esac
	echo "$b"
done > "$root/lib/modules/order"
if [ "$mode" = "--smoke" ]; then
	guest_cmd='
cd /tmp
@REPO@/tcpdwell trace --flush-ms 20 -d 6 > /tmp/out.txt 2> /tmp/err.txt &
until grep -q "tcpdwell: tracing" /tmp/err.txt; do kill -0 $! 2>/dev/null || { fail=1; break; }; sleep 0.05; done
busybox nc -l -p 5555 -e /bin/true &
until grep -Eqs ":15B3 [0-9A-F]+:0000 0A" /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done
echo hi | busybox nc 127.0.0.1 5555
busybox nc 127.0.0.1 1 </dev/null
wait
cat /tmp/out.txt /tmp/err.txt
cc -static -O2 -o /tmp/backlog @REPO@/tests/vm/backlog.c 2>/dev/null || cp @REPO@/build/backlog /tmp/backlog
@REPO@/tcpdwell retrans -o json --flush-ms 20 -d 6 > /tmp/rt.json 2> /tmp/rt.err &
until grep -q "tcpdwell: tracing" /tmp/rt.err; do kill -0 $! 2>/dev/null || { fail=1; break; }; sleep 0.05; done
/tmp/backlog 3
wait
cat /tmp/rt.json /tmp/rt.err
grep "\"type\":\"retrans\"" /tmp/rt.json | grep "\"kind\":\"syn\"" | grep -q "\"err\":null" || fail=1
@REPO@/tcpdwell timewait --once --verify || fail=1
if [ -z "${fail:-}" ]; then echo "VMTEST-RESULT 1 passed, 0 failed"; status=0
else echo "VMTEST-RESULT 0 passed, 1 failed"; status=1; fi'
else
	# the 60 s TIME_WAIT expiry would dominate the run under TCG: left to
	# the host; every other test (TIME_WAIT, retransmits, loss) runs.
	# Debian's kernels take fentry and kprobes: both accept() hooks must
	# work here (the development host refuses both, see docs/design.md)
	# Each test's name reaches the console as it ends: a guest that hangs
	# shows where.
	guest_cmd='
cd @REPO@/tests/integration
{
	TCPDWELL_REQUIRE_BPF=1 TCPDWELL_SKIP_EXPIRY=1 TCPDWELL_REQUIRE_HOOKS=fentry,kprobe \
		PYTHONDONTWRITEBYTECODE=1 HOME=/tmp \
		/usr/bin/python3 -m pytest -v -p no:cacheprovider -rfE \
		--deselect test_zz_expiry.py::test_timewait_expires_after_60s @ARGS@
	echo $? > /tmp/pytest.rc
} 2>&1 | tee /tmp/pytest.log
rc=$(cat /tmp/pytest.rc)
line=$(tail -n 1 /tmp/pytest.log)
# "N failed, N passed, N errors in ...": sum the counts before each word
count() { echo "$line" | awk -v w="$1" "{for (i = 1; i < NF; i++) if (\$(i + 1) ~ w) s += \$i} END {print s + 0}"; }
p=$(count "^passed")
f=$(count "^(failed|error)")
[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
echo "VMTEST-RESULT ${p:-0} passed, ${f:-0} failed"
status=1
[ "${f:-0}" -eq 0 ] && [ "${p:-0}" -gt 0 ] && status=0'
fi

# VMTEST_CMD: run something else in the guest (debugging)
guest_cmd=${VMTEST_CMD:-$guest_cmd}
# the tree is at the same path in the guest: the host's / is its /
guest_cmd=$(printf '%s' "$guest_cmd" | sed "s|@REPO@|$top|g; s|@ARGS@|${VMTEST_ARGS:-}|g")
cat > "$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod /lib/modules/\$m || echo "vmtest: insmod \$m failed"; done < /lib/modules/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /newroot ||
	{ echo "VMTEST-RESULT 0 passed, 1 failed (no 9p root)"; poweroff -f; }
for d in tmp run var/tmp; do mount -t tmpfs tmpfs /newroot/\$d; done
umount /proc /sys /dev
cat > /newroot/tmp/guest.sh <<'GUEST'
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
# cgroup v2 where systemd puts it (tcpdwell run, --cgroup)
mount -t cgroup2 none /sys/fs/cgroup
# the tree at its own path (which may lie under this guest's fresh /tmp)
mkdir -p $top 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 repo $top
# this kernel's modules (veth, netem, nf_tables, ... load on demand): the
# kernel's helper runs modprobe on the tree the package unpacked to, not
# on /lib/modules, which a host whose own kernel has no modules lacks (a
# fresh machine: nothing to mount them on in the read-only root)
printf '#!/bin/sh\nexec /sbin/modprobe -d %s "\$@"\n' $kdir/root > /tmp/modprobe
chmod 755 /tmp/modprobe
echo /tmp/modprobe > /proc/sys/kernel/modprobe
# its /boot (config-RELEASE: CONFIG_HZ), as its package installs it
mount --bind $kdir/root/boot /boot
ip link set lo up
echo "guest kernel: \$(uname -r)"
status=1
$guest_cmd
# qemu's exit code: isa-debug-exit turns the byte v into (v << 1) | 1
if [ "\$status" = 0 ]; then head -c 1 /dev/zero; else printf '\\001'; fi |
	dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
echo o > /proc/sysrq-trigger
sleep 30 # the power-off is asynchronous: init must not exit first (a panic)
GUEST
exec switch_root /newroot /bin/sh /tmp/guest.sh
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

echo "vmtest: booting $kver under qemu (TCG), mode ${mode#--}"
start=$(date +%s)
rc=0
# transparent_hugepage=never: under TCG khugepaged's page copies and
# clears are emulated byte by byte; one CI run's guest hung in it for
# 10 min (soft lockup, CPU#0 stuck in khugepaged) and lost the whole part.
# The tests need no huge pages.
# -accel tcg,thread=single: two guest CPUs taken in turn by one host thread.
# With a thread per guest CPU (qemu 7.2's default) the next CI run hung too,
# differently: guest CPU 1 stopped taking its timer interrupts (RCU's
# kthread "starved" on cpu=1 with all quiescent states seen) for 10 min.
# One thread also leaves the other host CPU to a second guest.
timeout "$timeout_s" qemu-system-x86_64 -kernel "$kdir/vmlinux" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet sysrq_always_enabled=1 transparent_hugepage=never" \
	-accel tcg,thread="${VMTEST_TCG_THREAD:-single}" \
	-nographic -m "$mem" -smp 2 -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot \
	-virtfs local,path="$top",mount_tag=repo,security_model=none,readonly=on,multidevs=remap,id=repo \
	> "$work/console.log" 2>&1 || rc=$?
echo "vmtest: guest ran $(( $(date +%s) - start )) s (qemu exit $rc)"
sed -n '/guest kernel/,/VMTEST-RESULT/p' "$work/console.log" | tr -d '\r'
result=$(grep -a "^VMTEST-RESULT" "$work/console.log" | tail -n 1 | tr -d '\r' || true)
if [ -z "$result" ]; then
	echo "vmtest: no result from the guest (panic, timeout or crash); console tail:" >&2
	# a hung guest: the first lockup or stall report names where it hung
	grep -a -m 1 -A 30 -E "soft lockup|rcu.*stall|hung_task|Oops|BUG:" "$work/console.log" >&2 || true
	tail -n 40 "$work/console.log" >&2
	echo "vmtest $kname: 0 passed, 1 failed"
	exit 1
fi
echo "vmtest $kname: ${result#VMTEST-RESULT }"
# both must say so: qemu's exit code (1: the guest reported success, 3:
# failure) and the result line
case $rc in
1) echo "$result" | grep -q " 0 failed" && ! echo "$result" | grep -q "^VMTEST-RESULT 0 passed" ;;
3) exit 1 ;;
*) echo "vmtest: qemu ended without the guest's verdict (exit $rc)" >&2; exit 1 ;;
esac
