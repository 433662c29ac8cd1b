/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell dwell`: per-state dwell histograms, aggregated in the kernel. */
#ifndef TCPDWELL_DWELL_H
#define TCPDWELL_DWELL_H

#include "cli.h"

int td_dwell_main(const struct td_opts *o);

#endif /* TCPDWELL_DWELL_H */
