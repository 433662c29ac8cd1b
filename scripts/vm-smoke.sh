#!/bin/sh
# Boot Debian's 6.1 kernel under qemu (TCG is enough: ~10 s) with an
# initramfs holding busybox and this tree's static ./tcpdwell, trace a few
# loopback connections in the guest, retransmitted SYNs (an accept queue
# overflow: the 6.1 tracepoint has no err) and a timewait census, and
# print what it saw. A manual check
# that the same binary loads and behaves on a second kernel; `make vmtest`
# (issue P6) will run the whole suite this way.
#
# Needs root (apt) and: qemu-system-x86 linux-image-amd64 busybox-static cpio.
# The uncompressed vmlinux ELF is extracted from the bzImage and booted
# directly (PVH), which skips the real-mode decompressor.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${VM_WORK:-$top/build/vm}
kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | head -n 1 || true)
missing=""
for p in qemu-system-x86 linux-image-amd64 busybox-static cpio; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
	kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | head -n 1)
fi
[ -n "$kver" ] || { echo "vm-smoke: no Debian amd64 kernel installed" >&2; exit 2; }
[ -x "$top/tcpdwell" ] || { echo "vm-smoke: build ./tcpdwell first (make)" >&2; exit 2; }

mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev" "$work/root/tmp"
if [ ! -s "$work/vmlinux-$kver" ]; then
	python3 - "/boot/vmlinuz-$kver" "$work/vmlinux-$kver" <<'PY'
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
decoders = ((b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor().decompress(d)),
            (b"\x1f\x8b\x08\x00", lambda d: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(d)))
for magic, dec in decoders:
    i = data.find(magic)
    while i != -1:
        try:
            out = dec(data[i:])
            if out[:4] == b"\x7fELF":
                open(sys.argv[2], "wb").write(out)
                sys.exit(0)
        except Exception:
            pass
        i = data.find(magic, i + 1)
sys.exit("vm-smoke: no ELF kernel inside " + sys.argv[1])
PY
fi
cp /bin/busybox "$work/root/bin/"
cp "$top/tcpdwell" "$work/root/"
# SYN retransmits without a firewall in the guest: an accept queue overflow
${CC:-cc} -static -O2 -o "$work/root/backlog" "$top/tests/vm/backlog.c"
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
echo "guest kernel: $(uname -r)"
/tcpdwell trace --flush-ms 20 -d 6 > /tmp/out.txt 2> /tmp/err.txt &
sleep 3
nc -l -p 5555 -e /bin/true &
sleep 0.3
echo hi | nc 127.0.0.1 5555
nc 127.0.0.1 1 </dev/null
sleep 4
cat /tmp/out.txt /tmp/err.txt
echo "vm-smoke: tcpdwell exit $(wait; echo $?)"
/tcpdwell retrans -o json --flush-ms 20 -d 6 > /tmp/rt.json 2> /tmp/rt.err &
sleep 2
/backlog 3
sleep 1.5
echo "--- retrans ---"
cat /tmp/rt.json /tmp/rt.err
echo "vm-smoke: retrans exit $(wait; echo $?)"
/tcpdwell timewait --once --verify
echo "vm-smoke: timewait exit $?"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"
timeout 300 qemu-system-x86_64 -kernel "$work/vmlinux-$kver" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" -nographic -m 1024 -smp 2 -no-reboot \
	> "$work/console.log" 2>&1 || { tail -30 "$work/console.log"; exit 1; }
sed -n '/guest kernel/,/vm-smoke: timewait/p' "$work/console.log"
grep -q "tcpdwell: tracing" "$work/console.log"
# this kernel's tcp_retransmit_skb has no err (CO-RE picked the 6.1 shape)
grep '"type":"retrans"' "$work/console.log" | grep '"kind":"syn"' | grep -q '"err":null' ||
	{ echo "vm-smoke: no SYN retransmit without err seen in the guest" >&2; exit 1; }
grep -q "vm-smoke: timewait exit 0" "$work/console.log" ||
	{ echo "vm-smoke: timewait --once failed in the guest" >&2; exit 1; }
echo "vm-smoke: ok"
