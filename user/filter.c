// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cgname.h"
#include "err.h"
#include "filter.h"

void td_filter_config(const struct td_filter *f, struct td_config *cfg)
{
	cfg->family = f->family;
	cfg->netns = f->netns;
	cfg->port_filter = (f->lports.n ? TD_PORT_LOCAL : 0) | (f->rports.n ? TD_PORT_REMOTE : 0);
	cfg->addr_filter = (f->laddrs.n ? TD_ADDR_LOCAL : 0) | (f->raddrs.n ? TD_ADDR_REMOTE : 0);
	cfg->pid_filter = f->npids > 0;
	cfg->cgroup_filter = f->ncgroups > 0 || f->container[0];
	memcpy(cfg->comm, f->comm, sizeof(cfg->comm));
}

/* One bit per port and side: the programs test a port with one lookup. */
static int fill_ports(const struct td_filter *f, int fd)
{
	if (!f->lports.n && !f->rports.n)
		return 0;
	for (__u32 port = 1; port <= 65535; port++) {
		__u8 bits = (td_port_in(&f->lports, port) ? TD_PORT_LOCAL : 0) |
			    (td_port_in(&f->rports, port) ? TD_PORT_REMOTE : 0);

		if (bits && bpf_map_update_elem(fd, &port, &bits, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int fill_pids(const struct td_filter *f, int fd)
{
	__u8 one = 1;

	for (int i = 0; i < f->npids; i++)
		if (bpf_map_update_elem(fd, &f->pids[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

static int fill_cidrs(const struct td_cidr_list *l, int fd)
{
	__u8 one = 1;

	for (int i = 0; i < l->n; i++) {
		struct td_lpm_key k = {.prefixlen = l->c[i].prefix};

		memcpy(k.addr, l->c[i].addr, sizeof(k.addr));
		/* BPF_ANY: the same CIDR twice is one entry, not an error */
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* --cgroup's directories and --container's cgroups; those below them are
 * the programs' to add (td_cgroup_learn) */
#define CONTAINER_CGROUPS 4096 /* cgroups one --container may select */

static int fill_cgroups(const struct td_filter *f, int fd)
{
	uint64_t *ids;
	__u8 one = 1;
	int n, err = 0;

	for (int i = 0; i < f->ncgroups; i++)
		if (bpf_map_update_elem(fd, &f->cgroup_ids[i], &one, BPF_ANY))
			return -errno;
	if (!f->container[0])
		return 0;
	ids = calloc(CONTAINER_CGROUPS, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = td_container_cgroups(f->container, ids, CONTAINER_CGROUPS);
	if (n <= 0)
		err = -ENOENT;
	else if (n == CONTAINER_CGROUPS)
		td_msg("--container %s: more than %d cgroups derive it; the first %d taken",
		       f->container, CONTAINER_CGROUPS, CONTAINER_CGROUPS);
	for (int i = 0; !err && i < n; i++)
		if (bpf_map_update_elem(fd, &ids[i], &one, BPF_ANY))
			err = -errno;
	free(ids);
	return err;
}

int td_filter_fill(const struct td_filter *f, const struct td_filter_maps *m)
{
	int err = fill_cgroups(f, m->cgsel);

	if (!err)
		err = fill_ports(f, m->ports);
	if (!err)
		err = fill_pids(f, m->pids);
	if (!err)
		err = fill_cidrs(&f->laddrs, m->laddrs);
	if (!err)
		err = fill_cidrs(&f->raddrs, m->raddrs);
	return err;
}
