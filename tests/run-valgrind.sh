#!/bin/sh
# Integration tests with tcpdwell under valgrind's memcheck (build/vg/tcpdwell:
# the same code, -O1 -g, linked dynamically). Every invalid read or write,
# use of uninitialised memory and definite or indirect leak is an error;
# valgrind then exits 97, and the test that ran that process fails
# (conftest.py: Tracer.stop and the wrap_clean fixture read the logs in
# build/vg/logs/). tests/valgrind.supp holds the only suppressions: false
# positives of valgrind's bpf() wrapper.
#
# The whole suite, as `make test` runs it unwrapped (arguments, if any, go
# to pytest: a file or -k to run part of it). A tracer takes ~4 s to start
# under memcheck (most of it libbpf reading the kernel's BTF, which memcheck
# checks page by page), so this is the longest part of `make test`: ~20
# min on 2 shared cores. Waits in the tests that depend on a tracer's
# start-up scale with TCPDWELL_READY_S (conftest.py).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build/vg
logs=$build/logs
rm -rf "$logs"
mkdir -p "$logs"
# world-writable (sticky): tests run tcpdwell as nobody too (the refusals)
chmod 1777 "$logs"

export TCPDWELL_BIN="$build/tcpdwell"
export TCPDWELL_WRAP="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=97 --track-fds=no
	--suppressions=$here/valgrind.supp --log-file=$logs/vg.%p.log"
export TCPDWELL_WRAP_ERROR_CODE=97
export TCPDWELL_WRAP_LOGDIR="$logs"
echo "valgrind: integration tests with tcpdwell under memcheck (logs in $logs)"
start=$(date +%s)
"$here/run-integration.sh" "$@"
rc=$?
echo "valgrind: $(ls "$logs" | wc -l) tcpdwell processes in $(($(date +%s) - start)) s"
exit $rc
