// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The probe behind fastread.h: the smallest program that does what the
 * direct timer programs do, a tp_btf program on timer_start calling
 * bpf_rdonly_cast(ptr, <struct inet_timewait_sock>), loaded and dropped.
 * The kfunc came in 6.2; a kernel without it, or one that keeps it from
 * tracing programs, refuses the load.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "fastread.h"
#include "kbtf.h"

#define TP "btf_trace_timer_start"

bool td_fastread_works(char *why, size_t sz)
{
	const struct btf *btf = td_kbtf();
	int fn = btf ? btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) : -1;
	int ty = btf ? btf__find_by_name_kind(btf, "inet_timewait_sock", BTF_KIND_STRUCT) : -1;
	/* r1 = 0; r2 = <type>; r0 = bpf_rdonly_cast(r1, r2); r0 = 0; exit */
	struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = 0},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = ty},
	    {.code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_KFUNC_CALL, .imm = fn},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int fd;

	if (ty <= 0) {
		snprintf(why, sz, "no timewait socket in the kernel's BTF");
		return false;
	}
	if (fn <= 0) {
		snprintf(why, sz, "no bpf_rdonly_cast in this kernel");
		return false;
	}
	fd = td_kbtf_probe_load(TP, BTF_KIND_TYPEDEF, BPF_TRACE_RAW_TP, prog,
				sizeof(prog) / sizeof(prog[0]));
	if (fd < 0) {
		snprintf(why, sz, "tracing programs may not call bpf_rdonly_cast here (%s)",
			 fd == -ENOENT ? "no timer_start tracepoint" : strerror(-fd));
		return false;
	}
	close(fd);
	return true;
}
