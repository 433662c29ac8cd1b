/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Dwell-time histograms read from the kernel (log-linear buckets, see
 * td_hist_bucket() in events.h): percentiles, interval deltas, and the
 * log2 view printed like bcc's histograms.
 */
#ifndef TCPDWELL_HIST_H
#define TCPDWELL_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

#include "events.h"

struct td_hist {
	uint64_t b[TD_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns; /* exact maximum (0: unknown) */
};

/* Add one value (what the kernel does; used by tests and replays). */
void td_hist_add(struct td_hist *h, uint64_t ns);

/* Value at quantile q in [0, 1]: linear within the bucket, never above
 * max_ns when that is known. 0 for an empty histogram. */
uint64_t td_hist_quantile(const struct td_hist *h, double q);

/* out = now - before, bucket by bucket (max_ns taken from `now`). */
void td_hist_delta(struct td_hist *out, const struct td_hist *now, const struct td_hist *before);

/* Human duration with 3 significant digits: "812ns", "12.3us", "4.56ms", "60.0s". */
const char *td_dur_str(uint64_t ns, char *buf, size_t sz);

/* The log2 view: one row per power of two between the first and the last
 * non-empty one, bar scaled to the largest row. */
void td_hist_print_log2(FILE *f, const struct td_hist *h);

struct td_json;
/* key:{"count":..,"sum_ns":..,"p50_ns":..,"p90_ns":..,"p99_ns":..,"max_ns":..,
 *  "buckets":[[low_ns,high_ns,count],...]} (non-empty buckets only). */
void td_hist_json(struct td_json *j, const char *key, const struct td_hist *h);

#endif /* TCPDWELL_HIST_H */
