/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The kernel-side filters (td_filter_pass in bpf/common.bpf.h) in
 * userspace, for a replay: the same fields, the same semantics. */
#ifndef TCPDWELL_MATCH_H
#define TCPDWELL_MATCH_H

#include <stdbool.h>

#include "cli.h"
#include "events.h"

/* Whether e passes -4/-6, --netns, --laddr/--raddr, --lport/--rport,
 * --cgroup, --pid (the listed pids: a replay has no --follow) and --comm. */
bool td_match(const struct td_filter *f, const struct td_event *e);

/* Whether addr (of an event of this family) is inside a CIDR of the list:
 * IPv4 compared as ::ffff:a.b.c.d, as the kernel's tries hold it. */
bool td_cidr_match(const struct td_cidr_list *l, unsigned family, const __u8 *addr);

#endif /* TCPDWELL_MATCH_H */
