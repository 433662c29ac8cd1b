// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Owners of listeners older than tcpdwell (owners.h). */
#include <stdbool.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cgname.h"
#include "events.h"
#include "owners.h"
#include "procscan.h"

struct seed {
	int listeners_fd, cgsel_fd, old_fd;
	const struct td_filter *filter;
	struct td_cgnames *names;
	int entered;
};

/* Is cgroup id at or below a --cgroup directory, or in --container's? As
 * td_cgroup_learn decides in the kernel for owners it sees made. */
static bool selected(struct seed *s, uint64_t id)
{
	const struct td_cgname *n = td_cgnames_get(s->names, id), *sel;
	char path[TD_CG_PATH_MAX];
	size_t len;

	if (!n)
		return false;
	if (s->filter->container[0] && td_container_matches(&n->c, s->filter->container))
		return true;
	/* a copy: the next lookup may walk, and a full table is emptied */
	memcpy(path, n->path, sizeof(path));
	for (int i = 0; i < s->filter->ncgroups; i++) {
		sel = td_cgnames_get(s->names, s->filter->cgroup_ids[i]);
		if (!sel)
			continue;
		len = strlen(sel->path);
		if (!strcmp(sel->path, "/") ||
		    (!strncmp(path, sel->path, len) && (!path[len] || path[len] == '/')))
			return true;
	}
	return false;
}

static void enter(void *ctx, const struct td_proc_sock *l)
{
	struct seed *s = ctx;
	struct td_listen_key k = {.netns = l->netns, .port = l->port};
	struct td_owner_info v = {.cgroup_id = l->cgroup_id, .pid = l->pid};
	__u8 one = 1;

	v.source = TD_OWNER_PROC;
	memcpy(v.comm, l->comm, sizeof(v.comm));
	/* a listener the programs saw made since the attach stands; a full
	 * map of old connections leaves the rest to be inferred */
	if (l->listen ? !bpf_map_update_elem(s->listeners_fd, &k, &v, BPF_NOEXIST)
		      : !bpf_map_update_elem(s->old_fd, &l->inode, &v, BPF_NOEXIST))
		s->entered++;
	if ((s->filter->ncgroups || s->filter->container[0]) && l->cgroup_id &&
	    selected(s, l->cgroup_id))
		bpf_map_update_elem(s->cgsel_fd, &l->cgroup_id, &one, BPF_NOEXIST);
}

int td_owners_seed(int listeners_fd, int old_fd, int cgsel_fd, const struct td_filter *f,
		   struct td_cgnames *names)
{
	struct seed s = {listeners_fd, cgsel_fd, old_fd, f, names, 0};
	int n = td_proc_sockets("/proc", f->netns, enter, &s);

	return n < 0 ? n : s.entered;
}
