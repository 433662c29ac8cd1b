// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static void say(const char *fmt, va_list ap)
{
	/* one write per line where stderr is unbuffered: lines of concurrent
	 * tracers (tests run several) do not interleave mid-line */
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "tcpdwell: %s\n", line);
}

void td_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

int td_err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	return code;
}
