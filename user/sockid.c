// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Picks the socket identity (sockid.h). The probe loads the smallest
 * program that asks for a cookie where tcpdwell asks for it, a tp_btf
 * program on inet_sock_set_state, and drops it: tracing programs may call
 * bpf_get_socket_cookie only since 5.12, and a kernel says so only by
 * refusing the load (5.10: "unknown func bpf_get_socket_cookie#46").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kbtf.h"
#include "sockid.h"

static const char *const names[] = {
    [TD_SOCKID_AUTO] = "auto",
    [TD_SOCKID_COOKIE] = "cookie",
    [TD_SOCKID_OWN] = "own",
};

int td_sockid_parse(const char *s, enum td_sockid *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum td_sockid)i;
			return 0;
		}
	return -1;
}

#define TP "btf_trace_inet_sock_set_state"

/* r1 = ctx[0] (the socket); bpf_get_socket_cookie(r1); return 0. */
static bool cookie_works(char *why, size_t sz)
{
	struct bpf_insn prog[] = {
	    {.code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 1, .src_reg = 1},
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_socket_cookie},
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	int fd = td_kbtf_probe_load(TP, BTF_KIND_TYPEDEF, BPF_TRACE_RAW_TP, prog,
				    sizeof(prog) / sizeof(prog[0]));

	if (fd == -ENOENT) {
		snprintf(why, sz, TP " not in the kernel's BTF");
		return false;
	}
	if (fd < 0) {
		snprintf(why, sz, "tracing programs may not read socket cookies here (%s)",
			 strerror(-fd));
		return false;
	}
	close(fd);
	return true;
}

int td_sockid_choose(enum td_sockid want, enum td_sockid *out, char *why, size_t sz)
{
	*why = '\0';
	if (want == TD_SOCKID_OWN) {
		*out = TD_SOCKID_OWN;
		return 0;
	}
	if (cookie_works(why, sz)) {
		*out = TD_SOCKID_COOKIE;
		return 0;
	}
	*out = TD_SOCKID_OWN;
	return want == TD_SOCKID_COOKIE ? -1 : 0;
}
