/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The Prometheus exposition formats, written into a buffer: the text
 * format 0.0.4 and OpenMetrics 1.0 (which a Prometheus server asks for).
 * They differ in the metadata of counters (OpenMetrics names the family
 * without _total) and info metrics, and in the # EOF terminator. No I/O.
 */
#ifndef TCPDWELL_EXPO_H
#define TCPDWELL_EXPO_H

#include <stdint.h>

#include "buf.h"

enum td_expo_fmt {
	TD_EXPO_TEXT,
	TD_EXPO_OPENMETRICS,
};

struct td_expo {
	struct td_buf *b;
	enum td_expo_fmt fmt;
	const char *name; /* the family's sample name (a string literal) */
};

const char *td_expo_content_type(enum td_expo_fmt fmt);

/*
 * Start a family: HELP and TYPE. type is "counter" (name ends in _total),
 * "gauge", "histogram" or "info" (name ends in _info; a gauge of value 1
 * in the text format). name and help must outlive the family.
 */
void td_expo_family(struct td_expo *x, const char *name, const char *type, const char *help);

/* One sample of the current family: name + suffix ("", "_bucket", "_sum",
 * "_count"), labels as name/value pairs ending with NULL (values escaped
 * here), then the value. */
void td_expo_u64(struct td_expo *x, const char *suffix, const char *const *labels, uint64_t v);
void td_expo_f64(struct td_expo *x, const char *suffix, const char *const *labels, double v);

/* The end of the exposition (OpenMetrics: "# EOF"). */
void td_expo_end(struct td_expo *x);

#endif /* TCPDWELL_EXPO_H */
