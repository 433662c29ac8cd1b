// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/order.c: the drain's run sort gives the order of a
 * plain sort by (timestamp, index) on the inputs a drain meets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "rng.h"

#define N 5000

static struct td_event batch[N];
static uint32_t order[N], tmp[N], want[N];

static int ref_cmp(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;

	if (batch[i].ts_ns != batch[j].ts_ns)
		return batch[i].ts_ns < batch[j].ts_ns ? -1 : 1;
	return i < j ? -1 : i > j;
}

static void check(size_t n, const size_t *runs, size_t nruns)
{
	for (size_t i = 0; i < n; i++)
		want[i] = i;
	qsort(want, n, sizeof(*want), ref_cmp);
	memset(order, 0xff, sizeof(order));
	td_order_runs(batch, n, runs, nruns, order, tmp);
	assert_memory_equal(order, want, n * sizeof(*order));
}

/* Runs shaped like a drain's: the kept records (sorted), then each CPU's
 * ring, nearly sorted, with deferred records and equal timestamps. */
static void test_drain_shapes(void **state)
{
	uint64_t seed = 0x5eed;

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t n = xorshift64(&seed) % N, nruns = 1 + xorshift64(&seed) % 5;
		size_t runs[6];
		uint64_t base = 1000000;

		for (size_t r = 0; r < nruns; r++)
			runs[r] = r == 0 ? 0 : runs[r - 1] + xorshift64(&seed) % (n / nruns + 1);
		for (size_t r = 0, i = 0; r < nruns; r++) {
			size_t end = r + 1 < nruns ? runs[r + 1] : n;
			uint64_t ts = base + xorshift64(&seed) % 1000;

			for (; i < end && i < n; i++) {
				uint64_t x = xorshift64(&seed);

				ts += x % 4 == 0 ? 0 : x % 700; /* ties, and steps */
				/* a deferred record: an older time */
				batch[i].ts_ns = x % 50 == 0 ? ts - x % 100000 : ts;
			}
		}
		check(n, runs, nruns);
	}
}

/* Any input, any runs (also out of range, repeated): still sorted. */
static void test_any_input(void **state)
{
	uint64_t seed = 42;
	size_t runs[4] = {0, 7, 7, N + 3};

	(void)state;
	for (size_t i = 0; i < N; i++)
		batch[i].ts_ns = xorshift64(&seed) % 100;
	check(N, runs, 4);
	check(N, NULL, 0);
	check(1, runs, 4);
	check(0, runs, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drain_shapes),
	    cmocka_unit_test(test_any_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
