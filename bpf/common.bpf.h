/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Declarations and helpers shared by the BPF programs. The maps and the
 * read-only config are defined once in maps.bpf.c and resolved by the BPF
 * static linker (bpftool gen object) when the objects are linked.
 */
#ifndef TCPDWELL_COMMON_BPF_H
#define TCPDWELL_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6

/* Map types, named so the extern declarations below match maps.bpf.c. */
/*
 * One ring buffer per CPU, each found by the CPU's number: a ring both
 * CPUs reserve in takes its spinlock's cache line back and forth (a
 * 64-byte record cost 269-463 ns shared, 171-227 ns per CPU under churn on
 * this project's 2-CPU host). The reader drains them all with one epoll
 * and puts the records back in time order (user/tracer.c). Ring buffers
 * as inner maps came with ring buffers themselves (5.8).
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* a template: the loader makes each CPU's ring */
} td_ringbuf_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* resized by the loader: one per possible CPU */
	__type(key, __u32);
	__array(values, td_ringbuf_map);
} td_rings_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072); /* resized by the loader */
	__type(key, __u64);	     /* socket cookie */
	__type(value, struct td_sock);
} td_sock_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct td_listen_key);
	__type(value, struct td_owner_info);
} td_listen_map;

/* Owners of sockets older than tcpdwell by socket inode, found in /proc
 * at start (user/owners.c); entries cost memory only once made. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_OLD_SOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* the socket file's inode */
	__type(value, struct td_owner_info);
} td_old_sock_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_closed);
} td_closed_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_child_pending);
} td_child_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TD_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} td_counter_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072); /* resized by the loader */
	__type(key, __u64);	     /* cookie the timewait socket inherited */
	__type(value, struct td_tw);
} td_tw_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct td_tuple);
	__type(value, struct td_tw_end_wait);
} td_tw_end_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072); /* resized by the loader: 1 without own_ids */
	__type(key, struct td_tuple);
	__type(value, __u64); /* the closing socket's address (its td_socks key) */
} td_closing_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized by the loader: 1 where kfree_skb has rx_sk */
	__type(key, struct td_tuple);
	__type(value, struct td_tw_fin_wait);
} td_tw_fin_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_tw_hint);
} td_tw_hint_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TD_TCP_MAX_STATES *TD_HIST_BUCKETS);
	__type(key, __u32); /* state * TD_HIST_BUCKETS + bucket */
	__type(value, __u64);
} td_hist_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TD_TCP_MAX_STATES);
	__type(key, __u32);
	__type(value, struct td_hist_stat);
} td_hist_stat_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8); /* TD_PORT_* bits */
} td_port_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_PIDS);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} td_pid_map;

/* --cgroup / --container: cgroup v2 ids whose owners pass (value 1). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TD_MAX_CGSEL);
	__type(key, __u64);
	__type(value, __u8);
} td_cgsel_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TD_MAX_CG_HIST);
	__type(key, struct td_cg_hist_key);
	__type(value, __u64);
} td_cg_hist_map;

/* td_cg_hist refused a key (full): dwell times counted in no cgroup's */
typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} td_cg_hist_full_map;

/* --laddr / --raddr: longest-prefix match on struct td_lpm_key. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TD_MAX_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct td_lpm_key);
	__type(value, __u8);
} td_lpm_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TD_AGG_SLOTS); /* resized by the loader: x label classes */
	__type(key, __u32);
	__type(value, __u64);
} td_agg_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* resized to 1 by the loader when unused */
	__type(key, __u32);
	__type(value, __u8); /* port class: 0 other, 1.. the allow-list entry */
} td_label_port_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TD_LABEL_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct td_lpm_key);
	__type(value, __u8); /* peer class */
} td_label_peer_map;

extern td_rings_map td_rings SEC(".maps");
extern td_sock_map td_socks SEC(".maps");
extern td_listen_map td_listeners SEC(".maps");
extern td_counter_map td_counters SEC(".maps");
extern td_closed_map td_last_closed SEC(".maps");
extern td_child_map td_child_pend SEC(".maps");
extern td_port_map td_ports SEC(".maps");
extern td_pid_map td_pids SEC(".maps");
extern td_cgsel_map td_cgsel SEC(".maps");
extern td_old_sock_map td_old_socks SEC(".maps");
extern td_cg_hist_map td_cg_hist SEC(".maps");
extern td_cg_hist_full_map td_cg_hist_full SEC(".maps");
extern td_lpm_map td_laddrs SEC(".maps");
extern td_lpm_map td_raddrs SEC(".maps");
extern td_tw_map td_tws SEC(".maps");
extern td_tw_end_map td_tw_ends SEC(".maps");
extern td_closing_map td_closing SEC(".maps");
extern td_tw_fin_map td_tw_fins SEC(".maps");
extern td_tw_hint_map td_tw_hints SEC(".maps");
extern td_hist_map td_hist SEC(".maps");
extern td_hist_stat_map td_hist_stats SEC(".maps");
extern td_agg_map td_agg SEC(".maps");
extern td_label_port_map td_label_ports SEC(".maps");
extern td_label_peer_map td_label_peers SEC(".maps");
extern const volatile struct td_config td_cfg;
/* Entries in td_tw_ends and td_tw_fins: the programs that run for
 * unrelated timers and freed packets look no further while both are 0. */
extern __u32 td_tw_nends;
extern __u32 td_tw_nfins;
/* Interval number of the dwell reader (-i): resets the per-interval max. */
extern __u64 td_hist_gen;

static __always_inline void td_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&td_counters, &idx);

	if (c)
		*c += 1; /* per-CPU slot: no atomics needed */
}

/*
 * Socket identity, two flavours (docs/design.md §3.5):
 *   cookies  where tracing programs may call bpf_get_socket_cookie (5.12,
 *            "bpf: Expose bpf_get_socket_cookie to tracing programs"): a
 *            socket is known by its cookie, the one `ss -e` prints, which
 *            keys its td_socks entry and which its timewait socket
 *            inherits (tw_cookie) and keys td_tws with;
 *   own ids  elsewhere (td_cfg.own_ids, from the loader's load-time probe,
 *            user/sockid.c): td_socks is keyed by the socket's address,
 *            which never leaves the kernel, and each socket gets an id of
 *            tcpdwell's own at first sight, kept in its entry. A timewait
 *            socket inherits nothing the programs can read, so the closing
 *            socket is indexed by its 4-tuple from FIN_WAIT1 on
 *            (td_closing) and the timewait socket finds it there; td_tws is
 *            keyed by the timewait socket's address mixed with its send
 *            sequence, which tells apart two sockets in the same memory.
 * Everything below that names a socket goes through these helpers.
 */
#define TD_OWN_IDS (td_cfg.own_ids)

/* A new id (own ids): per CPU, so no atomics; the CPU in the low bits. */
static __always_inline __u64 td_new_id(void)
{
	__u32 idx = TD_CNT_IDS;
	__u64 *c = bpf_map_lookup_elem(&td_counters, &idx);

	if (!c)
		return 0;
	*c += 1;
	return *c << 12 | (bpf_get_smp_processor_id() & 0xfff);
}

/* A socket's address as a number: the verifier allows no arithmetic on a
 * socket pointer (a key is mixed and hashed) but keeps its value when read
 * back as plain memory. It never leaves the kernel. */
static __always_inline __u64 td_addr(const void *p)
{
	__u64 addr = 0;

	bpf_probe_read_kernel(&addr, sizeof(addr), &p);
	return addr;
}

/* The id of a socket seen for the first time (key: its td_socks key). */
static __always_inline __u64 td_first_id(__u64 key)
{
	return TD_OWN_IDS ? td_new_id() : key;
}

/* The socket's td_socks key. */
static __always_inline __u64 td_sk_key(const struct sock *sk)
{
	return TD_OWN_IDS ? td_addr(sk) : bpf_get_socket_cookie((void *)sk);
}

/* What events call the socket whose key and entry (or NULL) these are;
 * 0 where an own id was never given (a socket first seen mid-life by a
 * program that does not give ids). */
static __always_inline __u64 td_sock_id(__u64 key, const struct td_sock *s)
{
	if (!TD_OWN_IDS)
		return key;
	return s ? s->id : 0;
}

/*
 * A timewait socket reached by pointer arithmetic (from its timer) is read
 * one of two ways, a flavour of the programs that read it (the loader
 * loads one set, user/fastread.c):
 *   direct  bpf_rdonly_cast (6.2, "bpf: Add kfunc bpf_rdonly_cast") makes
 *           the address a pointer whose loads are single instructions,
 *           guarded by the exception table like a BTF argument's (the
 *           verifier turns the call itself into a register move);
 *   probe   a bpf_probe_read_kernel helper call per field, before 6.2.
 * Each flavour passes `direct` as a constant: the other one's code is
 * compiled out of it, so no probe-flavour program calls the kfunc.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline struct inet_timewait_sock *td_tw_direct(const void *tw)
{
	return bpf_rdonly_cast(tw, bpf_core_type_id_kernel(struct inet_timewait_sock));
}

/* The td_tws key of a timewait socket behind a computed pointer. */
static __always_inline __u64 td_tw_key_by(const struct inet_timewait_sock *tw, const bool direct)
{
	struct inet_timewait_sock *d = direct ? td_tw_direct(tw) : NULL;

	if (!TD_OWN_IDS)
		return direct ? d->__tw_common.skc_cookie.counter
			      : BPF_CORE_READ(tw, __tw_common.skc_cookie.counter);
	/* tw_snd_nxt: set once, when the socket is made (tcp_time_wait) */
	return td_addr(tw) ^ (__u64)(direct ? d->__tw_common.skc_tw_snd_nxt
					    : BPF_CORE_READ(tw, __tw_common.skc_tw_snd_nxt))
				 << 32;
}

static __always_inline __u64 td_tw_key(const struct inet_timewait_sock *tw)
{
	return td_tw_key_by(tw, false);
}

/* What td_last_closed remembers of the socket with this key (NULL: not
 * among this CPU's last TD_CLOSED_SLOTS closed sockets). Newest first: an
 * address key may also be an older socket's that lived in that memory. */
static __always_inline struct td_closed_ent *td_closed_find(__u64 key)
{
	__u32 zero = 0;
	struct td_closed *c = bpf_map_lookup_elem(&td_last_closed, &zero);
	__u32 i;

	if (!c)
		return NULL;
#pragma unroll
	for (int n = 1; n <= TD_CLOSED_SLOTS; n++) {
		i = (c->next - n) & (TD_CLOSED_SLOTS - 1);
		if (c->ent[i].key == key)
			return &c->ent[i];
	}
	return NULL;
}

/*
 * In tp_btf programs the socket is a BTF pointer: its fields are read with
 * direct, CO-RE-relocated loads, several times cheaper than a helper call
 * per field. The *_probe variants below are for pointers computed by
 * arithmetic (a timewait socket from its timer), which only probe reads
 * may follow.
 */

/* Protocol as a CO-RE bitfield read: it was a bitfield before 5.6. */
static __always_inline bool td_is_tcp(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD(sk, sk_protocol) == IPPROTO_TCP;
}

/* Family, addresses, ports and netns of a hashed socket of any flavour
 * (BTF pointer: direct loads, no helper calls). */
static __always_inline void td_fill_skc_tuple(struct td_event *e, const struct sock_common *skc)
{
	e->family = skc->skc_family;
	e->lport = skc->skc_num;
	e->rport = bpf_ntohs(skc->skc_dport);
	e->netns = skc->skc_net.net->ns.inum;
	if (e->family == AF_INET) {
		*(__u32 *)e->laddr = skc->skc_rcv_saddr;
		*(__u32 *)e->raddr = skc->skc_daddr;
	} else {
		__builtin_memcpy(e->laddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(e->raddr, &skc->skc_v6_daddr, 16);
	}
}

static __always_inline void td_fill_sock_tuple(struct td_event *e, const struct sock *sk)
{
	td_fill_skc_tuple(e, &sk->__sk_common);
	if (!e->lport) /* unhashed at -> CLOSE: the bound port is still in inet_sport */
		e->lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

/* The same from any socket flavour behind a computed pointer (request or
 * timewait socks start with struct sock_common too), by probe reads. */
static __always_inline void td_fill_tuple_probe(struct td_event *e, const struct sock_common *skc,
						__u16 sport_be)
{
	e->family = BPF_CORE_READ(skc, skc_family);
	e->lport = bpf_ntohs(sport_be);
	e->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	e->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	if (e->family == AF_INET) {
		bpf_core_read(e->laddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(e->raddr, 4, &skc->skc_daddr);
	} else {
		bpf_core_read(e->laddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(e->raddr, 16, &skc->skc_v6_daddr);
	}
}

/* The 4-tuple of a received TCP segment as the socket it was for sees it
 * (local = the segment's destination), and its TCP header. The namespace
 * is the receiving device's (0 when the skb has none). False when the
 * headers cannot be read. */
static __always_inline bool td_skb_tuple(struct td_tuple *k, struct tcphdr *th,
					 const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	struct net_device *dev;
	__u8 ver;

	if (bpf_probe_read_kernel(&ver, 1, head + nh))
		return false;
	if (bpf_probe_read_kernel(th, sizeof(*th), head + BPF_CORE_READ(skb, transport_header)))
		return false;
	k->lport = bpf_ntohs(th->dest);
	k->rport = bpf_ntohs(th->source);
	if ((ver >> 4) == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return false;
		k->family = AF_INET;
		__builtin_memcpy(k->laddr, &ip.daddr, 4);
		__builtin_memcpy(k->raddr, &ip.saddr, 4);
	} else {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return false;
		k->family = AF_INET6;
		__builtin_memcpy(k->laddr, &ip6.daddr, 16);
		__builtin_memcpy(k->raddr, &ip6.saddr, 16);
	}
	dev = BPF_CORE_READ(skb, dev);
	if (dev)
		k->netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	return true;
}

/* An event's address as a full-length key of the address tries (IPv4 as
 * ::ffff:a.b.c.d, see struct td_lpm_key). */
static __always_inline void td_lpm_key_of(struct td_lpm_key *k, __u8 family, const __u8 *addr)
{
	k->prefixlen = 128;
	if (family == AF_INET) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(&k->addr[12], addr, 4);
	} else {
		__builtin_memcpy(k->addr, addr, 16);
	}
}

/* Whether addr (of an event of this family) is inside a CIDR of the trie.
 * IPv4 is looked up as ::ffff:a.b.c.d, the form the loader stores it in. */
static __always_inline bool td_addr_in(void *trie, __u8 family, const __u8 *addr)
{
	struct td_lpm_key k = {};

	td_lpm_key_of(&k, family, addr);
	return bpf_map_lookup_elem(trie, &k) != NULL;
}

/* The filters a socket can never leave, its family (-4/-6) and network
 * namespace (--netns): a socket that fails them is not tracked at all (no
 * map entry, nothing parked), not only kept off the ring. */
static __always_inline bool td_scope_pass(__u8 family, __u32 netns)
{
	return (!td_cfg.family || td_cfg.family == family) &&
	       (!td_cfg.netns || td_cfg.netns == netns);
}

/* Whether a family or namespace filter is set (a constant: the checks
 * below vanish from the programs when not). */
#define TD_SCOPED (td_cfg.family || td_cfg.netns)

/* Kernel-side filters (-4/-6, --netns, --lport, --rport, --laddr, --raddr,
 * --cgroup, --pid, --comm): nothing else crosses the ring or enters a
 * histogram. */
static __always_inline bool td_filter_pass(const struct td_event *e)
{
	__u32 port;
	__u8 *bits;

	if (!td_scope_pass(e->family, e->netns))
		return false;
	if ((td_cfg.addr_filter & TD_ADDR_LOCAL) && !td_addr_in(&td_laddrs, e->family, e->laddr))
		return false;
	if ((td_cfg.addr_filter & TD_ADDR_REMOTE) && !td_addr_in(&td_raddrs, e->family, e->raddr))
		return false;
	if (td_cfg.port_filter & TD_PORT_LOCAL) {
		port = e->lport;
		bits = bpf_map_lookup_elem(&td_ports, &port);
		if (!bits || !(*bits & TD_PORT_LOCAL))
			return false;
	}
	if (td_cfg.port_filter & TD_PORT_REMOTE) {
		port = e->rport;
		bits = bpf_map_lookup_elem(&td_ports, &port);
		if (!bits || !(*bits & TD_PORT_REMOTE))
			return false;
	}
	/* run: the command's sockets are all created under our eyes; a socket
	 * first seen mid-life is older than it, whatever task was on the CPU */
	if (td_cfg.known_owner && e->owner == TD_OWNER_INFERRED)
		return false;
	if (td_cfg.cgroup_filter && !bpf_map_lookup_elem(&td_cgsel, &e->cgroup_id))
		return false;
	if (td_cfg.pid_filter && !bpf_map_lookup_elem(&td_pids, &e->pid))
		return false;
	if (td_cfg.comm[0]) {
		for (int i = 0; i < TD_COMM_LEN; i++) {
			if (e->comm[i] != td_cfg.comm[i])
				return false;
			if (!e->comm[i])
				break;
		}
	}
	return true;
}

/* n into a td_cg_hist key: made on first use; a full map is counted. */
static __always_inline void td_cg_hist_add(struct td_cg_hist_key *k, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&td_cg_hist, k), zero = 0;
	__u32 z = 0;

	if (!v) {
		bpf_map_update_elem(&td_cg_hist, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&td_cg_hist, k);
	}
	if (v) {
		*v += n;
		return;
	}
	v = bpf_map_lookup_elem(&td_cg_hist_full, &z);
	if (v)
		*v += 1;
}

static __always_inline void td_record_cg_dwell(__u64 cgroup_id, __u32 state, __u64 ns)
{
	struct td_cg_hist_key k = {.cgroup_id = cgroup_id, .state = state};

	k.bucket = td_hist_bucket(ns);
	td_cg_hist_add(&k, 1);
	k.bucket = TD_CG_HIST_SUM;
	td_cg_hist_add(&k, ns);
}

static __always_inline void td_record_dwell(__u32 state, __u64 ns)
{
	struct td_hist_stat *st;
	__u32 key;
	__u64 *n;

	if (state >= TD_TCP_MAX_STATES)
		return;
	key = state * TD_HIST_BUCKETS + td_hist_bucket(ns);
	n = bpf_map_lookup_elem(&td_hist, &key);
	if (n)
		*n += 1;
	st = bpf_map_lookup_elem(&td_hist_stats, &state);
	if (st) {
		st->count++;
		st->sum_ns += ns;
		if (ns > st->max_ns)
			st->max_ns = ns;
		if (st->gen != td_hist_gen) {
			st->gen = td_hist_gen;
			st->imax_ns = 0;
		}
		if (ns > st->imax_ns)
			st->imax_ns = ns;
	}
}

/* The label class of an event: its port (the local one when allow-listed,
 * else the remote one) and its peer address, each 0 when not listed. */
static __always_inline __u32 td_agg_class(const struct td_event *e)
{
	struct td_lpm_key k = {};
	__u32 port, pc = 0, qc = 0;
	__u8 *c;

	if (td_cfg.label_ports) {
		port = e->lport;
		c = bpf_map_lookup_elem(&td_label_ports, &port);
		if (!c || !*c) {
			port = e->rport;
			c = bpf_map_lookup_elem(&td_label_ports, &port);
		}
		if (c)
			pc = *c;
	}
	if (td_cfg.label_peers) {
		td_lpm_key_of(&k, e->family, e->raddr);
		c = bpf_map_lookup_elem(&td_label_peers, &k);
		if (c)
			qc = *c;
	}
	return pc * td_cfg.agg_peer_classes + qc;
}

/* Export mode: one counter per (label class, what happened). */
static __always_inline void td_agg_count(const struct td_event *e)
{
	__u32 slot, idx;
	__u64 *n;

	switch (e->type) {
	case TD_EV_STATE:
		slot = TD_AGG_TRANS + (e->old_state & 15) * 16 + (e->new_state & 15);
		break;
	case TD_EV_RETRANS:
		slot = TD_AGG_RETRANS +
		       ((e->flags & TD_F_FAILED) ? TD_AGG_FAILED : (e->kind & 3)) * 16 +
		       (e->old_state & 15);
		break;
	case TD_EV_RESET_SENT:
	case TD_EV_RESET_RECV:
		slot = TD_AGG_RESETS + (e->type == TD_EV_RESET_RECV ? 16 : 0) + (e->old_state & 15);
		break;
	default:
		return;
	}
	idx = td_agg_class(e) * TD_AGG_SLOTS + slot;
	n = bpf_map_lookup_elem(&td_agg, &idx);
	if (n)
		*n += 1; /* per-CPU slot: no atomics needed */
	/* a connect() that failed before its SYN: why, too */
	if (td_connect_fail_of(e)) {
		idx += TD_AGG_CONNFAIL + e->kind - slot;
		n = bpf_map_lookup_elem(&td_agg, &idx);
		if (n)
			*n += 1;
	}
}

/*
 * Everything an event does leaves through here: the kernel-side filters,
 * the dwell histogram of the state it leaves, then the ring buffer (not in
 * dwell mode). Submit without waking the reader, which polls on a short
 * timer; wake it only once td_cfg.wakeup_bytes are queued. A wakeup per
 * event (irq_work + epoll) costs far more than the program (docs/design.md §4).
 */
static __always_inline void td_emit(struct td_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	void *rb;
	__u32 cpu;

	if (!td_filter_pass(e))
		return;
	if (td_cfg.hist && td_dwell_counts(e)) {
		td_record_dwell(e->old_state, e->dwell_ns);
		/* a guessed owner's cgroup is the CPU's task's: unknown (0) */
		if (td_cfg.cg_hist)
			td_record_cg_dwell(e->owner == TD_OWNER_INFERRED ? 0 : e->cgroup_id,
					   e->old_state, e->dwell_ns);
	}
	if (td_cfg.agg)
		td_agg_count(e);
	if (!td_ring_wants(&td_cfg, e))
		return;
	cpu = bpf_get_smp_processor_id();
	rb = bpf_map_lookup_elem(&td_rings, &cpu);
	if (!rb) { /* a CPU the loader gave no ring: cannot happen, counted */
		td_count(TD_CNT_RB_DROPS);
		return;
	}
	if (!td_cfg.wakeup_bytes)
		flags = 0; /* --wakeup-per-event: the kernel's default notification */
	else if (bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= td_cfg.wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(rb, e, sizeof(*e), flags))
		td_count(TD_CNT_RB_DROPS);
	else
		td_count(TD_CNT_EVENTS);
}

/* kfree_skb names the socket a dropped segment was for (rx_sk, 6.11+):
 * for the timewait path that is the timewait socket itself. */
#define TD_KFREE_HAS_RX_SK bpf_core_field_exists(struct trace_event_raw_kfree_skb, rx_sk)

/* The key of an event's 4-tuple (struct td_tuple). */
static __always_inline void td_tuple_of(struct td_tuple *k, const struct td_event *e)
{
	k->netns = e->netns;
	k->family = e->family;
	k->lport = e->lport;
	k->rport = e->rport;
	__builtin_memcpy(k->laddr, e->laddr, TD_ADDR_LEN);
	__builtin_memcpy(k->raddr, e->raddr, TD_ADDR_LEN);
}

/* Take the cancelled timewait timer that waits under k: true when this
 * caller got it (its end record in *ev, its td_tws key in *key), false
 * when none waits there or another CPU took it first (whoever deletes the
 * entry owns it). */
static __always_inline bool td_tw_take(const struct td_tuple *k, struct td_event *ev, __u64 *key)
{
	struct td_tw_end_wait *w = bpf_map_lookup_elem(&td_tw_ends, k);

	if (!w)
		return false;
	__builtin_memcpy(ev, &w->ev, sizeof(*ev));
	*key = w->key;
	if (bpf_map_delete_elem(&td_tw_ends, k))
		return false;
	__sync_fetch_and_add(&td_tw_nends, -1);
	return true;
}

/* A timewait socket ended, for `reason`: report it, stop tracking it (key:
 * its td_tws key, taken while it lived: its memory may be another's now). */
static __always_inline void td_tw_finish(struct td_event *ev, __u64 key, __u8 reason)
{
	struct td_tuple k = {};

	ev->kind = reason;
	td_emit(ev);
	if (!bpf_map_delete_elem(&td_tws, &key))
		td_count(TD_CNT_TW_DELETES);
	if (!TD_KFREE_HAS_RX_SK && td_tw_nfins) {
		td_tuple_of(&k, ev);
		if (!bpf_map_delete_elem(&td_tw_fins, &k))
			__sync_fetch_and_add(&td_tw_nfins, -1);
	}
}

/*
 * A new connection on e's 4-tuple (its first transition out of SYN_SENT,
 * a server's child, their first timers): a timewait socket
 * killed on that 4-tuple was taken over by it, however long it took to
 * show. Nothing to do while no kill waits (td_tw_nends, almost always 0).
 */
static __always_inline void td_tw_claim(const struct td_event *e)
{
	struct td_tuple k = {};
	struct td_event ev;
	__u64 key;

	if (!td_tw_nends)
		return;
	td_tuple_of(&k, e);
	if (td_tw_take(&k, &ev, &key))
		td_tw_finish(&ev, key, TD_TW_END_REUSED);
}

/*
 * --cgroup and --container select a cgroup and everything below it, but a
 * record knows only its owner's own cgroup id, and softirq has no way from
 * an id to its ancestors. So where the owner is the current task, its
 * cgroup's ancestors are looked up in td_cgsel, and a cgroup below a
 * selected one is entered there itself: from then on its id passes
 * td_filter_pass wherever the record is made. The parent is read through
 * the cgroup's own css (cgroup->self.parent), as in every kernel since
 * cgroup v2 began. A full map (TD_MAX_CGSEL cgroups below the selected
 * ones) cannot take a new one: its connections are not seen, and that is
 * counted as a socket-map refusal, a loss.
 */
#define TD_E2BIG 7 /* a full hash map's answer to an insert */

static __always_inline void td_cgroup_learn(__u64 id)
{
	struct cgroup_subsys_state *css;
	struct task_struct *task;
	struct cgroup *cg;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&td_cgsel, &id))
		return;
	task = (struct task_struct *)bpf_get_current_task();
	cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	for (int i = 0; i < TD_CG_LEVELS && cg; i++) {
		__u64 up;

		css = BPF_CORE_READ(cg, self.parent);
		if (!css)
			break;
		cg = container_of(css, struct cgroup, self);
		up = BPF_CORE_READ(cg, kn, id);
		if (bpf_map_lookup_elem(&td_cgsel, &up)) {
			if (bpf_map_update_elem(&td_cgsel, &id, &one, BPF_NOEXIST) == -TD_E2BIG)
				td_count(TD_CNT_SOCK_INSERT_FAIL);
			break;
		}
	}
}

static __always_inline void td_owner_current(struct td_owner_info *o, __u8 source)
{
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->source = source;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	if (td_cfg.cgroup_filter)
		td_cgroup_learn(o->cgroup_id);
}

static __always_inline void td_listener_key(struct td_listen_key *k, const struct td_event *e)
{
	k->netns = e->netns;
	k->port = e->lport;
	k->family = 0; /* a [::] listener also takes IPv4 children */
}

/* The owner of the listener on e's local port as entered (source listen,
 * or proc for one older than the tracer). False when none is known. */
static __always_inline bool td_listener_find(struct td_owner_info *o, const struct td_event *e)
{
	struct td_listen_key lk = {};
	struct td_owner_info *lo;

	td_listener_key(&lk, e);
	lo = bpf_map_lookup_elem(&td_listeners, &lk);
	if (!lo)
		return false;
	*o = *lo;
	return true;
}

/* The owner /proc showed for a socket older than tcpdwell: by the inode
 * of its socket file (SOCK_INODE: the struct socket sits in a
 * struct socket_alloc beside its inode). False for one no process holds. */
static __always_inline bool td_old_sock_owner(struct td_owner_info *o, const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	struct socket_alloc *sa;
	struct td_owner_info *v;
	__u64 ino;

	if (!sock)
		return false;
	sa = (void *)sock - bpf_core_field_offset(struct socket_alloc, socket);
	ino = BPF_CORE_READ(sa, vfs_inode.i_ino);
	v = ino ? bpf_map_lookup_elem(&td_old_socks, &ino) : NULL;
	if (!v)
		return false;
	*o = *v;
	return true;
}

/* ... as inherited by its children and request socks. */
static __always_inline bool td_listener_owner(struct td_owner_info *o, const struct td_event *e)
{
	if (!td_listener_find(o, e))
		return false;
	o->source = TD_OWNER_LISTENER;
	return true;
}

static __always_inline void td_event_owner(struct td_event *e, const struct td_owner_info *o)
{
	e->pid = o->pid;
	e->cgroup_id = o->cgroup_id;
	e->owner = o->source;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
}

/*
 * CLOSE -> SYN_SENT fires in tcp_v4_connect() before the ephemeral port is
 * bound, so state.bpf.c holds it back and every program flushes it, with
 * the now-known port and its original timestamp, before the socket's next
 * event.
 */
static __always_inline void td_flush_pending(const struct sock *sk, __u64 id, struct td_sock *s)
{
	struct td_event e = {};

	if (!s->pending)
		return;
	s->pending = 0;
	e.type = TD_EV_STATE;
	e.ts_ns = s->last_ns;
	e.cookie = id;
	e.old_state = TD_TCP_CLOSE;
	e.new_state = TD_TCP_SYN_SENT;
	e.flags = TD_F_NEW | TD_F_DEFERRED;
	td_fill_sock_tuple(&e, sk);
	td_event_owner(&e, &s->own);
	td_emit(&e);
}

/*
 * Id and owner for events on a socket (key: td_sk_key): its map entry,
 * else the sockets this CPU just closed (a RST follows -> CLOSE in the same
 * call; on loopback the peer's -> CLOSE can run in between), else whoever
 * is on the CPU.
 */
static __always_inline struct td_sock *td_sock_lookup(const struct sock *sk, __u64 key,
						      struct td_event *e)
{
	struct td_sock *s = bpf_map_lookup_elem(&td_socks, &key);
	struct td_owner_info o = {};
	struct td_closed_ent *c;

	e->cookie = td_sock_id(key, s);
	if (s) {
		td_flush_pending(sk, e->cookie, s);
		td_event_owner(e, &s->own);
		return s;
	}
	c = td_closed_find(key);
	if (c) {
		e->cookie = c->id;
		td_event_owner(e, &c->own);
		return NULL;
	}
	td_owner_current(&o, TD_OWNER_INFERRED);
	td_event_owner(e, &o);
	return NULL;
}

#endif /* TCPDWELL_COMMON_BPF_H */
