/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef TCPDWELL_VERSION_H
#define TCPDWELL_VERSION_H
#include <stdio.h>

/* The version: written here only (the Makefile and scripts/mkman.py read it). */
#define TD_VERSION "0.1.0"

/* The git revision the binary was built from ("unknown" outside a checkout;
 * "-dirty" when the tree had changes). */
const char *td_git_revision(void);

/* "tcpdwell VERSION (git REV, libbpf vX.Y)" and a newline. */
void td_version_print(FILE *f);
#endif
