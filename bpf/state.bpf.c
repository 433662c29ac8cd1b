// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TCP state transitions (sock:inet_sock_set_state) and the per-socket state
 * behind the dwell times: when the socket entered its current state and
 * who owns it.
 */
#include "common.bpf.h"

#define TD_PF_EXITING 0x00000004 /* include/linux/sched.h: getting shut down */

/* The task on the CPU is exiting: a BTF pointer where the kernel has
 * bpf_get_current_task_btf (5.11), a probe read before (5.10). */
static __always_inline bool td_task_exiting(void)
{
	struct task_struct *t;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		return bpf_get_current_task_btf()->flags & TD_PF_EXITING;
	t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(t, flags) & TD_PF_EXITING;
}

/* A child created in softirq inherits its listener's owner until accept(). */
static __always_inline void td_child_owner(struct td_owner_info *o, const struct td_event *e)
{
	if (!td_listener_owner(o, e))
		td_owner_current(o, TD_OWNER_INFERRED);
}

/* First sight of a socket: where it came from decides who owns it. */
static __always_inline void td_sock_new(struct td_sock *n, struct td_event *e,
					const struct sock *sk, int oldstate, int newstate)
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
	} else if (oldstate == TD_TCP_LISTEN && td_listener_find(&n->own, e)) {
		/* a listener older than the tracer, its holder found in /proc */
		e->flags |= TD_F_FIRST;
	} else if (td_old_sock_owner(&n->own, sk)) {
		/* a connection older than the tracer: its holder, likewise */
		e->flags |= TD_F_FIRST;
	} else {
		/* a socket older than the tracer (or evicted from the map) */
		td_owner_current(&n->own, TD_OWNER_INFERRED);
		e->flags |= TD_F_FIRST;
	}
}

/* The per-netns timewait count that tcp_max_tw_buckets limits: a
 * refcount_t starting at 1 since 5.17 ("tcp: allocate tcp_death_row
 * outside of struct netns_ipv4"), an atomic_t tw_count before (5.10). */
struct inet_timewait_death_row___refcount {
	refcount_t tw_refcount;
	int sysctl_max_tw_buckets;
} __attribute__((preserve_access_index));
struct inet_timewait_death_row___count {
	atomic_t tw_count;
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
	struct inet_timewait_death_row___count *dc;
	int used, max;

	if (oldstate != TD_TCP_FIN_WAIT2 && oldstate != TD_TCP_CLOSING)
		return false;
	dr = (void *)&sk->__sk_common.skc_net.net->ipv4.tcp_death_row;
	dc = (void *)dr;
	if (bpf_core_field_exists(struct inet_timewait_death_row___refcount, tw_refcount))
		used = BPF_CORE_READ(dr, tw_refcount.refs.counter) - 1;
	else if (bpf_core_field_exists(struct inet_timewait_death_row___count, tw_count))
		used = BPF_CORE_READ(dc, tw_count.counter);
	else
		return false;
	max = BPF_CORE_READ(dr, sysctl_max_tw_buckets);
	return used >= max;
}

#define TD_SOCK_BINDPORT_LOCK 8 /* include/net/sock.h: bind() fixed the port */

/* ip_local_port_range: one u32, lo | hi << 16, since 6.3 ("inet:
 * ip_local_port_range: use a u32 for both ends"); two ints behind a seqlock
 * before. Told apart by the seqlock: a field-size probe of `range` cannot
 * be, since CO-RE refuses to match an int with an array. */
struct local_ports___u32 {
	u32 range;
} __attribute__((preserve_access_index));
struct local_ports___pair {
	seqlock_t lock;
	int range[2];
} __attribute__((preserve_access_index));

/* The netns's ip_local_port_range as lo | hi << 16. */
static __always_inline __u32 td_port_range(const struct sock *sk)
{
	void *lp = &sk->__sk_common.skc_net.net->ipv4.ip_local_ports;
	struct local_ports___pair *pp = lp;
	struct local_ports___u32 *pu = lp;

	if (bpf_core_field_exists(struct local_ports___pair, lock))
		return (BPF_CORE_READ(pp, range[0]) & 0xffff) |
		       (__u32)(BPF_CORE_READ(pp, range[1]) & 0xffff) << 16;
	return BPF_CORE_READ(pu, range);
}

/*
 * SYN_SENT -> CLOSE with no segment ever sent: tcp_v4_connect() and
 * tcp_v6_connect() set SYN_SENT, then pick the local port
 * (inet_hash_connect) and only then send the SYN (tcp_connect); a failure
 * in between returns to CLOSE at once (docs/design.md 3.6). No port: the
 * ephemeral search found none free. A port bind() fixed: its 4-tuple is
 * taken (by a TIME_WAIT it may not reuse, or a live connection).
 */
static __always_inline __u8 td_connect_fail(const struct sock *sk, const struct td_event *e)
{
	const struct tcp_sock *tp = (const void *)sk;

	if (BPF_CORE_READ(tp, segs_out))
		return TD_CONNECT_OK; /* the SYN left: refused, timed out, closed */
	if (!e->lport)
		return TD_CONNECT_NO_PORT;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_userlocks) & TD_SOCK_BINDPORT_LOCK)
		return TD_CONNECT_IN_USE;
	return TD_CONNECT_NO_SYN;
}

/* A socket's first transitions (connect, listen, a server's child): a new
 * life, whatever entry its address may still key (own ids). */
static __always_inline bool td_birth(int oldstate, int newstate)
{
	return (oldstate == TD_TCP_CLOSE &&
		(newstate == TD_TCP_SYN_SENT || newstate == TD_TCP_LISTEN)) ||
	       (oldstate == TD_TCP_LISTEN && newstate == TD_TCP_SYN_RECV);
}

/* Own ids: a socket that may hand over to a timewait socket (from
 * FIN_WAIT1 on) is found by its 4-tuple until its -> CLOSE
 * (timewait.bpf.c, td_tw_enter). */
static __always_inline void td_closing_track(const struct td_event *e, __u64 key, bool seen)
{
	struct td_tuple k = {};
	int st = e->new_state;

	if (st == TD_TCP_FIN_WAIT1 || (!seen && (st == TD_TCP_FIN_WAIT2 || st == TD_TCP_CLOSING))) {
		td_tuple_of(&k, e);
		bpf_map_update_elem(&td_closing, &k, &key, BPF_ANY);
	} else if (st == TD_TCP_CLOSE &&
		   (e->old_state == TD_TCP_FIN_WAIT1 || e->old_state == TD_TCP_FIN_WAIT2 ||
		    e->old_state == TD_TCP_CLOSING)) {
		td_tuple_of(&k, e);
		bpf_map_delete_elem(&td_closing, &k);
	}
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(td_set_state, struct sock *sk, int oldstate, int newstate)
{
	struct td_child_pending *cp;
	struct td_event e = {};
	struct td_sock n = {};
	struct td_sock *s;
	bool claim = false; /* a deferred child was emitted: its tuple is e's */
	__u64 flag = TD_OWN_IDS ? BPF_ANY : BPF_NOEXIST; /* own ids: stale entries go */
	__u64 now, key;
	__u32 zero = 0;

	/* tcp_close() re-sets FIN_WAIT2 on a FIN_WAIT2 socket: not a transition */
	if (!td_is_tcp(sk) || oldstate == newstate)
		return 0;
	now = bpf_ktime_get_ns();
	key = td_sk_key(sk);

	e.type = TD_EV_STATE;
	e.ts_ns = now;
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
		n.id = td_first_id(key);
		ce.cookie = n.id;
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
		if (bpf_map_update_elem(&td_socks, &key, &n, flag))
			td_count(TD_CNT_SOCK_INSERT_FAIL);
		else
			td_count(TD_CNT_SOCK_INSERTS);
		__builtin_memset(&n, 0, sizeof(n));
	}

	s = bpf_map_lookup_elem(&td_socks, &key);
	if (s && s->state == TD_TCP_LISTEN && oldstate != TD_TCP_LISTEN)
		s = NULL; /* a listener's cookie still on a child: not this socket's entry */
	if (TD_OWN_IDS && s && td_birth(oldstate, newstate))
		s = NULL; /* an entry left by a socket that lived in this memory */
	if (s) {
		e.cookie = td_sock_id(key, s);
		td_flush_pending(sk, e.cookie, s);
		e.dwell_ns = now - s->last_ns;
		s->last_ns = now;
		s->state = newstate;
		td_event_owner(&e, &s->own);
	} else {
		n.id = td_first_id(key);
		e.cookie = n.id;
		td_sock_new(&n, &e, sk, oldstate, newstate);
		td_event_owner(&e, &n.own);
		n.first_ns = now;
		n.last_ns = now;
		n.state = newstate;
		/* The port is bound right after this event: emit it later. */
		n.pending = newstate == TD_TCP_SYN_SENT && e.lport == 0;
		if (newstate != TD_TCP_CLOSE) {
			if (bpf_map_update_elem(&td_socks, &key, &n, flag))
				td_count(TD_CNT_SOCK_INSERT_FAIL);
			else
				td_count(TD_CNT_SOCK_INSERTS);
		}
		if (n.pending)
			return 0;
	}
	if (TD_OWN_IDS)
		td_closing_track(&e, key, s != NULL);

	if (newstate == TD_TCP_CLOSE && s && s->tw) {
		/* The connection lives on in its timewait socket (timewait.bpf.c
		 * already reported FIN_WAIT2 -> TIME_WAIT): this is bookkeeping. */
	} else {
		if (newstate == TD_TCP_CLOSE && td_tw_overflow(sk, oldstate))
			e.kind = TD_TW_END_OVERFLOW;
		if (newstate == TD_TCP_CLOSE && oldstate == TD_TCP_SYN_SENT) {
			e.kind = td_connect_fail(sk, &e);
			if (e.kind)
				e.arg = td_port_range(sk);
		}
		if (td_cfg.mark_exit && td_task_exiting())
			e.task_flags |= TD_TASK_EXITING;
		td_emit(&e);
	}

	/* a new connection's first transitions with its 4-tuple known: it may
	 * have taken the tuple from a timewait socket (timewait.bpf.c) */
	if (claim || oldstate == TD_TCP_SYN_SENT ||
	    (oldstate == TD_TCP_LISTEN && newstate == TD_TCP_SYN_RECV))
		td_tw_claim(&e);

	if (newstate == TD_TCP_CLOSE) {
		struct td_closed *c = bpf_map_lookup_elem(&td_last_closed, &zero);

		if (s && c) {
			struct td_closed_ent *ce = &c->ent[c->next++ & (TD_CLOSED_SLOTS - 1)];

			ce->key = key;
			ce->id = e.cookie;
			ce->own = s->own;
		}
		if (s && !bpf_map_delete_elem(&td_socks, &key))
			td_count(TD_CNT_SOCK_DELETES);
		if (oldstate == TD_TCP_LISTEN) {
			struct td_listen_key lk = {};

			td_listener_key(&lk, &e);
			bpf_map_delete_elem(&td_listeners, &lk);
		}
	}
	return 0;
}
