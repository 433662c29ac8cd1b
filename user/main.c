// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tcpdwell: TCP connection states and the time spent in each. */
#include <malloc.h>

#include "cli.h"
#include "doctor.h"
#include "dwell.h"
#include "export.h"
#include "timeline.h"
#include "record.h"
#include "retrans.h"
#include "run.h"
#include "timewait.h"
#include "trace.h"

int main(int argc, char **argv)
{
	struct td_opts opts;
	int err;

	/* Large blocks (the kernel's BTF, parsed by tcpdwell's checks and by
	 * libbpf, one after the other) come from mmap and go back when freed.
	 * Left to itself, glibc raises its mmap threshold after the first such
	 * free and serves the next ones from the heap, which keeps them: +11 MiB
	 * of peak RSS for dwell (24.5 against 13.6 MiB). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	err = td_parse_args(argc, argv, &opts);

	if (err)
		return err < 0 ? TD_EXIT_OK : err;
	switch (opts.cmd) {
	case TD_CMD_TRACE:
		return td_trace_main(&opts);
	case TD_CMD_DWELL:
		return td_dwell_main(&opts);
	case TD_CMD_TIMELINE:
		return td_timeline_main(&opts);
	case TD_CMD_TIMEWAIT:
		return td_timewait_main(&opts);
	case TD_CMD_RETRANS:
		return td_retrans_main(&opts);
	case TD_CMD_DOCTOR:
		return td_doctor_main(&opts);
	case TD_CMD_RUN:
		return td_run_main(&opts);
	case TD_CMD_EXPORT:
		return td_export_main(&opts);
	case TD_CMD_RECORD:
		return td_record_main(&opts);
	}
	return TD_EXIT_USAGE;
}
