// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TIME_WAIT from tracepoints only. The kernel moves a closing connection
 * into a separate inet_timewait_sock that no inet_sock_set_state event
 * describes; its life is visible through its timer (design.md §3):
 *
 *   first timer_start on an unseen tw      -> entered (TIME_WAIT or FIN_WAIT2(tw))
 *   timer_cancel, then timer_start          -> re-armed (maybe FIN_WAIT2(tw) -> TIME_WAIT)
 *   timer_cancel, then timer_expire_entry   -> expired
 *   timer_cancel, then nothing              -> killed: reused, reset or other
 *
 * A cancel is parked in a per-CPU slot until the next timer event on that
 * CPU says which it was: a re-arm's start and an expiry's handler follow at
 * once on the same CPU. For a kill the next event classifies it: the new
 * connection's first timer on the same ports (reqsk timer for a recycling
 * SYN, retransmit timer for tw_reuse) = reused; the RST segment being freed
 * = reset; anything else after 1 ms = killed.
 *
 * timer_start/cancel/expire_entry fire for every kernel timer: the first
 * thing each program does is compare timer->function, and the pending-slot
 * lookup is gated by a global count that is almost always 0.
 */
#include "common.bpf.h"

#define TD_TW_KILL_WAIT_NS 1000000ull /* a kill's classifier comes within µs */

/* A timer function against an address from td_cfg (0: the symbol is not
 * known, and no timer is taken for it). Not __ksym externs: libbpf would
 * parse all of /proc/kallsyms with sscanf at every start. */
static __always_inline bool td_fn_is(void *fn, __u64 addr)
{
	return addr && (__u64)fn == addr;
}

static __always_inline struct inet_timewait_sock *td_tw_of(struct timer_list *timer)
{
	return (void *)timer - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
}

static __always_inline __u8 td_tw_substate(struct inet_timewait_sock *tw)
{
	return BPF_CORE_READ(tw, tw_substate) == TD_TCP_FIN_WAIT2 ? TD_TCP_FIN_WAIT2_TW
								  : TD_TCP_TIME_WAIT;
}

static __always_inline void td_tw_event(struct td_event *e, struct inet_timewait_sock *tw,
					__u64 cookie, __u64 now)
{
	e->type = TD_EV_STATE;
	e->ts_ns = now;
	e->cookie = cookie;
	e->flags = TD_F_TW;
	td_fill_tuple_probe(e, &tw->__tw_common, BPF_CORE_READ(tw, tw_sport));
}

static __always_inline struct td_tw_pending *td_pending_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&td_tw_pend, &zero);
}

static __always_inline void td_pending_clear(struct td_tw_pending *p)
{
	p->timer = 0;
	__sync_fetch_and_add(&td_tw_npending, -1);
}

/* The parked cancel was the end of its timewait socket: report why. */
static __always_inline void td_pending_end(struct td_tw_pending *p, __u16 reason)
{
	__u64 cookie = p->ev.cookie;

	p->ev.kind = reason;
	td_emit(&p->ev);
	if (!bpf_map_delete_elem(&td_tws, &cookie))
		td_count(TD_CNT_TW_DELETES);
	td_pending_clear(p);
}

static __always_inline bool td_ports_match(const struct td_tw_pending *p, __u32 netns, __u16 lport,
					   __u16 rport)
{
	if (netns != p->ev.netns)
		return false;
	return (lport == p->ev.lport && rport == p->ev.rport) ||
	       (lport == p->ev.rport && rport == p->ev.lport);
}

/* A timer that is not a timewait timer started while a kill is parked. */
static __always_inline void td_pending_other_timer(struct timer_list *timer, void *fn, __u64 now)
{
	struct td_tw_pending *p = td_pending_slot();
	const struct sock_common *skc;
	__u16 lport, rport;

	if (!p || !p->timer)
		return;
	if (td_fn_is(fn, td_cfg.fn_reqsk_timer)) {
		/* a SYN recycled the timewait socket: its request sock's timer */
		skc = (void *)timer - bpf_core_field_offset(struct request_sock, rsk_timer);
		lport = BPF_CORE_READ(skc, skc_num);
		rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
		if (td_ports_match(p, BPF_CORE_READ(skc, skc_net.net, ns.inum), lport, rport)) {
			td_pending_end(p, TD_TW_END_REUSED);
			return;
		}
	} else if (td_fn_is(fn, td_cfg.fn_write_timer)) {
		/* connect() took the 4-tuple (tw_reuse): its SYN retransmit timer */
		struct sock *sk = (void *)timer - bpf_core_field_offset(struct inet_connection_sock,
									icsk_retransmit_timer);

		lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
		rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (td_ports_match(p, BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum), lport,
				   rport)) {
			td_pending_end(p, TD_TW_END_REUSED);
			return;
		}
	}
	if (now - p->ev.ts_ns > TD_TW_KILL_WAIT_NS)
		td_pending_end(p, TD_TW_END_KILLED);
}

/* First timer_start of a timewait socket: the connection entered it. */
static __always_inline void td_tw_enter(struct inet_timewait_sock *tw, __u64 cookie, __u64 now)
{
	struct td_event e = {};
	struct td_tw t = {};
	struct td_sock *s;

	td_tw_event(&e, tw, cookie, now);
	t.enter_ns = now;
	t.last_ns = now;
	t.state = td_tw_substate(tw);
	e.new_state = t.state;
	/* The full socket still exists: its -> CLOSE comes right after. */
	s = bpf_map_lookup_elem(&td_socks, &cookie);
	if (s) {
		e.old_state = s->state;
		e.dwell_ns = now - s->last_ns;
		t.own = s->own;
		s->tw = 1;
	} else {
		/* closing socket older than the tracer: where it came from is unknown */
		e.old_state = t.state == TD_TCP_FIN_WAIT2_TW ? TD_TCP_FIN_WAIT2 : 0;
		e.flags |= TD_F_FIRST;
	}
	td_event_owner(&e, &t.own);
	if (bpf_map_update_elem(&td_tws, &cookie, &t, BPF_NOEXIST))
		td_count(TD_CNT_TW_INSERT_FAIL);
	else
		td_count(TD_CNT_TW_INSERTS);
	td_emit(&e);
}

/* A re-arm: the peer's FIN may have turned FIN_WAIT2(tw) into TIME_WAIT. */
static __always_inline void td_tw_rearm(struct inet_timewait_sock *tw, struct td_tw *t,
					__u64 cookie, __u64 now)
{
	struct td_event e = {};

	if (t->state != TD_TCP_FIN_WAIT2_TW || td_tw_substate(tw) != TD_TCP_TIME_WAIT) {
		td_count(TD_CNT_TW_REARM);
		return;
	}
	td_tw_event(&e, tw, cookie, now);
	e.old_state = TD_TCP_FIN_WAIT2_TW;
	e.new_state = TD_TCP_TIME_WAIT;
	e.dwell_ns = now - t->last_ns;
	td_event_owner(&e, &t->own);
	t->state = TD_TCP_TIME_WAIT;
	t->last_ns = now;
	td_emit(&e);
}

SEC("tp_btf/timer_start")
int BPF_PROG(td_timer_start, struct timer_list *timer)
{
	void *fn = timer->function;
	struct inet_timewait_sock *tw;
	struct td_tw_pending *p;
	struct td_tw *t;
	__u64 cookie, now;

	if (!td_fn_is(fn, td_cfg.fn_tw_timer)) {
		if (td_tw_npending)
			td_pending_other_timer(timer, fn, bpf_ktime_get_ns());
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (td_tw_npending) {
		p = td_pending_slot();
		if (p && p->timer == (__u64)timer)
			td_pending_clear(p); /* cancel + start: re-armed, not ended */
		else if (p && p->timer)
			td_pending_end(p, TD_TW_END_KILLED);
	}
	tw = td_tw_of(timer);
	cookie = BPF_CORE_READ(tw, __tw_common.skc_cookie.counter);
	t = bpf_map_lookup_elem(&td_tws, &cookie);
	if (t)
		td_tw_rearm(tw, t, cookie, now);
	else
		td_tw_enter(tw, cookie, now);
	return 0;
}

/* Park the cancel: the next timer event on this CPU says what it was. */
SEC("tp_btf/timer_cancel")
int BPF_PROG(td_timer_cancel, struct timer_list *timer)
{
	struct inet_timewait_sock *tw;
	struct td_tw_pending *p;
	struct td_tw *t;
	__u64 cookie, now;
	__u8 sub;

	if (!td_fn_is(timer->function, td_cfg.fn_tw_timer))
		return 0;
	p = td_pending_slot();
	if (!p)
		return 0;
	if (p->timer)
		td_pending_end(p, TD_TW_END_KILLED); /* nothing followed it on this CPU */
	now = bpf_ktime_get_ns();
	tw = td_tw_of(timer);
	cookie = BPF_CORE_READ(tw, __tw_common.skc_cookie.counter);
	sub = td_tw_substate(tw);

	__builtin_memset(&p->ev, 0, sizeof(p->ev));
	td_tw_event(&p->ev, tw, cookie, now);
	p->ev.new_state = TD_TCP_CLOSE;
	t = bpf_map_lookup_elem(&td_tws, &cookie);
	if (t) {
		td_event_owner(&p->ev, &t->own);
		p->ev.old_state = sub;
		if (t->snapshot)
			p->ev.flags |= TD_F_FIRST; /* in timewait before tcpdwell started */
		else
			p->ev.dwell_ns = now - t->last_ns;
		if (t->state == TD_TCP_FIN_WAIT2_TW && sub == TD_TCP_TIME_WAIT)
			p->ev.flags |= TD_F_LATE; /* the substate switch was silent */
	} else {
		p->ev.old_state = sub;
		p->ev.flags |= TD_F_FIRST;
		td_count(TD_CNT_TW_UNSEEN_END);
	}
	p->timer = (__u64)timer;
	__sync_fetch_and_add(&td_tw_npending, 1);
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(td_timer_expire, struct timer_list *timer)
{
	struct td_tw_pending *p;

	if (!td_fn_is(timer->function, td_cfg.fn_tw_timer))
		return 0;
	p = td_pending_slot();
	if (!p || !p->timer)
		return 0;
	if (p->timer == (__u64)timer)
		td_pending_end(p, TD_TW_END_EXPIRED);
	else
		td_pending_end(p, TD_TW_END_KILLED);
	return 0;
}

/*
 * A RST that assassinated a TIME_WAIT socket is freed right after the kill
 * (tcp_v4_rcv: TCP_TW_SUCCESS -> discard). Only looked at while a kill is
 * parked on this CPU.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(td_kfree_skb, struct sk_buff *skb)
{
	struct td_tw_pending *p;
	unsigned char *head;
	struct tcphdr th;

	if (!td_tw_npending)
		return 0;
	p = td_pending_slot();
	if (!p || !p->timer)
		return 0;
	head = BPF_CORE_READ(skb, head);
	if (bpf_probe_read_kernel(&th, sizeof(th), head + BPF_CORE_READ(skb, transport_header)))
		return 0;
	if (th.rst && bpf_ntohs(th.dest) == p->ev.lport && bpf_ntohs(th.source) == p->ev.rport)
		td_pending_end(p, TD_TW_END_RESET);
	return 0;
}
