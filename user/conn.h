/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-connection assembly of events (keyed by socket cookie) and what a
 * finished connection says: how it opened, who closed first, how it ended,
 * and whether every transition of it was seen.
 */
#ifndef TCPDWELL_CONN_H
#define TCPDWELL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "events.h"

struct td_conn_ev {
	uint64_t ts_ns;
	union {
		uint64_t dwell_ns;
		uint64_t segs; /* retrans: segments in the skb (0: 1, see events.h) */
	};
	uint8_t type, old_state, new_state, flags;
	uint8_t kind;
	uint8_t task_flags; /* state: TD_TASK_* (run) */
	int32_t arg;
};

struct td_conn {
	uint64_t cookie;
	struct td_event id; /* tuple and owner, from the latest event */
	uint32_t n, cap;
	uint32_t dropped; /* retransmits/resets beyond TD_CONN_MAX_EVENTS */
	struct td_conn_ev *ev;
	bool finished;
	uint64_t end_ns;	  /* finished: its -> CLOSE's time */
	struct td_conn *next;	  /* hash chain */
	struct td_conn *fin_next; /* finished list */
};

#define TD_CONN_MAX_EVENTS 256

/* A finished connection is handed over once this long has passed since its
 * -> CLOSE: the kernel emits some of a connection's events after it, from
 * the same call (tcp_close() with unread data sets CLOSE, then sends the
 * RST), and a drain may fall between the two; a vCPU preempted there (a
 * loaded VM) widens the gap to milliseconds. See docs/design.md. */
#define TD_CONN_LINGER_NS 1000000000ull
/* td_conns_flush's `now` that hands over every connection, open ones too */
#define TD_CONNS_ALL UINT64_MAX

enum td_opened { TD_OPEN_UNKNOWN, TD_OPEN_ACTIVE, TD_OPEN_PASSIVE };
enum td_closer {
	TD_CLOSER_NONE,
	TD_CLOSER_LOCAL,
	TD_CLOSER_REMOTE,
	TD_CLOSER_SIMULTANEOUS,
	TD_CLOSER_LOCAL_RESET,
	TD_CLOSER_REMOTE_RESET,
	TD_CLOSER_NEVER_OPENED, /* connect failed: refused or timed out */
};
enum td_end {
	TD_END_OPEN,	/* still open when the tracer stopped */
	TD_END_CLOSED,	/* closed without a timewait phase here (passive close) */
	TD_END_RESET,	/* closed by a RST, sent or received */
	TD_END_REFUSED, /* connect() answered by a RST */
	TD_END_FAILED,	/* connect() gave up (timeouts) */
	TD_END_NO_PORT, /* connect() found no free local port (before any SYN) */
	TD_END_IN_USE,	/* connect(): the bound port's 4-tuple was taken */
	TD_END_NO_SYN,	/* connect() failed before its SYN for another reason */
	TD_END_TW_BASE, /* + enum td_tw_end: the timewait socket's end */
};

struct td_conn_summary {
	enum td_opened opened;
	enum td_closer closer;
	int end;       /* enum td_end, or TD_END_TW_BASE + enum td_tw_end */
	bool complete; /* created and ended under our eyes, no gap */
	bool has_handshake;
	uint64_t handshake_ns; /* SYN_SENT dwell (active opener) */
	uint64_t lifetime_ns;  /* only when complete */
	uint32_t retrans, retrans_failed, rst_sent, rst_recv, gaps;
	/* the kernel forgot the socket mid-life (its socket-map entry evicted):
	 * a later transition came as a first sight, the dwell before it unknown */
	bool forgotten;
};

struct td_conns;

/* A table of at most max open connections; one beyond that is not kept,
 * and counted once (td_conns_overflowed). */
struct td_conns *td_conns_new(size_t max);
void td_conns_free(struct td_conns *t);

/* File an event (any order); connections finish at their last event. */
void td_conns_add(struct td_conns *t, const struct td_event *e);

typedef void (*td_conn_fn)(void *ctx, const struct td_conn *c);

/* Hand over the connections finished TD_CONN_LINGER_NS before `now` (the
 * events' clock), in the order they finished, and forget them; with
 * now = TD_CONNS_ALL (e.g. at exit) every connection, open ones too. */
void td_conns_flush(struct td_conns *t, td_conn_fn fn, void *ctx, uint64_t now);

size_t td_conns_open(const struct td_conns *t);
uint64_t td_conns_overflowed(const struct td_conns *t);

void td_conn_summarize(const struct td_conn *c, struct td_conn_summary *s);

const char *td_closer_name(enum td_closer c);
const char *td_end_name(int end);

/* Why the connect() of ev failed before its SYN, TD_CONNECT_OK when ev is
 * no such failure (td_connect_fail_of() for a connection's events). */
unsigned td_conn_ev_connect_fail(const struct td_conn_ev *ev);
const char *td_opened_name(enum td_opened o);

#endif /* TCPDWELL_CONN_H */
