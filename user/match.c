// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include <sys/socket.h>

#include "match.h"

/* The first `bits` bits of a and b agree. */
static bool prefix_eq(const __u8 *a, const __u8 *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	return !rest || !((a[whole] ^ b[whole]) & (__u8)(0xff << (8 - rest)));
}

bool td_cidr_match(const struct td_cidr_list *l, unsigned family, const __u8 *addr)
{
	__u8 key[16] = {0};

	/* the trie key: td_addr_in() in bpf/common.bpf.h */
	if (family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(&key[12], addr, 4);
	} else {
		memcpy(key, addr, 16);
	}
	/* an LPM lookup of a /128 finds an entry when any prefix holds it */
	for (int i = 0; i < l->n; i++)
		if (prefix_eq(key, l->c[i].addr, l->c[i].prefix))
			return true;
	return false;
}

static bool pid_in(const struct td_filter *f, __u32 pid)
{
	for (int i = 0; i < f->npids; i++)
		if (f->pids[i] == pid)
			return true;
	return false;
}

/* Byte by byte up to the first NUL or TD_COMM_LEN, as the kernel loop. */
static bool comm_eq(const char *want, const char *comm)
{
	for (int i = 0; i < TD_COMM_LEN; i++) {
		if (comm[i] != want[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* replay: the ids given (a recording has no hierarchy to look up) */
static bool cgroup_in(const struct td_filter *f, uint64_t id)
{
	for (int i = 0; i < f->ncgroups; i++)
		if (f->cgroup_ids[i] == id)
			return true;
	return false;
}

bool td_match(const struct td_filter *f, const struct td_event *e)
{
	if (f->family && f->family != e->family)
		return false;
	if (f->netns && f->netns != e->netns)
		return false;
	if (f->laddrs.n && !td_cidr_match(&f->laddrs, e->family, e->laddr))
		return false;
	if (f->raddrs.n && !td_cidr_match(&f->raddrs, e->family, e->raddr))
		return false;
	if (f->lports.n && !td_port_in(&f->lports, e->lport))
		return false;
	if (f->rports.n && !td_port_in(&f->rports, e->rport))
		return false;
	if (f->ncgroups && !cgroup_in(f, e->cgroup_id))
		return false;
	if (f->npids && !pid_in(f, e->pid))
		return false;
	if (f->comm[0] && !comm_eq(f->comm, e->comm))
		return false;
	return true;
}
