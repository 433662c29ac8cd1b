// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expo.h"

const char *td_expo_content_type(enum td_expo_fmt fmt)
{
	return fmt == TD_EXPO_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; "
					    "charset=utf-8"
					  : "text/plain; version=0.0.4; charset=utf-8";
}

/* The family name in metadata lines: OpenMetrics drops the sample suffix
 * of counters (_total) and info metrics (_info). */
static size_t meta_name_len(const struct td_expo *x, const char *type)
{
	size_t n = strlen(x->name);
	const char *suffix = !strcmp(type, "counter") ? "_total"
			     : !strcmp(type, "info")  ? "_info"
						      : NULL;

	if (x->fmt == TD_EXPO_OPENMETRICS && suffix && n > strlen(suffix) &&
	    !strcmp(x->name + n - strlen(suffix), suffix))
		n -= strlen(suffix);
	return n;
}

/* HELP text: backslash and newline escaped (both formats); OpenMetrics
 * escapes the double quote too. */
static void put_escaped(struct td_expo *x, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			td_buf_str(x->b, "\\\\");
		else if (*s == '\n')
			td_buf_str(x->b, "\\n");
		else if (*s == '"' && quote)
			td_buf_str(x->b, "\\\"");
		else
			td_buf_put(x->b, s, 1);
	}
}

void td_expo_family(struct td_expo *x, const char *name, const char *type, const char *help)
{
	bool om = x->fmt == TD_EXPO_OPENMETRICS;
	size_t n;

	x->name = name;
	n = meta_name_len(x, type);
	td_buf_str(x->b, "# HELP ");
	td_buf_put(x->b, name, n);
	td_buf_str(x->b, " ");
	put_escaped(x, help, om);
	td_buf_str(x->b, "\n# TYPE ");
	td_buf_put(x->b, name, n);
	td_buf_printf(x->b, " %s\n", !strcmp(type, "info") && !om ? "gauge" : type);
}

static void put_labels(struct td_expo *x, const char *suffix, const char *const *labels)
{
	td_buf_str(x->b, x->name);
	td_buf_str(x->b, suffix);
	if (!labels || !labels[0])
		return;
	td_buf_str(x->b, "{");
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		td_buf_printf(x->b, "%s%s=\"", i ? "," : "", labels[i]);
		put_escaped(x, labels[i + 1], true);
		td_buf_str(x->b, "\"");
	}
	td_buf_str(x->b, "}");
}

/* The shortest of %.15g and %.17g that reads back as v: "0.0228", not
 * "0.022830630000000001". */
static const char *shortest(double v, char *buf, size_t sz)
{
	snprintf(buf, sz, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sz, "%.17g", v);
	return buf;
}

void td_expo_u64(struct td_expo *x, const char *suffix, const char *const *labels, uint64_t v)
{
	put_labels(x, suffix, labels);
	td_buf_printf(x->b, " %" PRIu64 "\n", v);
}

void td_expo_f64(struct td_expo *x, const char *suffix, const char *const *labels, double v)
{
	char num[32];

	put_labels(x, suffix, labels);
	if (isinf(v))
		td_buf_str(x->b, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (isnan(v))
		td_buf_str(x->b, " NaN\n");
	else
		td_buf_printf(x->b, " %s\n", shortest(v, num, sizeof(num)));
}

void td_expo_end(struct td_expo *x)
{
	if (x->fmt == TD_EXPO_OPENMETRICS)
		td_buf_str(x->b, "# EOF\n");
}
