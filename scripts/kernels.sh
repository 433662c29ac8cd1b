#!/bin/sh
# The guest kernels of `make vmtest`: Debian's own builds, fetched the first
# time and cached under build/kernels/NAME (outside the repository).
#
#   scripts/kernels.sh NAME    fetch NAME if not cached; print its directory
#
# NAME is a kernel line by its short name: 5.10 (bullseye), 6.1 (bookworm),
# 6.12 (bookworm-backports). The package is the newest
# linux-image-NAME.*-amd64-unsigned the registry has, found through a private
# apt configuration under build/apt: the machine's own sources stay as they
# are. The directory holds:
#   vmlinux   the uncompressed ELF kernel (boots by PVH under qemu)
#   release   its release string (uname -r)
#   root/lib/modules/RELEASE   its modules, with modules.dep (depmod -b)
#   root/boot  its config-RELEASE (CONFIG_HZ) and System.map
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: scripts/kernels.sh 5.10|6.1|6.12}
mirror=${KERNELS_MIRROR:-http://deb.debian.org}
case $name in
5.10) suites="debian bullseye|debian-security bullseye-security" ;;
6.1) suites="debian bookworm|debian-security bookworm-security" ;;
6.12) suites="debian bookworm-backports" ;;
*)
	echo "kernels: unknown kernel '$name' (known: 5.10 6.1 6.12)" >&2
	exit 2
	;;
esac
dir=$top/build/kernels/$name
if [ -s "$dir/vmlinux" ] && [ -s "$dir/release" ]; then
	echo "$dir"
	exit 0
fi

apt=$top/build/apt
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "$suites" | tr '|' '\n' | while read -r path suite; do
	echo "deb [signed-by=$keyring] $mirror/$path $suite main"
done > "$apt/sources-$name.list"
# shellcheck disable=SC2086 # word splitting wanted: the options
set -- -o Dir::Etc::sourcelist="$apt/sources-$name.list" -o Dir::Etc::sourceparts=/nonexistent \
	-o Dir::State::Lists="$apt/lists/$name" -o Dir::Cache::archives="$apt/archives" \
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root
mkdir -p "$apt/lists/$name/partial"
if ! apt-get "$@" -qq update >"$apt/update-$name.log" 2>&1 ||
	grep -q "^[EW]: Failed to fetch" "$apt/update-$name.log"; then
	echo "kernels: cannot fetch the package lists of $(echo "$suites" | tr '|' ' ') from $mirror:" >&2
	grep "^[EW]:" "$apt/update-$name.log" | head -n 3 >&2
	exit 2
fi
re=$(echo "$name" | sed 's/\./\\./g')
pkg=$(apt-cache "$@" pkgnames linux-image- 2>/dev/null |
	grep -E "^linux-image-$re\.[0-9]+[-+][0-9a-z.+]*-amd64-unsigned$" |
	grep -v -e '-cloud-' -e '-rt-' | sort -V | tail -n 1)
if [ -z "$pkg" ]; then
	echo "kernels: no linux-image-$name.*-amd64-unsigned in $(echo "$suites" | tr '|' ' ') at $mirror" >&2
	exit 2
fi
tmp=$dir.tmp
rm -rf "$tmp"
mkdir -p "$tmp/root"
if ! (cd "$tmp" && apt-get "$@" -qq download "$pkg" >download.log 2>&1); then
	echo "kernels: cannot download $pkg from $mirror:" >&2
	tail -n 3 "$tmp/download.log" >&2
	exit 2
fi
dpkg-deb -x "$tmp"/*.deb "$tmp/root"
release=$(ls "$tmp/root/lib/modules")
depmod -b "$tmp/root" "$release"

# The ELF inside vmlinuz: after the decompressor stub, a gzip, xz or zstd
# stream (Debian: xz up to 6.1, zstd from 6.12).
python3 - "$tmp/root/boot/vmlinuz-$release" "$tmp/vmlinux" <<'PY'
import lzma, subprocess, sys, zlib
data = open(sys.argv[1], "rb").read()
def zstd(d):
    # zstd -d stops at the end of the frame; the stub's trailer follows it
    r = subprocess.run(["zstd", "-dcq"], input=d, capture_output=True)
    return r.stdout
decoders = ((b"\xfd7zXZ\x00", lambda d: lzma.LZMADecompressor().decompress(d)),
            (b"\x1f\x8b\x08\x00", lambda d: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(d)),
            (b"\x28\xb5\x2f\xfd", zstd))
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
sys.exit("kernels: no ELF kernel inside " + sys.argv[1])
PY
echo "$release" > "$tmp/release"
rm -f "$tmp"/*.deb "$tmp/download.log"
rm -rf "$dir"
mv "$tmp" "$dir"
echo "kernels: $name is $pkg ($release)" >&2
echo "$dir"
