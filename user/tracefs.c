// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "tracefs.h"

#define TRACEFS "/sys/kernel/tracing"

static const char *const roots[] = {TRACEFS, "/sys/kernel/debug/tracing"};

bool td_tracefs_mounted(void)
{
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (!stat(path, &st))
			return true;
	}
	return false;
}

bool td_tracefs_ready(void)
{
	return td_tracefs_mounted() ||
	       (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 && td_tracefs_mounted());
}

FILE *td_tracefs_open(const char *rel)
{
	char path[256];
	FILE *f = NULL;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !f; i++) {
		snprintf(path, sizeof(path), "%s/%s", roots[i], rel);
		f = fopen(path, "re");
	}
	return f;
}
