// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ksym.h"

int td_ksym_lookup(const char *name, uint64_t *addr)
{
	char line[512], sym[256];
	FILE *f = fopen("/proc/kallsyms", "re");
	uint64_t a;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 " %*s %255s", &a, sym) == 2 && !strcmp(sym, name)) {
			*addr = a;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}
