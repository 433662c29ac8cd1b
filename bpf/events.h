/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The contract between the BPF programs (bpf/) and the loader (user/).
 *
 * Everything that crosses the ring buffer or a shared map is defined here
 * and only here. Both sides compile this header: the BPF side with
 * vmlinux.h (which already defines the __u8.. types), the user side with
 * <linux/types.h>. Bump TD_EVENT_VERSION when the layout changes: recordings
 * and the JSON "schema" field carry it.
 */
#ifndef TCPDWELL_EVENTS_H
#define TCPDWELL_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TD_EVENT_VERSION 1

#define TD_COMM_LEN 16
#define TD_ADDR_LEN 16 /* room for an IPv6 address; IPv4 uses the first 4 */

/* Linux TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum td_tcp_state {
	TD_TCP_ESTABLISHED = 1,
	TD_TCP_SYN_SENT = 2,
	TD_TCP_SYN_RECV = 3,
	TD_TCP_FIN_WAIT1 = 4,
	TD_TCP_FIN_WAIT2 = 5,
	TD_TCP_TIME_WAIT = 6,
	TD_TCP_CLOSE = 7,
	TD_TCP_CLOSE_WAIT = 8,
	TD_TCP_LAST_ACK = 9,
	TD_TCP_LISTEN = 10,
	TD_TCP_CLOSING = 11,
	TD_TCP_NEW_SYN_RECV = 12,
	/* Not a kernel state: an orphaned connection waiting for the peer's FIN
	 * inside a timewait socket (tw_substate FIN_WAIT2, timer fin_timeout). */
	TD_TCP_FIN_WAIT2_TW = 13,
	TD_TCP_MAX_STATES = 14,
};

/* Why a timewait socket ended (td_event.kind on its -> CLOSE), or why a
 * closing socket never got one. */
enum td_tw_end {
	TD_TW_END_NONE = 0,
	TD_TW_END_EXPIRED = 1,	/* its timer fired: 60 s, or fin_timeout in FIN_WAIT2(tw) */
	TD_TW_END_REUSED = 2,	/* the 4-tuple was taken by a new connection (tw_reuse, SYN) */
	TD_TW_END_RESET = 3,	/* a RST for it arrived (TIME_WAIT assassination) */
	TD_TW_END_KILLED = 4,	/* removed early for another reason: it answered a segment
				 * with a RST, its netns was torn down, `ss -K`, or no
				 * cause showed within TD_TW_CLAIM_NS */
	TD_TW_END_OVERFLOW = 5, /* never entered: tcp_max_tw_buckets reached */
	TD_TW_END_UNKNOWN = 6,	/* killed, and tcpdwell stopped (or ran out of room)
				 * before its cause could show */
	TD_TW_END_MAX = 7,
};

enum td_event_type {
	TD_EV_STATE = 1,      /* inet_sock_set_state transition */
	TD_EV_RETRANS = 2,    /* tcp_retransmit_skb / tcp_retransmit_synack */
	TD_EV_RESET_SENT = 3, /* tcp_send_reset */
	TD_EV_RESET_RECV = 4, /* tcp_receive_reset */
	TD_EV_SNAPSHOT = 5,   /* census iterator: a socket as it is now (not a ring record) */
	TD_EV_TYPE_MAX = 6,
};

/* Where the pid/comm/cgroup of a connection came from. */
enum td_owner {
	TD_OWNER_NONE = 0,     /* nothing known (e.g. RST sent without a socket) */
	TD_OWNER_CONNECT = 1,  /* task that called connect() */
	TD_OWNER_LISTEN = 2,   /* task that called listen() */
	TD_OWNER_ACCEPT = 3,   /* task that accepted the child socket */
	TD_OWNER_LISTENER = 4, /* child not accepted yet: owner of its listener */
	TD_OWNER_INFERRED = 5, /* task on the CPU when first seen: may be wrong */
	TD_OWNER_PROC = 6,     /* a listener older than tcpdwell: its holder in /proc */
	TD_OWNER_MAX = 7,
};

/* td_event.flags */
#define TD_F_NEW	(1u << 0) /* creation transition: no previous state to time */
#define TD_F_FIRST	(1u << 1) /* first sight of an older socket: dwell unknown */
#define TD_F_DEFERRED	(1u << 2) /* emitted late (local port was not bound yet) */
#define TD_F_FAILED	(1u << 3) /* retransmit attempt failed (err != 0) */
#define TD_F_HAS_ERR	(1u << 4) /* kernel reports retransmit err (6.x+) */
#define TD_F_HAS_REASON (1u << 5) /* kernel reports the RST reason */
#define TD_F_TW		(1u << 6) /* transition of the timewait socket */
#define TD_F_LATE                                                                                  \
	(1u << 7) /* FIN_WAIT2(tw) -> TIME_WAIT seen only at the end:                              \
		     the timer re-arm was silent, the time is unknown */

/* td_event.task_flags: the task on the CPU when the transition was made.
 * Only meaningful for transitions that only a process makes (a close() of a
 * CLOSE_WAIT socket): softirq work interrupting a task sees that task. */
#define TD_TASK_EXITING (1u << 0) /* PF_EXITING: its files are being closed by exit */

/* td_event.kind for TD_EV_RETRANS */
enum td_retrans_kind {
	TD_RETRANS_DATA = 0, /* data (or FIN) segment: by timeout or recovery, see ca_state */
	TD_RETRANS_SYN = 1,
	TD_RETRANS_SYNACK = 2, /* tcp_retransmit_synack, on the request socket */
	TD_RETRANS_TLP = 3,    /* tail loss probe: the loss-probe timer resent the last segment */
	TD_RETRANS_KIND_MAX = 4,
};

/* The sender's congestion state at a retransmit (the kernel's TCP_CA_*):
 * Loss = after a retransmission timeout, Recovery = fast retransmit. */
enum td_ca_state {
	TD_CA_OPEN = 0,
	TD_CA_DISORDER = 1,
	TD_CA_CWR = 2,
	TD_CA_RECOVERY = 3,
	TD_CA_LOSS = 4,
	TD_CA_MAX = 5,
};

/*
 * One fixed-size record per event: 104 bytes, 8-byte aligned, no implicit
 * padding (the user side checks the size of every record it reads).
 */
struct td_event {
	__u64 ts_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie; /* socket cookie, the connection's identity */
	union {
		__u64 dwell_ns; /* time spent in old_state; 0 with TD_F_NEW/FIRST */
		__u64 segs;	/* retrans: segments in the skb (tcp_skb_pcount), as
				 * the kernel's TcpRetransSegs/TCPRetransFail count
				 * them; 0 in recordings older than this field: 1 */
	};
	__u64 cgroup_id; /* cgroup v2 id of the owner */
	__u32 pid;	 /* owner tgid (see owner) */
	__u32 netns;	 /* network namespace inode number */
	__u8 type;	 /* enum td_event_type */
	__u8 family;	 /* AF_INET or AF_INET6 */
	__u8 old_state;	 /* TD_EV_STATE; for other types: the current state */
	__u8 new_state;
	__u8 owner;  /* enum td_owner */
	__u8 flags;  /* TD_F_* */
	__u16 lport; /* host byte order */
	__u16 rport; /* host byte order */
	__u8 kind;   /* retrans: enum td_retrans_kind; -> CLOSE: enum td_tw_end,
		      * but SYN_SENT -> CLOSE: enum td_connect_fail */
	union {
		__u8 ca_state;	 /* retrans of data: enum td_ca_state */
		__u8 task_flags; /* state, with td_config.mark_exit: TD_TASK_* */
	};
	__s32 arg; /* retrans: err; reset sent: reason; snapshot of a tw: jiffies
		    * left; a connect failure: its port range (td_connect_fail) */
	__u8 laddr[TD_ADDR_LEN];
	__u8 raddr[TD_ADDR_LEN];
	char comm[TD_COMM_LEN];
};

/* Why a connect() ended before its SYN left: SYN_SENT -> CLOSE with nothing
 * sent (docs/design.md 3.6). In the event's kind; its arg holds the
 * ip_local_port_range the kernel had, lo | hi << 16 (0: unknown). */
enum td_connect_fail {
	TD_CONNECT_OK = 0,
	TD_CONNECT_NO_PORT = 1, /* no free local port (EADDRNOTAVAIL) */
	TD_CONNECT_IN_USE = 2,	/* the bound port's 4-tuple is taken (EADDRNOTAVAIL) */
	TD_CONNECT_NO_SYN = 3,	/* another error before the SYN (e.g. no route) */
	TD_CONNECT_FAIL_MAX = 4,
};

/* Index of the per-CPU counters in the "counters" map. */
enum td_counter {
	TD_CNT_EVENTS = 0,	 /* records submitted to the ring buffer */
	TD_CNT_RB_DROPS,	 /* ring-buffer reservation failures */
	TD_CNT_SOCK_INSERTS,	 /* entries added to the socket map */
	TD_CNT_SOCK_DELETES,	 /* entries removed at -> CLOSE */
	TD_CNT_SOCK_INSERT_FAIL, /* socket map refused an entry */
	TD_CNT_LISTEN_FULL,	 /* listener map refused an entry */
	TD_CNT_TW_INSERTS,	 /* timewait sockets tracked */
	TD_CNT_TW_DELETES,	 /* timewait sockets ended */
	TD_CNT_TW_INSERT_FAIL,	 /* timewait map refused an entry */
	TD_CNT_TW_UNSEEN_END,	 /* a timewait socket ended that started before us */
	TD_CNT_TW_REARM,	 /* timer re-armed without a substate change */
	TD_CNT_PID_FULL,	 /* --follow: pid map refused a child (its sockets are missed) */
	TD_CNT_IDS,		 /* socket ids given (td_config.own_ids): this CPU's last */
	TD_CNT_MAX,
};

/* Bits of the port_filter map (indexed by host-order port). */
#define TD_PORT_LOCAL  (1u << 0)
#define TD_PORT_REMOTE (1u << 1)

/* Bits of td_config.addr_filter: which address tries are active. */
#define TD_ADDR_LOCAL  (1u << 0)
#define TD_ADDR_REMOTE (1u << 1)

/* Key of the address tries (LPM): IPv6 order, IPv4 as ::ffff:a.b.c.d with
 * the prefix + 96, so that one trie holds both families and an IPv4 CIDR
 * also matches a dual-stack socket's IPv4-mapped address. */
struct td_lpm_key {
	__u32 prefixlen;
	__u8 addr[TD_ADDR_LEN];
};

#define TD_MAX_CIDRS 64 /* per side */

/* Read-only configuration, set by the loader before the programs load. */
struct td_config {
	__u8 family;	    /* 0: both; AF_INET or AF_INET6 */
	__u8 port_filter;   /* TD_PORT_* bits that are active */
	__u8 no_events;	    /* dwell mode: aggregate only, nothing on the ring */
	__u8 hist;	    /* record dwell times into the histograms */
	__u32 wakeup_bytes; /* wake the reader once this much data is queued */
	__u32 netns;	    /* 0: every network namespace; else its inode number */
	__u8 tw_only;	    /* timewait census: only timewait transitions on the ring */
	__u8 type_mask;	    /* 0: every event type; else bit (1 << type) per type wanted */
	__u8 mark_exit;	    /* run: set TD_TASK_EXITING on transitions made by exit */
	__u8 addr_filter;   /* TD_ADDR_* bits: td_laddrs / td_raddrs are active */
	/* owner filters: the connection's owner (who created it), not the task
	 * that happens to be on the CPU */
	__u8 pid_filter;    /* only owners in td_pids */
	__u8 known_owner;   /* run: not a guessed owner (TD_OWNER_INFERRED) */
	__u8 own_ids;	    /* socket ids of tcpdwell's own, not cookies (common.bpf.h) */
	__u8 cgroup_filter; /* only owners in td_cgsel's cgroups (or below them) */
	__u8 cg_hist;	    /* export --label-containers: dwell by owner cgroup too */
	__u8 pad3[3];
	__u64 pad5;
	char comm[TD_COMM_LEN]; /* "": any; else this task name */
	/* export: count every event into td_agg (see TD_AGG_*) */
	__u8 agg;
	__u8 label_ports;      /* td_label_ports gives the port class */
	__u8 label_peers;      /* td_label_peers gives the peer class */
	__u8 agg_peer_classes; /* peer classes (allow-listed + "other") */
	__u8 pad4[4];
	/* the timer functions the timewait programs recognise (kallsyms, read
	 * by the loader: 0 when absent or hidden, and then nothing matches) */
	__u64 fn_tw_timer;    /* tw_timer_handler */
	__u64 fn_reqsk_timer; /* reqsk_timer_handler */
	__u64 fn_write_timer; /* tcp_write_timer */
};

/*
 * Export mode counts in the kernel what the scraper asks for, so nothing
 * but the timewait transitions (for the census) crosses the ring: a
 * per-CPU array of TD_AGG_SLOTS counters per label class, where the class
 * is port_class * agg_peer_classes + peer_class (0: "other" for both).
 */
#define TD_AGG_TRANS	0					/* + from * 16 + to */
#define TD_AGG_RETRANS	256					/* + kind * 16 + state */
#define TD_AGG_FAILED	TD_RETRANS_KIND_MAX			/* failed attempt: kind slot 4 */
#define TD_AGG_RESETS	(256 + 5 * 16)				/* + (received ? 16 : 0) + state */
#define TD_AGG_CONNFAIL (TD_AGG_RESETS + 2 * 16)		/* + enum td_connect_fail */
#define TD_AGG_SLOTS	(TD_AGG_CONNFAIL + TD_CONNECT_FAIL_MAX) /* 372 */
#define TD_LABEL_MAX	15					/* allow-list entries per label */

#define TD_MAX_PIDS 64
/* --cgroup/--container: the cgroups selected, and those below them that
 * owners were seen in (learned by the programs, docs/containers.md). */
#define TD_MAX_CGROUPS 64
#define TD_MAX_CGSEL   16384
#define TD_CG_LEVELS   16 /* how far above an owner's cgroup a selected one is looked for */

/* export --label-containers: dwell histograms per (owner cgroup, state),
 * grouped into labels by the reader at each scrape, so that a container
 * started at any time is counted under its own label (docs/containers.md). */
#define TD_MAX_CG_HIST 65536
/* sockets older than tcpdwell whose owners /proc showed at start */
#define TD_MAX_OLD_SOCKS 65536
#define TD_CG_HIST_SUM	 0xffff /* bucket: the sum of the dwell times, ns */
struct td_cg_hist_key {
	__u64 cgroup_id;
	__u16 state;
	__u16 bucket; /* td_hist_bucket(), or TD_CG_HIST_SUM */
	__u32 pad;
};
/* --follow: room for the listed processes' children too (--max-follow). */
#define TD_MAX_PIDS_FOLLOW 8192

/* Who a connection belongs to (captured in process context, see owner.bpf.c). */
struct td_owner_info {
	__u64 cgroup_id;
	__u32 pid;   /* tgid */
	__u8 source; /* enum td_owner */
	__u8 pad[3];
	char comm[TD_COMM_LEN];
};

/* Per-socket state kept in the kernel (LRU map keyed by socket cookie, or
 * with td_config.own_ids by the socket's address: see common.bpf.h). */
struct td_sock {
	__u64 id;	/* what events call the socket (its cookie, or an own id) */
	__u64 first_ns; /* first transition seen */
	__u64 last_ns;	/* last transition seen */
	struct td_owner_info own;
	__u8 state;   /* state after the last transition */
	__u8 pending; /* CLOSE -> SYN_SENT not emitted yet (port unbound) */
	__u8 tw;      /* handed to a timewait socket: its -> CLOSE is not news */
	__u8 pad[5];
};

/* A timewait socket (LRU map keyed by td_tw_key(): the cookie it
 * inherited, or with td_config.own_ids its address and sequence). */
struct td_tw {
	__u64 id;	/* its connection's id: what its events call it */
	__u64 enter_ns; /* entered the timewait socket */
	__u64 last_ns;	/* entered its current substate */
	struct td_owner_info own;
	__u8 state;    /* TD_TCP_TIME_WAIT or TD_TCP_FIN_WAIT2_TW */
	__u8 snapshot; /* found by the census iterator: enter_ns is when, not since */
	__u8 rst_sent; /* it answered a segment with a RST: the kill that follows */
	__u8 pad[5];
};

/* What the census iterator writes (bss, set by the loader before a read). */
struct td_iter_cfg {
	__u32 seed;   /* enter timewait sockets into td_tws */
	__u32 in_use; /* also write the connected sockets that are not in timewait */
	__u32 family; /* 0: both; AF_INET or AF_INET6 */
	__u32 pad;
};

/*
 * A socket's 4-tuple in its network namespace, local end first as that
 * socket sees it: the key under which a timewait socket whose timer was
 * cancelled waits for what ended it (timewait.bpf.c), and a FIN_WAIT2(tw)
 * socket waits for its peer's FIN on kernels whose kfree_skb tracepoint
 * does not name the socket.
 */
struct td_tuple {
	__u32 netns;
	__u16 family;
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u8 laddr[TD_ADDR_LEN];
	__u8 raddr[TD_ADDR_LEN];
};

/* td_tw_ends: a cancelled timewait timer, until its timer fires (expired),
 * is started again (re-armed: not an end), or something names why the
 * socket was killed: a new connection on its 4-tuple (reused), the RST
 * segment that killed it (reset). The reader ends what is left after
 * TD_TW_CLAIM_NS as killed. */
struct td_tw_end_wait {
	__u64 timer; /* the timer's address (never leaves the kernel) */
	__u64 key;   /* the socket's td_tws key (never leaves the kernel) */
	__u8 due;    /* the timer was due when cancelled: an expiry */
	__u8 pad[7];
	struct td_event ev; /* the end, ready but for its reason */
};

/* How long a killed timewait socket waits for its cause. Every kernel path
 * that kills one for a new connection or a RST shows that connection or
 * segment in the same softirq or system call (microseconds); the window
 * only bounds the wait for a cause that never shows (a recycling SYN the
 * listener dropped, `ss -K`). */
#define TD_TW_CLAIM_NS 2000000000ull

/* td_tw_fins (kernels without kfree_skb's rx_sk): a FIN_WAIT2(tw) socket
 * by its 4-tuple, so that the segment freed on the timewait path after the
 * peer's FIN finds it. */
struct td_tw_fin_wait {
	__u64 tw;  /* the timewait socket's address (never leaves the kernel) */
	__u64 key; /* its td_tws key */
};

/* The last timewait timer cancelled on this CPU: its re-arm (timer_start)
 * or expiry (timer_expire_entry) follows on the same CPU, and finds its
 * td_tw_ends entry here without reading the socket's tuple again. */
struct td_tw_hint {
	__u64 timer;
	__u64 twkey; /* the socket's td_tws key: its memory may hold a new one soon */
	struct td_tuple key;
};

/*
 * Dwell histograms: log-linear buckets of nanoseconds, 8 per power of two
 * (bucket width <= 12.5 %), so percentiles are close and the log2 view is
 * the sum of 8 buckets. Shared by the BPF side (recording) and userspace
 * (reading, tests).
 */
#define TD_HIST_SUB_BITS 3
#define TD_HIST_SUB	 (1 << TD_HIST_SUB_BITS)
#define TD_HIST_BUCKETS	 ((64 - TD_HIST_SUB_BITS + 1) * TD_HIST_SUB) /* 496 */

static inline __u32 td_log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

static inline __u32 td_hist_bucket(__u64 v)
{
	__u32 msb;

	if (v < TD_HIST_SUB * 2)
		return v; /* exact below 16 ns */
	msb = td_log2_u64(v);
	return (msb - TD_HIST_SUB_BITS + 1) * TD_HIST_SUB +
	       ((v >> (msb - TD_HIST_SUB_BITS)) & (TD_HIST_SUB - 1));
}

/* Smallest value that falls in bucket b. */
static inline __u64 td_hist_bucket_low(__u32 b)
{
	__u32 msb;

	if (b < TD_HIST_SUB * 2)
		return b;
	msb = b / TD_HIST_SUB + TD_HIST_SUB_BITS - 1;
	return (__u64)(TD_HIST_SUB + b % TD_HIST_SUB) << (msb - TD_HIST_SUB_BITS);
}

/* Whether a record's dwell time enters the per-state histograms: a
 * transition out of a state the socket was seen entering (not a creation,
 * not a first sight, not a timewait end whose substate switch was silent).
 * One definition for the kernel (td_emit) and for a replay, which builds
 * the histograms from a recording's records in userspace. */
static inline int td_dwell_counts(const struct td_event *e)
{
	return e->type == TD_EV_STATE && !(e->flags & (TD_F_NEW | TD_F_FIRST | TD_F_LATE)) &&
	       e->old_state < TD_TCP_MAX_STATES;
}

/* Why e's connect() failed before its SYN (enum td_connect_fail), or
 * TD_CONNECT_OK when e is no such failure. */
static inline unsigned td_connect_fail_of(const struct td_event *e)
{
	return e->type == TD_EV_STATE && e->old_state == TD_TCP_SYN_SENT &&
		       e->new_state == TD_TCP_CLOSE && !(e->flags & TD_F_TW) &&
		       e->kind < TD_CONNECT_FAIL_MAX
		   ? e->kind
		   : TD_CONNECT_OK;
}

/* Whether a record that passed the filters goes on the ring under c: one
 * definition for the kernel (td_emit) and for a replay, which shows what
 * the live command would have shown. The timewait census relates the
 * connect() failures to the ports its sockets hold: those come too. */
static inline int td_ring_wants(const volatile struct td_config *c, const struct td_event *e)
{
	return !c->no_events && (!c->tw_only || (e->flags & TD_F_TW) || td_connect_fail_of(e)) &&
	       (!c->type_mask || (c->type_mask & (1 << e->type)));
}

/* Count, sum and maximum of the dwell times per state. imax_ns is the
 * maximum within interval `gen` (td_hist_gen, bumped by the reader). */
struct td_hist_stat {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 imax_ns;
	__u64 gen;
};

/* The last sockets this CPU closed, a ring: a RST sent right after
 * -> CLOSE (abortive close sets CLOSE first) keeps its id and owner, even
 * when the peer's -> CLOSE ran in between (loopback: the RST is delivered
 * in the sender's call, before tcp_send_reset fires). */
#define TD_CLOSED_SLOTS 8 /* a power of 2 */
struct td_closed_ent {
	__u64 key; /* td_socks key */
	__u64 id;
	struct td_owner_info own;
};
struct td_closed {
	__u32 next; /* the slot the next -> CLOSE takes */
	__u32 pad;
	struct td_closed_ent ent[TD_CLOSED_SLOTS];
};

/* A child whose LISTEN -> SYN_RECV fired before it had its own tuple and
 * cookie (6.1: still a copy of its listener), parked per CPU until its next
 * transition, which follows on the same CPU in the same softirq. */
struct td_child_pending {
	__u64 sk; /* the child's address; 0: slot empty */
	__u64 ts_ns;
	struct td_owner_info own;
};

/* Listening sockets by port: children inherit the owner until accept(). */
struct td_listen_key {
	__u32 netns;
	__u16 port; /* host order */
	__u16 family;
};

#endif /* TCPDWELL_EVENTS_H */
