// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/tally.c: merging rows by key and ordering by count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

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
	assert_int_equal(r[0].key, 1);
	assert_int_equal(r[0].a, 1);
	assert_int_equal(r[0].b, 2);
	assert_int_equal(r[2].key, 3);
	assert_int_equal(r[2].a, 3);
	assert_int_equal(r[2].b, 2);
	td_tally_by_count(r, n, sizeof(r[0]), sizeof(uint32_t));
	assert_int_equal(r[0].key, 2); /* 9 */
	assert_int_equal(r[1].key, 3); /* 5 */
	assert_int_equal(r[2].key, 1); /* 3 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_merge_and_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
