/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell trace`: one line per transition, retransmit and reset. */
#ifndef TCPDWELL_TRACE_H
#define TCPDWELL_TRACE_H

#include <stdio.h>

#include "cli.h"
#include "events.h"
#include "kenum.h"

struct td_trace {
	const struct td_opts *opts;
	FILE *out;
	uint64_t start_ns;	  /* relative timestamps count from here */
	int64_t wall_off_ns;	  /* realtime - monotonic, for -T */
	struct td_kenum *rst;	  /* RST reason names of this kernel, may be NULL */
	struct td_cgnames *names; /* cgroup ids to paths, may be NULL */
	bool header_done;
};

/* The longest line: a JSON record with a cgroup path of TD_CG_PATH_MAX
 * bytes, every one escaped as \u00XX, fits. */
#define TD_TRACE_LINE_MAX 8192

/* Format one event as a text or JSON line into out. Returns the length
 * written (always NUL-terminated, truncated at sz). */
size_t td_trace_format(const struct td_trace *tr, const struct td_event *e, char *out, size_t sz);

/* Run the trace subcommand; returns the process exit code. */
int td_trace_main(const struct td_opts *o);

#endif /* TCPDWELL_TRACE_H */
