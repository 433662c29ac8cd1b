/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Network namespaces by inode number: finding them (/run/netns, /proc/PID)
 * and stepping into one for a moment. Nothing here holds a namespace open
 * between calls, so a namespace deleted while tcpdwell runs really goes.
 */
#ifndef TCPDWELL_NETNS_H
#define TCPDWELL_NETNS_H

#include <stddef.h>
#include <stdint.h>

struct td_netns {
	uint32_t inum;
	char path[272]; /* opens it: /run/netns/NAME or /proc/PID/ns/net */
	char name[260]; /* NAME (up to NAME_MAX), "pid N", or "self" for tcpdwell's own */
};

/* The inode of tcpdwell's own network namespace, 0 on error. */
uint32_t td_netns_self(void);

/* Every namespace visible in /run/netns and /proc/<pid>/ns/net, one entry
 * per inode, sorted by inode. Returns 0 or -errno; free(*out). */
int td_netns_list(struct td_netns **out, size_t *n);

/* Find one by inode (and a path that opens it). Returns 0 or -ENOENT. */
int td_netns_find(uint32_t inum, struct td_netns *out);

/* Move this thread into the namespace at path. Returns an fd of the one it
 * was in, for td_netns_leave(), or -errno (-ESTALE: path now names another
 * namespace than inum). */
int td_netns_enter(const char *path, uint32_t inum);
void td_netns_leave(int oldfd);

/* The sysctls that shape TIME_WAIT and port use, per namespace. */
struct td_tcp_sysctls {
	unsigned range_lo, range_hi; /* ip_local_port_range; 0, 0: unknown */
	int tw_reuse;		     /* tcp_tw_reuse; -1: unknown */
	unsigned fin_timeout;	     /* tcp_fin_timeout, seconds; 0: unknown */
	long max_tw_buckets;	     /* tcp_max_tw_buckets; -1: unknown */
};

/* Read them as the namespace this thread is in has them. */
void td_netns_tcp_sysctls(struct td_tcp_sysctls *s);

#endif /* TCPDWELL_NETNS_H */
