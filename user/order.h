/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Time order for a drain's records (user/tracer.c): the batch is a few
 * runs, each nearly in time order already (the records kept from the last
 * drain, then each CPU's ring in turn; a ring is out of order only where a
 * record was deferred on purpose, or a program was interrupted between its
 * clock read and its reserve). Each run is insertion-sorted, then the runs
 * are merged pairwise: O(n) for such input, where a qsort of the whole
 * batch took O(n log n) comparisons through a callback.
 */
#ifndef TCPDWELL_ORDER_H
#define TCPDWELL_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

/*
 * Fill order[0..n) with the indices of batch[0..n) by (ts_ns, index): a
 * tie keeps arrival order. runs[0..nruns) are the first indices of the
 * runs, ascending, runs[0] == 0 (nruns 0: one run). tmp has room for n
 * indices.
 */
void td_order_runs(const struct td_event *batch, size_t n, const size_t *runs, size_t nruns,
		   uint32_t *order, uint32_t *tmp);

#endif /* TCPDWELL_ORDER_H */
