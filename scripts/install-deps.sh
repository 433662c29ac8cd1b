#!/bin/sh
# Install the Debian packages tcpdwell needs to build and test, only those
# missing; non-interactive and idempotent (a second run installs nothing).
set -eu

PKGS="make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool libcmocka-dev
      iproute2 nftables python3 python3-pytest prometheus valgrind libclang-rt-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root or install them)" >&2
	exit 2
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# prometheus is a test tool here (test_export.py runs its own instance on a
# free port): the packaged service on :9090 is not wanted
case " $missing " in
*" prometheus "*) systemctl disable --now prometheus >/dev/null 2>&1 || true ;;
esac
