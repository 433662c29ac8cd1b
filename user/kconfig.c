// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "kconfig.h"

long td_kconfig_long(const char *name)
{
	return td_kconfig_long_src(name, NULL, 0);
}

/* name's value in one file (gzip or plain), -1 when absent. */
static long from_file(const char *path, const char *name)
{
	size_t len = strlen(name);
	char line[512];
	gzFile f = gzopen(path, "r"); /* reads plain files too */
	long v = -1;

	if (!f)
		return -1;
	while (gzgets(f, line, sizeof(line))) {
		char *end;

		if (strncmp(line, name, len) || line[len] != '=')
			continue;
		v = strtol(line + len + 1, &end, 10);
		if (end == line + len + 1 || v < 0)
			v = -1;
		break;
	}
	gzclose(f);
	return v;
}

long td_kconfig_long_src(const char *name, char *src, size_t srcsz)
{
	char path[300];
	struct utsname u;
	long v;

	/* the running kernel's own first; the installed file as a fallback */
	snprintf(path, sizeof(path), "/proc/config.gz");
	v = from_file(path, name);
	if (v < 0 && !uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		v = from_file(path, name);
	}
	if (v >= 0 && src)
		snprintf(src, srcsz, "%s", path);
	return v;
}
