// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * --pid ... --follow: a process forked by one the filter selects is
 * selected too, from the fork on, so its connections (owned by its own
 * tgid) pass td_filter_pass like its parent's. Done here, in the kernel,
 * rather than by polling /proc: a child that connects and exits between
 * two polls would be missed.
 *
 * Entries are never removed at exit: a dead process's sockets (timewait,
 * an accepted child still closing) keep its pid as their owner and must
 * still match. The loader only loads this program with --follow.
 */
#include "common.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(td_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;
	long err;

	if (ptgid == ctgid || !bpf_map_lookup_elem(&td_pids, &ptgid))
		return 0; /* a new thread, or not a process we follow */
	err = bpf_map_update_elem(&td_pids, &ctgid, &one, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: pid reused by a followed child */)
		td_count(TD_CNT_PID_FULL); /* the child's connections will be missed */
	return 0;
}
