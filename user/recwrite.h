/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Writing a recording: records are gathered into frames of up to
 * TD_RECW_FRAME_EVENTS (the caller flushes the rest every second), each
 * frame compressed and written with one write(2), so a recorder killed at
 * any moment leaves whole frames and at most one partial frame at the end.
 * A write that fails (ENOSPC) is cut back to the last whole frame and
 * everything after it refused. --rotate: a frame that would take the file
 * past the limit starts FILE.1, FILE.2 ..., each with its own header.
 */
#ifndef TCPDWELL_RECWRITE_H
#define TCPDWELL_RECWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "loss.h"
#include "recfmt.h"

#define TD_RECW_FRAME_EVENTS 4096

struct td_rec_writer;

/* The loss counters now, for the loss frame that closes a rotated part. */
typedef void (*td_recw_loss_fn)(void *ctx, struct td_loss *l, uint64_t *now_ns);

struct td_recw_stats {
	uint64_t events, frames, files;
	uint64_t raw_bytes;    /* records before compression */
	uint64_t stored_bytes; /* every byte written, headers included */
};

/* Create FILE (0600; O_EXCL unless force). Returns 0 or -errno. */
int td_recw_create(struct td_rec_writer **out, const char *path, bool force, uint64_t rotate,
		   int level);

/* The file header and the header frame. Returns 0 or -errno. */
int td_recw_start(struct td_rec_writer *w, const struct td_rec_header *h, td_recw_loss_fn fn,
		  void *ctx);

/* Queue one record (a frame is written when full). Returns 0 or -errno. */
int td_recw_event(struct td_rec_writer *w, const struct td_event *e);

/* Tell the recording what cgroup id names (the path below the cgroup2
 * mount), before the next events frame; once per id. 0 or -errno. */
int td_recw_cgroup(struct td_rec_writer *w, uint64_t id, const char *path);

/* Whether id has been told. */
bool td_recw_told(struct td_rec_writer *w, uint64_t id);

/* Write the queued records as a frame now. Returns 0 or -errno. */
int td_recw_flush(struct td_rec_writer *w);

/* A loss frame (TD_REC_LOSS_* flags). Returns 0 or -errno. */
int td_recw_loss(struct td_rec_writer *w, const struct td_loss *l, uint64_t at_ns, uint64_t flags);

/* The first failure: -errno, its file and where the file now ends. */
int td_recw_error(const struct td_rec_writer *w, const char **path, uint64_t *at);

const char *td_recw_path(const struct td_rec_writer *w);
void td_recw_stats(const struct td_rec_writer *w, struct td_recw_stats *s);

/* Close; with unlink_it, remove the file (nothing was recorded). */
void td_recw_close(struct td_rec_writer *w, bool unlink_it);

#endif /* TCPDWELL_RECWRITE_H */
