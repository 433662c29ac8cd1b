/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Counts by container: a set of cgroup ids (with how many of something
 * each holds) grouped by the container their path derives, or by the
 * top-level unit when none does (/system.slice, /user.slice ...), the
 * largest first, bounded (the rest as "other") so that a host with
 * thousands of containers prints a table, not a list (docs/containers.md).
 */
#ifndef TCPDWELL_CGTALLY_H
#define TCPDWELL_CGTALLY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cgname.h"

struct td_cg_group {
	enum td_container_kind kind; /* TD_CT_NONE: a top-level unit */
	char key[TD_CG_ID_MAX];	     /* the container id, or the unit ("system.slice", "/") */
	uint64_t count;
};

struct td_cg_tally {
	/* per cgroup id, as counted */
	struct {
		uint64_t id, count;
	} * ids;
	size_t nids, cap;
	/* td_cg_tally_group(): the largest groups, and the rest */
	struct td_cg_group *groups;
	size_t ngroups, groups_total;
	uint64_t other;	  /* in the groups after the first `top` */
	uint64_t unknown; /* owner unknown (id 0), or a cgroup that could not be named */
};

/* The group of a named cgroup: its container, else its path's first
 * component (the root is "/"). */
void td_cg_group_of(const struct td_cgname *nm, struct td_cg_group *g);

/* Add n to cgroup id's count. 0 or -ENOMEM. */
int td_cg_tally_add(struct td_cg_tally *t, uint64_t id, uint64_t n);

/* Group what was counted (names from n), keep the `top` largest. 0 or -ENOMEM. */
int td_cg_tally_group(struct td_cg_tally *t, struct td_cgnames *n, unsigned top);

/* Start counting again (the memory is kept). */
void td_cg_tally_reset(struct td_cg_tally *t);
void td_cg_tally_free(struct td_cg_tally *t);

struct td_json;
/* "by_container" (groups: container or null, kind, unit or null, count),
 * "containers_total", "containers_other", "containers_unknown". */
void td_cg_tally_json(struct td_json *j, const struct td_cg_tally *t);
/* One text line: "  by container (K): ab12cd34ef56 docker 40, system.slice 3, other 2, unknown 5"
 */
void td_cg_tally_text(FILE *f, const struct td_cg_tally *t);

#endif /* TCPDWELL_CGTALLY_H */
