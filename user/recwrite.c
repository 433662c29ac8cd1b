// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "recwrite.h"

/* The loss frame, uncompressed: its size is known before it is written. */
#define LOSS_FRAME (TD_REC_FRAME_HDR + sizeof(struct td_rec_loss))

struct td_rec_writer {
	char base[PATH_MAX - 16];
	char path[PATH_MAX];
	int fd;
	bool force;
	int level;
	uint64_t rotate;
	size_t frame_events; /* records per frame: fewer with --rotate */
	uint64_t size;	     /* of the current file: where its last whole frame ends */
	bool data;	     /* the current part holds more than its header */
	struct td_rec_header hdr;
	td_recw_loss_fn loss_fn;
	void *loss_ctx;
	struct td_event *pend;
	size_t npend;
	uint8_t *buf; /* frame header + stored payload */
	size_t bufcap;
	/* cgroup names told so far, as cgroups frame entries: [0, cg_done)
	 * written, the rest waiting for the next events frame */
	uint8_t *cg;
	size_t cg_len, cg_done;
	uint64_t *cg_ids; /* the ids told: an open-addressed set */
	size_t ncg_ids;
	int err;
	struct td_recw_stats st;
};

static int open_file(struct td_rec_writer *w)
{
	/* O_EXCL: never overwrite, nor follow a symlink planted at the name */
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (w->force ? O_TRUNC | O_NOFOLLOW : O_EXCL);

	w->fd = open(w->path, flags, 0600);
	if (w->fd < 0)
		return -errno;
	/* --force on an existing file: its old mode is not ours */
	if (w->force && fchmod(w->fd, 0600)) {
		int err = -errno;

		close(w->fd);
		w->fd = -1;
		return err;
	}
	w->size = 0;
	w->data = false;
	w->st.files++;
	return 0;
}

int td_recw_create(struct td_rec_writer **out, const char *path, bool force, uint64_t rotate,
		   int level)
{
	struct td_rec_writer *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	if (strlen(path) >= sizeof(w->base)) {
		free(w);
		return -ENAMETOOLONG;
	}
	strcpy(w->base, path);
	strcpy(w->path, path);
	w->force = force;
	w->rotate = rotate;
	/* with --rotate, a frame holds at most half a part's worth of raw
	 * records, so that no frame (compressed: at most a little above its
	 * raw size) can push a part past SIZE however busy the second was */
	w->frame_events = TD_RECW_FRAME_EVENTS;
	if (rotate && rotate / 2 / sizeof(struct td_event) < w->frame_events)
		w->frame_events = rotate / 2 / sizeof(struct td_event) ?: 1;
	w->level = level;
	w->pend = calloc(TD_RECW_FRAME_EVENTS, sizeof(*w->pend));
	w->bufcap = TD_REC_FRAME_HDR + td_rec_bound(TD_RECW_FRAME_EVENTS * sizeof(*w->pend));
	w->buf = malloc(w->bufcap);
	if (!w->pend || !w->buf) {
		td_recw_close(w, false);
		return -ENOMEM;
	}
	err = open_file(w);
	if (err) {
		td_recw_close(w, false);
		return err;
	}
	*out = w;
	return 0;
}

/* One whole frame with one write(2); a short one is cut back. */
static int write_out(struct td_rec_writer *w, const uint8_t *p, size_t n)
{
	size_t done = 0;
	ssize_t k;

	if (w->err)
		return w->err;
	while (done < n) {
		k = write(w->fd, p + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->err = k < 0 ? -errno : -ENOSPC;
			/* the reader sees whole frames only: drop the partial one */
			if (ftruncate(w->fd, w->size))
				w->err = -errno;
			return w->err;
		}
		done += k;
	}
	w->size += n;
	w->st.stored_bytes += n;
	return 0;
}

/* A new part repeats the names told before it: each part replays alone. */
static int write_names(struct td_rec_writer *w)
{
	uint8_t *fr = malloc(TD_REC_FRAME_HDR + w->cg_done);
	int err;

	if (!fr)
		return -ENOMEM;
	memcpy(fr + TD_REC_FRAME_HDR, w->cg, w->cg_done);
	td_rec_put_frame_header(fr, TD_FR_CGROUPS, TD_CODEC_NONE, w->cg_done, fr + TD_REC_FRAME_HDR,
				w->cg_done);
	err = write_out(w, fr, TD_REC_FRAME_HDR + w->cg_done);
	if (!err)
		w->st.frames++;
	free(fr);
	return err;
}

static int write_start(struct td_rec_writer *w)
{
	char json[TD_REC_HEADER_MAX];
	uint8_t fh[TD_REC_FILE_HDR];
	size_t n = td_rec_header_json(&w->hdr, json, sizeof(json));
	uint8_t *fr;
	int err;

	if (n >= sizeof(json))
		return -EOVERFLOW;
	/* a buffer of its own: at a rotation w->buf holds the frame waiting */
	fr = malloc(TD_REC_FRAME_HDR + n);
	if (!fr)
		return -ENOMEM;
	memcpy(fr + TD_REC_FRAME_HDR, json, n);
	td_rec_put_frame_header(fr, TD_FR_HEADER, TD_CODEC_NONE, n, fr + TD_REC_FRAME_HDR, n);
	td_rec_put_file_header(fh);
	err = write_out(w, fh, sizeof(fh));
	if (!err)
		err = write_out(w, fr, TD_REC_FRAME_HDR + n);
	if (!err)
		w->st.frames++;
	free(fr);
	if (!err && w->cg_done)
		err = write_names(w);
	return err;
}

/* Close this part with the loss counters so far, start FILE.n+1. */
static int next_part(struct td_rec_writer *w)
{
	struct td_loss l;
	uint64_t now = 0;
	int err;

	memset(&l, 0, sizeof(l));
	if (w->loss_fn)
		w->loss_fn(w->loss_ctx, &l, &now);
	err = td_recw_loss(w, &l, now, TD_REC_LOSS_PART);
	if (err)
		return err;
	close(w->fd);
	w->hdr.part++;
	snprintf(w->path, sizeof(w->path), "%s.%u", w->base, w->hdr.part);
	err = open_file(w);
	if (err)
		return w->err = err;
	return write_start(w);
}

static int write_frame(struct td_rec_writer *w, uint8_t kind, bool compress, const void *raw,
		       size_t raw_len)
{
	size_t stored = raw_len;
	int err;

	if (w->err)
		return w->err;
	if (TD_REC_FRAME_HDR + td_rec_bound(raw_len) > w->bufcap) {
		uint8_t *grown = realloc(w->buf, TD_REC_FRAME_HDR + td_rec_bound(raw_len));

		if (!grown)
			return -ENOMEM;
		w->buf = grown;
		w->bufcap = TD_REC_FRAME_HDR + td_rec_bound(raw_len);
	}
	if (compress) {
		stored = td_rec_compress(raw, raw_len, w->buf + TD_REC_FRAME_HDR,
					 w->bufcap - TD_REC_FRAME_HDR, w->level);
		if (!stored)
			return -EIO;
	} else {
		memcpy(w->buf + TD_REC_FRAME_HDR, raw, raw_len);
	}
	td_rec_put_frame_header(w->buf, kind, compress ? TD_CODEC_ZLIB : TD_CODEC_NONE, raw_len,
				w->buf + TD_REC_FRAME_HDR, stored);
	/* room for this frame and the loss frame that would close the part */
	if (w->rotate && w->data && w->size + TD_REC_FRAME_HDR + stored + LOSS_FRAME > w->rotate) {
		err = next_part(w);
		if (err)
			return err;
	}
	err = write_out(w, w->buf, TD_REC_FRAME_HDR + stored);
	if (err)
		return err;
	w->st.frames++;
	w->data = true;
	return 0;
}

int td_recw_start(struct td_rec_writer *w, const struct td_rec_header *h, td_recw_loss_fn fn,
		  void *ctx)
{
	w->hdr = *h;
	w->hdr.part = 0;
	w->loss_fn = fn;
	w->loss_ctx = ctx;
	return write_start(w);
}

int td_recw_flush(struct td_rec_writer *w)
{
	size_t n = w->npend;
	int err;

	if (!n)
		return w->err;
	w->npend = 0;
	/* the names of this frame's cgroups before it (a rotation inside
	 * writes the older ones into the new part first) */
	if (w->cg_len > w->cg_done) {
		err = write_frame(w, TD_FR_CGROUPS, false, w->cg + w->cg_done,
				  w->cg_len - w->cg_done);
		if (err)
			return err;
		w->cg_done = w->cg_len;
	}
	err = write_frame(w, TD_FR_EVENTS, true, w->pend, n * sizeof(*w->pend));
	if (!err) {
		w->st.events += n;
		w->st.raw_bytes += n * sizeof(*w->pend);
	}
	return err;
}

int td_recw_event(struct td_rec_writer *w, const struct td_event *e)
{
	if (w->err)
		return w->err;
	w->pend[w->npend++] = *e;
	return w->npend >= w->frame_events ? td_recw_flush(w) : 0;
}

/* At most this many names, in at most this many bytes: past them, ids
 * stay ids in the replay. */
#define CG_IDS_SLOTS 131072u
#define CG_IDS_MAX   (CG_IDS_SLOTS / 2)
#define CG_BYTES_MAX (8u << 20)

/* Where id is in the told set, or the empty slot it would take. */
static size_t cg_slot(const struct td_rec_writer *w, uint64_t id)
{
	size_t i = (size_t)((id * 0x9e3779b97f4a7c15ull) >> 47) & (CG_IDS_SLOTS - 1);

	while (w->cg_ids[i] && w->cg_ids[i] != id)
		i = (i + 1) & (CG_IDS_SLOTS - 1);
	return i;
}

bool td_recw_told(struct td_rec_writer *w, uint64_t id)
{
	return w->cg_ids && w->cg_ids[cg_slot(w, id)] == id;
}

int td_recw_cgroup(struct td_rec_writer *w, uint64_t id, const char *path)
{
	size_t n, need = 10 + strlen(path);
	uint8_t *grown;

	if (!id || td_recw_told(w, id) || w->ncg_ids >= CG_IDS_MAX ||
	    w->cg_len + need > CG_BYTES_MAX)
		return 0;
	if (!w->cg_ids) {
		w->cg_ids = calloc(CG_IDS_SLOTS, sizeof(*w->cg_ids));
		if (!w->cg_ids)
			return -ENOMEM;
	}
	grown = realloc(w->cg, w->cg_len + need);
	if (!grown)
		return -ENOMEM;
	w->cg = grown;
	n = td_rec_cgroup_put(w->cg + w->cg_len, need, id, path);
	if (!n)
		return 0; /* a path no frame can carry: the id stays an id */
	w->cg_len += n;
	w->cg_ids[cg_slot(w, id)] = id;
	w->ncg_ids++;
	return 0;
}

int td_recw_loss(struct td_rec_writer *w, const struct td_loss *l, uint64_t at_ns, uint64_t flags)
{
	struct td_rec_loss r;

	td_rec_loss_from(&r, l, at_ns, flags);
	/* a part's closing frame is accounted for in the rotate check */
	if (flags & TD_REC_LOSS_PART) {
		uint8_t buf[LOSS_FRAME];
		int err;

		memcpy(buf + TD_REC_FRAME_HDR, &r, sizeof(r));
		td_rec_put_frame_header(buf, TD_FR_LOSS, TD_CODEC_NONE, sizeof(r),
					buf + TD_REC_FRAME_HDR, sizeof(r));
		err = write_out(w, buf, sizeof(buf));
		if (!err)
			w->st.frames++;
		return err;
	}
	return write_frame(w, TD_FR_LOSS, false, &r, sizeof(r));
}

int td_recw_error(const struct td_rec_writer *w, const char **path, uint64_t *at)
{
	*path = w->path;
	*at = w->size;
	return w->err;
}

const char *td_recw_path(const struct td_rec_writer *w)
{
	return w->path;
}

void td_recw_stats(const struct td_rec_writer *w, struct td_recw_stats *s)
{
	*s = w->st;
}

void td_recw_close(struct td_rec_writer *w, bool unlink_it)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		if (unlink_it)
			unlink(w->path);
	}
	free(w->pend);
	free(w->buf);
	free(w->cg);
	free(w->cg_ids);
	free(w);
}
