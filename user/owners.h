/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Owners the programs could not see being made: sockets opened before
 * tcpdwell started. Found in /proc at start, before the privileges are
 * dropped (procscan.h), and entered with source TD_OWNER_PROC: listeners
 * in the programs' listener map, so that their children inherit a real
 * owner (and the owner filters see it), connections by socket inode, for
 * their first sight. A listener the walk missed gets its owner in the
 * kernel, from the first accept() of a child (bpf/owner.bpf.c).
 */
#ifndef TCPDWELL_OWNERS_H
#define TCPDWELL_OWNERS_H

#include "cli.h"

struct td_cgnames;

/* Enter every TCP socket some process holds (in f's namespace, or all):
 * listeners in listeners_fd (td_listeners), never over an entry there,
 * others in old_fd (td_old_socks). With a cgroup filter, a holder at or
 * below a selected cgroup goes into cgsel_fd (td_cgsel) too, as the
 * programs do for owners they see. Returns how many were entered, or
 * -errno when /proc cannot be read. */
int td_owners_seed(int listeners_fd, int old_fd, int cgsel_fd, const struct td_filter *f,
		   struct td_cgnames *names);

#endif /* TCPDWELL_OWNERS_H */
