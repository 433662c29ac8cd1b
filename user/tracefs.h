/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tracefs, where the classic tracepoints (the accept() fallback) attach
 * and where a tracepoint's format tells a kernel's shape cheaply.
 */
#ifndef TCPDWELL_TRACEFS_H
#define TCPDWELL_TRACEFS_H

#include <stdbool.h>
#include <stdio.h>

/* tracefs is mounted (at /sys/kernel/tracing or under debugfs). */
bool td_tracefs_mounted(void);

/* Mounted, or mounted now at /sys/kernel/tracing. */
bool td_tracefs_ready(void);

/* A file under tracefs ("events/skb/kfree_skb/format"), or NULL. */
FILE *td_tracefs_open(const char *rel);

#endif /* TCPDWELL_TRACEFS_H */
