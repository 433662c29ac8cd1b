/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Counting by key without a hash table: rows of a fixed size, the key in
 * their first key_len bytes (zero any padding in it), uint32_t counters
 * after it. Append a row per thing counted, then merge; the census's top
 * tables and the retransmit counts both use it.
 */
#ifndef TCPDWELL_TALLY_H
#define TCPDWELL_TALLY_H

#include <stddef.h>

/* Fold equal keys into one row (counters added). Returns the number of
 * distinct keys, now the first rows (in no particular order). */
size_t td_tally_merge(void *rows, size_t n, size_t size, size_t key_len);

/* Order rows by the sum of their counters, largest first, ties by key. */
void td_tally_by_count(void *rows, size_t n, size_t size, size_t key_len);

/* The first min(top, n) rows of td_tally_by_count's order, moved to the
 * front in that order (the rest are left in no order, possibly repeated):
 * O(n) for a small top. Returns how many. */
size_t td_tally_top(void *rows, size_t n, size_t size, size_t key_len, size_t top);

#endif /* TCPDWELL_TALLY_H */
