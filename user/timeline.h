/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell timeline`: one block per finished connection. */
#ifndef TCPDWELL_TIMELINE_H
#define TCPDWELL_TIMELINE_H

#include <stdio.h>

#include "cli.h"
#include "conn.h"

/* Print one connection's block (text or JSON line) to f. */
void td_timeline_print(FILE *f, const struct td_opts *o, const struct td_conn *c);

int td_timeline_main(const struct td_opts *o);

#endif /* TCPDWELL_TIMELINE_H */
