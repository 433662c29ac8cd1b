// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "format.h"

#define NBUCKETS 65536

struct td_conns {
	struct td_conn *bucket[NBUCKETS];
	struct td_conn *fin_head, **fin_tail;
	size_t open, max;
	uint64_t overflowed;
};

struct td_conns *td_conns_new(size_t max)
{
	struct td_conns *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fin_tail = &t->fin_head;
	t->max = max;
	return t;
}

static size_t slot(uint64_t cookie)
{
	return (cookie * 0x9e3779b97f4a7c15ull) >> 48;
}

static void conn_free(struct td_conn *c)
{
	free(c->ev);
	free(c);
}

void td_conns_free(struct td_conns *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct td_conn *c = t->bucket[i], *n; c; c = n) {
			n = c->next;
			conn_free(c);
		}
	}
	free(t);
}

static struct td_conn *lookup(struct td_conns *t, uint64_t cookie, bool create, bool first)
{
	struct td_conn **pp = &t->bucket[slot(cookie)], *c;

	for (c = *pp; c; c = c->next)
		if (c->cookie == cookie)
			return c;
	if (!create)
		return NULL;
	if (t->open >= t->max) {
		if (first) /* count each turned-away connection once, at its first event */
			t->overflowed++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie = cookie;
	c->next = *pp;
	*pp = c;
	t->open++;
	return c;
}

static void unlink_conn(struct td_conns *t, struct td_conn *c)
{
	struct td_conn **pp = &t->bucket[slot(c->cookie)];

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	t->open--;
}

/* Keep events in time order whatever order they arrive in. */
static void insert_ev(struct td_conn *c, const struct td_conn_ev *ev)
{
	uint32_t i;

	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 16;
		struct td_conn_ev *n = realloc(c->ev, cap * sizeof(*n));

		if (!n) {
			c->dropped++;
			return;
		}
		c->ev = n;
		c->cap = cap;
	}
	for (i = c->n; i > 0 && c->ev[i - 1].ts_ns > ev->ts_ns; i--)
		c->ev[i] = c->ev[i - 1];
	c->ev[i] = *ev;
	c->n++;
}

/* Does this event end the connection? The kernel side does not emit the
 * full socket's -> CLOSE after a timewait handover, so any -> CLOSE left is
 * the real end: of the socket, or of its timewait socket. */
static bool is_last(const struct td_event *e)
{
	return e->type == TD_EV_STATE && e->new_state == TD_TCP_CLOSE;
}

void td_conns_add(struct td_conns *t, const struct td_event *e)
{
	struct td_conn_ev ev = {
	    .ts_ns = e->ts_ns,
	    .dwell_ns = e->dwell_ns,
	    .type = e->type,
	    .old_state = e->old_state,
	    .new_state = e->new_state,
	    .flags = e->flags,
	    .kind = e->kind,
	    .task_flags = e->type == TD_EV_STATE ? e->task_flags : 0,
	    .arg = e->arg,
	};
	struct td_conn *c;

	/* listeners are not connections (but LISTEN -> SYN_RECV is a child's
	 * birth); a RST for no socket belongs to none */
	if (!e->cookie || e->new_state == TD_TCP_LISTEN ||
	    (e->old_state == TD_TCP_LISTEN &&
	     !(e->type == TD_EV_STATE && e->new_state == TD_TCP_SYN_RECV)))
		return;
	c = lookup(t, e->cookie, true, e->flags & (TD_F_NEW | TD_F_FIRST));
	if (!c)
		return;
	/* The cap is for retransmit/reset storms; transitions (a dozen at most
	 * per connection) are always kept so the end is never lost. */
	if (c->n >= TD_CONN_MAX_EVENTS &&
	    (e->type != TD_EV_STATE || c->n >= 2 * TD_CONN_MAX_EVENTS))
		c->dropped++;
	else
		insert_ev(c, &ev);
	if (!c->id.type || e->ts_ns >= c->id.ts_ns)
		c->id = *e; /* the latest tuple and owner (accept() refines it) */
	if (is_last(e) && !c->finished) {
		c->finished = true;
		c->end_ns = e->ts_ns;
		*t->fin_tail = c;
		t->fin_tail = &c->fin_next;
	}
}

void td_conns_flush(struct td_conns *t, td_conn_fn fn, void *ctx, uint64_t now)
{
	struct td_conn *c, *n, **keep = &t->fin_head;

	for (c = t->fin_head; c; c = n) {
		n = c->fin_next;
		if (now != TD_CONNS_ALL &&
		    (now < c->end_ns || now - c->end_ns < TD_CONN_LINGER_NS)) {
			*keep = c; /* not yet: its last events may still come */
			keep = &c->fin_next;
			continue;
		}
		unlink_conn(t, c);
		fn(ctx, c);
		conn_free(c);
	}
	*keep = NULL;
	t->fin_tail = keep;
	if (now != TD_CONNS_ALL)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while ((c = t->bucket[i])) {
			t->bucket[i] = c->next;
			t->open--;
			fn(ctx, c);
			conn_free(c);
		}
	}
}

size_t td_conns_open(const struct td_conns *t)
{
	return t->open;
}

uint64_t td_conns_overflowed(const struct td_conns *t)
{
	return t->overflowed;
}

void td_conn_summarize(const struct td_conn *c, struct td_conn_summary *s)
{
	const struct td_conn_ev *first = NULL, *last = NULL;
	uint8_t expect = 0;

	memset(s, 0, sizeof(*s));
	s->end = TD_END_OPEN;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct td_conn_ev *e = &c->ev[i];

		switch (e->type) {
		case TD_EV_RETRANS:
			/* segments, as the kernel's TcpRetransSegs counts them: one
			 * skb can carry several (GSO, or collapsed on retransmit) */
			if (e->flags & TD_F_FAILED)
				s->retrans_failed += e->segs ? e->segs : 1;
			else
				s->retrans += e->segs ? e->segs : 1;
			continue;
		case TD_EV_RESET_SENT:
			s->rst_sent++;
			if (!s->closer)
				s->closer = TD_CLOSER_LOCAL_RESET;
			continue;
		case TD_EV_RESET_RECV:
			s->rst_recv++;
			if (!s->closer)
				s->closer = TD_CLOSER_REMOTE_RESET;
			continue;
		}
		if (!first)
			first = e;
		else if (e->flags & TD_F_FIRST)
			s->forgotten = true;
		/* a transition from a state we did not see it enter: events lost */
		/* (a silent FIN_WAIT2(tw) -> TIME_WAIT switch is known, not lost) */
		if (expect && e->old_state != expect &&
		    !((e->flags & TD_F_LATE) && expect == TD_TCP_FIN_WAIT2_TW))
			s->gaps++;
		expect = e->new_state;
		last = e;
		if (e->old_state == TD_TCP_SYN_SENT && e->new_state == TD_TCP_ESTABLISHED &&
		    !(e->flags & (TD_F_NEW | TD_F_FIRST))) { /* else its dwell is unknown */
			s->has_handshake = true;
			s->handshake_ns = e->dwell_ns;
		}
		if (!s->closer && e->old_state == TD_TCP_ESTABLISHED) {
			if (e->new_state == TD_TCP_FIN_WAIT1)
				s->closer = TD_CLOSER_LOCAL;
			else if (e->new_state == TD_TCP_CLOSE_WAIT)
				s->closer = TD_CLOSER_REMOTE;
		}
		if (e->old_state == TD_TCP_FIN_WAIT1 && e->new_state == TD_TCP_CLOSING)
			s->closer = TD_CLOSER_SIMULTANEOUS;
	}
	if (!first)
		return;
	if (first->old_state == TD_TCP_CLOSE && first->new_state == TD_TCP_SYN_SENT)
		s->opened = TD_OPEN_ACTIVE;
	else if (first->old_state == TD_TCP_LISTEN && first->new_state == TD_TCP_SYN_RECV)
		s->opened = TD_OPEN_PASSIVE;
	if (c->finished && last->new_state == TD_TCP_CLOSE) {
		if (last->flags & TD_F_TW)
			s->end = TD_END_TW_BASE + last->kind;
		else if (last->kind == TD_TW_END_OVERFLOW)
			s->end = TD_END_TW_BASE + TD_TW_END_OVERFLOW;
		else if (td_conn_ev_connect_fail(last))
			s->end = TD_END_NO_PORT + last->kind - TD_CONNECT_NO_PORT;
		else if (last->old_state == TD_TCP_SYN_SENT)
			s->end = s->rst_recv ? TD_END_REFUSED : TD_END_FAILED;
		else if (s->rst_sent || s->rst_recv)
			s->end = TD_END_RESET;
		else
			s->end = TD_END_CLOSED;
		if (last->old_state == TD_TCP_SYN_SENT)
			s->closer = TD_CLOSER_NEVER_OPENED;
	}
	/* complete: every transition seen and timed (retransmits over the cap do
	 * not count) */
	s->complete = s->opened != TD_OPEN_UNKNOWN && c->finished && !s->gaps && !s->forgotten &&
		      !(first->flags & TD_F_FIRST);
	if (s->complete)
		s->lifetime_ns = last->ts_ns - first->ts_ns;
}

const char *td_opened_name(enum td_opened o)
{
	static const char *const n[] = {"unknown", "active", "passive"};

	return (unsigned)o < 3 ? n[o] : "unknown";
}

const char *td_closer_name(enum td_closer c)
{
	static const char *const n[] = {"none",		"local",       "remote",
					"simultaneous", "local_reset", "remote_reset",
					"never_opened"};

	return (unsigned)c < sizeof(n) / sizeof(n[0]) ? n[c] : "unknown";
}

unsigned td_conn_ev_connect_fail(const struct td_conn_ev *ev)
{
	struct td_event e = {.type = ev->type,
			     .old_state = ev->old_state,
			     .new_state = ev->new_state,
			     .flags = ev->flags,
			     .kind = ev->kind};

	return td_connect_fail_of(&e);
}

const char *td_end_name(int end)
{
	static const char *const n[] = {"open",	  "closed",	  "reset",	  "refused",
					"failed", "no_free_port", "tuple_in_use", "before_syn"};

	if (end >= TD_END_TW_BASE)
		return td_tw_end_name(end - TD_END_TW_BASE);
	return end >= 0 && end < TD_END_TW_BASE ? n[end] : "unknown";
}
