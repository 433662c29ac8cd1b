/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell timeline`: one block per finished connection. */
#ifndef TCPDWELL_TIMELINE_H
#define TCPDWELL_TIMELINE_H

#include <stdio.h>

#include "cli.h"
#include "conn.h"

struct td_cgnames;

/* Print one connection's block (text or JSON line) to f; names (may be
 * NULL) says what its cgroup id names. */
void td_timeline_print(FILE *f, const struct td_opts *o, struct td_cgnames *names,
		       const struct td_conn *c);

int td_timeline_main(const struct td_opts *o);

#endif /* TCPDWELL_TIMELINE_H */
