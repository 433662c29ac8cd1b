// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TIME_WAIT from tracepoints only. The kernel moves a closing connection
 * into a separate inet_timewait_sock that no inet_sock_set_state event
 * describes; its life is visible through its timer (docs/design.md §3.2):
 *
 *   first timer_start on an unseen tw      -> entered (TIME_WAIT or FIN_WAIT2(tw))
 *   timer_cancel, then timer_start          -> re-armed (maybe FIN_WAIT2(tw) -> TIME_WAIT)
 *   timer_cancel, then timer_expire_entry   -> expired
 *   timer_cancel, then nothing              -> killed: reused, reset or other
 *
 * Every cancel waits in td_tw_ends under the socket's 4-tuple until what
 * follows names it, however late that comes and whatever else runs on the
 * CPU in between: its own timer's start (a re-arm, not an end) or expiry
 * (expired) on the same CPU; a new connection on the same 4-tuple in the
 * same namespace (reused: the reqsk timer of a recycling SYN, the SYN
 * timer of a tw_reuse connect(), or that connection's first transitions in
 * state.bpf.c); the RST segment freed after it killed the socket (reset).
 * Causes known at the cancel end it at once: a RST the timewait socket
 * answered with just before (TCP_TW_RST), a namespace being torn down. The
 * reader ends a cancel nothing named within TD_TW_CLAIM_NS as killed.
 *
 * The silent substate switch: an orphaned FIN_WAIT2(tw) socket turns into
 * TIME_WAIT when the peer's FIN arrives, and the timer re-arm that goes
 * with it fires no tracepoint when the new expiry falls in the same wheel
 * bucket (the default fin_timeout of 60 s). The FIN segment is then freed
 * on the timewait path (kfree_skb): there tcpdwell reads the substate and
 * reports the switch at the FIN's time.
 *
 * timer_start/cancel/expire_entry fire for every kernel timer and
 * kfree_skb for every dropped packet: each program first compares the
 * timer's function (or the segment's socket), and looks at its maps only
 * while a cancel or a FIN_WAIT2(tw) waits (td_tw_nends, td_tw_nfins).
 */
#include "common.bpf.h"

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

/*
 * `direct` below: which flavour of reads a program was built with (see
 * td_tw_direct in common.bpf.h), a constant in each.
 */

/* A timewait socket outside -4/-6 and --netns: never tracked (see
 * td_scope_pass), whatever its timer does. */
static __always_inline bool td_tw_out_of_scope(struct inet_timewait_sock *tw, const bool direct)
{
	struct inet_timewait_sock *d = direct ? td_tw_direct(tw) : NULL;

	if (!TD_SCOPED)
		return false;
	if (direct)
		return !td_scope_pass(d->__tw_common.skc_family,
				      d->__tw_common.skc_net.net->ns.inum);
	return !td_scope_pass(BPF_CORE_READ(tw, __tw_common.skc_family),
			      BPF_CORE_READ(tw, __tw_common.skc_net.net, ns.inum));
}

static __always_inline __u8 td_tw_substate(struct inet_timewait_sock *tw, const bool direct)
{
	__u8 sub = direct ? td_tw_direct(tw)->tw_substate : BPF_CORE_READ(tw, tw_substate);

	return sub == TD_TCP_FIN_WAIT2 ? TD_TCP_FIN_WAIT2_TW : TD_TCP_TIME_WAIT;
}

static __always_inline void td_tw_event(struct td_event *e, struct inet_timewait_sock *tw, __u64 id,
					__u64 now, const bool direct)
{
	struct inet_timewait_sock *d = direct ? td_tw_direct(tw) : NULL;

	e->type = TD_EV_STATE;
	e->ts_ns = now;
	e->cookie = id;
	e->flags = TD_F_TW;
	if (direct) {
		td_fill_skc_tuple(e, &d->__tw_common);
		e->lport = bpf_ntohs(d->tw_sport); /* skc_num is the bound port's */
	} else {
		td_fill_tuple_probe(e, &tw->__tw_common, BPF_CORE_READ(tw, tw_sport));
	}
}

/*
 * The namespace's reference count, three ways: struct net's own count
 * (5.10), ns_common's count (from 5.17), ns_common's __ns_ref (6.18). It
 * is 0 once the namespace is being torn down, when inet_twsk_purge()
 * kills its timewait sockets (the kernel's own check_net()).
 */
struct net___count {
	refcount_t count;
} __attribute__((preserve_access_index));
struct ns_common___count {
	refcount_t count;
} __attribute__((preserve_access_index));
struct ns_common___ns_ref {
	refcount_t __ns_ref;
} __attribute__((preserve_access_index));

static __always_inline bool td_net_dying(struct inet_timewait_sock *tw, const bool direct)
{
	struct net *net = direct ? td_tw_direct(tw)->__tw_common.skc_net.net
				 : BPF_CORE_READ(tw, __tw_common.skc_net.net);
	struct ns_common___ns_ref *nr = (void *)&net->ns;
	struct ns_common___count *nc = (void *)&net->ns;
	struct net___count *c = (void *)net;
	int refs;

	if (bpf_core_field_exists(nr->__ns_ref))
		refs = BPF_CORE_READ(nr, __ns_ref.refs.counter);
	else if (bpf_core_field_exists(nc->count))
		refs = BPF_CORE_READ(nc, count.refs.counter);
	else if (bpf_core_field_exists(c->count))
		refs = BPF_CORE_READ(c, count.refs.counter);
	else
		return false;
	return refs == 0;
}

/* The substate changed from FIN_WAIT2(tw) to TIME_WAIT (the peer's FIN). */
static __always_inline void td_tw_switch(struct inet_timewait_sock *tw, struct td_tw *t, __u64 now,
					 const bool direct)
{
	struct td_event e = {};
	struct td_tuple k = {};

	td_tw_event(&e, tw, t->id, now, direct);
	e.old_state = TD_TCP_FIN_WAIT2_TW;
	e.new_state = TD_TCP_TIME_WAIT;
	e.dwell_ns = now - t->last_ns;
	td_event_owner(&e, &t->own);
	t->state = TD_TCP_TIME_WAIT;
	t->last_ns = now;
	td_emit(&e);
	if (!TD_KFREE_HAS_RX_SK && td_tw_nfins) {
		td_tuple_of(&k, &e);
		if (!bpf_map_delete_elem(&td_tw_fins, &k))
			__sync_fetch_and_add(&td_tw_nfins, -1);
	}
}

/* Where kfree_skb cannot name the socket, a FIN_WAIT2(tw) socket is found
 * by its 4-tuple when the peer's FIN is freed (td_kfree_skb). */
static __always_inline void td_tw_wait_fin(struct inet_timewait_sock *tw, const struct td_event *e,
					   __u64 key)
{
	struct td_tw_fin_wait f = {.tw = (__u64)tw, .key = key};
	struct td_tuple k = {};

	if (TD_KFREE_HAS_RX_SK)
		return;
	td_tuple_of(&k, e);
	if (!bpf_map_update_elem(&td_tw_fins, &k, &f, BPF_NOEXIST))
		__sync_fetch_and_add(&td_tw_nfins, 1);
	else if (bpf_map_update_elem(&td_tw_fins, &k, &f, BPF_EXIST))
		td_count(TD_CNT_TW_INSERT_FAIL); /* its switch shows only at its end */
}

/* The entry of the full socket a timewait socket replaces (it still
 * exists: its -> CLOSE comes right after), found by the cookie it inherited
 * or (own ids) by its 4-tuple in td_closing. */
static __always_inline struct td_sock *td_tw_parent(const struct td_event *e, __u64 key)
{
	struct td_tuple k = {};
	struct td_sock *s;
	__u64 *sk;

	if (!TD_OWN_IDS)
		return bpf_map_lookup_elem(&td_socks, &key);
	td_tuple_of(&k, e);
	sk = bpf_map_lookup_elem(&td_closing, &k);
	s = sk ? bpf_map_lookup_elem(&td_socks, sk) : NULL;
	/* still a closing socket: not a new one in a missed one's memory */
	if (s && s->state != TD_TCP_FIN_WAIT1 && s->state != TD_TCP_FIN_WAIT2 &&
	    s->state != TD_TCP_CLOSING)
		return NULL;
	return s;
}

/* First timer_start of a timewait socket: the connection entered it. */
static __always_inline void td_tw_enter(struct inet_timewait_sock *tw, __u64 key, __u64 now,
					const bool direct)
{
	struct td_event e = {};
	struct td_tw t = {};
	struct td_sock *s;

	td_tw_event(&e, tw, 0, now, direct);
	t.enter_ns = now;
	t.last_ns = now;
	t.state = td_tw_substate(tw, direct);
	e.new_state = t.state;
	s = td_tw_parent(&e, key);
	t.id = s ? s->id : td_first_id(key);
	e.cookie = t.id;
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
	if (bpf_map_update_elem(&td_tws, &key, &t, BPF_NOEXIST)) {
		td_count(TD_CNT_TW_INSERT_FAIL);
	} else {
		td_count(TD_CNT_TW_INSERTS);
		if (t.state == TD_TCP_FIN_WAIT2_TW)
			td_tw_wait_fin(tw, &e, key);
	}
	td_emit(&e);
}

/* A re-arm: the peer's FIN may have turned FIN_WAIT2(tw) into TIME_WAIT. */
static __always_inline void td_tw_rearm(struct inet_timewait_sock *tw, struct td_tw *t, __u64 now,
					const bool direct)
{
	if (t->state != TD_TCP_FIN_WAIT2_TW || td_tw_substate(tw, direct) != TD_TCP_TIME_WAIT) {
		td_count(TD_CNT_TW_REARM);
		return;
	}
	td_tw_switch(tw, t, now, direct);
}

/* A connection's first timer on a 4-tuple where a killed timewait socket
 * waits: the request sock of a SYN that recycled it (reqsk_timer_handler),
 * or the SYN retransmit timer of a connect() that took it (tcp_write_timer,
 * tw_reuse). Only while some cancel waits. */
static __always_inline void td_tw_claim_timer(struct timer_list *timer, void *fn)
{
	const struct sock_common *skc;
	struct td_event e = {};
	__u16 sport;

	if (td_fn_is(fn, td_cfg.fn_reqsk_timer)) {
		skc = (void *)timer - bpf_core_field_offset(struct request_sock, rsk_timer);
		sport = bpf_htons(BPF_CORE_READ(skc, skc_num));
	} else if (td_fn_is(fn, td_cfg.fn_write_timer)) {
		skc = (void *)timer -
		      bpf_core_field_offset(struct inet_connection_sock, icsk_retransmit_timer);
		sport = BPF_CORE_READ((struct inet_sock *)skc, inet_sport);
	} else {
		return;
	}
	td_fill_tuple_probe(&e, skc, sport);
	td_tw_claim(&e);
}

static __always_inline int td_timer_start_run(struct timer_list *timer, const bool direct)
{
	void *fn = timer->function;
	struct inet_timewait_sock *tw;
	struct td_tw_hint *h;
	struct td_tw *t;
	__u64 key, now;
	__u32 zero = 0;

	if (!td_fn_is(fn, td_cfg.fn_tw_timer)) {
		if (td_tw_nends)
			td_tw_claim_timer(timer, fn);
		return 0;
	}
	tw = td_tw_of(timer);
	if (td_tw_out_of_scope(tw, direct))
		return 0;
	now = bpf_ktime_get_ns();
	key = td_tw_key_by(tw, direct);
	if (td_tw_nends) {
		/* cancel + start of the same socket's timer: re-armed, not ended
		 * (a new timewait socket in a killed one's memory has the same
		 * timer address, not the same key) */
		h = bpf_map_lookup_elem(&td_tw_hints, &zero);
		if (h && h->timer == (__u64)timer && h->twkey == key) {
			h->timer = 0;
			if (!bpf_map_delete_elem(&td_tw_ends, &h->key))
				__sync_fetch_and_add(&td_tw_nends, -1);
		}
	}
	t = bpf_map_lookup_elem(&td_tws, &key);
	if (t)
		td_tw_rearm(tw, t, now, direct);
	else
		td_tw_enter(tw, key, now, direct);
	return 0;
}

/* The end record of the timewait socket whose timer this is, ready but
 * for its reason; *t is its tracking entry (NULL: not tracked), *key its
 * td_tws key. */
static __always_inline void td_tw_end_event(struct td_event *ev, struct timer_list *timer,
					    __u64 now, struct td_tw **t, __u64 *key,
					    const bool direct)
{
	struct inet_timewait_sock *tw = td_tw_of(timer);
	__u8 sub = td_tw_substate(tw, direct);

	*key = td_tw_key_by(tw, direct);
	*t = bpf_map_lookup_elem(&td_tws, key);
	/* own ids: one never given is none (0), not the key */
	td_tw_event(ev, tw, *t ? (*t)->id : TD_OWN_IDS ? 0 : *key, now, direct);
	ev->new_state = TD_TCP_CLOSE;
	ev->old_state = sub;
	if (*t) {
		td_event_owner(ev, &(*t)->own);
		if ((*t)->snapshot)
			ev->flags |= TD_F_FIRST; /* in timewait before tcpdwell started */
		else
			ev->dwell_ns = now - (*t)->last_ns;
		if ((*t)->state == TD_TCP_FIN_WAIT2_TW && sub == TD_TCP_TIME_WAIT)
			ev->flags |= TD_F_LATE; /* the substate switch was not seen */
	} else {
		ev->flags |= TD_F_FIRST;
		td_count(TD_CNT_TW_UNSEEN_END);
	}
}

/* Park the cancel until what follows says what it was (see the top). */
static __always_inline int td_timer_cancel_run(struct timer_list *timer, const bool direct)
{
	struct td_tw_end_wait w = {}, old;
	struct td_tuple k = {};
	struct td_tw_hint *h;
	struct td_tw *t;
	__u32 zero = 0;

	if (!td_fn_is(timer->function, td_cfg.fn_tw_timer) ||
	    td_tw_out_of_scope(td_tw_of(timer), direct))
		return 0;
	td_tw_end_event(&w.ev, timer, bpf_ktime_get_ns(), &t, &w.key, direct);
	if (t && t->rst_sent) {
		/* TCP_TW_RST: it answered a segment with a RST, then died */
		td_tw_finish(&w.ev, w.key, TD_TW_END_KILLED);
		return 0;
	}
	if (td_net_dying(td_tw_of(timer), direct)) {
		td_tw_finish(&w.ev, w.key, TD_TW_END_KILLED);
		return 0;
	}
	w.timer = (__u64)timer;
	/* due: what the sweep calls it should its expire_entry go unseen */
	w.due = (__s64)(timer->expires - bpf_jiffies64()) <= 0;
	td_tuple_of(&k, &w.ev);
	if (bpf_map_update_elem(&td_tw_ends, &k, &w, BPF_NOEXIST)) {
		/* an earlier cancel on this 4-tuple still waits: a new timewait
		 * socket took the tuple before anything named that one's cause */
		if (td_tw_take(&k, &old.ev, &old.key))
			td_tw_finish(&old.ev, old.key, TD_TW_END_KILLED);
		if (bpf_map_update_elem(&td_tw_ends, &k, &w, BPF_NOEXIST)) {
			td_count(TD_CNT_TW_INSERT_FAIL); /* full: the cause stays unknown */
			td_tw_finish(&w.ev, w.key, TD_TW_END_UNKNOWN);
			return 0;
		}
	}
	__sync_fetch_and_add(&td_tw_nends, 1);
	h = bpf_map_lookup_elem(&td_tw_hints, &zero);
	if (h) {
		h->timer = (__u64)timer;
		h->twkey = w.key;
		h->key = k;
	}
	return 0;
}

static __always_inline int td_timer_expire_run(struct timer_list *timer, const bool direct)
{
	struct td_tw_end_wait w;
	struct td_tw_hint *h;
	struct td_tw *t;
	__u32 zero = 0;

	if (!td_fn_is(timer->function, td_cfg.fn_tw_timer) ||
	    td_tw_out_of_scope(td_tw_of(timer), direct))
		return 0;
	/* an expiry's cancel came just before, on this CPU */
	h = bpf_map_lookup_elem(&td_tw_hints, &zero);
	if (td_tw_nends && h && h->timer == (__u64)timer &&
	    h->twkey == td_tw_key_by(td_tw_of(timer), direct)) {
		h->timer = 0;
		if (td_tw_take(&h->key, &w.ev, &w.key))
			td_tw_finish(&w.ev, w.key, TD_TW_END_EXPIRED);
		return 0;
	}
	/* its cancel went unseen (a recursion miss): the expiry says it all */
	td_tw_end_event(&w.ev, timer, bpf_ktime_get_ns(), &t, &w.key, direct);
	td_tw_finish(&w.ev, w.key, TD_TW_END_EXPIRED);
	return 0;
}

/* The timer programs in both flavours (td_tw_direct, common.bpf.h), none
 * loaded unless the loader picks its set, by a load-time probe
 * (user/fastread.c). The direct set has the names of the host's and the
 * newer kernels' (docs/performance.md). */
#define TD_TIMER_PROG(name, tp, run, direct)                                                       \
	SEC("?tp_btf/" tp)                                                                         \
	int BPF_PROG(name, struct timer_list *timer)                                               \
	{                                                                                          \
		return run(timer, direct);                                                         \
	}

TD_TIMER_PROG(td_timer_start, "timer_start", td_timer_start_run, true)
TD_TIMER_PROG(td_timer_cancel, "timer_cancel", td_timer_cancel_run, true)
TD_TIMER_PROG(td_timer_expire, "timer_expire_entry", td_timer_expire_run, true)
TD_TIMER_PROG(td_start_probe, "timer_start", td_timer_start_run, false)
TD_TIMER_PROG(td_cancel_probe, "timer_cancel", td_timer_cancel_run, false)
TD_TIMER_PROG(td_expire_probe, "timer_expire_entry", td_timer_expire_run, false)

/*
 * Segments freed on the timewait path (tcp_v4_rcv / tcp_v6_rcv discard
 * them once the timewait socket has handled them):
 *   - the RST that killed a timewait socket (tcp_timewait_state_process:
 *     TIME_WAIT assassination, tcp_rfc1337=0): reset;
 *   - the peer's FIN that turned a FIN_WAIT2(tw) socket into TIME_WAIT.
 * 6.11+ names the socket (rx_sk): only its segments are looked at. Older
 * kernels: only while a cancel or a FIN_WAIT2(tw) waits.
 */
SEC("tp_btf/kfree_skb")
int td_kfree_skb(__u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct inet_timewait_sock *tw = NULL;
	struct td_tw_fin_wait *f;
	struct td_tw_end_wait w;
	struct td_tuple k = {};
	struct tcphdr th;
	struct td_tw *t;
	__u64 key;

	if (TD_KFREE_HAS_RX_SK) {
		/* a BTF pointer: a direct load, the cheap test for every drop */
		struct sock *rx = (struct sock *)ctx[3];

		if (!rx || rx->__sk_common.skc_state != TD_TCP_TIME_WAIT)
			return 0;
		tw = (struct inet_timewait_sock *)rx;
		if (td_tw_out_of_scope(tw, false))
			return 0;
	} else if (!td_tw_nends && !td_tw_nfins) {
		return 0;
	}
	if (!td_skb_tuple(&k, &th, skb))
		return 0;
	if (th.rst) {
		if (td_tw_nends && td_tw_take(&k, &w.ev, &w.key))
			td_tw_finish(&w.ev, w.key, TD_TW_END_RESET);
		return 0;
	}
	if (!th.fin)
		return 0;
	if (tw) {
		key = td_tw_key(tw);
	} else {
		f = bpf_map_lookup_elem(&td_tw_fins, &k);
		if (!f)
			return 0;
		tw = (struct inet_timewait_sock *)f->tw;
		key = f->key;
		/* still that socket (timewait sockets are type-stable memory) */
		if (td_tw_key(tw) != key)
			return 0;
	}
	t = bpf_map_lookup_elem(&td_tws, &key);
	if (!t || t->state != TD_TCP_FIN_WAIT2_TW || td_tw_substate(tw, false) != TD_TCP_TIME_WAIT)
		return 0; /* not a FIN that switched it (out of window, a duplicate) */
	td_tw_switch(tw, t, bpf_ktime_get_ns(), false);
	return 0;
}

/*
 * The reader's end of a cancel that nothing named within TD_TW_CLAIM_NS
 * (tracer.c), and of those still waiting when it stops: run with
 * BPF_PROG_TEST_RUN, never attached. Arguments: the struct td_tuple key
 * in args[0..5], the reason in args[6]. A program that missed its own
 * event (a recursion miss) leaves a cancel here that was no kill: a
 * re-arm whose start went unseen (the socket lives on, its timer
 * pending), or an expiry whose expire_entry did (the timer was due).
 */
SEC("raw_tp")
int td_tw_sweep(struct bpf_raw_tracepoint_args *ctx)
{
	union {
		struct td_tuple k;
		__u64 w[6];
	} u;
	struct td_tw_end_wait *w, took;
	struct inet_timewait_sock *tw;
	__u8 due;

	u.w[0] = ctx->args[0];
	u.w[1] = ctx->args[1];
	u.w[2] = ctx->args[2];
	u.w[3] = ctx->args[3];
	u.w[4] = ctx->args[4];
	u.w[5] = ctx->args[5];
	w = bpf_map_lookup_elem(&td_tw_ends, &u.k);
	if (!w)
		return 0;
	tw = td_tw_of((struct timer_list *)w->timer);
	due = w->due;
	if (!td_tw_take(&u.k, &took.ev, &took.key))
		return 0;
	/* the same socket (timewait sockets are type-stable memory), its timer
	 * pending again: a re-arm whose timer_start went unseen, not an end */
	if (td_tw_key(tw) == took.key && BPF_CORE_READ(tw, tw_timer.entry.pprev))
		return 0;
	td_tw_finish(&took.ev, took.key,
		     due					? TD_TW_END_EXPIRED
		     : ctx->args[6] == (__u64)TD_TW_END_UNKNOWN ? TD_TW_END_UNKNOWN
								: TD_TW_END_KILLED);
	return 0;
}
