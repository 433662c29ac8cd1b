// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests for the dwell histograms: the log-linear bucket functions of
 * bpf/events.h (shared with the BPF side) and user/hist.c (percentiles,
 * deltas, durations, the log2 and JSON views). Expectations are computed
 * independently where practical: true percentiles from the sorted values,
 * log2 rows from the values themselves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "json.h"
#include "jsoncheck.h"
#include "rng.h"

#define US  1000ull
#define MS  1000000ull
#define SEC 1000000000ull

/* ---- helpers ---------------------------------------------------------------- */

/* floor(log2(v)), v > 0, without the code under test. */
static unsigned ref_log2(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values: the ceil(q * n)-th smallest. */
static uint64_t true_quantile(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static uint64_t bucket_high(uint32_t b)
{
	return b + 1 < TD_HIST_BUCKETS ? td_hist_bucket_low(b + 1) : UINT64_MAX;
}

static struct td_hist *hist_new(void)
{
	struct td_hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static struct td_hist *hist_of(const uint64_t *v, size_t n)
{
	struct td_hist *h = hist_new();

	for (size_t i = 0; i < n; i++)
		td_hist_add(h, v[i]);
	return h;
}

/* The estimate lies in the true value's bucket, so within its width:
 * at most 12.5 % of the true value above 16 ns, exact below. */
static void assert_close(uint64_t est, uint64_t truth, const char *what, double q)
{
	uint64_t err = est > truth ? est - truth : truth - est;
	bool ok = td_hist_bucket(est) == td_hist_bucket(truth) && (double)err <= truth * 0.125;

	if (!ok)
		fprintf(stderr, "%s q=%g: estimate %" PRIu64 " true %" PRIu64 "\n", what, q, est,
			truth);
	assert_true(ok);
}

static char *slurp(FILE *f, size_t *len)
{
	long n;
	char *buf;

	assert_int_equal(fflush(f), 0);
	n = ftell(f);
	assert_true(n >= 0);
	buf = malloc(n + 2);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *print_log2(const struct td_hist *h, size_t *len)
{
	FILE *f = tmpfile();
	char *s;

	assert_non_null(f);
	td_hist_print_log2(f, h);
	s = slurp(f, len);
	fclose(f);
	return s;
}

static char *print_json(const struct td_hist *h, size_t *len)
{
	static char buf[1 << 16];
	struct td_line l = {buf, sizeof(buf), 0};
	struct td_json j;
	char *s;

	td_json_init(&j, &l, NULL);
	td_hist_json(&j, NULL, h);
	/* room for the newline and NUL check_json() adds */
	s = malloc(l.len + 2);
	assert_non_null(s);
	memcpy(s, buf, l.len + 1);
	*len = l.len;
	return s;
}

#define assert_str(a, b)                                                                           \
	do {                                                                                       \
		if (strcmp((a), (b)))                                                              \
			fprintf(stderr, "got <<%s>> want <<%s>>\n", (a), (b));                     \
		assert_string_equal((a), (b));                                                     \
	} while (0)

/* ---- bucket functions (bpf/events.h) -------------------------------------------- */

static void test_log2(void **state)
{
	uint64_t seed = 88172645463325252ull;

	(void)state;
	assert_int_equal(td_log2_u64(0), 0);
	assert_int_equal(td_log2_u64(1), 0);
	assert_int_equal(td_log2_u64(UINT64_MAX), 63);
	for (unsigned k = 0; k < 64; k++) {
		uint64_t p = 1ull << k;

		assert_int_equal(td_log2_u64(p), k);
		if (k >= 1)
			assert_int_equal(td_log2_u64(p + 1), k);
		if (k >= 2)
			assert_int_equal(td_log2_u64(p - 1), k - 1);
		if (k < 63)
			assert_int_equal(td_log2_u64((p << 1) - 1), k);
	}
	assert_int_equal(td_log2_u64(2), 1);
	assert_int_equal(td_log2_u64(3), 1);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = xorshift64(&seed) >> (i % 64);

		if (v)
			assert_int_equal(td_log2_u64(v), ref_log2(v));
	}
}

static void test_bucket_exact_below_16(void **state)
{
	(void)state;
	assert_int_equal(TD_HIST_SUB, 8);
	assert_int_equal(TD_HIST_BUCKETS, 496);
	for (uint64_t v = 0; v < 16; v++) {
		assert_int_equal(td_hist_bucket(v), v);
		assert_int_equal(td_hist_bucket_low(v), v);
		assert_int_equal(bucket_high(v), v + 1);
	}
	assert_int_equal(td_hist_bucket(16), 16);
	assert_int_equal(td_hist_bucket(17), 16); /* width 2 from 16 on */
	assert_int_equal(td_hist_bucket(18), 17);
	assert_int_equal(td_hist_bucket(31), 23);
	assert_int_equal(td_hist_bucket(32), 24);
}

static void test_bucket_bounds(void **state)
{
	(void)state;
	for (uint32_t b = 0; b + 1 < TD_HIST_BUCKETS; b++) {
		uint64_t lo = td_hist_bucket_low(b), next = td_hist_bucket_low(b + 1);

		assert_true(next > lo);
		assert_int_equal(td_hist_bucket(lo), b);
		assert_int_equal(td_hist_bucket(next - 1), b);
		assert_int_equal(td_hist_bucket(next), b + 1);
		if (lo > 0)
			assert_int_equal(td_hist_bucket(lo - 1), b - 1);
		if (b >= 16) {
			/* width <= 12.5 % of the low bound, within one power of two */
			if ((next - lo) * 8 > lo)
				fprintf(stderr, "bucket %u [%" PRIu64 ", %" PRIu64 ") too wide\n",
					b, lo, next);
			assert_true((next - lo) * 8 <= lo);
			assert_int_equal(ref_log2(lo), ref_log2(next - 1));
		}
	}
	/* the last bucket runs to the top of the range */
	assert_int_equal(td_hist_bucket(UINT64_MAX), TD_HIST_BUCKETS - 1);
	assert_int_equal(td_hist_bucket(td_hist_bucket_low(TD_HIST_BUCKETS - 1)),
			 TD_HIST_BUCKETS - 1);
	assert_int_equal(td_hist_bucket_low(TD_HIST_BUCKETS - 1), 15ull << 60);
	assert_int_equal(td_hist_bucket(1ull << 63), TD_HIST_BUCKETS - 8);
}

static void test_bucket_random_values(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t v = xorshift64(&seed) >> (i % 64);
		uint32_t b = td_hist_bucket(v);

		assert_true(b < TD_HIST_BUCKETS);
		assert_true(td_hist_bucket_low(b) <= v);
		if (b + 1 < TD_HIST_BUCKETS)
			assert_true(v < td_hist_bucket_low(b + 1));
	}
}

/* ---- td_hist_add / td_hist_quantile ------------------------------------------------- */

static void test_hist_add(void **state)
{
	struct td_hist *h = hist_new();

	(void)state;
	td_hist_add(h, 5);
	td_hist_add(h, 5);
	td_hist_add(h, 1000);
	td_hist_add(h, 0);
	assert_int_equal(h->count, 4);
	assert_int_equal(h->sum_ns, 1010);
	assert_int_equal(h->max_ns, 1000);
	assert_int_equal(h->b[5], 2);
	assert_int_equal(h->b[0], 1);
	assert_int_equal(h->b[td_hist_bucket(1000)], 1);
	free(h);
}

static void test_quantile_empty(void **state)
{
	struct td_hist *h = hist_new();

	(void)state;
	assert_int_equal(td_hist_quantile(h, 0), 0);
	assert_int_equal(td_hist_quantile(h, 0.5), 0);
	assert_int_equal(td_hist_quantile(h, 0.99), 0);
	assert_int_equal(td_hist_quantile(h, 1), 0);
	free(h);
}

/* One value: every quantile is that value, since the maximum is exact. */
static void test_quantile_single(void **state)
{
	static const uint64_t values[] = {
	    0, 1, 7, 15, 16, 17, 999, 1000, 123456789, 60 * SEC, 1ull << 62, UINT64_MAX,
	};
	static const double qs[] = {0, 0.01, 0.5, 0.9, 0.99, 1};

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct td_hist *h = hist_of(&values[i], 1);

		for (size_t j = 0; j < sizeof(qs) / sizeof(qs[0]); j++) {
			uint64_t got = td_hist_quantile(h, qs[j]);

			if (got != values[i])
				fprintf(stderr, "single %" PRIu64 " q=%g: got %" PRIu64 "\n",
					values[i], qs[j], got);
			assert_int_equal(got, values[i]);
		}
		free(h);
	}
}

/* 1..1000 µs, one each. */
static void test_quantile_uniform(void **state)
{
	uint64_t v[1000];
	struct td_hist *h;
	uint64_t p50, p99;

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)(i + 1) * US;
	h = hist_of(v, 1000);
	assert_int_equal(h->count, 1000);
	assert_int_equal(h->max_ns, 1000 * US);

	p50 = td_hist_quantile(h, 0.5);
	p99 = td_hist_quantile(h, 0.99);
	assert_true(fabs((double)p50 - 500.0 * US) <= 0.125 * 500 * US);
	assert_true(fabs((double)p99 - 990.0 * US) <= 0.125 * 990 * US);
	assert_int_equal(td_hist_quantile(h, 1.0), 1000 * US);
	assert_int_equal(td_hist_quantile(h, 1.0), h->max_ns);
	/* p0: the smallest value's bucket */
	assert_int_equal(td_hist_bucket(td_hist_quantile(h, 0)), td_hist_bucket(1 * US));

	/* every percentile within the bucket error of the true one, and
	 * non-decreasing in q */
	for (int pct = 0; pct <= 100; pct++) {
		double q = pct / 100.0;
		uint64_t est = td_hist_quantile(h, q),
			 prev = pct ? td_hist_quantile(h, q - 0.01) : 0;

		assert_close(est, true_quantile(v, 1000, q), "uniform", q);
		assert_true(est >= prev);
		assert_true(est <= h->max_ns);
	}
	free(h);
}

/* Fast handshakes and a slow tail: the modes stay apart. */
static void test_quantile_bimodal(void **state)
{
	uint64_t v[1000], seed = 12345;
	struct td_hist *h;

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = i < 900 ? 90 * US + xorshift64(&seed) % (20 * US)
			       : 45 * MS + xorshift64(&seed) % (10 * MS);
	h = hist_of(v, 1000);
	qsort(v, 1000, sizeof(v[0]), cmp_u64);

	assert_true(td_hist_quantile(h, 0.5) >= 90 * US * 7 / 8);
	assert_true(td_hist_quantile(h, 0.5) < 110 * US * 9 / 8);
	assert_true(td_hist_quantile(h, 0.9) < 110 * US * 9 / 8); /* the 900th is the last fast */
	assert_true(td_hist_quantile(h, 0.91) >= 45 * MS * 7 / 8);
	assert_true(td_hist_quantile(h, 0.99) >= 45 * MS * 7 / 8);
	assert_true(td_hist_quantile(h, 0.99) < 55 * MS * 9 / 8);
	assert_int_equal(td_hist_quantile(h, 1), v[999]);
	assert_close(td_hist_quantile(h, 0.5), true_quantile(v, 1000, 0.5), "bimodal", 0.5);
	assert_close(td_hist_quantile(h, 0.9), true_quantile(v, 1000, 0.9), "bimodal", 0.9);
	assert_close(td_hist_quantile(h, 0.99), true_quantile(v, 1000, 0.99), "bimodal", 0.99);
	free(h);
}

/* Random log-spread data: close to the truth, never above the maximum. */
static void test_quantile_random(void **state)
{
	static uint64_t v[5000];
	uint64_t seed = 0xdeadbeefcafef00dull;

	(void)state;
	for (int round = 0; round < 50; round++) {
		size_t n = 1 + xorshift64(&seed) % 5000;
		struct td_hist *h;

		for (size_t i = 0; i < n; i++) {
			unsigned shift = xorshift64(&seed) % 40;

			v[i] = xorshift64(&seed) >> (24 + shift);
		}
		h = hist_of(v, n);
		qsort(v, n, sizeof(v[0]), cmp_u64);
		assert_int_equal(h->max_ns, v[n - 1]);
		for (int i = 0; i <= 200; i++) {
			double q = i / 200.0;
			uint64_t est = td_hist_quantile(h, q);

			assert_true(est <= h->max_ns);
			assert_close(est, true_quantile(v, n, q), "random", q);
		}
		assert_int_equal(td_hist_quantile(h, 1), v[n - 1]);
		free(h);
	}
}

/* The maximum caps the interpolation inside the top bucket. */
static void test_quantile_capped_by_max(void **state)
{
	struct td_hist *h = hist_new();
	uint32_t b = td_hist_bucket(100 * US);
	uint64_t lo = td_hist_bucket_low(b);

	(void)state;
	/* 10 values at the bottom of one bucket: spread evenly they would
	 * reach into the bucket; the known maximum is lo */
	for (int i = 0; i < 10; i++)
		td_hist_add(h, lo);
	assert_int_equal(h->max_ns, lo);
	for (int i = 0; i <= 100; i++)
		assert_int_equal(td_hist_quantile(h, i / 100.0), lo);

	/* q outside [0, 1] is clamped */
	td_hist_add(h, 3 * MS);
	assert_int_equal(td_hist_quantile(h, -1), td_hist_quantile(h, 0));
	assert_int_equal(td_hist_quantile(h, 2), 3 * MS);
	free(h);
}

/* A histogram read from the kernel may not know its maximum (0). */
static void test_quantile_max_unknown(void **state)
{
	struct td_hist *h = hist_new();
	uint64_t top;

	(void)state;
	for (uint64_t i = 1; i <= 100; i++)
		td_hist_add(h, i * MS);
	h->max_ns = 0;
	top = td_hist_quantile(h, 1);
	assert_int_equal(td_hist_bucket(top), td_hist_bucket(100 * MS));
	assert_close(td_hist_quantile(h, 0.5), 50 * MS, "max unknown", 0.5);
	/* the top bucket of all: no overflow past UINT64_MAX */
	memset(h, 0, sizeof(*h));
	h->b[TD_HIST_BUCKETS - 1] = 1000;
	h->count = 1000;
	for (int i = 0; i <= 100; i++) {
		uint64_t q = td_hist_quantile(h, i / 100.0);

		assert_true(q >= td_hist_bucket_low(TD_HIST_BUCKETS - 1));
	}
	free(h);
}

/* ---- td_hist_delta -------------------------------------------------------------------- */

static void test_delta(void **state)
{
	struct td_hist *before = hist_new(), *now = hist_new(), *extra = hist_new();
	struct td_hist *out = hist_new();
	uint64_t seed = 777;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		uint64_t v = xorshift64(&seed) >> (30 + i % 30);

		td_hist_add(now, v);
		if (i < 1000)
			td_hist_add(before, v);
		else
			td_hist_add(extra, v);
	}
	memset(out, 0xa5, sizeof(*out));
	td_hist_delta(out, now, before);
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		assert_int_equal(out->b[b], extra->b[b]);
	assert_int_equal(out->count, 2000);
	assert_int_equal(out->sum_ns, extra->sum_ns);
	assert_int_equal(out->max_ns, now->max_ns);

	/* nothing new: all zero */
	td_hist_delta(out, now, now);
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		assert_int_equal(out->b[b], 0);
	assert_int_equal(out->count, 0);
	assert_int_equal(out->sum_ns, 0);
	assert_int_equal(td_hist_quantile(out, 0.5), 0);

	/* counters that went backwards (a reset map) never underflow */
	td_hist_delta(out, before, now);
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		assert_int_equal(out->b[b], 0);
	assert_int_equal(out->count, 0);
	assert_int_equal(out->sum_ns, 0);

	/* bucket by bucket: some up, some down */
	memset(before, 0, sizeof(*before));
	memset(now, 0, sizeof(*now));
	before->b[3] = 10;
	now->b[3] = 4;
	before->b[100] = 1;
	now->b[100] = 6;
	now->b[TD_HIST_BUCKETS - 1] = UINT64_MAX;
	before->count = 11;
	now->count = 10;
	td_hist_delta(out, now, before);
	assert_int_equal(out->b[3], 0);
	assert_int_equal(out->b[100], 5);
	assert_int_equal(out->b[TD_HIST_BUCKETS - 1], UINT64_MAX);
	assert_int_equal(out->count, 0);
	free(before);
	free(now);
	free(extra);
	free(out);
}

/* ---- td_dur_str --------------------------------------------------------------------- */

static void test_dur_str(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
	    {0, "0ns"},
	    {1, "1ns"},
	    {812, "812ns"},
	    {999, "999ns"},
	    {1000, "1.00us"},
	    {1234, "1.23us"},
	    {12345, "12.3us"},
	    {123456, "123us"},
	    {150 * US, "150us"},
	    {1 * MS, "1.00ms"},
	    {4560 * US, "4.56ms"},
	    {4564 * US, "4.56ms"},
	    {100 * MS, "100ms"},
	    {1 * SEC, "1.00s"},
	    {1500 * MS, "1.50s"},
	    {60 * SEC, "60.0s"},
	    {62030190 * US, "62.0s"},
	    {999 * SEC, "999s"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = td_dur_str(cases[i].ns, buf, sizeof(buf));

		assert_ptr_equal(got, buf);
		assert_str(got, cases[i].want);
	}
	/* a short buffer is truncated, still terminated */
	memset(buf, 'x', sizeof(buf));
	td_dur_str(12345, buf, 4);
	assert_str(buf, "12.");
	assert_int_equal(buf[4], 'x');
	/* the largest value fits the buffers hist.c uses (24 bytes) */
	assert_true(strlen(td_dur_str(UINT64_MAX, buf, sizeof(buf))) < 24);
}

/*
 * "3 significant digits" (hist.h) also where rounding carries into the next
 * digit or unit: 9999 ns is 10.0us, not 10.00us; 999999 ns is 1.00ms, not
 * 1000us.
 */
static void test_dur_str_rounding_carry(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
	    {9999, "10.0us"},	 {99999, "100us"},     {999999, "1.00ms"},
	    {9999999, "10.0ms"}, {999999999, "1.00s"}, {9999999999ull, "10.0s"},
	};
	char buf[32];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = td_dur_str(cases[i].ns, buf, sizeof(buf));

		if (strcmp(got, cases[i].want)) {
			fprintf(stderr, "td_dur_str(%" PRIu64 ") = \"%s\", want \"%s\"\n",
				cases[i].ns, got, cases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- td_hist_print_log2 ------------------------------------------------------------------- */

struct log2_row {
	char lo[24], hi[24];
	uint64_t count;
	int stars, width;
};

/* Parse "  LO -> HI : COUNT |BAR|" rows after the header line. */
static int parse_log2(const char *s, struct log2_row *rows, int max)
{
	const char *line = strchr(s, '\n');
	int n = 0;

	assert_non_null(line); /* the header */
	assert_non_null(strstr(s, "range"));
	assert_non_null(strstr(s, "count"));
	assert_true(strstr(s, "distribution") < line);
	for (line++; *line; n++) {
		const char *end = strchr(line, '\n'), *bar;
		struct log2_row *r = &rows[n];

		assert_non_null(end);
		assert_true(n < max);
		assert_int_equal(sscanf(line, " %23s -> %23s : %" SCNu64, r->lo, r->hi, &r->count),
				 3);
		bar = strchr(line, '|');
		assert_non_null(bar);
		assert_true(bar < end);
		r->stars = 0;
		r->width = 0;
		for (bar++; *bar != '|'; bar++) {
			assert_true(bar < end);
			assert_true(*bar == '*' || *bar == ' ');
			r->stars += *bar == '*';
			r->width++;
		}
		assert_ptr_equal(bar + 1, end);
		line = end + 1;
	}
	return n;
}

static void test_print_log2(void **state)
{
	uint64_t v[51];
	struct td_hist *h;
	struct log2_row rows[64];
	uint64_t want[64] = {0}, top = 0;
	unsigned first = 64, last = 0;
	char *out, lo[24], hi[24];
	size_t len;
	int n;

	(void)state;
	/* 10 x 1 us, 40 x ~100 us, 1 x 3 ms */
	for (int i = 0; i < 10; i++)
		v[i] = 1000;
	for (int i = 0; i < 40; i++)
		v[10 + i] = 100 * US + i;
	v[50] = 3 * MS;
	h = hist_of(v, 51);
	/* expected rows from the values themselves: 0 and 1 share row 0 */
	for (int i = 0; i < 51; i++)
		want[ref_log2(v[i] | 1)]++;
	assert_int_equal(want[ref_log2(1000)], 10);
	assert_int_equal(want[ref_log2(100 * US)], 40);
	assert_int_equal(want[ref_log2(3 * MS)], 1);
	for (unsigned k = 0; k < 64; k++) {
		if (!want[k])
			continue;
		if (k < first)
			first = k;
		last = k;
		if (want[k] > top)
			top = want[k];
	}
	assert_int_equal(first, 9); /* 512..1023 ns */
	assert_int_equal(last, 21); /* 2..4 ms */

	out = print_log2(h, &len);
	n = parse_log2(out, rows, 64);
	assert_int_equal(n, last - first + 1);
	for (int i = 0; i < n; i++) {
		unsigned k = first + i;

		assert_int_equal(rows[i].count, want[k]);
		assert_int_equal(rows[i].width, 40);
		assert_int_equal(rows[i].stars, (int)(want[k] * 40 / top));
		assert_str(rows[i].lo, td_dur_str(1ull << k, lo, sizeof(lo)));
		assert_str(rows[i].hi, td_dur_str(1ull << (k + 1), hi, sizeof(hi)));
		if (want[k] == top)
			assert_int_equal(rows[i].stars, 40);
	}
	assert_int_equal(rows[ref_log2(1000) - first].stars, 10);
	assert_int_equal(rows[ref_log2(3 * MS) - first].stars, 1);
	assert_str(rows[0].lo, "512ns");
	assert_str(rows[0].hi, "1.02us");
	free(out);
	free(h);
}

static void test_print_log2_small_values(void **state)
{
	uint64_t v[] = {0, 1, 3};
	struct td_hist *h = hist_of(v, 3);
	struct log2_row rows[4];
	char *out;
	size_t len;

	(void)state;
	out = print_log2(h, &len);
	assert_int_equal(parse_log2(out, rows, 4), 2);
	assert_str(rows[0].lo, "0ns"); /* 0 and 1 share the first row */
	assert_str(rows[0].hi, "2ns");
	assert_int_equal(rows[0].count, 2);
	assert_int_equal(rows[0].stars, 40);
	assert_str(rows[1].lo, "2ns");
	assert_str(rows[1].hi, "4ns");
	assert_int_equal(rows[1].count, 1);
	assert_int_equal(rows[1].stars, 20);
	free(out);
	free(h);
}

static void test_print_log2_empty(void **state)
{
	struct td_hist *h = hist_new();
	char *out;
	size_t len;

	(void)state;
	out = print_log2(h, &len);
	assert_int_equal(len, 0);
	free(out);
	free(h);
}

/* ---- td_hist_json ---------------------------------------------------------------------------- */

/* Check td_hist_json against h; returns the p50 it printed. */
static uint64_t check_json(const struct td_hist *h)
{
	char *out, *p, *end;
	size_t len, triples = 0, nonempty = 0;
	uint64_t count, sum, p50, p90, p99, max, total = 0, prev_high = 0;

	out = print_json(h, &len);
	/* one object, no newline of its own: the caller ends the line */
	assert_null(memchr(out, '\n', len));
	out[len] = '\n';
	out[len + 1] = '\0';
	if (!json_object_line_ok(out, len + 1))
		fprintf(stderr, "not one JSON object: <<%s>>\n", out);
	assert_true(json_object_line_ok(out, len + 1));
	assert_int_equal(sscanf(out,
				"{\"count\":%" SCNu64 ",\"sum_ns\":%" SCNu64 ",\"p50_ns\":%" SCNu64
				",\"p90_ns\":%" SCNu64 ",\"p99_ns\":%" SCNu64 ",\"max_ns\":%" SCNu64
				",",
				&count, &sum, &p50, &p90, &p99, &max),
			 6);
	assert_int_equal(count, h->count);
	assert_int_equal(sum, h->sum_ns);
	assert_int_equal(p50, td_hist_quantile(h, 0.5));
	assert_int_equal(p90, td_hist_quantile(h, 0.9));
	assert_int_equal(p99, td_hist_quantile(h, 0.99));
	assert_int_equal(max, h->max_ns);

	p = strstr(out, "\"buckets\":[");
	assert_non_null(p);
	p += strlen("\"buckets\":[");
	while (*p == '[') {
		uint64_t lo, hi, n;
		uint32_t b;

		lo = strtoull(p + 1, &end, 10);
		assert_int_equal(*end, ',');
		hi = strtoull(end + 1, &end, 10);
		assert_int_equal(*end, ',');
		n = strtoull(end + 1, &end, 10);
		assert_int_equal(*end, ']');
		p = end + 1;
		if (*p == ',')
			p++;
		b = td_hist_bucket(lo);
		assert_int_equal(td_hist_bucket_low(b), lo);
		assert_int_equal(hi, bucket_high(b));
		assert_true(lo < hi);
		assert_true(n > 0);
		assert_int_equal(n, h->b[b]);
		assert_true(!triples || lo >= prev_high); /* ascending */
		prev_high = hi;
		total += n;
		triples++;
	}
	assert_str(p, "]}\n");
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		nonempty += h->b[b] != 0;
	assert_int_equal(triples, nonempty);
	assert_int_equal(total, h->count);
	free(out);
	return p50;
}

static void test_print_json(void **state)
{
	uint64_t v[1000], seed = 4242;
	struct td_hist *h;

	(void)state;
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)(i + 1) * US;
	h = hist_of(v, 1000);
	assert_close(check_json(h), 500 * US, "json p50", 0.5);
	free(h);

	/* spread over many buckets, including the extremes */
	h = hist_new();
	for (int i = 0; i < 5000; i++)
		td_hist_add(h, xorshift64(&seed) >> (i % 64));
	td_hist_add(h, 0);
	td_hist_add(h, UINT64_MAX);
	check_json(h);
	free(h);

	/* one value: p50 == max == the value */
	h = hist_new();
	td_hist_add(h, 12345);
	assert_int_equal(check_json(h), 12345);
	free(h);
}

static void test_print_json_empty(void **state)
{
	struct td_hist *h = hist_new();
	char *out;
	size_t len;

	(void)state;
	check_json(h);
	out = print_json(h, &len);
	assert_str(out, "{\"count\":0,\"sum_ns\":0,\"p50_ns\":0,\"p90_ns\":0,\"p99_ns\":0,"
			"\"max_ns\":0,\"buckets\":[]}");
	free(out);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log2),
	    cmocka_unit_test(test_bucket_exact_below_16),
	    cmocka_unit_test(test_bucket_bounds),
	    cmocka_unit_test(test_bucket_random_values),
	    cmocka_unit_test(test_hist_add),
	    cmocka_unit_test(test_quantile_empty),
	    cmocka_unit_test(test_quantile_single),
	    cmocka_unit_test(test_quantile_uniform),
	    cmocka_unit_test(test_quantile_bimodal),
	    cmocka_unit_test(test_quantile_random),
	    cmocka_unit_test(test_quantile_capped_by_max),
	    cmocka_unit_test(test_quantile_max_unknown),
	    cmocka_unit_test(test_delta),
	    cmocka_unit_test(test_dur_str),
	    cmocka_unit_test(test_dur_str_rounding_carry),
	    cmocka_unit_test(test_print_log2),
	    cmocka_unit_test(test_print_log2_small_values),
	    cmocka_unit_test(test_print_log2_empty),
	    cmocka_unit_test(test_print_json),
	    cmocka_unit_test(test_print_json_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
