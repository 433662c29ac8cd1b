/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kernel symbols from /proc/kallsyms, the way libbpf resolves __ksym. */
#ifndef TCPDWELL_KSYM_H
#define TCPDWELL_KSYM_H

#include <stdint.h>

/* The address of a kernel symbol. Returns 0 with *addr set (0 when the
 * kernel hides addresses from this process: kptr_restrict without
 * CAP_SYSLOG), or -ENOENT when the symbol is not there at all. */
int td_ksym_lookup(const char *name, uint64_t *addr);

#endif /* TCPDWELL_KSYM_H */
