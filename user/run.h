/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `tcpdwell run -- CMD`: run a command in a cgroup of its own, trace only
 * its connections, and judge them against the thresholds for CI.
 */
#ifndef TCPDWELL_RUN_H
#define TCPDWELL_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "events.h"
#include "hist.h"
#include "loss.h"

#define TD_RUN_LISTED	  20 /* offending connections kept per list */
#define TD_RUN_OUTCOMES	  24
#define TD_RUN_CGROUPS	  32 /* per-cgroup rows; the rest add up to one */
#define TD_RUN_THRESHOLDS 6

/* The lists of offending connections. */
enum td_run_list {
	TD_RL_LEAK,	/* left in CLOSE_WAIT or FIN_WAIT2 when the command exited */
	TD_RL_RETRANS,	/* retransmitted (the most first) */
	TD_RL_RESET,	/* sent or received a RST */
	TD_RL_TIMEWAIT, /* in TIME_WAIT when the command exited */
	TD_RL_CONNFAIL, /* connect() failed before its SYN (conn.h TD_END_NO_PORT..) */
	TD_RL_MAX,
};

struct td_run_conn {
	struct td_event id; /* tuple and owner, from the latest event */
	uint8_t state;	    /* at the command's exit; TD_TCP_MAX_STATES: unknown */
	bool by_exit;	    /* its close was done by the exit of its process */
	uint32_t retrans, resets;
	/* run.c's own bookkeeping */
	int end; /* enum td_end (conn.h) */
	uint32_t retrans_failed, rst_sent, rst_recv;
	uint64_t exit_close_ns; /* by_exit: when the exit closed it */
	uint8_t fw2_state;	/* the FIN_WAIT2 substate it last left, 0: none */
	uint64_t fw2_left_ns;	/* and when */
};

struct td_run_threshold {
	const char *name; /* the option without dashes */
	const char *what; /* what value counts: "retransmits" ... */
	uint64_t limit, value;
	bool crossed;
	int list; /* enum td_run_list of the offenders, -1: none */
};

/* The connections of one cgroup the command's tasks made them in (its
 * own, or one it made below it). */
struct td_run_cg {
	uint64_t id; /* 0 in the row of the rest */
	uint64_t conns, timewait, leaks, retrans, resets, connect_failures;
};

struct td_run_report {
	char *const *argv;
	const char *isolation; /* "cgroup" or "process-tree" */
	int status;	       /* the command's exit code, 128 + N if killed by signal N */
	double duration_s;
	uint64_t conns;
	struct {
		const char *name;
		uint64_t n;
	} outcome[TD_RUN_OUTCOMES];
	int noutcomes;
	uint64_t retrans, retrans_failed, rst_sent, rst_recv;
	uint64_t connect_failures; /* connect() calls that failed before their SYN */
	uint64_t close_wait_left, fin_wait2_left, timewait_left, open_at_exit;
	struct {
		uint64_t total;
		int n;
		struct td_run_conn v[TD_RUN_LISTED];
	} list[TD_RL_MAX];
	struct td_hist hist[TD_TCP_MAX_STATES];
	struct td_loss loss;
	uint64_t conns_not_kept; /* connection table full (--max-sockets) */
	struct td_run_threshold th[TD_RUN_THRESHOLDS];
	int nth, crossed;
	struct td_cgnames *names; /* what the connections' cgroup ids name */
	struct td_run_cg cg[TD_RUN_CGROUPS];
	int ncg;
	struct td_run_cg cg_rest; /* cgroups past TD_RUN_CGROUPS */
};

/* Judge r against the thresholds o asks for: fills r->th, r->crossed. */
void td_run_judge(struct td_run_report *r, const struct td_opts *o);

/* The report as one JSON object (--report). */
void td_run_write_json(FILE *f, const struct td_run_report *r);

/* JUnit XML: one test case per threshold, a failure for each crossed. */
void td_run_write_junit(FILE *f, const struct td_run_report *r);

/* A few lines for stderr: the figures, then each crossed threshold with
 * its offenders. */
void td_run_write_summary(FILE *f, const struct td_run_report *r);

int td_run_main(const struct td_opts *o);

#endif /* TCPDWELL_RUN_H */
