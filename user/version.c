// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What this binary is: the version (user/version.h, the one place it is
 * written, which the Makefile and the manual page read too), the git
 * revision it was built from (build/rev.h, written by the Makefile only
 * when it changes) and the libbpf it was linked with.
 */
#include <bpf/libbpf.h>

#include "rev.h"
#include "version.h"

const char *td_git_revision(void)
{
	return TD_GIT_REV;
}

void td_version_print(FILE *f)
{
	fprintf(f, "tcpdwell %s (git %s, libbpf %s)\n", TD_VERSION, TD_GIT_REV,
		libbpf_version_string());
}
