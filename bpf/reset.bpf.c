// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Resets: tcp:tcp_send_reset and tcp:tcp_receive_reset.
 *
 * tcp_send_reset may fire without a socket (a RST answering a segment for
 * which no socket exists, e.g. a refused connection); the tuple then comes
 * from the segment, reversed. Since 6.10 it carries the kernel's reset
 * reason as a third argument, probed through CO-RE like retrans.bpf.c.
 */
#include "common.bpf.h"

struct trace_event_raw_tcp_send_reset___reason {
	enum sk_rst_reason reason; /* CO-RE field types must match: an enum */
} __attribute__((preserve_access_index));

/* Tuple of the RST we send = the incoming segment's tuple, reversed. */
static __always_inline void td_fill_skb_tuple(struct td_event *e, const struct sk_buff *skb)
{
	struct td_tuple k = {};
	struct tcphdr th;

	if (!td_skb_tuple(&k, &th, skb))
		return;
	e->family = k.family;
	e->lport = k.lport;
	e->rport = k.rport;
	e->netns = k.netns;
	__builtin_memcpy(e->laddr, k.laddr, TD_ADDR_LEN);
	__builtin_memcpy(e->raddr, k.raddr, TD_ADDR_LEN);
}

SEC("tp_btf/tcp_send_reset")
int td_send_reset(__u64 *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	const struct sk_buff *skb = (const struct sk_buff *)ctx[1];
	struct td_event e = {};

	e.type = TD_EV_RESET_SENT;
	e.ts_ns = bpf_ktime_get_ns();
	if (bpf_core_field_exists(struct trace_event_raw_tcp_send_reset___reason, reason)) {
		e.arg = (int)ctx[2];
		e.flags |= TD_F_HAS_REASON;
	}
	if (sk) {
		struct td_tw *t = NULL;

		e.old_state = sk->__sk_common.skc_state;
		if (e.old_state == TD_TCP_TIME_WAIT) {
			const struct inet_timewait_sock *tw = (const void *)sk;
			__u64 key = td_tw_key(tw);

			td_fill_tuple_probe(&e, &sk->__sk_common, BPF_CORE_READ(tw, tw_sport));
			t = bpf_map_lookup_elem(&td_tws, &key);
		} else {
			td_fill_sock_tuple(&e, sk);
		}
		if (t) {
			/* TCP_TW_RST: the timewait socket is killed right after */
			t->rst_sent = 1;
			e.cookie = t->id;
			td_event_owner(&e, &t->own);
		} else {
			td_sock_lookup(sk, td_sk_key(sk), &e);
		}
	} else if (skb) {
		td_fill_skb_tuple(&e, skb);
	}
	e.new_state = e.old_state;
	td_emit(&e);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(td_receive_reset, struct sock *sk)
{
	struct td_event e = {};

	e.type = TD_EV_RESET_RECV;
	e.ts_ns = bpf_ktime_get_ns();
	e.old_state = sk->__sk_common.skc_state;
	e.new_state = e.old_state;
	td_fill_sock_tuple(&e, sk);
	td_sock_lookup(sk, td_sk_key(sk), &e);
	td_emit(&e);
	return 0;
}
