#!/bin/sh
# Integration tests with tcpdwell under valgrind's memcheck (build/vg/tcpdwell:
# the same code, -O1 -g, linked dynamically). Every invalid read or write,
# use of uninitialised memory and definite or indirect leak is an error;
# valgrind then exits 97, and the test that ran that process fails
# (conftest.py: Tracer.stop and the wrap_clean fixture read the logs in
# build/vg/logs/). tests/valgrind.supp holds the only suppressions: false
# positives of valgrind's bpf() wrapper.
#
# A subset, not the whole suite: under valgrind each tcpdwell start takes
# ~7-12 s (BTF parsing). Measured on 2 shared cores: the whole suite, 123
# tests, 176 tcpdwell processes, 17 min (against 2.7 min unwrapped), and 5
# of its tests fail for timing, not memory (a slow reader misses their
# windows); this subset, 69 tests, 82 processes, 6 min, runs every
# subcommand, the loss path, the fault tests, signal handling and detach,
# and the usage errors of every command. TCPDWELL_VALGRIND_ALL=1 runs the
# whole suite instead.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build/vg
logs=$build/logs
rm -rf "$logs"
mkdir -p "$logs"
# world-writable (sticky): tests run tcpdwell as nobody too (the refusals)
chmod 1777 "$logs"

SUBSET="test_cli.py test_doctor.py test_faults.py
	test_trace.py::test_connection_refused test_trace.py::test_abortive_close
	test_timeline.py::test_timeline_server_close test_timeline.py::test_timeline_text_block
	test_flags.py::test_dwell_interval_reports test_flags.py::test_wall_clock_and_wide_text
	test_timewait.py::test_simultaneous_close
	test_census.py::test_census_live_snapshot_then_entries test_census.py::test_census_bad_input
	test_retrans.py::test_resets_sent_and_received test_retrans.py::test_retrans_text_lines
	test_run.py::test_exit_status_forwarded
	test_run.py::test_resets_cross_max_resets test_run.py::test_run_bad_input
	test_export.py::test_metrics_exact_and_promtool_lint test_export.py::test_http_robustness
	test_export.py::test_export_bad_input
	test_filters_loss.py::test_ringbuf_too_small_counts_drops
	test_filters_owner.py::test_pid_filter test_filters_owner.py::test_owner_filter_bad_input"
# test_pipe_to_head finds the tracer by its name (pgrep -x tcpdwell): under
# valgrind the process is memcheck-amd64-linux
SUBSET="$SUBSET --deselect test_cli.py::test_pipe_to_head"
[ "${TCPDWELL_VALGRIND_ALL:-0}" = 1 ] && SUBSET=""

export TCPDWELL_BIN="$build/tcpdwell"
export TCPDWELL_WRAP="valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --error-exitcode=97 --track-fds=no
	--suppressions=$here/valgrind.supp --log-file=$logs/vg.%p.log"
export TCPDWELL_WRAP_ERROR_CODE=97
export TCPDWELL_WRAP_LOGDIR="$logs"
export TCPDWELL_SKIP_EXPIRY=1 # the 60 s expiry test runs in the plain suite
echo "valgrind: integration tests with tcpdwell under memcheck (logs in $logs)"
start=$(date +%s)
# shellcheck disable=SC2086
"$here/run-integration.sh" $SUBSET
rc=$?
echo "valgrind: $(ls "$logs" | wc -l) tcpdwell processes in $(($(date +%s) - start)) s"
exit $rc
