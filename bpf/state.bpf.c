// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TCP state transitions (sock:inet_sock_set_state) and the per-socket state
 * behind the dwell times: when the socket entered its current state and
 * who owns it.
 */
#include "common.bpf.h"

#define TD_PF_EXITING 0x00000004 /* include/linux/sched.h: getting shut down */

/* A child created in softirq inherits its listener's owner until accept(). */
static __always_inline void td_child_owner(struct td_owner_info *o, const struct td_event *e)
{
	if (!td_listener_owner(o, e))
		td_owner_current(o, TD_OWNER_INFERRED);
}

/* First sight of a socket: where it came from decides who owns it. */
static __always_inline void td_sock_new(struct td_sock *n, struct td_event *e, int oldstate,
					int newstate)
{
	struct td_listen_key lk = {};

	if (oldstate == TD_TCP_CLOSE && newstate == TD_TCP_SYN_SENT) {
		/* connect(): process context */
		td_owner_current(&n->own, TD_OWNER_CONNECT);
		e->flags |= TD_F_NEW;
	} else if (oldstate == TD_TCP_CLOSE && newstate == TD_TCP_LISTEN) {
		/* listen(): process context */
		td_owner_current(&n->own, TD_OWNER_LISTEN);
		e->flags |= TD_F_NEW;
		td_listener_key(&lk, e);
		if (bpf_map_update_elem(&td_listeners, &lk, &n->own, BPF_ANY))
			td_count(TD_CNT_LISTEN_FULL);
	} else if (oldstate == TD_TCP_LISTEN && newstate == TD_TCP_SYN_RECV) {
		e->flags |= TD_F_NEW;
		td_child_owner(&n->own, e);
	} else {
		/* a socket older than the tracer (or evicted from the map) */
		td_owner_current(&n->own, TD_OWNER_INFERRED);
		e->flags |= TD_F_FIRST;
	}
}

/* 6.1+: the per-netns timewait accounting that tcp_max_tw_buckets limits. */
struct inet_timewait_death_row___refcount {
	refcount_t tw_refcount;
	int sysctl_max_tw_buckets;
} __attribute__((preserve_access_index));

/*
 * A closing socket that reaches CLOSE from FIN_WAIT2 or CLOSING without a
 * timewait socket while the netns is at tcp_max_tw_buckets: the kernel
 * refused the timewait socket (TcpExtTCPTimeWaitOverflow).
 */
static __always_inline bool td_tw_overflow(const struct sock *sk, int oldstate)
{
	struct inet_timewait_death_row___refcount *dr;
	int used, max;

	if (oldstate != TD_TCP_FIN_WAIT2 && oldstate != TD_TCP_CLOSING)
		return false;
	if (!bpf_core_field_exists(struct inet_timewait_death_row___refcount, tw_refcount))
		return false;
	dr = (void *)&sk->__sk_common.skc_net.net->ipv4.tcp_death_row;
	used = BPF_CORE_READ(dr, tw_refcount.refs.counter) - 1;
	max = BPF_CORE_READ(dr, sysctl_max_tw_buckets);
	return used >= max;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_set_state, struct sock *sk, int oldstate, int newstate)
{
	struct td_child_pending *cp;
	struct td_event e = {};
	struct td_sock n = {};
	struct td_sock *s;
	bool claim = false; /* a deferred child was emitted: its tuple is e's */
	__u64 now, cookie;
	__u32 zero = 0;

	/* tcp_close() re-sets FIN_WAIT2 on a FIN_WAIT2 socket: not a transition */
	if (!td_is_tcp(sk) || oldstate == newstate)
		return 0;
	now = bpf_ktime_get_ns();
	cookie = bpf_get_socket_cookie(sk);

	e.type = TD_EV_STATE;
	e.ts_ns = now;
	e.cookie = cookie;
	e.old_state = oldstate;
	e.new_state = newstate;
	td_fill_sock_tuple(&e, sk);
	if (!td_scope_pass(e.family, e.netns))
		return 0; /* never tracked: no entry to keep, nothing to show */

	cp = bpf_map_lookup_elem(&td_child_pend, &zero);
	if (oldstate == TD_TCP_LISTEN && newstate == TD_TCP_SYN_RECV && !e.rport) {
		/* 6.1: the clone has neither its peer nor its own cookie yet
		 * (its cookie is the listener's): emit at its next transition */
		if (cp) {
			cp->sk = (__u64)sk;
			cp->ts_ns = now;
			td_child_owner(&cp->own, &e);
		}
		return 0;
	}
	if (cp && cp->sk == (__u64)sk) {
		struct td_event ce = e;

		cp->sk = 0;
		ce.ts_ns = cp->ts_ns;
		ce.old_state = TD_TCP_LISTEN;
		ce.new_state = TD_TCP_SYN_RECV;
		ce.flags = TD_F_NEW | TD_F_DEFERRED;
		td_event_owner(&ce, &cp->own);
		td_emit(&ce);
		claim = true;
		n.first_ns = cp->ts_ns;
		n.last_ns = cp->ts_ns;
		n.state = TD_TCP_SYN_RECV;
		n.own = cp->own;
		if (bpf_map_update_elem(&td_socks, &cookie, &n, BPF_NOEXIST))
			td_count(TD_CNT_SOCK_INSERT_FAIL);
		else
			td_count(TD_CNT_SOCK_INSERTS);
		__builtin_memset(&n, 0, sizeof(n));
	}

	s = bpf_map_lookup_elem(&td_socks, &cookie);
	if (s && s->state == TD_TCP_LISTEN && oldstate != TD_TCP_LISTEN)
		s = NULL; /* a listener's cookie still on a child: not this socket's entry */
	if (s) {
		td_flush_pending(sk, cookie, s);
		e.dwell_ns = now - s->last_ns;
		s->last_ns = now;
		s->state = newstate;
		td_event_owner(&e, &s->own);
	} else {
		td_sock_new(&n, &e, oldstate, newstate);
		td_event_owner(&e, &n.own);
		n.first_ns = now;
		n.last_ns = now;
		n.state = newstate;
		/* The port is bound right after this event: emit it later. */
		n.pending = newstate == TD_TCP_SYN_SENT && e.lport == 0;
		if (newstate != TD_TCP_CLOSE) {
			if (bpf_map_update_elem(&td_socks, &cookie, &n, BPF_NOEXIST))
				td_count(TD_CNT_SOCK_INSERT_FAIL);
			else
				td_count(TD_CNT_SOCK_INSERTS);
		}
		if (n.pending)
			return 0;
	}

	if (newstate == TD_TCP_CLOSE && s && s->tw) {
		/* The connection lives on in its timewait socket (timewait.bpf.c
		 * already reported FIN_WAIT2 -> TIME_WAIT): this is bookkeeping. */
	} else {
		if (newstate == TD_TCP_CLOSE && td_tw_overflow(sk, oldstate))
			e.kind = TD_TW_END_OVERFLOW;
		if (td_cfg.mark_exit && (bpf_get_current_task_btf()->flags & TD_PF_EXITING))
			e.task_flags |= TD_TASK_EXITING;
		td_emit(&e);
	}

	/* a new connection's first transitions with its 4-tuple known: it may
	 * have taken the tuple from a timewait socket (timewait.bpf.c) */
	if (claim || oldstate == TD_TCP_SYN_SENT ||
	    (oldstate == TD_TCP_LISTEN && newstate == TD_TCP_SYN_RECV))
		td_tw_claim(&e);

	if (newstate == TD_TCP_CLOSE) {
		__u32 slot = cookie % TD_CLOSED_SLOTS;
		struct td_closed *c = bpf_map_lookup_elem(&td_last_closed, &slot);

		if (s && c) {
			c->cookie = cookie;
			c->own = s->own;
		}
		if (s && !bpf_map_delete_elem(&td_socks, &cookie))
			td_count(TD_CNT_SOCK_DELETES);
		if (oldstate == TD_TCP_LISTEN) {
			struct td_listen_key lk = {};

			td_listener_key(&lk, &e);
			bpf_map_delete_elem(&td_listeners, &lk);
		}
	}
	return 0;
}
