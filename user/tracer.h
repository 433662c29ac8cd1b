/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The kernel side as one object: checks the environment, loads and
 * attaches the BPF programs, drains the ring buffer in timestamp order and
 * handles signals. Every subcommand is a consumer of td_tracer_run().
 */
#ifndef TCPDWELL_TRACER_H
#define TCPDWELL_TRACER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <linux/types.h>

#include "accept.h"
#include "cli.h"
#include "sockid.h"
#include "events.h"

struct td_tracer;
struct td_loss;

/* Called for each event, in timestamp order within a drain. Return
 * non-zero to stop the run (e.g. stdout is gone). */
typedef int (*td_event_fn)(void *ctx, const struct td_event *e);
/* Called after every drain (flush output, periodic reports). */
typedef int (*td_tick_fn)(void *ctx, uint64_t now_ns);
/* Called on SIGUSR1 with fresh loss counters. */
typedef void (*td_report_fn)(void *ctx, const struct td_loss *loss);

struct td_consumer {
	td_event_fn on_event;
	td_tick_fn on_tick;
	td_report_fn on_report;
	void *ctx;
};

/* Load (not attach) every BPF program with tiny maps: can this kernel run
 * tcpdwell? Returns 0, or -1 with the reason in why. */
int td_tracer_probe(char *why, size_t sz);

/*
 * What a command asks of the kernel side, built by the command
 * (commands.c) from its options: the tracer never reads the command line.
 */
struct td_tracer_cfg {
	/* the command's own (its table entry's configure) */
	struct td_config k;    /* no_events, hist, agg, tw_only, type_mask,
				* mark_exit, known_owner; the filters, sizes and
				* ids are the tracer's to fill */
	bool timewait;	       /* follow timewait sockets to their end */
	bool census;	       /* the census iterator (timewait at start) */
	bool census_by_cookie; /* run: asks the census about its own sockets */
	bool no_accept_hook;   /* export: no owners, so no accept() hook */
	bool keep_caps;	       /* record: drops them itself, after the census */
	bool quiet;	       /* run: stderr is the command's */
	/* the same for every command */
	struct td_filter filter;
	bool once; /* timewait --once: the census alone, no programs */
	bool follow;
	unsigned max_follow;
	unsigned ringbuf_kb, max_sockets, timewait_map;
	unsigned wakeup_pct;
	bool wakeup_per_event;
	unsigned flush_ms;
	double duration_s;
	enum td_accept_hook accept_hook;
	bool no_accept;
	enum td_sockid socket_id;
	struct td_port_list label_ports; /* export's labels */
	struct td_peer_list label_peers;
	uint64_t caps;		 /* kept once attached (privs.c) */
	const char *replay_path; /* a recording instead of the kernel */
};

/* Check privileges and BTF, load and attach what cfg asks. Returns 0 or a
 * TD_EXIT_* code after printing one line to stderr. With cfg->replay_path:
 * open that recording instead, and answer every call below from it
 * (replay.h). cfg is read as the tracer runs: it must outlive it. */
int td_tracer_open(struct td_tracer **out, const struct td_tracer_cfg *cfg);

/* Run until SIGINT/SIGTERM/SIGHUP, the -d duration, or a consumer stop. */
int td_tracer_run(struct td_tracer *t, const struct td_consumer *c);

/* Hand every record queued so far to the consumer now (from a tick: a
 * consumer that must be current to a moment it just measured). */
void td_tracer_drain(struct td_tracer *t);

/* Detach the programs (so counters stop moving), then read the counters. */
void td_tracer_finish(struct td_tracer *t, struct td_loss *loss);

/*
 * The commands' shared tail, after td_tracer_finish(): the loss summary on
 * `out` (JSON's last line, or text), with what ran degraded, and the exit
 * code: a command's error stands; else TD_EXIT_LOST when anything was lost,
 * by the tracer or, `lost_more`, by the command itself (a full table);
 * else TD_EXIT_OK.
 */
int td_tracer_conclude(const struct td_tracer *t, FILE *out, bool json, const struct td_loss *loss,
		       int err, bool lost_more);

void td_tracer_close(struct td_tracer *t);

struct td_hist;

/* Sum the kernel's per-CPU dwell histograms into h[TD_TCP_MAX_STATES]. When
 * imax is given, imax[state] is the maximum within the current interval. */
int td_tracer_read_hist(struct td_tracer *t, struct td_hist *h, uint64_t *imax);

/* export: the kernel's event counters (td_agg, see TD_AGG_* in events.h),
 * summed over the CPUs into out[n]; n must be td_agg_entries(). */
size_t td_agg_entries(const struct td_tracer_cfg *c);
int td_tracer_read_agg(struct td_tracer *t, uint64_t *out, size_t n);

/* The loss counters now, while the programs run (approximate, as on
 * SIGUSR1). */
void td_tracer_read_loss(struct td_tracer *t, struct td_loss *loss);

/* export --label-containers: each (cgroup, state, bucket) count of the
 * kernel's td_cg_hist, summed over the CPUs, to fn; full: dwell times the
 * full map refused. 0, or -1 (not live, not asked for, unreadable). */
typedef void (*td_cg_hist_fn)(void *ctx, const struct td_cg_hist_key *k, uint64_t n);
int td_tracer_read_cg_hist(struct td_tracer *t, td_cg_hist_fn fn, void *ctx, uint64_t *full);

/* Wake the run loop (a drain and a tick) whenever fd is readable: for a
 * consumer with I/O of its own, e.g. an epoll fd of sockets. 0 or -errno. */
int td_tracer_watch_fd(struct td_tracer *t, int fd);

/* Start a new interval for the per-interval maximum. */
void td_tracer_next_interval(struct td_tracer *t);

struct td_netns;

/* Walk the TCP sockets of a namespace (NULL or tcpdwell's own: in place)
 * with the census iterator: fn gets one TD_EV_SNAPSHOT record per socket
 * cfg asks for. Only for TD_CMD_TIMEWAIT. Returns 0 or -errno. */
int td_tracer_snapshot(struct td_tracer *t, const struct td_netns *ns,
		       const struct td_iter_cfg *cfg, td_event_fn fn, void *ctx);

/* CLOCK_MONOTONIC now, the clock of every event timestamp (a replay: the
 * recording's clock, where the replay has got to). */
uint64_t td_tracer_now_ns(const struct td_tracer *t);

struct td_rec_header;
struct td_cgnames;

/* What the events' cgroup ids name: the live hierarchy, or what the
 * recording carries (cgname.h). */
struct td_cgnames *td_tracer_cgnames(struct td_tracer *t);

/* A replay's recording header; NULL when tracing live. */
const struct td_rec_header *td_tracer_recording(const struct td_tracer *t);

/* Monotonic time the tracer started, and realtime - monotonic offset. */
uint64_t td_tracer_start_ns(const struct td_tracer *t);
int64_t td_tracer_wall_offset_ns(const struct td_tracer *t);

/* Optional features that failed to attach (accept attribution ...), as a
 * human-readable list for the summary; NULL when everything attached. */
const char *td_tracer_degraded(const struct td_tracer *t);

#endif /* TCPDWELL_TRACER_H */
