// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A recording file, read as replay reads it from anywhere (user/recread.c
 * on a memfd): the file header, every frame header and checksum at open,
 * the JSON header, then each frame decompressed, loss and cgroups frames
 * parsed and each record validated as replay does. Whatever the bytes, the reader
 * must refuse with an error naming a byte, or hand on frames whose
 * payload lies inside the input, and place its cut inside the input.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgname.h"
#include "event.h"
#include "fuzz.h"
#include "recfmt.h"
#include "recread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replay tells its names table each entry: the path must be one */
static void check_name(void *ctx, uint64_t id, const char *path)
{
	(void)ctx;
	FUZZ_CHECK(id && path[0] == '/' && strlen(path) < TD_CG_PATH_MAX);
}

static void check_frame(const struct td_frame *f, const uint8_t *raw, size_t size)
{
	char err[256];
	struct td_rec_loss l;
	struct td_event e;

	FUZZ_CHECK(f->payload_off + f->stored_len <= size);
	switch (f->kind) {
	case TD_FR_EVENTS:
		/* replay decodes every whole record and skips bad ones */
		for (uint32_t off = 0; off + sizeof(e) <= f->raw_len; off += sizeof(e))
			(void)td_event_decode(raw + off, sizeof(e), &e);
		break;
	case TD_FR_LOSS:
		td_rec_loss_parse(raw, f->raw_len, &l);
		break;
	case TD_FR_CGROUPS:
		(void)td_rec_cgroups_parse(raw, f->raw_len, check_name, NULL, err, sizeof(err));
		break;
	default:
		FUZZ_CHECK(!"a frame kind the reader should have refused");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct td_rec_reader *r;
	const uint8_t *raw;
	struct td_frame f;
	char path[64], err[256] = "";
	int rc;

	fuzz_quiet();
	if (fd < 0)
		fd = memfd_create("recording", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(!size || pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = td_rec_open(path, &r, err, sizeof(err));
	FUZZ_CHECK(rc == TD_REC_OK || rc == TD_REC_BAD);
	if (rc) {
		FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
		return 0;
	}
	FUZZ_CHECK(td_rec_cut_at(r) <= size);
	FUZZ_CHECK(td_rec_header_of(r)->event_size == sizeof(struct td_event));
	while ((rc = td_rec_next(r, &f, &raw, err, sizeof(err))) == TD_REC_OK)
		check_frame(&f, raw, size);
	FUZZ_CHECK(rc == TD_REC_SHORT); /* every frame was checked at open */
	td_rec_close(r);
	return 0;
}
