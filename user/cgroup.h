/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A cgroup v2 of tcpdwell's own for `run`: created, joined by the command,
 * emptied and removed. Its id (the directory's inode) is what the kernel's
 * bpf_get_current_cgroup_id() reports for the command's tasks.
 */
#ifndef TCPDWELL_CGROUP_H
#define TCPDWELL_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct td_cgroup {
	char path[512];
	uint64_t id;
};

/* Create <cgroup2 mount>/tcpdwell-run.<pid>. Returns 0, or -1 with why
 * (no cgroup v2 mounted, mkdir refused...) in why[sz]. */
int td_cgroup_create(struct td_cgroup *cg, char *why, size_t sz);

/* Move pid into the cgroup. Returns 0 or -errno. */
int td_cgroup_enter(const struct td_cgroup *cg, pid_t pid);

/* Move what is left in the cgroup, and in the cgroups the command made
 * below it, to its parent and remove them all. Returns the number of
 * processes moved out, or -errno. */
int td_cgroup_remove(const struct td_cgroup *cg);

#endif /* TCPDWELL_CGROUP_H */
