/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A growable byte buffer: responses are built whole, then written out. */
#ifndef TCPDWELL_BUF_H
#define TCPDWELL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct td_buf {
	char *p;
	size_t len, cap;
	bool oom; /* an append failed: the content is incomplete */
};

void td_buf_put(struct td_buf *b, const char *s, size_t n);
void td_buf_str(struct td_buf *b, const char *s);
void td_buf_printf(struct td_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void td_buf_reset(struct td_buf *b); /* empty, memory kept */
void td_buf_free(struct td_buf *b);

#endif /* TCPDWELL_BUF_H */
