// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Retransmits: tcp:tcp_retransmit_skb and tcp:tcp_retransmit_synack.
 *
 * Since 6.x tcp_retransmit_skb also fires for failed attempts and carries
 * their err as a third argument; 6.1 has (sk, skb) only. The tp_btf
 * context cannot be probed for its arity at run time, so the program asks
 * CO-RE whether this kernel's tracepoint struct has the field; the branch
 * that reads ctx[2] is dead code on older kernels and the verifier never
 * walks it.
 */
#include "common.bpf.h"

#define TD_ICSK_TIME_LOSS_PROBE 5 /* icsk_pending while the loss-probe timer runs */

/* 6.x: TRACE_EVENT(tcp_retransmit_skb) with err. 6.1 reuses tcp_event_sk_skb. */
struct trace_event_raw_tcp_retransmit_skb___err {
	int err;
} __attribute__((preserve_access_index));

static __always_inline void td_retrans_emit(const struct sock *sk, struct td_event *e)
{
	e->type = TD_EV_RETRANS;
	e->ts_ns = bpf_ktime_get_ns();
	e->old_state = sk->__sk_common.skc_state;
	e->new_state = e->old_state;
	td_fill_sock_tuple(e, sk);
	if (!td_scope_pass(e->family, e->netns))
		return;
	td_sock_lookup(sk, td_sk_key(sk), e);
	td_emit(e);
}

/* tcp_skb_pcount(): a retransmitted skb may carry several segments (GSO),
 * and the kernel's counters count segments, not calls. */
static __always_inline __u64 td_skb_segs(const struct sk_buff *skb)
{
	const struct tcp_skb_cb *cb = (const void *)skb + bpf_core_field_offset(struct sk_buff, cb);
	__u16 segs = BPF_CORE_READ(cb, tcp_gso_segs);

	return segs ? segs : 1;
}

SEC("tp_btf/tcp_retransmit_skb")
int td_retransmit_skb(__u64 *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	struct td_event e = {.segs = td_skb_segs((const struct sk_buff *)ctx[1])};

	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb___err, err)) {
		e.arg = (int)ctx[2];
		e.flags |= TD_F_HAS_ERR;
		if (e.arg)
			e.flags |= TD_F_FAILED;
	}
	if (sk->__sk_common.skc_state == TD_TCP_SYN_SENT) {
		e.kind = TD_RETRANS_SYN;
	} else {
		/*
		 * The retransmission timer enters the Loss state before it
		 * resends (tcp_retransmit_timer -> tcp_enter_loss), fast
		 * retransmit runs in Recovery; a tail loss probe is sent from
		 * the write timer while icsk_pending still says LOSS_PROBE, and
		 * only in Open or Disorder (tcp_schedule_loss_probe).
		 */
		const struct inet_connection_sock *icsk = (const void *)sk;

		e.kind = TD_RETRANS_DATA;
		e.ca_state = BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
		if (e.ca_state <= TD_CA_DISORDER &&
		    BPF_CORE_READ(icsk, icsk_pending) == TD_ICSK_TIME_LOSS_PROBE)
			e.kind = TD_RETRANS_TLP;
		if (e.ca_state >= TD_CA_MAX)
			e.ca_state = TD_CA_OPEN;
	}
	td_retrans_emit(sk, &e);
	return 0;
}

/*
 * SYN-ACK retransmits happen on the request socket, before the child
 * exists: the tuple is the request's, the owner the listener's.
 */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(td_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	const struct sock_common *skc = &req->__req_common;
	struct td_owner_info lo;
	struct td_event e = {};

	e.type = TD_EV_RETRANS;
	e.kind = TD_RETRANS_SYNACK;
	e.segs = 1;
	e.ts_ns = bpf_ktime_get_ns();
	e.old_state = TD_TCP_SYN_RECV;
	e.new_state = TD_TCP_SYN_RECV;
	/* request socks keep the local port in skc_num (host order) */
	td_fill_tuple_probe(&e, skc, bpf_htons(BPF_CORE_READ(skc, skc_num)));
	if (td_listener_owner(&lo, &e))
		td_event_owner(&e, &lo);
	td_emit(&e);
	return 0;
}
