// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A recording file, as replay gets it from anywhere: the whole walk (file
 * header, frame headers and checksums, payload decompression, the JSON
 * header, loss frames, each record's validation). Whatever the bytes, the
 * reader must refuse with an error naming a byte inside the input, or
 * stop at a cut it also places inside the input, or hand on frames whose
 * payload lies inside the input and whose events decode.
 */
#include <string.h>

#include "event.h"
#include "fuzz.h"
#include "recfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	size_t size;
	unsigned frames;
};

static int on_frame(void *ctx, const struct td_frame *f, const uint8_t *raw)
{
	struct walk *w = ctx;
	struct td_rec_header h;
	struct td_rec_loss l;
	struct td_event e;
	char err[256];

	FUZZ_CHECK(f->payload_off + f->stored_len <= w->size);
	w->frames++;
	switch (f->kind) {
	case TD_FR_HEADER:
		/* a second parse of what the walk accepted: the same answer */
		FUZZ_CHECK(td_rec_header_parse((const char *)raw, f->raw_len, &h, err,
					       sizeof(err)) == TD_REC_OK);
		break;
	case TD_FR_EVENTS:
		FUZZ_CHECK(f->raw_len % sizeof(e) == 0);
		for (uint32_t off = 0; off < f->raw_len; off += sizeof(e))
			FUZZ_CHECK(!td_event_decode(raw + off, sizeof(e), &e));
		break;
	case TD_FR_LOSS:
		td_rec_loss_parse(raw, f->raw_len, &l);
		break;
	default:
		FUZZ_CHECK(!"a frame kind the walk should have refused");
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk w = {.size = size};
	uint64_t cut = 0;
	char err[256] = "";
	int rc;

	fuzz_quiet();
	rc = td_rec_walk(data, size, on_frame, &w, &cut, err, sizeof(err));
	FUZZ_CHECK(rc == TD_REC_OK || rc == TD_REC_BAD);
	FUZZ_CHECK(cut <= size);
	if (rc == TD_REC_BAD)
		FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
	return 0;
}
