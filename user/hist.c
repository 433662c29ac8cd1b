// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "hist.h"
#include "json.h"

void td_hist_add(struct td_hist *h, uint64_t ns)
{
	h->b[td_hist_bucket(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static uint64_t bucket_high(uint32_t b)
{
	return b + 1 < TD_HIST_BUCKETS ? (uint64_t)td_hist_bucket_low(b + 1) : UINT64_MAX;
}

uint64_t td_hist_quantile(const struct td_hist *h, double q)
{
	uint64_t total = 0, cum = 0, rank;

	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		total += h->b[b];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * total);
	if (rank < 1)
		rank = 1;
	if (rank == total && h->max_ns)
		return h->max_ns; /* the largest value is known exactly */
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++) {
		uint64_t lo, hi, v;

		if (!h->b[b] || cum + h->b[b] < rank) {
			cum += h->b[b];
			continue;
		}
		lo = td_hist_bucket_low(b);
		hi = bucket_high(b);
		/* the rank-th value, spread evenly over the bucket */
		v = lo + (uint64_t)((double)(hi - lo) * (rank - cum) / (h->b[b] + 1));
		if (h->max_ns && v > h->max_ns)
			v = h->max_ns;
		return v;
	}
	return h->max_ns;
}

void td_hist_delta(struct td_hist *out, const struct td_hist *now, const struct td_hist *before)
{
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++)
		out->b[b] = now->b[b] >= before->b[b] ? now->b[b] - before->b[b] : 0;
	out->count = now->count >= before->count ? now->count - before->count : 0;
	out->sum_ns = now->sum_ns >= before->sum_ns ? now->sum_ns - before->sum_ns : 0;
	out->max_ns = now->max_ns;
}

const char *td_dur_str(uint64_t ns, char *buf, size_t sz)
{
	static const struct {
		double div;
		const char *unit;
	} units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}};
	double v = (double)ns;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double x = v / units[i].div;

		/* 999.7us would print as "1000us": that is 1.00ms */
		if (x < 0.9995)
			continue;
		if (x >= 999.5 && i > 0) {
			x /= 1000;
			i--;
		}
		snprintf(buf, sz,
			 x >= 99.95   ? "%.0f%s"
			 : x >= 9.995 ? "%.1f%s"
				      : "%.2f%s",
			 x, units[i].unit);
		return buf;
	}
	snprintf(buf, sz, "%" PRIu64 "ns", ns);
	return buf;
}

void td_hist_print_log2(FILE *f, const struct td_hist *h)
{
	uint64_t row[64] = {}, top = 0;
	int first = -1, last = -1;
	char lo[24], hi[24], bar[41];

	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++) {
		int k;

		if (!h->b[b])
			continue;
		k = td_log2_u64(td_hist_bucket_low(b) ? td_hist_bucket_low(b) : 1);
		row[k] += h->b[b];
	}
	for (int k = 0; k < 64; k++) {
		if (!row[k])
			continue;
		if (first < 0)
			first = k;
		last = k;
		if (row[k] > top)
			top = row[k];
	}
	if (first < 0)
		return;
	fprintf(f, "  %21s : %-9s %s\n", "range", "count", "distribution");
	for (int k = first; k <= last; k++) {
		int n = (int)(row[k] * 40 / top);

		memset(bar, '*', n);
		bar[n] = '\0';
		fprintf(f, "  %9s -> %-9s : %-9" PRIu64 " |%-40s|\n",
			td_dur_str(k ? 1ull << k : 0, lo, sizeof(lo)),
			td_dur_str(k < 63 ? 1ull << (k + 1) : UINT64_MAX, hi, sizeof(hi)), row[k],
			bar);
	}
}

void td_hist_json(struct td_json *j, const char *key, const struct td_hist *h)
{
	td_json_object(j, key);
	td_json_u64(j, "count", h->count);
	td_json_u64(j, "sum_ns", h->sum_ns);
	td_json_u64(j, "p50_ns", td_hist_quantile(h, 0.5));
	td_json_u64(j, "p90_ns", td_hist_quantile(h, 0.9));
	td_json_u64(j, "p99_ns", td_hist_quantile(h, 0.99));
	td_json_u64(j, "max_ns", h->max_ns);
	td_json_array(j, "buckets");
	for (uint32_t b = 0; b < TD_HIST_BUCKETS; b++) {
		if (!h->b[b])
			continue;
		td_json_array(j, NULL);
		td_json_u64(j, NULL, td_hist_bucket_low(b));
		td_json_u64(j, NULL, bucket_high(b));
		td_json_u64(j, NULL, h->b[b]);
		td_json_close(j);
	}
	td_json_close(j);
	td_json_close(j);
}
