/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kernel symbols from /proc/kallsyms: the addresses the timewait programs
 * compare timer functions against (set in td_cfg before load, so the file
 * is read once, by us, and only when those programs load). */
#ifndef TCPDWELL_KSYM_H
#define TCPDWELL_KSYM_H

#include <stdint.h>

/* The addresses of n (at most 32) symbols in one pass over the file: bit i
 * of *found says names[i] was there; addrs[i] is its address, 0 when
 * absent or when the kernel hides addresses from this process
 * (kptr_restrict without CAP_SYSLOG). Returns 0, or -errno when the file
 * cannot be read. */
int td_ksyms_resolve(const char *const *names, int n, uint64_t *addrs, unsigned *found);

/* One symbol: 0 with *addr set (0 when hidden), -ENOENT when not there. */
int td_ksym_lookup(const char *name, uint64_t *addr);

/* One line: the index of the name it defines (its address in addrs[i]),
 * or -1 (another name, or not a kallsyms line). Exposed for the tests. */
int td_ksym_match_line(const char *line, const char *const *names, int n, uint64_t *addrs);

#endif /* TCPDWELL_KSYM_H */
