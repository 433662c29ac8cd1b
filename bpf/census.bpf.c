// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The TIME_WAIT census snapshot: an iter/tcp program walks the TCP hash
 * tables of the reader's network namespace (docs/design.md §3.2) and writes one
 * TD_EV_SNAPSHOT record per socket it is asked for:
 *   - timewait sockets (both substates) with the time left on their timer;
 *   - with td_iter.in_use, the other connected sockets, whose local ports
 *     count against the ephemeral range (port pressure).
 * With td_iter.seed the timewait sockets are also entered into td_tws, so
 * that the timer programs report their end like any tracked one.
 *
 * A separate object (census.skel.h): `timewait --once` loads this program
 * alone, without the tracing programs' kallsyms lookups and map
 * preallocation; the live census gives it the tracer's td_tws,
 * td_counters and filter maps (bpf_map__reuse_fd).
 *
 * Every record passes td_filter_pass, the tracing programs' filters, with
 * the config and maps defined here. The owner of a socket is unknown to
 * the iterator (pid, comm and cgroup stay 0), so with an owner filter no
 * socket matches: the loader refuses those with --once, and the live
 * census counts only the sockets whose creation it saw.
 */
#include "common.bpf.h"

td_tw_map td_tws SEC(".maps");
td_counter_map td_counters SEC(".maps");
td_port_map td_ports SEC(".maps");
td_pid_map td_pids SEC(".maps");
td_cgsel_map td_cgsel SEC(".maps");
td_lpm_map td_laddrs SEC(".maps");
td_lpm_map td_raddrs SEC(".maps");

const volatile struct td_config td_cfg;

/* The iterator context (net/ipv4/tcp_ipv4.c); only the offsets matter. */
struct td_iter_tcp_ctx {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	uid_t uid __attribute__((aligned(8)));
};

struct td_iter_cfg td_iter;

/* Enter a timewait socket into td_tws under its key with e->cookie as its
 * id, or (own ids) take the id of the entry the live path made. */
static __always_inline void td_seed(struct td_event *e, __u64 key, __u64 now)
{
	struct td_tw t = {};
	struct td_tw *live;

	t.id = e->cookie;
	t.state = e->new_state;
	t.snapshot = 1;
	t.enter_ns = t.last_ns = now;
	/* an entry the live path made first is newer and better: keep it */
	if (bpf_map_update_elem(&td_tws, &key, &t, BPF_NOEXIST) == 0) {
		td_count(TD_CNT_TW_INSERTS);
	} else if ((live = bpf_map_lookup_elem(&td_tws, &key))) {
		e->cookie = live->id;
	} else {
		td_count(TD_CNT_TW_INSERT_FAIL);
	}
}

SEC("iter/tcp")
int td_census(struct td_iter_tcp_ctx *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_timewait_sock *tw = NULL;
	struct td_event e = {};
	__u64 key = 0;
	__u8 state;
	__s64 left;

	if (!skc)
		return 0;
	state = skc->skc_state;
	e.type = TD_EV_SNAPSHOT;
	if (state == TD_TCP_TIME_WAIT) {
		tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (!tw)
			return 0;
		e.new_state = tw->tw_sk.tw_substate == TD_TCP_FIN_WAIT2 ? TD_TCP_FIN_WAIT2_TW
									: TD_TCP_TIME_WAIT;
		/* jiffies left; userspace converts with the kernel's HZ and
		 * stamps the record with the time it read it (one clock read
		 * per buffer, not per socket) */
		left = (__s64)(tw->tw_sk.tw_timer.expires - bpf_jiffies64());
		e.arg = left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : left;
		e.flags = TD_F_TW;
	} else if (!td_iter.in_use || state == TD_TCP_LISTEN || state == TD_TCP_NEW_SYN_RECV ||
		   state == TD_TCP_CLOSE) {
		return 0;
	} else {
		e.new_state = state;
	}
	td_fill_skc_tuple(&e, skc);
	e.old_state = e.new_state;
	if (td_iter.family && td_iter.family != e.family)
		return 0;
	/* not seeded either: a filtered-out socket's end is none of our business */
	if (!td_filter_pass(&e))
		return 0;
	if (!TD_OWN_IDS) {
		/* generates the cookie of a socket nobody asked yet; the
		 * timewait timer programs then find it under the same key */
		e.cookie = bpf_get_socket_cookie(skc);
		key = e.cookie;
	} else if (tw) {
		/* own ids: an id for each timewait socket, the live entry's
		 * when seeding; connected sockets need none (port pressure) */
		key = td_tw_key(&tw->tw_sk);
		e.cookie = td_new_id();
	}
	if (td_iter.seed && (e.flags & TD_F_TW))
		td_seed(&e, key, bpf_ktime_get_ns());
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
