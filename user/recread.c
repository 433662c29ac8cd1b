// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recread.h"

struct td_rec_reader {
	int fd;
	uint64_t off;	/* next frame */
	uint64_t first; /* the first frame after the header */
	uint64_t end;	/* where the complete frames end */
	uint64_t cut;
	struct td_rec_header hdr;
	uint8_t *stored, *raw;
	size_t stored_cap, raw_cap;
};

static int grow(uint8_t **p, size_t *cap, size_t want)
{
	uint8_t *n;

	if (*cap >= want)
		return 0;
	n = realloc(*p, want);
	if (!n)
		return -1;
	*p = n;
	*cap = want;
	return 0;
}

/* Read exactly n bytes at off; returns how many there were. */
static size_t read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = pread(fd, (char *)buf + got, n - got, off + got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	return got;
}

/* The frame at r->off into r->stored (header + payload). */
static int load_frame(struct td_rec_reader *r, struct td_frame *f, char *err, size_t errsz)
{
	size_t n;
	int rc;

	if (grow(&r->stored, &r->stored_cap, TD_REC_FRAME_HDR))
		goto oom;
	n = read_at(r->fd, r->stored, TD_REC_FRAME_HDR, r->off);
	rc = td_rec_parse_frame(r->stored, n, r->off, f, err, errsz);
	if (rc != TD_REC_SHORT || n < TD_REC_FRAME_HDR)
		return rc; /* checked whole (no payload), bad, or cut in its header */
	/* the header is sound: its lengths can be trusted to read the rest */
	if (grow(&r->stored, &r->stored_cap, TD_REC_FRAME_HDR + (size_t)f->stored_len))
		goto oom;
	n += read_at(r->fd, r->stored + n, f->stored_len, r->off + n);
	return td_rec_parse_frame(r->stored, n, r->off, f, err, errsz);
oom:
	snprintf(err, errsz, "out of memory at byte %" PRIu64, r->off);
	return TD_REC_BAD;
}

static int decode(struct td_rec_reader *r, const struct td_frame *f, char *err, size_t errsz)
{
	if (grow(&r->raw, &r->raw_cap, f->raw_len + 1)) {
		snprintf(err, errsz, "out of memory at byte %" PRIu64, f->off);
		return TD_REC_BAD;
	}
	return td_rec_decode_payload(f, r->stored + TD_REC_FRAME_HDR, r->raw, err, errsz);
}

/* The first pass: every frame's header and checksum, where it ends, and
 * whether its last frame says the recording ended cleanly. */
static int check_all(struct td_rec_reader *r, char *err, size_t errsz)
{
	struct td_frame f;
	bool final = false;
	int rc;

	for (;;) {
		rc = load_frame(r, &f, err, errsz);
		if (rc == TD_REC_SHORT)
			break;
		if (rc)
			return rc;
		if (f.kind == TD_FR_HEADER) {
			snprintf(err, errsz, "a second header frame at byte %" PRIu64, f.off);
			return TD_REC_BAD;
		}
		final = false;
		if (f.kind == TD_FR_LOSS) {
			struct td_rec_loss l;

			if (decode(r, &f, err, errsz))
				return TD_REC_BAD;
			if (td_rec_loss_parse(r->raw, f.raw_len, &l)) {
				snprintf(err, errsz, "bad loss frame at byte %" PRIu64, f.off);
				return TD_REC_BAD;
			}
			final = l.flags & (TD_REC_LOSS_FINAL | TD_REC_LOSS_PART);
		}
		r->off = f.payload_off + f.stored_len;
	}
	r->end = r->off;
	/* cut inside a frame, or on a boundary before the final loss frame */
	r->cut = final && read_at(r->fd, &f, 1, r->off) == 0 ? 0 : r->off;
	return TD_REC_OK;
}

int td_rec_open(const char *path, struct td_rec_reader **out, char *err, size_t errsz)
{
	struct td_rec_reader *r = calloc(1, sizeof(*r));
	uint8_t fh[TD_REC_FILE_HDR];
	struct td_frame f;
	size_t n;
	int rc = TD_REC_BAD;

	*out = NULL;
	if (!r) {
		snprintf(err, errsz, "out of memory");
		return TD_REC_BAD;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		snprintf(err, errsz, "%s", strerror(errno));
		goto cleanup;
	}
	n = read_at(r->fd, fh, sizeof(fh), 0);
	rc = td_rec_check_file_header(fh, n, err, errsz);
	if (rc == TD_REC_SHORT) {
		rc = TD_REC_BAD; /* nothing to replay without a header */
		goto cleanup;
	}
	if (rc)
		goto cleanup;
	r->off = TD_REC_FILE_HDR;
	rc = load_frame(r, &f, err, errsz);
	if (rc == TD_REC_SHORT) {
		snprintf(err, errsz, "no header frame: cut at byte %" PRIu64, r->off);
		rc = TD_REC_BAD;
	} else if (!rc && f.kind != TD_FR_HEADER) {
		snprintf(err, errsz, "the first frame is not the header at byte %" PRIu64, f.off);
		rc = TD_REC_BAD;
	}
	if (!rc)
		rc = decode(r, &f, err, errsz);
	if (!rc && td_rec_header_parse((char *)r->raw, f.raw_len, &r->hdr, err, errsz)) {
		snprintf(err, errsz, "bad header frame at byte %" PRIu64, f.off);
		rc = TD_REC_BAD;
	}
	if (!rc && (r->hdr.event_size != sizeof(struct td_event) ||
		    r->hdr.event_version != TD_EVENT_VERSION || r->hdr.format != TD_REC_VERSION)) {
		snprintf(err, errsz,
			 "recorded by another version (format %u, records v%u of %u bytes) at byte "
			 "%" PRIu64,
			 r->hdr.format, r->hdr.event_version, r->hdr.event_size, f.off);
		rc = TD_REC_BAD;
	}
	if (rc)
		goto cleanup;
	r->first = r->off = f.payload_off + f.stored_len;
	rc = check_all(r, err, errsz);
	r->off = r->first;
cleanup:
	if (rc) {
		td_rec_close(r);
		return TD_REC_BAD;
	}
	*out = r;
	return TD_REC_OK;
}

const struct td_rec_header *td_rec_header_of(const struct td_rec_reader *r)
{
	return &r->hdr;
}

uint64_t td_rec_cut_at(const struct td_rec_reader *r)
{
	return r->cut;
}

int td_rec_next(struct td_rec_reader *r, struct td_frame *f, const uint8_t **raw, char *err,
		size_t errsz)
{
	int rc;

	if (r->off >= r->end)
		return TD_REC_SHORT;
	rc = load_frame(r, f, err, errsz);
	if (rc == TD_REC_SHORT) { /* changed under us since the first pass */
		snprintf(err, errsz, "the file changed while being read, at byte %" PRIu64, r->off);
		return TD_REC_BAD;
	}
	if (!rc)
		rc = decode(r, f, err, errsz);
	if (rc)
		return rc;
	r->off = f->payload_off + f->stored_len;
	*raw = r->raw;
	return TD_REC_OK;
}

void td_rec_rewind(struct td_rec_reader *r)
{
	r->off = r->first;
}

void td_rec_close(struct td_rec_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->stored);
	free(r->raw);
	free(r);
}
