#!/bin/sh
# Regenerate the vendored vmlinux.h from this machine's kernel BTF.
# CO-RE relocates every field access at load time, so one header serves
# every kernel with BTF; regenerate only to reach newer types.
set -eu
out=${1:-vmlinux/x86/vmlinux.h}
btf=${BTF:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: $btf not readable" >&2; exit 2; }
tmp=$(mktemp)
bpftool btf dump file "$btf" format c > "$tmp"
mv "$tmp" "$out"
echo "gen-vmlinux: wrote $out from $btf"
