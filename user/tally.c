// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"

struct shape {
	size_t size, key_len;
};

static int by_key(const void *a, const void *b, void *ctx)
{
	const struct shape *s = ctx;

	return memcmp(a, b, s->key_len);
}

static uint64_t total(const void *row, const struct shape *s)
{
	const unsigned char *p = row;
	uint64_t sum = 0;
	uint32_t v;

	for (size_t off = s->key_len; off + sizeof(v) <= s->size; off += sizeof(v)) {
		memcpy(&v, p + off, sizeof(v));
		sum += v;
	}
	return sum;
}

static int by_count(const void *a, const void *b, void *ctx)
{
	uint64_t x = total(a, ctx), y = total(b, ctx);

	if (x != y)
		return x > y ? -1 : 1;
	return by_key(a, b, ctx); /* stable output for equal counts */
}

size_t td_tally_merge(void *rows, size_t n, size_t size, size_t key_len)
{
	struct shape s = {size, key_len};
	unsigned char *r = rows;
	size_t out = 0;

	if (!n) /* rows may be NULL then, and qsort_r's is declared nonnull */
		return 0;
	qsort_r(rows, n, size, by_key, &s);
	for (size_t i = 0; i < n; i++) {
		/* last only once there is one: r - size is undefined behaviour
		 * even unread (UBSan: pointer overflow) */
		unsigned char *cur = r + i * size, *last = out ? r + (out - 1) * size : NULL;

		if (last && !memcmp(last, cur, key_len)) {
			for (size_t off = key_len; off + sizeof(uint32_t) <= size;
			     off += sizeof(uint32_t)) {
				uint32_t a, b;

				memcpy(&a, last + off, sizeof(a));
				memcpy(&b, cur + off, sizeof(b));
				a += b;
				memcpy(last + off, &a, sizeof(a));
			}
		} else {
			if (out != i)
				memcpy(r + out * size, cur, size);
			out++;
		}
	}
	return out;
}

void td_tally_by_count(void *rows, size_t n, size_t size, size_t key_len)
{
	struct shape s = {size, key_len};

	if (n)
		qsort_r(rows, n, size, by_count, &s);
}
