// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Process attribution at accept(). A server's child socket is created and
 * established in softirq, where the task on the CPU is unrelated (bcc
 * #834, #3463); the first moment its real owner is on the CPU is the
 * return of accept(). The fd -> file -> socket -> sock walk gives the
 * child, whose cookie state.bpf.c already generated.
 *
 * These are classic syscall tracepoints; when they cannot attach the
 * loader says so and children keep their listener's owner. Enabling any
 * syscall tracepoint sends every syscall of every task through the tracing
 * slow path (~50 ns each, measured): --no-accept-tracepoint leaves them out.
 * (A task-context test in state.bpf.c would do without them, but the
 * per-CPU preempt count is not reachable from BPF without
 * CONFIG_KALLSYMS_ALL.)
 */
#include "common.bpf.h"

static __always_inline int td_accepted(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *file;
	struct socket *sock;
	struct sock *sk;
	struct td_sock *s;
	__u64 cookie;

	if (fd < 0)
		return 0;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (!fds || bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	s = bpf_map_lookup_elem(&td_socks, &cookie);
	if (s)
		td_owner_current(&s->own, TD_OWNER_ACCEPT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int td_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return td_accepted(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int td_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return td_accepted(ctx->ret);
}
