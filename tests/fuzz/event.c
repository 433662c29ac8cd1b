// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A ring-buffer record as the reader gets it, malformed or not: the first
 * byte picks the output options (text/JSON, -w, -T), the rest is the record.
 * td_event_decode must refuse what it cannot vouch for; whatever it accepts
 * must format into one line that is valid JSON (for -o json) or free of
 * control bytes (text), whatever the comm and the numbers hold.
 */
#include <string.h>

#include "event.h"
#include "format.h"
#include "fuzz.h"
#include "trace.h"
#include "../unit/jsoncheck.h"

#define LINE_SZ 1024 /* what trace.c's reader uses */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *line, size_t len)
{
	FUZZ_CHECK(len > 0 && line[len - 1] == '\n');
	for (size_t i = 0; i + 1 < len; i++)
		FUZZ_CHECK((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_opts opts;
	struct td_trace tr;
	struct td_event e;
	char *line, esc[6 * 64 + 1], obj[6 * 64 + 16];
	size_t len, n;

	fuzz_quiet();
	if (size < 1)
		return 0;
	/* the escapers on the raw bytes, whatever decode says */
	n = td_escape_json((const char *)data + 1, size - 1 < 64 ? size - 1 : 64, esc, sizeof(esc));
	FUZZ_CHECK(n < sizeof(esc) && esc[n] == '\0');
	len = (size_t)snprintf(obj, sizeof(obj), "{\"s\":\"%s\"}\n", esc);
	FUZZ_CHECK(json_object_line_ok(obj, len));
	n = td_escape_text((const char *)data + 1, size - 1 < 64 ? size - 1 : 64, esc, sizeof(esc));
	FUZZ_CHECK(n < sizeof(esc) && esc[n] == '\0' && strlen(esc) == n);

	if (td_event_decode(data + 1, size - 1, &e))
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.format = data[0] & 1 ? TD_FMT_JSON : TD_FMT_TEXT;
	opts.wide = data[0] & 2;
	opts.wall_time = data[0] & 4;
	memset(&tr, 0, sizeof(tr));
	tr.opts = &opts;
	tr.start_ns = e.ts_ns ^ ((uint64_t)data[0] << 40); /* before and after the event */
	tr.wall_off_ns = data[0] & 8 ? 1700000000ll * 1000000000ll : 0;
	line = malloc(LINE_SZ);
	if (!line)
		abort();
	len = td_trace_format(&tr, &e, line, LINE_SZ);
	FUZZ_CHECK(len < LINE_SZ && line[len] == '\0' && strlen(line) == len);
	if (opts.format == TD_FMT_JSON)
		FUZZ_CHECK(json_object_line_ok(line, len));
	else
		check_text(line, len);
	free(line);
	return 0;
}
