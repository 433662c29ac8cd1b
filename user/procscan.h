/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Owners of the TCP sockets that were there before tcpdwell, the way
 * `ss -p` finds them: each process's socket descriptors (/proc/PID/fd,
 * "socket:[INODE]") against its network namespace's TCP tables
 * (/proc/PID/net/tcp and tcp6: local port, state, inode). A listener's
 * children then inherit a real owner instead of the task on the CPU, and
 * a connection first seen mid-life has its holder (docs/design.md).
 */
#ifndef TCPDWELL_PROCSCAN_H
#define TCPDWELL_PROCSCAN_H

#include <stdbool.h>
#include <stdint.h>

struct td_proc_sock {
	uint32_t netns; /* network namespace inode */
	uint16_t port;	/* local port */
	bool listen;	/* a listener (else a connection, any state) */
	uint64_t inode; /* its socket file's */
	uint32_t pid;	/* tgid: the lowest that holds it (a prefork server's master) */
	char comm[16];
	uint64_t cgroup_id; /* 0 when unknown (no cgroup v2) */
};

typedef void (*td_proc_sock_fn)(void *ctx, const struct td_proc_sock *s);

/* Every TCP socket some process holds, in netns (0: all), to fn, once
 * (the holder of lowest pid). Processes that vanish or refuse (no
 * CAP_SYS_PTRACE over them) are passed over. Returns the number found, or
 * -errno when /proc cannot be read. proc is the proc mount ("/proc"). */
int td_proc_sockets(const char *proc, uint32_t netns, td_proc_sock_fn fn, void *ctx);

#endif /* TCPDWELL_PROCSCAN_H */
