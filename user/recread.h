/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Reading a recording from its file, frame by frame (recfmt.c checks each
 * one). Opening checks the whole file first, headers and checksums, so a
 * corrupt file is refused before anything is replayed; a file that ends
 * inside its last frame (SIGKILL, a full disk) reads up to that frame.
 */
#ifndef TCPDWELL_RECREAD_H
#define TCPDWELL_RECREAD_H

#include <stdint.h>

#include "recfmt.h"

struct td_rec_reader;

/* Returns 0, or TD_REC_BAD with err saying what and at which byte. */
int td_rec_open(const char *path, struct td_rec_reader **out, char *err, size_t errsz);

const struct td_rec_header *td_rec_header_of(const struct td_rec_reader *r);

/* Where the file was cut (the offset of its incomplete last frame, or its
 * size when it ends on a frame boundary without a final loss frame); 0 for
 * a recording that ended cleanly. */
uint64_t td_rec_cut_at(const struct td_rec_reader *r);

/* The next frame after the header, decoded into *raw (valid until the next
 * call). Returns TD_REC_OK, TD_REC_SHORT at the end, or TD_REC_BAD. */
int td_rec_next(struct td_rec_reader *r, struct td_frame *f, const uint8_t **raw, char *err,
		size_t errsz);

/* Back to the first frame after the header. */
void td_rec_rewind(struct td_rec_reader *r);

void td_rec_close(struct td_rec_reader *r);

#endif /* TCPDWELL_RECREAD_H */
