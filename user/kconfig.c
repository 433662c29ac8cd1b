// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "kconfig.h"

long td_kconfig_long(const char *name)
{
	char path[300], line[512];
	size_t len = strlen(name);
	struct utsname u;
	gzFile f = NULL;
	long v = -1;

	if (!uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r"); /* reads plain files too */
	}
	if (!f)
		f = gzopen("/proc/config.gz", "r");
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
