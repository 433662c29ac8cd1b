/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * How the timewait programs read a timewait socket they reach from its
 * timer: direct loads through bpf_rdonly_cast where the kernel lets a
 * tracing program call it, else a probe read per field (td_tw_direct in
 * bpf/common.bpf.h). Decided by a load-time probe, never by version.
 */
#ifndef TCPDWELL_FASTREAD_H
#define TCPDWELL_FASTREAD_H

#include <stdbool.h>
#include <stddef.h>

/* Whether tracing programs may call bpf_rdonly_cast here; why not, if not. */
bool td_fastread_works(char *why, size_t sz);

#endif /* TCPDWELL_FASTREAD_H */
