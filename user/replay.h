/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The tracer's replay side (`tcpdwell replay FILE COMMAND`): in place of
 * the kernel, a recording. td_tracer_open() with cfg->replay_path opens
 * one of these instead of loading BPF, and every td_tracer_* call the
 * commands make is answered from the file: the records in order through
 * the same filters (in userspace, td_match), ticks on the recording's own
 * clock, the dwell histograms built with the kernel's rule, the census
 * snapshot that was recorded at start and the recording's loss counters.
 */
#ifndef TCPDWELL_REPLAY_H
#define TCPDWELL_REPLAY_H

#include <stdint.h>

#include "cli.h"
#include "hist.h"
#include "loss.h"
#include "recfmt.h"
#include "tracer.h"

struct td_replay;

/* Returns 0 or TD_EXIT_USAGE after one line on stderr naming the byte. */
struct td_cgnames;

/* names is told the recording's cgroup names as their frames are read. */
int td_replay_open(struct td_replay **out, const struct td_tracer_cfg *cfg,
		   struct td_cgnames *names);
int td_replay_run(struct td_replay *r, const struct td_consumer *c);
void td_replay_finish(struct td_replay *r, struct td_loss *loss);
void td_replay_close(struct td_replay *r);

int td_replay_read_hist(struct td_replay *r, struct td_hist *h, uint64_t *imax);
void td_replay_next_interval(struct td_replay *r);
int td_replay_snapshot(struct td_replay *r, uint32_t netns, const struct td_iter_cfg *cfg,
		       td_event_fn fn, void *ctx);

const struct td_rec_header *td_replay_header(const struct td_replay *r);
uint64_t td_replay_now_ns(const struct td_replay *r);

#endif /* TCPDWELL_REPLAY_H */
