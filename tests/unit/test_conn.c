// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests for user/conn.c (per-connection assembly and what a finished
 * connection says) and td_timeline_print (user/timeline.c), on synthetic
 * event streams shaped like what the kernel side emits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "cli.h"
#include "timeline.h"
#include "jsoncheck.h"
#include "rng.h"

#define US  1000ull
#define MS  1000000ull
#define SEC 1000000000ull
#define T0  (100 * SEC) /* monotonic time of the first event */
/* a drain long after every event of a test: all finished ones are due */
#define LATER (1000000 * SEC)

#define HANDSHAKE_NS (150 * US)

/* ---- building event streams -------------------------------------------- */

#define STREAM_MAX 400

/* The events of one connection, in time order; dwell times follow from
 * the timestamps the way the kernel side computes them. */
struct stream {
	uint64_t cookie;
	uint64_t t;	  /* time of the last event */
	uint64_t entered; /* when the current state was entered */
	uint8_t owner;
	uint32_t pid;
	const char *comm;
	size_t n;
	struct td_event e[STREAM_MAX];
};

static void s_init(struct stream *s, uint64_t cookie, uint64_t t0)
{
	memset(s, 0, sizeof(*s));
	s->cookie = cookie;
	s->t = t0;
	s->entered = t0;
	s->owner = TD_OWNER_CONNECT;
	s->pid = 1234;
	s->comm = "curl";
}

static struct td_event *s_append(struct stream *s, uint64_t after, unsigned type, unsigned old,
				 unsigned new, unsigned flags, unsigned kind)
{
	struct td_event *e;

	assert_true(s->n < STREAM_MAX);
	e = &s->e[s->n++];
	s->t += after;
	memset(e, 0, sizeof(*e));
	e->ts_ns = s->t;
	e->cookie = s->cookie;
	e->cgroup_id = 77;
	e->pid = s->pid;
	e->netns = 4026531840u;
	e->type = type;
	e->family = AF_INET;
	e->old_state = old;
	e->new_state = new;
	e->owner = s->owner;
	e->flags = flags;
	e->lport = 40000 + s->cookie % 1000;
	e->rport = 80;
	e->kind = kind;
	e->laddr[0] = 127;
	e->laddr[3] = 1;
	e->raddr[0] = 10;
	e->raddr[3] = 2;
	strncpy(e->comm, s->comm, sizeof(e->comm) - 1);
	return e;
}

/* A transition `after` ns after the previous event. */
static struct td_event *s_state(struct stream *s, uint64_t after, unsigned old, unsigned new,
				unsigned flags, unsigned kind)
{
	struct td_event *e = s_append(s, after, TD_EV_STATE, old, new, flags, kind);

	e->dwell_ns = flags & (TD_F_NEW | TD_F_FIRST) ? 0 : e->ts_ns - s->entered;
	s->entered = e->ts_ns;
	return e;
}

/* A retransmit or reset: type, the current state, no dwell. */
static struct td_event *s_other(struct stream *s, uint64_t after, unsigned type, unsigned state,
				unsigned flags, unsigned kind, int arg)
{
	struct td_event *e = s_append(s, after, type, state, state, flags, kind);

	e->arg = arg;
	return e;
}

/* connect(): CLOSE -> SYN_SENT -> ESTABLISHED. */
static void client_opening(struct stream *s, uint64_t cookie, uint64_t t0)
{
	s_init(s, cookie, t0);
	s_state(s, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	s_state(s, HANDSHAKE_NS, TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 0);
}

static void client_closing(struct stream *s)
{
	s_state(s, 2 * SEC, TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1, 0, 0);
	s_state(s, 40 * US, TD_TCP_FIN_WAIT1, TD_TCP_FIN_WAIT2, 0, 0);
}

/* connect(), then the client closes first and its TIME_WAIT expires. */
static void client_expired(struct stream *s, uint64_t cookie, uint64_t t0)
{
	client_opening(s, cookie, t0);
	client_closing(s);
	s_state(s, 30 * MS, TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
}

/* Lifetime of client_expired(): every step above. */
#define CLIENT_EXPIRED_LIFETIME (HANDSHAKE_NS + 2 * SEC + 40 * US + 30 * MS + 60 * SEC)

/* A server's accepted child; the peer closes first. */
static void server_child(struct stream *s, uint64_t cookie, uint64_t t0)
{
	struct td_event *e;

	s_init(s, cookie, t0);
	s->owner = TD_OWNER_LISTENER;
	s->pid = 500;
	s->comm = "nginx";
	/* on 6.1 the child's birth carries no peer address (docs/design.md §3.1) */
	e = s_state(s, 0, TD_TCP_LISTEN, TD_TCP_SYN_RECV, TD_F_NEW, 0);
	e->lport = 8080;
	e->rport = 0;
	memset(e->raddr, 0, sizeof(e->raddr));
	e = s_state(s, 60 * US, TD_TCP_SYN_RECV, TD_TCP_ESTABLISHED, 0, 0);
	e->lport = 8080;
	/* accept() refines the owner */
	s->owner = TD_OWNER_ACCEPT;
	s->pid = 501;
	s->comm = "nginx-worker";
	e = s_state(s, 5 * SEC, TD_TCP_ESTABLISHED, TD_TCP_CLOSE_WAIT, 0, 0);
	e->lport = 8080;
	e = s_state(s, 200 * US, TD_TCP_CLOSE_WAIT, TD_TCP_LAST_ACK, 0, 0);
	e->lport = 8080;
	e = s_state(s, 90 * US, TD_TCP_LAST_ACK, TD_TCP_CLOSE, 0, 0);
	e->lport = 8080;
}

static void add_all(struct td_conns *t, const struct stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		td_conns_add(t, &s->e[i]);
}

/* ---- collecting what td_conns_flush hands over -------------------------- */

/* A copy of a connection (td_conns_flush frees it after the callback). */
struct snap {
	uint64_t cookie;
	struct td_event id;
	uint32_t n, dropped;
	bool finished;
	struct td_conn_ev ev[2 * TD_CONN_MAX_EVENTS]; /* transitions are kept past the cap */
	struct td_conn_summary s;
	char text[8192];
	char json[8192];
	size_t json_len;
};

#define SINK_MAX 8

struct sink {
	size_t n;
	bool render;
	struct snap c[SINK_MAX];
};

static size_t render(const struct td_conn *c, enum td_format fmt, char *out, size_t sz)
{
	struct td_opts o;
	FILE *f = tmpfile();
	size_t len;

	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	o.format = fmt;
	td_timeline_print(f, &o, NULL, c);
	assert_int_equal(fflush(f), 0);
	rewind(f);
	len = fread(out, 1, sz - 1, f);
	assert_true(len < sz - 1); /* the buffer was big enough */
	out[len] = '\0';
	fclose(f);
	return len;
}

static void collect(void *ctx, const struct td_conn *c)
{
	struct sink *k = ctx;
	struct snap *p;

	assert_true(k->n < SINK_MAX);
	p = &k->c[k->n++];
	p->cookie = c->cookie;
	p->id = c->id;
	p->n = c->n;
	p->dropped = c->dropped;
	p->finished = c->finished;
	assert_true(c->n <= 2 * TD_CONN_MAX_EVENTS);
	memcpy(p->ev, c->ev, c->n * sizeof(c->ev[0]));
	td_conn_summarize(c, &p->s);
	if (k->render) {
		render(c, TD_FMT_TEXT, p->text, sizeof(p->text));
		p->json_len = render(c, TD_FMT_JSON, p->json, sizeof(p->json));
	}
}

static struct sink *sink_new(void)
{
	struct sink *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	return k;
}

static const struct snap *find(const struct sink *k, uint64_t cookie)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->c[i].cookie == cookie)
			return &k->c[i];
	return NULL;
}

#define assert_str(a, b)                                                                           \
	do {                                                                                       \
		if (strcmp((a), (b)))                                                              \
			fprintf(stderr, "got <<%s>> want <<%s>>\n", (a), (b));                     \
		assert_string_equal((a), (b));                                                     \
	} while (0)

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fprintf(stderr, "missing <<%s>> in <<%s>>\n", (needle), (hay));            \
		assert_non_null(strstr((hay), (needle)));                                          \
	} while (0)

/* The events kept match the stream's, field by field, in time order. */
static void assert_events_are(const struct snap *p, const struct td_event *e, size_t n)
{
	assert_int_equal(p->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p->ev[i].ts_ns, e[i].ts_ns);
		assert_int_equal(p->ev[i].dwell_ns, e[i].dwell_ns);
		assert_int_equal(p->ev[i].type, e[i].type);
		assert_int_equal(p->ev[i].old_state, e[i].old_state);
		assert_int_equal(p->ev[i].new_state, e[i].new_state);
		assert_int_equal(p->ev[i].flags, e[i].flags);
		assert_int_equal(p->ev[i].kind, e[i].kind);
		assert_int_equal(p->ev[i].arg, e[i].arg);
	}
}

static void assert_summary_equal(const struct td_conn_summary *a, const struct td_conn_summary *b)
{
	assert_int_equal(a->opened, b->opened);
	assert_int_equal(a->closer, b->closer);
	assert_int_equal(a->end, b->end);
	assert_int_equal(a->complete, b->complete);
	assert_int_equal(a->has_handshake, b->has_handshake);
	assert_int_equal(a->handshake_ns, b->handshake_ns);
	assert_int_equal(a->lifetime_ns, b->lifetime_ns);
	assert_int_equal(a->retrans, b->retrans);
	assert_int_equal(a->retrans_failed, b->retrans_failed);
	assert_int_equal(a->rst_sent, b->rst_sent);
	assert_int_equal(a->rst_recv, b->rst_recv);
	assert_int_equal(a->gaps, b->gaps);
}

/* Add a whole stream, flush finished connections, expect exactly one. */
static const struct snap *one_conn(struct sink *k, const struct stream *s)
{
	struct td_conns *t = td_conns_new(16);

	assert_non_null(t);
	add_all(t, s);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 1);
	assert_int_equal(td_conns_open(t), 0);
	assert_int_equal(td_conns_overflowed(t), 0);
	td_conns_free(t);
	assert_int_equal(k->c[0].cookie, s->cookie);
	return &k->c[0];
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	assert_str(td_opened_name(TD_OPEN_UNKNOWN), "unknown");
	assert_str(td_opened_name(TD_OPEN_ACTIVE), "active");
	assert_str(td_opened_name(TD_OPEN_PASSIVE), "passive");
	assert_str(td_opened_name((enum td_opened)7), "unknown");
	assert_str(td_closer_name(TD_CLOSER_NONE), "none");
	assert_str(td_closer_name(TD_CLOSER_LOCAL), "local");
	assert_str(td_closer_name(TD_CLOSER_REMOTE), "remote");
	assert_str(td_closer_name(TD_CLOSER_SIMULTANEOUS), "simultaneous");
	assert_str(td_closer_name(TD_CLOSER_LOCAL_RESET), "local_reset");
	assert_str(td_closer_name(TD_CLOSER_REMOTE_RESET), "remote_reset");
	assert_str(td_closer_name(TD_CLOSER_NEVER_OPENED), "never_opened");
	assert_str(td_closer_name((enum td_closer)99), "unknown");
	assert_str(td_end_name(TD_END_OPEN), "open");
	assert_str(td_end_name(TD_END_CLOSED), "closed");
	assert_str(td_end_name(TD_END_RESET), "reset");
	assert_str(td_end_name(TD_END_REFUSED), "refused");
	assert_str(td_end_name(TD_END_FAILED), "failed");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_EXPIRED), "expired");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_REUSED), "reused");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_RESET), "reset");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_KILLED), "killed");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_OVERFLOW), "overflow");
	assert_str(td_end_name(TD_END_TW_BASE + TD_TW_END_MAX), "unknown");
	assert_str(td_end_name(-1), "unknown");
}

/* ---- whole connections ---------------------------------------------------- */

static void test_client_expired(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	client_expired(&s, 1001, T0);
	p = one_conn(k, &s);
	assert_true(p->finished);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_str(td_end_name(p->s.end), "expired");
	assert_true(p->s.complete);
	assert_true(p->s.has_handshake);
	assert_int_equal(p->s.handshake_ns, HANDSHAKE_NS);
	assert_int_equal(p->s.lifetime_ns, s.e[s.n - 1].ts_ns - s.e[0].ts_ns);
	assert_int_equal(p->s.lifetime_ns, CLIENT_EXPIRED_LIFETIME);
	assert_int_equal(p->s.gaps, 0);
	assert_int_equal(p->s.retrans + p->s.retrans_failed + p->s.rst_sent + p->s.rst_recv, 0);
	assert_int_equal(p->dropped, 0);
	free(k);
}

/* Through FIN_WAIT2(tw): the orphan substate, then TIME_WAIT, ended by
 * each of the timewait socket's possible ends. */
static void test_client_timewait_ends(void **state)
{
	static const struct {
		unsigned kind;
		const char *name;
	} ends[] = {
	    {TD_TW_END_EXPIRED, "expired"},
	    {TD_TW_END_REUSED, "reused"},
	    {TD_TW_END_RESET, "reset"},
	    {TD_TW_END_KILLED, "killed"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct stream s;
		struct sink *k = sink_new();
		const struct snap *p;

		client_opening(&s, 2000 + i, T0);
		client_closing(&s);
		s_state(&s, 10 * US, TD_TCP_FIN_WAIT2, TD_TCP_FIN_WAIT2_TW, TD_F_TW, 0);
		s_state(&s, 3 * MS, TD_TCP_FIN_WAIT2_TW, TD_TCP_TIME_WAIT, TD_F_TW, 0);
		s_state(&s, 7 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, ends[i].kind);
		p = one_conn(k, &s);
		assert_events_are(p, s.e, s.n);
		assert_int_equal(p->s.end, TD_END_TW_BASE + ends[i].kind);
		assert_str(td_end_name(p->s.end), ends[i].name);
		assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
		assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
		assert_true(p->s.complete);
		assert_int_equal(p->s.gaps, 0);
		assert_int_equal(p->s.lifetime_ns, s.e[s.n - 1].ts_ns - s.e[0].ts_ns);
		free(k);
	}
}

/*
 * The FIN_WAIT2(tw) -> TIME_WAIT switch was silent (a re-arm in the same
 * timer-wheel bucket): the kernel side says so with TD_F_LATE on the end,
 * whose old state is TIME_WAIT. Nothing was lost; the connection was seen
 * whole.
 */
static void test_client_late_timewait_is_not_a_gap(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conn_summary sum;
	const struct snap *p;

	(void)state;
	client_opening(&s, 2100, T0);
	client_closing(&s);
	s_state(&s, 10 * US, TD_TCP_FIN_WAIT2, TD_TCP_FIN_WAIT2_TW, TD_F_TW, 0);
	s_state(&s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW | TD_F_LATE,
		TD_TW_END_EXPIRED);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	sum = p->s;
	free(k);
	assert_int_equal(sum.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_int_equal(sum.closer, TD_CLOSER_LOCAL);
	if (sum.gaps || !sum.complete)
		fprintf(stderr,
			"TD_F_LATE end after FIN_WAIT2(tw): gaps %u complete %d, want 0 1\n",
			sum.gaps, sum.complete);
	assert_int_equal(sum.gaps, 0);
	assert_true(sum.complete);
	assert_int_equal(sum.lifetime_ns, s.e[s.n - 1].ts_ns - s.e[0].ts_ns);
}

static void test_server_child(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	server_child(&s, 3001, T0);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.opened, TD_OPEN_PASSIVE);
	assert_int_equal(p->s.closer, TD_CLOSER_REMOTE);
	assert_int_equal(p->s.end, TD_END_CLOSED);
	assert_str(td_end_name(p->s.end), "closed");
	assert_true(p->s.complete);
	assert_false(p->s.has_handshake); /* only an active opener times it */
	assert_int_equal(p->s.lifetime_ns, s.e[s.n - 1].ts_ns - s.e[0].ts_ns);
	assert_int_equal(p->s.lifetime_ns, 60 * US + 5 * SEC + 200 * US + 90 * US);
	free(k);
}

/* The tuple and owner are the latest event's: accept() took the child over
 * from its listener, and the peer address the birth lacked is known. */
static void test_owner_from_latest_event(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	const struct snap *p;

	(void)state;
	server_child(&s, 3002, T0);
	assert_int_equal(s.e[0].owner, TD_OWNER_LISTENER);

	/* in order */
	add_all(t, &s);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 1);
	p = &k->c[0];
	assert_int_equal(p->id.owner, TD_OWNER_ACCEPT);
	assert_int_equal(p->id.pid, 501);
	assert_str(p->id.comm, "nginx-worker");
	assert_int_equal(p->id.rport, 80);
	assert_int_equal(p->id.raddr[0], 10);
	assert_int_equal(p->id.lport, 8080);
	assert_int_equal(p->id.ts_ns, s.e[s.n - 1].ts_ns);
	assert_memory_equal(&p->id, &s.e[s.n - 1], sizeof(p->id));

	/* newest first: an older event arriving late does not take over */
	for (size_t i = s.n; i-- > 0;)
		td_conns_add(t, &s.e[i]);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 2);
	p = &k->c[1];
	assert_int_equal(p->id.owner, TD_OWNER_ACCEPT);
	assert_int_equal(p->id.pid, 501);
	assert_memory_equal(&p->id, &s.e[s.n - 1], sizeof(p->id));

	/* the owner at the birth of the child was the listener's */
	s_init(&s, 3003, T0);
	s.owner = TD_OWNER_LISTENER;
	s.pid = 500;
	s_state(&s, 0, TD_TCP_LISTEN, TD_TCP_SYN_RECV, TD_F_NEW, 0);
	add_all(t, &s);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 3);
	assert_int_equal(k->c[2].id.owner, TD_OWNER_LISTENER);
	assert_int_equal(k->c[2].id.pid, 500);
	td_conns_free(t);
	free(k);
}

static void test_refused(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	s_init(&s, 4001, T0);
	s_state(&s, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	s_other(&s, 70 * US, TD_EV_RESET_RECV, TD_TCP_SYN_SENT, 0, 0, 0);
	s_state(&s, 5 * US, TD_TCP_SYN_SENT, TD_TCP_CLOSE, 0, 0);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.end, TD_END_REFUSED);
	assert_str(td_end_name(p->s.end), "refused");
	assert_int_equal(p->s.closer, TD_CLOSER_NEVER_OPENED);
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_int_equal(p->s.rst_recv, 1);
	assert_int_equal(p->s.rst_sent, 0);
	assert_false(p->s.has_handshake);
	assert_true(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 75 * US);
	free(k);
}

/* connect() gave up: SYN retransmits and no answer. */
static void test_connect_timed_out(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	s_init(&s, 4002, T0);
	s_state(&s, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	s_other(&s, 1 * SEC, TD_EV_RETRANS, TD_TCP_SYN_SENT, 0, TD_RETRANS_SYN, 0);
	s_other(&s, 2 * SEC, TD_EV_RETRANS, TD_TCP_SYN_SENT, 0, TD_RETRANS_SYN, 0);
	s_other(&s, 4 * SEC, TD_EV_RETRANS, TD_TCP_SYN_SENT, 0, TD_RETRANS_SYN, 0);
	s_state(&s, 8 * SEC, TD_TCP_SYN_SENT, TD_TCP_CLOSE, 0, 0);
	p = one_conn(k, &s);
	assert_int_equal(p->s.end, TD_END_FAILED);
	assert_int_equal(p->s.closer, TD_CLOSER_NEVER_OPENED);
	assert_int_equal(p->s.retrans, 3);
	assert_int_equal(p->s.retrans_failed, 0);
	assert_false(p->s.has_handshake);
	assert_true(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 15 * SEC);
	free(k);
}

/* Abortive close (SO_LINGER 0): -> CLOSE first, then the RST, same batch. */
static void test_abortive_close_rst_after_close(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	const struct snap *p;

	(void)state;
	client_opening(&s, 5001, T0);
	s_state(&s, 1 * SEC, TD_TCP_ESTABLISHED, TD_TCP_CLOSE, 0, 0);
	s_other(&s, 4 * US, TD_EV_RESET_SENT, TD_TCP_CLOSE, TD_F_HAS_REASON, 0, 0);
	/* a drain fell between the two: -> CLOSE came in one, the RST in the
	 * next; the connection waits TD_CONN_LINGER_NS for it */
	for (size_t i = 0; i + 1 < s.n; i++)
		td_conns_add(t, &s.e[i]);
	td_conns_flush(t, collect, k, s.e[s.n - 2].ts_ns + 1 * MS);
	assert_int_equal(k->n, 0);
	td_conns_add(t, &s.e[s.n - 1]);
	assert_int_equal(td_conns_open(t), 1); /* the RST joined its connection */
	td_conns_flush(t, collect, k, s.e[s.n - 2].ts_ns + TD_CONN_LINGER_NS - 1);
	assert_int_equal(k->n, 0);
	td_conns_flush(t, collect, k, s.e[s.n - 2].ts_ns + TD_CONN_LINGER_NS);
	assert_int_equal(k->n, 1);
	assert_int_equal(td_conns_open(t), 0);
	p = &k->c[0];
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.rst_sent, 1);
	assert_int_equal(p->s.rst_recv, 0);
	assert_int_equal(p->s.end, TD_END_RESET);
	assert_str(td_end_name(p->s.end), "reset");
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL_RESET);
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_true(p->s.complete);
	assert_int_equal(p->s.gaps, 0);
	/* lifetime ends with the last transition */
	assert_int_equal(p->s.lifetime_ns, HANDSHAKE_NS + 1 * SEC);

	/* nothing left over: a later flush(all) hands over nothing */
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 1);
	td_conns_free(t);
	free(k);
}

/* The peer aborts: RST received in ESTABLISHED, then -> CLOSE. */
static void test_remote_reset(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	server_child(&s, 5002, T0);
	s.n = 2; /* SYN_RECV -> ESTABLISHED is the last kept */
	s.t = s.e[1].ts_ns;
	s.entered = s.t;
	s_other(&s, 3 * SEC, TD_EV_RESET_RECV, TD_TCP_ESTABLISHED, 0, 0, 0);
	s_state(&s, 2 * US, TD_TCP_ESTABLISHED, TD_TCP_CLOSE, 0, 0);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.opened, TD_OPEN_PASSIVE);
	assert_int_equal(p->s.closer, TD_CLOSER_REMOTE_RESET);
	assert_int_equal(p->s.end, TD_END_RESET);
	assert_int_equal(p->s.rst_recv, 1);
	assert_true(p->s.complete);
	free(k);
}

/* No timewait socket (tcp_max_tw_buckets reached). */
static void test_overflow_end(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	client_opening(&s, 6001, T0);
	client_closing(&s);
	s_state(&s, 20 * MS, TD_TCP_FIN_WAIT2, TD_TCP_CLOSE, 0, TD_TW_END_OVERFLOW);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_OVERFLOW);
	assert_str(td_end_name(p->s.end), "overflow");
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	assert_true(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, s.e[s.n - 1].ts_ns - s.e[0].ts_ns);
	free(k);
}

/* Both sides sent FIN at once: FIN_WAIT1 -> CLOSING. */
static void test_simultaneous_close(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	client_opening(&s, 7001, T0);
	s_state(&s, 1 * SEC, TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1, 0, 0);
	s_state(&s, 30 * US, TD_TCP_FIN_WAIT1, TD_TCP_CLOSING, 0, 0);
	s_state(&s, 40 * US, TD_TCP_CLOSING, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(&s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.closer, TD_CLOSER_SIMULTANEOUS);
	assert_str(td_closer_name(p->s.closer), "simultaneous");
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_true(p->s.complete);
	assert_int_equal(p->s.gaps, 0);
	free(k);
}

static void test_retransmits(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;
	struct stream tail;

	(void)state;
	s_init(&s, 8001, T0);
	s_state(&s, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	s_other(&s, 1 * SEC, TD_EV_RETRANS, TD_TCP_SYN_SENT, TD_F_HAS_ERR, TD_RETRANS_SYN, 0);
	s_state(&s, 200 * US, TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 0);
	s_other(&s, 300 * MS, TD_EV_RETRANS, TD_TCP_ESTABLISHED, TD_F_HAS_ERR, TD_RETRANS_DATA, 0);
	s_other(&s, 600 * MS, TD_EV_RETRANS, TD_TCP_ESTABLISHED, TD_F_HAS_ERR | TD_F_FAILED,
		TD_RETRANS_DATA, -ENOBUFS);
	s_other(&s, 10 * MS, TD_EV_RETRANS, TD_TCP_ESTABLISHED, TD_F_HAS_ERR, TD_RETRANS_DATA, 0);
	client_expired(&tail, 8001, 0);
	/* the closing half of a client, after the retransmits */
	for (size_t i = 2; i < tail.n; i++)
		s_state(&s, tail.e[i].ts_ns - tail.e[i - 1].ts_ns, tail.e[i].old_state,
			tail.e[i].new_state, tail.e[i].flags, tail.e[i].kind);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.retrans, 3);
	assert_int_equal(p->s.retrans_failed, 1);
	assert_true(p->s.has_handshake);
	assert_int_equal(p->s.handshake_ns, 1 * SEC + 200 * US); /* SYN_SENT dwell */
	/* retransmits are not transitions: no gap, still complete */
	assert_int_equal(p->s.gaps, 0);
	assert_true(p->s.complete);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	free(k);
}

/* ---- out-of-order delivery ------------------------------------------------ */

/* Two connections' worth of events, all added in the given order. */
static void run_order(struct sink *k, const struct td_event *const *order, size_t n)
{
	struct td_conns *t = td_conns_new(16);

	assert_non_null(t);
	for (size_t i = 0; i < n; i++)
		td_conns_add(t, order[i]);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(td_conns_open(t), 0);
	td_conns_free(t);
}

static void assert_same_conn(const struct snap *a, const struct snap *b)
{
	assert_int_equal(a->cookie, b->cookie);
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->dropped, b->dropped);
	assert_int_equal(a->finished, b->finished);
	for (uint32_t i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].ts_ns, b->ev[i].ts_ns);
		assert_int_equal(a->ev[i].dwell_ns, b->ev[i].dwell_ns);
		assert_int_equal(a->ev[i].type, b->ev[i].type);
		assert_int_equal(a->ev[i].old_state, b->ev[i].old_state);
		assert_int_equal(a->ev[i].new_state, b->ev[i].new_state);
		assert_int_equal(a->ev[i].flags, b->ev[i].flags);
		assert_int_equal(a->ev[i].kind, b->ev[i].kind);
		assert_int_equal(a->ev[i].arg, b->ev[i].arg);
		if (i)
			assert_true(a->ev[i - 1].ts_ns <= a->ev[i].ts_ns);
	}
	assert_memory_equal(&a->id, &b->id, sizeof(a->id));
	assert_summary_equal(&a->s, &b->s);
}

static void test_out_of_order(void **state)
{
	struct stream a, b;
	const struct td_event *all[2 * STREAM_MAX], *order[2 * STREAM_MAX];
	struct sink *ref = sink_new(), *k = sink_new();
	size_t n = 0, m;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	/* a client with a retransmit and a server child, overlapping in time */
	client_opening(&a, 9001, T0);
	s_other(&a, 5 * MS, TD_EV_RETRANS, TD_TCP_ESTABLISHED, 0, TD_RETRANS_DATA, 0);
	client_closing(&a);
	s_state(&a, 30 * MS, TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(&a, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
	server_child(&b, 9002, T0 + 70 * US);
	for (size_t i = 0; i < a.n; i++)
		all[n++] = &a.e[i];
	for (size_t i = 0; i < b.n; i++)
		all[n++] = &b.e[i];

	/* reference: each connection in time order */
	run_order(ref, all, n);
	assert_int_equal(ref->n, 2);
	assert_events_are(find(ref, 9001), a.e, a.n);
	assert_events_are(find(ref, 9002), b.e, b.n);
	assert_true(find(ref, 9001)->s.complete);
	assert_true(find(ref, 9002)->s.complete);

	/* as from two CPUs: every odd event drained before every even one */
	m = 0;
	for (size_t i = 1; i < n; i += 2)
		order[m++] = all[i];
	for (size_t i = 0; i < n; i += 2)
		order[m++] = all[i];
	assert_int_equal(m, n);
	run_order(k, order, n);
	assert_int_equal(k->n, 2);
	assert_same_conn(find(k, 9001), find(ref, 9001));
	assert_same_conn(find(k, 9002), find(ref, 9002));

	/* newest first */
	k->n = 0;
	for (size_t i = 0; i < n; i++)
		order[i] = all[n - 1 - i];
	run_order(k, order, n);
	assert_int_equal(k->n, 2);
	assert_same_conn(find(k, 9001), find(ref, 9001));
	assert_same_conn(find(k, 9002), find(ref, 9002));

	/* random shuffles */
	for (int round = 0; round < 200; round++) {
		memcpy(order, all, n * sizeof(order[0]));
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = xorshift64(&seed) % (i + 1);
			const struct td_event *x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		k->n = 0;
		run_order(k, order, n);
		assert_int_equal(k->n, 2);
		assert_same_conn(find(k, 9001), find(ref, 9001));
		assert_same_conn(find(k, 9002), find(ref, 9002));
	}
	free(ref);
	free(k);
}

/* ---- lost events and partial views ----------------------------------------- */

/* The socket-map entry evicted mid-life (--max-sockets too small): every
 * transition still arrives, but the one after the eviction as a first
 * sight with its dwell unknown. Not a complete story: found by
 * test_faults.py's flood, where such connections claimed to be complete. */
static void test_evicted_mid_life(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	client_expired(&s, 10002, T0);
	assert_int_equal(s.e[2].old_state, TD_TCP_ESTABLISHED);
	s.e[2].flags |= TD_F_FIRST;
	s.e[2].dwell_ns = 0;
	p = one_conn(k, &s);
	assert_int_equal(p->s.gaps, 0); /* nothing is missing ... */
	assert_true(p->s.forgotten);	/* ... but a dwell is unknown */
	assert_false(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 0);
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	free(k);
}

static void test_lost_middle_transition(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	client_expired(&s, 10001, T0);
	/* FIN_WAIT1 -> FIN_WAIT2 never arrived */
	assert_int_equal(s.e[3].old_state, TD_TCP_FIN_WAIT1);
	memmove(&s.e[3], &s.e[4], (s.n - 4) * sizeof(s.e[0]));
	s.n--;
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_true(p->s.gaps > 0);
	assert_int_equal(p->s.gaps, 1);
	assert_false(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 0);
	/* what was seen is still told */
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_int_equal(p->s.handshake_ns, HANDSHAKE_NS);
	free(k);

	/* the handshake lost instead */
	k = sink_new();
	client_expired(&s, 10002, T0);
	memmove(&s.e[1], &s.e[2], (s.n - 2) * sizeof(s.e[0]));
	s.n--;
	p = one_conn(k, &s);
	assert_int_equal(p->s.gaps, 1);
	assert_false(p->s.complete);
	assert_false(p->s.has_handshake);
	assert_int_equal(p->s.lifetime_ns, 0);
	free(k);
}

/* A socket older than the tracer: first seen at its close. */
static void test_first_seen_not_complete(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;

	(void)state;
	s_init(&s, 11001, T0);
	s.owner = TD_OWNER_INFERRED;
	s_state(&s, 0, TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1, TD_F_FIRST, 0);
	s_state(&s, 40 * US, TD_TCP_FIN_WAIT1, TD_TCP_FIN_WAIT2, 0, 0);
	s_state(&s, 30 * MS, TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(&s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
	assert_true(s.e[0].flags & TD_F_FIRST);
	p = one_conn(k, &s);
	assert_events_are(p, s.e, s.n);
	assert_false(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 0);
	assert_int_equal(p->s.gaps, 0);
	assert_int_equal(p->s.opened, TD_OPEN_UNKNOWN);
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_false(p->s.has_handshake);
	free(k);
}

/*
 * connect() started before the tracer: its SYN_SENT -> ESTABLISHED is the
 * first sight (TD_F_FIRST, dwell unknown, sent as 0). The handshake time is
 * unknown, not 0 (docs/trace.md: "never shown as 0").
 */
static void test_first_seen_handshake_unknown(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conn_summary sum;

	(void)state;
	s_init(&s, 11002, T0);
	s.owner = TD_OWNER_INFERRED;
	s_state(&s, 0, TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, TD_F_FIRST, 0);
	client_closing(&s);
	s_state(&s, 30 * MS, TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(&s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
	assert_int_equal(s.e[0].dwell_ns, 0);
	sum = one_conn(k, &s)->s;
	free(k);
	assert_false(sum.complete);
	assert_int_equal(sum.opened, TD_OPEN_UNKNOWN);
	if (sum.has_handshake)
		fprintf(stderr,
			"first-seen SYN_SENT -> ESTABLISHED: handshake %" PRIu64
			" ns reported, want none\n",
			sum.handshake_ns);
	assert_false(sum.has_handshake);
}

/* Still in TIME_WAIT when the tracer stops. */
static void test_open_until_flush_all(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	const struct snap *p;

	(void)state;
	client_expired(&s, 12001, T0);
	s.n--; /* no TIME_WAIT -> CLOSE */
	add_all(t, &s);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 0); /* not finished: not handed over */
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 0);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 1);
	assert_int_equal(td_conns_open(t), 0);
	p = &k->c[0];
	assert_false(p->finished);
	assert_events_are(p, s.e, s.n);
	assert_int_equal(p->s.end, TD_END_OPEN);
	assert_str(td_end_name(p->s.end), "open");
	assert_false(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, 0);
	assert_int_equal(p->s.opened, TD_OPEN_ACTIVE);
	assert_int_equal(p->s.closer, TD_CLOSER_LOCAL);
	assert_int_equal(p->s.gaps, 0);
	/* nothing twice */
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 1);
	td_conns_free(t);
	free(k);
}

/* Listeners and cookie-less events are not connections. */
static void test_not_connections(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	struct td_event *e;

	(void)state;
	s_init(&s, 13001, T0);
	s.owner = TD_OWNER_LISTEN;
	s_state(&s, 0, TD_TCP_CLOSE, TD_TCP_LISTEN, TD_F_NEW, 0);
	/* a RST from the listener (answering a stray ACK) */
	s_other(&s, 1 * SEC, TD_EV_RESET_SENT, TD_TCP_LISTEN, 0, 0, 0);
	/* a SYN-ACK retransmit reported in LISTEN */
	s_other(&s, 1 * SEC, TD_EV_RETRANS, TD_TCP_LISTEN, 0, TD_RETRANS_SYNACK, 0);
	s_state(&s, 1 * SEC, TD_TCP_LISTEN, TD_TCP_CLOSE, 0, 0);
	/* a RST answering a segment nobody owns: no socket, cookie 0 */
	e = s_other(&s, 1 * MS, TD_EV_RESET_SENT, 0, 0, 0, 0);
	e->cookie = 0;
	e->owner = TD_OWNER_NONE;
	e = s_state(&s, 1 * MS, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);
	e->cookie = 0;
	e = s_state(&s, 1 * MS, TD_TCP_SYN_SENT, TD_TCP_CLOSE, 0, 0);
	e->cookie = 0;
	add_all(t, &s);
	assert_int_equal(td_conns_open(t), 0);
	assert_int_equal(td_conns_overflowed(t), 0);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 0);

	/* but the listener's child is one */
	server_child(&s, 13002, T0);
	td_conns_add(t, &s.e[0]);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 1);
	assert_int_equal(k->c[0].cookie, 13002);
	td_conns_free(t);
	free(k);
}

/* td_conns_new(2): the third connection is not kept, and counted once. */
static void test_table_limit(void **state)
{
	struct stream s[4];
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(2);
	uint64_t over;

	(void)state;
	for (int i = 0; i < 4; i++)
		client_expired(&s[i], 14001 + i, T0 + i * MS);
	for (int i = 0; i < 3; i++)
		add_all(t, &s[i]);
	assert_int_equal(td_conns_open(t), 2);
	/* "N connections not kept" (timeline.c): one connection, however many
	 * of its events were turned away */
	over = td_conns_overflowed(t);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 2);
	assert_non_null(find(k, 14001));
	assert_non_null(find(k, 14002));
	assert_null(find(k, 14003));
	assert_int_equal(td_conns_open(t), 0);

	/* room again once finished connections are handed over */
	add_all(t, &s[3]);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 3);
	assert_int_equal(k->c[2].cookie, 14004);
	assert_true(k->c[2].s.complete);
	assert_int_equal(td_conns_overflowed(t), over); /* nothing more turned away */
	td_conns_free(t);
	free(k);
	if (over != 1)
		fprintf(stderr, "3rd connection (%zu events) counted %" PRIu64 " times, want 1\n",
			s[2].n, over);
	assert_int_equal(over, 1);
}

/* The same limit, one event per connection. */
static void test_table_limit_single_events(void **state)
{
	struct stream s;
	struct td_conns *t = td_conns_new(2);

	(void)state;
	for (int i = 0; i < 3; i++) {
		s_init(&s, 14101 + i, T0);
		s_state(&s, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);
		add_all(t, &s);
	}
	assert_int_equal(td_conns_open(t), 2);
	assert_int_equal(td_conns_overflowed(t), 1);
	td_conns_free(t);
}

/* A connection with more than TD_CONN_MAX_EVENTS events. */
static struct stream *chatty_client(uint64_t cookie, unsigned nretrans)
{
	struct stream *s = malloc(sizeof(*s));

	assert_non_null(s);
	client_opening(s, cookie, T0);
	for (unsigned i = 0; i < nretrans; i++)
		s_other(s, 1 * MS, TD_EV_RETRANS, TD_TCP_ESTABLISHED, 0, TD_RETRANS_DATA, 0);
	client_closing(s);
	s_state(s, 30 * MS, TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT, TD_F_TW, 0);
	s_state(s, 60 * SEC, TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, TD_TW_END_EXPIRED);
	return s;
}

static void test_event_cap(void **state)
{
	struct stream *s = chatty_client(15001, 300);
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	const struct snap *p;

	(void)state;
	assert_int_equal(s->n, 306);
	add_all(t, s);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 1); /* its -> CLOSE arrived: it finished */
	p = &k->c[0];
	/* retransmits beyond the cap are dropped; the 4 closing transitions are
	 * kept, so the end and the lifetime stay known */
	assert_int_equal(p->n, TD_CONN_MAX_EVENTS + 4);
	assert_int_equal(p->dropped, s->n - TD_CONN_MAX_EVENTS - 4);
	assert_int_equal(p->dropped, 46);
	for (size_t i = 0; i < TD_CONN_MAX_EVENTS; i++) /* the first 256 as they came */
		assert_int_equal(p->ev[i].ts_ns, s->e[i].ts_ns);
	for (size_t i = 0; i < 4; i++) /* then the closing transitions */
		assert_int_equal(p->ev[TD_CONN_MAX_EVENTS + i].ts_ns, s->e[s->n - 4 + i].ts_ns);
	assert_true(p->s.complete);
	assert_int_equal(p->s.lifetime_ns, s->e[s->n - 1].ts_ns - s->e[0].ts_ns);
	assert_int_equal(p->s.retrans, TD_CONN_MAX_EVENTS - 2);

	/* exactly at the cap nothing is dropped */
	free(s);
	s = chatty_client(15002, TD_CONN_MAX_EVENTS - 6);
	assert_int_equal(s->n, TD_CONN_MAX_EVENTS);
	add_all(t, s);
	td_conns_flush(t, collect, k, LATER);
	assert_int_equal(k->n, 2);
	p = &k->c[1];
	assert_int_equal(p->n, TD_CONN_MAX_EVENTS);
	assert_int_equal(p->dropped, 0);
	assert_true(p->s.complete);
	assert_int_equal(p->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	td_conns_free(t);
	free(s);
	free(k);
}

/*
 * Over the cap, the end is still known: the connection finished (its
 * -> CLOSE arrived and td_conns_flush handed it over), so its end cannot be
 * "open" ("still open when the tracer stopped").
 */
static void test_event_cap_keeps_end(void **state)
{
	struct stream *s = chatty_client(15003, 300);
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	const struct snap *p;
	int end;

	(void)state;
	add_all(t, s);
	td_conns_flush(t, collect, k, LATER);
	td_conns_free(t);
	free(s);
	assert_int_equal(k->n, 1);
	p = &k->c[0];
	assert_true(p->finished);
	assert_true(p->dropped > 0);
	assert_true(p->s.complete); /* every transition was kept */
	end = p->s.end;
	free(k);
	if (end != TD_END_TW_BASE + TD_TW_END_EXPIRED)
		fprintf(stderr, "finished connection over the cap: end \"%s\", want \"expired\"\n",
			td_end_name(end));
	assert_int_equal(end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
}

/* Cookie of another connection in the same hash slot as `cookie`, found
 * with conn.c's hash (only to exercise chains: the test holds without). */
static uint64_t same_slot(uint64_t cookie)
{
	uint64_t want = (cookie * 0x9e3779b97f4a7c15ull) >> 48;

	for (uint64_t c = cookie + 1; c < cookie + (1u << 24); c++)
		if (((c * 0x9e3779b97f4a7c15ull) >> 48) == want)
			return c;
	return cookie + 1;
}

static void test_interleaved(void **state)
{
	struct stream a, b, c, d;
	const struct stream *all[] = {&a, &b, &c, &d};
	size_t next[4] = {0};
	struct sink *k = sink_new();
	struct td_conns *t = td_conns_new(16);
	uint64_t ca = 16001, cb = same_slot(ca), cc = same_slot(cb);

	(void)state;
	client_expired(&a, ca, T0);
	server_child(&b, cb, T0 + 10 * US);
	s_init(&c, cc, T0 + 20 * US);
	s_state(&c, 0, TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	s_other(&c, 70 * US, TD_EV_RESET_RECV, TD_TCP_SYN_SENT, 0, 0, 0);
	s_state(&c, 5 * US, TD_TCP_SYN_SENT, TD_TCP_CLOSE, 0, 0);
	client_expired(&d, 16004, T0 + 30 * US);
	d.n--; /* still open */

	/* merge all four by time, as the reader gets them */
	for (;;) {
		int best = -1;

		for (int i = 0; i < 4; i++)
			if (next[i] < all[i]->n &&
			    (best < 0 || all[i]->e[next[i]].ts_ns < all[best]->e[next[best]].ts_ns))
				best = i;
		if (best < 0)
			break;
		td_conns_add(t, &all[best]->e[next[best]++]);
	}
	assert_int_equal(td_conns_open(t), 4);
	td_conns_flush(t, collect, k, LATER);
	/* in the order they finished: refused, server child, client */
	assert_int_equal(k->n, 3);
	assert_int_equal(k->c[0].cookie, cc);
	assert_int_equal(k->c[1].cookie, cb);
	assert_int_equal(k->c[2].cookie, ca);
	assert_int_equal(td_conns_open(t), 1);
	td_conns_flush(t, collect, k, TD_CONNS_ALL);
	assert_int_equal(k->n, 4);
	assert_int_equal(k->c[3].cookie, 16004);
	assert_int_equal(td_conns_open(t), 0);

	assert_events_are(find(k, ca), a.e, a.n);
	assert_events_are(find(k, cb), b.e, b.n);
	assert_events_are(find(k, cc), c.e, c.n);
	assert_events_are(find(k, 16004), d.e, d.n);
	assert_int_equal(find(k, ca)->s.end, TD_END_TW_BASE + TD_TW_END_EXPIRED);
	assert_int_equal(find(k, cb)->s.end, TD_END_CLOSED);
	assert_int_equal(find(k, cc)->s.end, TD_END_REFUSED);
	assert_int_equal(find(k, 16004)->s.end, TD_END_OPEN);
	assert_int_equal(find(k, ca)->id.pid, 1234);
	assert_int_equal(find(k, cb)->id.pid, 501);
	for (size_t i = 0; i < k->n; i++)
		assert_int_equal(k->c[i].s.gaps, 0);
	td_conns_free(t);
	free(k);
}

/* ---- rendering ---------------------------------------------------------------- */

static void test_timeline_print(void **state)
{
	struct stream s;
	struct sink *k = sink_new();
	const struct snap *p;
	char want[128];

	(void)state;
	k->render = true;
	client_expired(&s, 17001, T0);
	p = one_conn(k, &s);

	if (!json_object_line_ok(p->json, p->json_len))
		fprintf(stderr, "not one JSON object line: <<%s>>\n", p->json);
	assert_true(json_object_line_ok(p->json, p->json_len));
	assert_int_equal(strncmp(p->json, "{\"schema\":1,\"type\":\"connection\",", 32), 0);
	assert_contains(p->json, "\"cookie\":17001,");
	assert_contains(p->json, "\"end\":\"expired\"");
	assert_contains(p->json, "\"complete\":true");
	assert_contains(p->json, "\"opened\":\"active\",\"closed_first\":\"local\",");
	assert_contains(p->json, "\"handshake_ns\":150000,");
	snprintf(want, sizeof(want), "\"lifetime_ns\":%" PRIu64 ",",
		 (uint64_t)CLIENT_EXPIRED_LIFETIME);
	assert_contains(p->json, want);
	assert_contains(p->json, "\"gaps\":0,\"dropped_events\":0,");
	assert_contains(p->json, "\"old\":\"TIME_WAIT\",\"new\":\"CLOSE\",\"dwell_ns\":60000000000,"
				 "\"end\":\"expired\"}");
	assert_contains(p->json, "\"old\":\"CLOSE\",\"new\":\"SYN_SENT\",\"dwell_ns\":null}");

	assert_contains(p->text, "127.0.0.1:40001 -> 10.0.0.2:80");
	assert_contains(p->text, "opened active");
	assert_contains(p->text, "opened active (handshake 150us), closed first by local, "
				 "end expired, lifetime 62.0s\n");
	assert_contains(p->text, "TIME_WAIT -> CLOSED expired");
	assert_contains(p->text, "SYN_SENT -> ESTABLISHED");
	assert_null(strstr(p->text, "INCOMPLETE"));
	free(k);

	/* an incomplete one says why */
	k = sink_new();
	k->render = true;
	client_expired(&s, 17002, T0);
	memmove(&s.e[3], &s.e[4], (s.n - 4) * sizeof(s.e[0]));
	s.n--;
	p = one_conn(k, &s);
	assert_true(json_object_line_ok(p->json, p->json_len));
	assert_contains(p->json, "\"complete\":false");
	assert_contains(p->json, "\"lifetime_ns\":null,");
	assert_contains(p->json, "\"gaps\":1,");
	assert_contains(p->text, "INCOMPLETE (transitions missing)");
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_client_expired),
	    cmocka_unit_test(test_client_timewait_ends),
	    cmocka_unit_test(test_client_late_timewait_is_not_a_gap),
	    cmocka_unit_test(test_server_child),
	    cmocka_unit_test(test_owner_from_latest_event),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_connect_timed_out),
	    cmocka_unit_test(test_abortive_close_rst_after_close),
	    cmocka_unit_test(test_remote_reset),
	    cmocka_unit_test(test_overflow_end),
	    cmocka_unit_test(test_simultaneous_close),
	    cmocka_unit_test(test_retransmits),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_lost_middle_transition),
	    cmocka_unit_test(test_evicted_mid_life),
	    cmocka_unit_test(test_first_seen_not_complete),
	    cmocka_unit_test(test_first_seen_handshake_unknown),
	    cmocka_unit_test(test_open_until_flush_all),
	    cmocka_unit_test(test_not_connections),
	    cmocka_unit_test(test_table_limit),
	    cmocka_unit_test(test_table_limit_single_events),
	    cmocka_unit_test(test_event_cap),
	    cmocka_unit_test(test_event_cap_keeps_end),
	    cmocka_unit_test(test_interleaved),
	    cmocka_unit_test(test_timeline_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
