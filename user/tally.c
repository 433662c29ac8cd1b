// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdbool.h>
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

/* 8 bytes at a time, multiply and fold (keys are a few tens of bytes). */
static uint64_t key_hash(const unsigned char *k, size_t len)
{
	uint64_t h = len, w;
	size_t i = 0;

	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, k + i, sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	return h ^ h >> 29;
}

static void add_counters(unsigned char *into, const unsigned char *from, const struct shape *s)
{
	for (size_t off = s->key_len; off + sizeof(uint32_t) <= s->size; off += sizeof(uint32_t)) {
		uint32_t a, b;

		memcpy(&a, into + off, sizeof(a));
		memcpy(&b, from + off, sizeof(b));
		a += b;
		memcpy(into + off, &a, sizeof(a));
	}
}

/* Fold through a hash of the keys: O(n) for n rows (the census folds
 * every timewait socket at each report). SIZE_MAX: no memory. */
static size_t fold_hashed(unsigned char *r, size_t n, const struct shape *s)
{
	size_t cap = 16, out = 0;
	uint32_t *idx;

	while (cap < 2 * n)
		cap *= 2;
	idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return SIZE_MAX;
	memset(idx, 0xff, cap * sizeof(*idx));
	for (size_t i = 0; i < n; i++) {
		unsigned char *cur = r + i * s->size;
		size_t h = key_hash(cur, s->key_len) & (cap - 1);

		while (idx[h] != UINT32_MAX && memcmp(r + idx[h] * s->size, cur, s->key_len))
			h = (h + 1) & (cap - 1);
		if (idx[h] != UINT32_MAX) {
			add_counters(r + idx[h] * s->size, cur, s);
			continue;
		}
		if (out != i)
			memcpy(r + out * s->size, cur, s->size);
		idx[h] = out++;
	}
	free(idx);
	return out;
}

size_t td_tally_merge(void *rows, size_t n, size_t size, size_t key_len)
{
	struct shape s = {size, key_len};
	unsigned char *r = rows;
	size_t out = 0;

	if (!n) /* rows may be NULL then, and qsort_r's is declared nonnull */
		return 0;
	if (n < UINT32_MAX && (out = fold_hashed(r, n, &s)) != SIZE_MAX)
		return out;
	/* no memory for the index: sort everything, fold neighbours */
	out = 0;
	qsort_r(rows, n, size, by_key, &s);
	for (size_t i = 0; i < n; i++) {
		/* last only once there is one: r - size is undefined behaviour
		 * even unread (UBSan: pointer overflow) */
		unsigned char *cur = r + i * size, *last = out ? r + (out - 1) * size : NULL;

		if (last && !memcmp(last, cur, key_len)) {
			add_counters(last, cur, &s);
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

/* Whether row a comes before row b in by_count's order. */
static bool ahead(const void *a, const void *b, const struct shape *s)
{
	return by_count(a, b, (void *)s) < 0;
}

size_t td_tally_top(void *rows, size_t n, size_t size, size_t key_len, size_t top)
{
	struct shape s = {size, key_len};
	unsigned char *r = rows, *kept;
	size_t *best, nb = 0;

	if (top > n)
		top = n;
	/* a table that is mostly kept: sort it all */
	if (!top || top * 8 >= n || !(best = malloc(top * sizeof(*best)))) {
		td_tally_by_count(rows, n, size, key_len);
		return top;
	}
	/* the best `top` indices, in order: most rows are below the last */
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (nb == top && !ahead(r + i * size, r + best[nb - 1] * size, &s))
			continue;
		j = nb < top ? nb++ : nb - 1;
		for (; j > 0 && ahead(r + i * size, r + best[j - 1] * size, &s); j--)
			best[j] = best[j - 1];
		best[j] = i;
	}
	kept = malloc(top * size);
	if (!kept) {
		free(best);
		td_tally_by_count(rows, n, size, key_len);
		return top;
	}
	for (size_t i = 0; i < top; i++)
		memcpy(kept + i * size, r + best[i] * size, size);
	memcpy(r, kept, top * size);
	free(kept);
	free(best);
	return top;
}
