/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The kernel-side filters: td_config's fields and the maps behind them,
 * set the same way for the tracing programs and the census iterator. */
#ifndef TCPDWELL_FILTER_H
#define TCPDWELL_FILTER_H

#include "cli.h"
#include "events.h"

/* The maps td_filter_pass reads (descriptors). */
struct td_filter_maps {
	int ports;  /* td_ports */
	int pids;   /* td_pids */
	int laddrs; /* td_laddrs */
	int raddrs; /* td_raddrs */
	int cgsel;  /* td_cgsel */
};

/* The filter fields of the config (before load); the rest is left alone. */
void td_filter_config(const struct td_filter *f, struct td_config *cfg);

/* Fill the maps (after load). Returns 0, -ENOENT when no cgroup derives
 * --container's id, or -errno of the failed update. */
int td_filter_fill(const struct td_filter *f, const struct td_filter_maps *m);

#endif /* TCPDWELL_FILTER_H */
