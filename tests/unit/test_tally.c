// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/tally.c: merging rows by key and ordering by count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rng.h"
#include "tally.h"

struct row {
	uint32_t key;
	uint32_t a, b;
};

/* No rows at all (retrans -c on a quiet host): rows is NULL. Under UBSan
 * (make check-asan) this failed: qsort_r's base is declared nonnull. */
static void test_empty(void **state)
{
	(void)state;
	assert_int_equal(td_tally_merge(NULL, 0, sizeof(struct row), sizeof(uint32_t)), 0);
	td_tally_by_count(NULL, 0, sizeof(struct row), sizeof(uint32_t));
}

static void test_merge_and_order(void **state)
{
	struct row r[] = {{3, 1, 0}, {1, 1, 1}, {3, 2, 2}, {2, 9, 0}, {1, 0, 1}};
	size_t n;

	(void)state;
	n = td_tally_merge(r, 5, sizeof(r[0]), sizeof(uint32_t));
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) { /* in no particular order */
		if (r[i].key == 1) {
			assert_int_equal(r[i].a, 1);
			assert_int_equal(r[i].b, 2);
		} else if (r[i].key == 3) {
			assert_int_equal(r[i].a, 3);
			assert_int_equal(r[i].b, 2);
		} else {
			assert_int_equal(r[i].key, 2);
		}
	}
	td_tally_by_count(r, n, sizeof(r[0]), sizeof(uint32_t));
	assert_int_equal(r[0].key, 2); /* 9 */
	assert_int_equal(r[1].key, 3); /* 5 */
	assert_int_equal(r[2].key, 1); /* 3 */
}

/* Many rows, few keys (the census: every timewait socket, a few hundred
 * peers): each key once, in key order, with every row's counts. */
static void test_many_rows(void **state)
{
	enum { N = 100000, KEYS = 300 };
	static struct row r[N];
	uint32_t want_a[KEYS] = {0}, want_b[KEYS] = {0};
	uint64_t seed = 7;
	size_t n;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		r[i].key = xorshift64(&seed) % KEYS * 0x10001; /* spread over the bytes */
		r[i].a = 1;
		r[i].b = i & 1;
		want_a[r[i].key / 0x10001] += 1;
		want_b[r[i].key / 0x10001] += i & 1;
	}
	n = td_tally_merge(r, N, sizeof(r[0]), sizeof(uint32_t));
	assert_int_equal(n, KEYS);
	for (size_t i = 0; i < n; i++) {
		size_t k = r[i].key / 0x10001;

		assert_int_equal(r[i].key, k * 0x10001);
		assert_int_equal(r[i].a, want_a[k]);
		assert_int_equal(r[i].b, want_b[k]);
		want_a[k] = 0; /* each key once */
	}
}

/* The top rows are the first rows of the full order by count, for any top. */
static void test_top(void **state)
{
	enum { N = 3000 };
	static struct row r[N], full[N];
	uint64_t seed = 99;

	(void)state;
	for (size_t top = 0; top <= N; top = top ? top * 3 : 1) {
		for (size_t i = 0; i < N; i++)
			r[i] = (struct row){(uint32_t)i, xorshift64(&seed) % 50,
					    xorshift64(&seed) % 3};
		memcpy(full, r, sizeof(r));
		td_tally_by_count(full, N, sizeof(full[0]), sizeof(uint32_t));
		assert_int_equal(td_tally_top(r, N, sizeof(r[0]), sizeof(uint32_t), top),
				 top < N ? top : N);
		assert_memory_equal(r, full, (top < N ? top : N) * sizeof(r[0]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_merge_and_order),
	    cmocka_unit_test(test_many_rows),
	    cmocka_unit_test(test_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
