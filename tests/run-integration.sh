#!/bin/sh
# Run the integration suite (real BPF, real sockets, one netns per test)
# with Debian's pytest; its closing line reads "N passed, N failed".
set -u
cd "$(dirname "$0")/integration" || exit 1
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfEs "$@"
