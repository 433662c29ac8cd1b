// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell export`: Prometheus metrics over HTTP, from the tracer's own
 * loop (one thread; the server's sockets are in its epoll set). The kernel
 * counts transitions, retransmits and resets per label class (td_agg) and
 * records the dwell histograms; only the timewait transitions cross the
 * ring, for the census of the watched namespace. A scrape reads the maps
 * and writes the exposition; nothing is kept per connection here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "commands.h"
#include "err.h"
#include "census.h"
#include "cgname.h"
#include "cgtally.h"
#include "expo.h"
#include "export.h"
#include "format.h"
#include "hist.h"
#include "httpd.h"
#include "loss.h"
#include "netns.h"
#include "tracer.h"
#include "version.h"

/* The dwell histograms' bucket bounds: powers of two from 2^10 ns (~1 us)
 * to 2^36 ns (~69 s, above TIME_WAIT's 60 s). Powers of two are edges of
 * the kernel's log-linear buckets, so every cumulative count is exact. */
#define LE_MIN_LOG2 10
#define LE_MAX_LOG2 36

static const unsigned dwell_states[] = {
    TD_TCP_SYN_SENT,   TD_TCP_SYN_RECV,	    TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1,
    TD_TCP_FIN_WAIT2,  TD_TCP_FIN_WAIT2_TW, TD_TCP_CLOSING,	TD_TCP_TIME_WAIT,
    TD_TCP_CLOSE_WAIT, TD_TCP_LAST_ACK,	    TD_TCP_LISTEN,
};

enum lost_cause {
	LOST_RB,
	LOST_RECURSION,
	LOST_SOCK_EVICT,
	LOST_SOCK_REFUSE,
	LOST_TW_EVICT,
	LOST_TW_REFUSE,
	LOST_BAD,
	LOST_N,
};

static const char *const lost_names[LOST_N] = {
    "ring_buffer_full",	     "recursion_miss",	     "socket_map_eviction", "socket_map_refusal",
    "timewait_map_eviction", "timewait_map_refusal", "bad_record",
};

struct ex_run {
	const struct td_opts *o;
	struct td_tracer *t;
	struct td_httpd *h;
	struct td_netns ns; /* the namespace of the TIME_WAIT census */
	char netns_label[16];
	struct td_census census;
	uint64_t tw_entered, tw_switched, tw_ended[TD_TW_END_MAX];
	uint64_t *agg;
	size_t nagg;
	struct td_hist hist[TD_TCP_MAX_STATES];
	/* --label-containers: per label (the listed, then "other") */
	struct td_hist (*chist)[TD_TCP_MAX_STATES];
	uint64_t ctw[TD_LABEL_MAX + 1];
	uint64_t cg_unrecorded;
	/* cgroup -> label, decided once (at the first scrape that sees the
	 * cgroup) and kept: a label's counters never move to another label */
	struct cglab {
		uint64_t id; /* + 1: 0 is a free slot */
		int label;
	} * cglab;
	size_t ncglab;
	uint64_t lost[LOST_N]; /* the largest seen: counters never go down */
	double start_wall_s;
	double last_render_s;
	int err;
};

/* ---- the TIME_WAIT census ---- */

static int on_snapshot(void *ctx, const struct td_event *e)
{
	struct ex_run *r = ctx;

	if (!(e->flags & TD_F_TW))
		return 0;
	r->err = td_census_put(&r->census, e, 0, 0, true);
	return r->err;
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct ex_run *r = ctx;

	if (e->type != TD_EV_STATE || !(e->flags & TD_F_TW) || e->netns != r->census.netns)
		return 0;
	if (e->new_state == TD_TCP_CLOSE)
		r->tw_ended[e->kind < TD_TW_END_MAX ? e->kind : TD_TW_END_UNKNOWN]++;
	else if (e->old_state == TD_TCP_FIN_WAIT2_TW)
		r->tw_switched++;
	else
		r->tw_entered++;
	/* out of memory: the gauge would be wrong from now on, so stop */
	return td_census_apply(&r->census, e, 0) ? -1 : 0;
}

/* ---- the exposition ---- */

/* Label pairs: the fixed ones, then port and peer when allow-listed. */
struct labels {
	const char *v[16];
	int n;
};

static void lab(struct labels *l, const char *k, const char *v)
{
	l->v[l->n++] = k;
	l->v[l->n++] = v;
	l->v[l->n] = NULL;
}

static void class_labels(const struct ex_run *r, struct labels *l, size_t cls, char *port,
			 size_t sz)
{
	const struct td_opts *o = r->o;
	size_t pc = cls / (o->label_peers.n + 1), qc = cls % (o->label_peers.n + 1);

	if (o->label_ports.n) {
		if (!pc)
			snprintf(port, sz, "other");
		else if (o->label_ports.r[pc - 1].lo == o->label_ports.r[pc - 1].hi)
			snprintf(port, sz, "%u", o->label_ports.r[pc - 1].lo);
		else
			snprintf(port, sz, "%u-%u", o->label_ports.r[pc - 1].lo,
				 o->label_ports.r[pc - 1].hi);
		lab(l, "port", port);
	}
	if (o->label_peers.n)
		lab(l, "peer", qc ? o->label_peers.p[qc - 1].text : "other");
}

/* The samples of one family: in every label class, the n counters from
 * slot `base`, each labelled by `label` from its index in that block;
 * counters still at 0 are left out. */
static void write_slots(struct ex_run *r, struct td_expo *x, unsigned base, unsigned n,
			void (*label)(struct labels *l, unsigned i))
{
	size_t classes = r->nagg / TD_AGG_SLOTS;

	for (size_t cls = 0; cls < classes; cls++)
		for (unsigned i = 0; i < n; i++) {
			uint64_t v = r->agg[cls * TD_AGG_SLOTS + base + i];
			struct labels l = {};
			char port[16];

			if (!v)
				continue;
			label(&l, i);
			class_labels(r, &l, cls, port, sizeof(port));
			td_expo_u64(x, "", l.v, v);
		}
}

static void label_transition(struct labels *l, unsigned i)
{
	lab(l, "from", td_state_name(i / 16));
	lab(l, "to", td_state_name(i % 16));
}

static void label_retransmit(struct labels *l, unsigned i)
{
	lab(l, "kind", td_retrans_kind_name(i / 16));
	lab(l, "state", td_state_name(i % 16));
}

static void label_state(struct labels *l, unsigned i)
{
	lab(l, "state", td_state_name(i));
}

static void label_reset(struct labels *l, unsigned i)
{
	lab(l, "direction", i / 16 ? "received" : "sent");
	/* a RST answering a segment no socket owns */
	lab(l, "state", i % 16 ? td_state_name(i % 16) : "NO_SOCKET");
}

static void write_transitions(struct ex_run *r, struct td_expo *x)
{
	td_expo_family(x, "tcpdwell_transitions_total", "counter",
		       "TCP state transitions by from and to state (TIME_WAIT and FIN_WAIT2(tw) "
		       "are the timewait socket's).");
	write_slots(r, x, TD_AGG_TRANS, 256, label_transition);
}

static void write_retrans_resets(struct ex_run *r, struct td_expo *x)
{
	td_expo_family(x, "tcpdwell_retransmits_total", "counter",
		       "TCP retransmits by kind (syn, synack, data, tlp) and the state they "
		       "were sent in; failed attempts are not counted here.");
	write_slots(r, x, TD_AGG_RETRANS, TD_RETRANS_KIND_MAX * 16, label_retransmit);
	td_expo_family(x, "tcpdwell_retransmit_failures_total", "counter",
		       "Retransmit attempts whose transmission failed (e.g. a local firewall "
		       "drop), by state.");
	write_slots(r, x, TD_AGG_RETRANS + TD_AGG_FAILED * 16, 16, label_state);
	td_expo_family(x, "tcpdwell_resets_total", "counter",
		       "TCP resets sent and received, by the state of the socket.");
	write_slots(r, x, TD_AGG_RESETS, 32, label_reset);
}

/* i from TD_CONNECT_NO_PORT on */
static void label_connect_fail(struct labels *l, unsigned i)
{
	lab(l, "reason", td_connect_fail_key(TD_CONNECT_NO_PORT + i));
}

static void write_connect_failures(struct ex_run *r, struct td_expo *x)
{
	td_expo_family(x, "tcpdwell_connect_failures_total", "counter",
		       "connect() calls that failed before their SYN was sent, by reason: "
		       "no_free_port (the ephemeral range is used up), tuple_in_use (a bound "
		       "port's 4-tuple is taken), before_syn (another local error).");
	write_slots(r, x, TD_AGG_CONNFAIL + TD_CONNECT_NO_PORT,
		    TD_CONNECT_FAIL_MAX - TD_CONNECT_NO_PORT, label_connect_fail);
}

/* One histogram's series: state, and container when given. */
static void hist_series(struct td_expo *x, const struct td_hist *h, const char *state,
			const char *container)
{
	const char *l[] = {"state",   state, "le", NULL, container ? "container" : NULL,
			   container, NULL};
	const char *s[] = {"state", state, container ? "container" : NULL, container, NULL};
	uint64_t cum = 0;
	uint32_t b = 0;
	char le[32];

	l[3] = le;
	for (int k = LE_MIN_LOG2; k <= LE_MAX_LOG2; k++) {
		for (; b < TD_HIST_BUCKETS && td_hist_bucket_low(b) < (1ull << k); b++)
			cum += h->b[b];
		snprintf(le, sizeof(le), "%.12g", (double)(1ull << k) / 1e9);
		td_expo_u64(x, "_bucket", l, cum);
	}
	for (; b < TD_HIST_BUCKETS; b++)
		cum += h->b[b];
	l[3] = "+Inf";
	td_expo_u64(x, "_bucket", l, cum);
	td_expo_f64(x, "_sum", s, (double)h->sum_ns / 1e9);
	td_expo_u64(x, "_count", s, cum); /* = +Inf, whatever the race */
}

static void write_dwell(struct ex_run *r, struct td_expo *x)
{
	td_expo_family(x, "tcpdwell_dwell_seconds", "histogram",
		       "Time spent in a TCP state, recorded when the state is left.");
	for (size_t i = 0; i < sizeof(dwell_states) / sizeof(dwell_states[0]); i++)
		hist_series(x, &r->hist[dwell_states[i]], td_state_name(dwell_states[i]), NULL);
}

/* ---- by container (--label-containers) ---- */

static const char *label_name(const struct ex_run *r, int i)
{
	return i < r->o->label_containers.n ? r->o->label_containers.id[i] : "other";
}

static bool has_prefix(const char *s, const char *p)
{
	return p[0] && !strncmp(s, p, strlen(p));
}

/* The label of an owner's cgroup: the first listed id that its container
 * (or pod), or its top-level unit, starts with; else "other". */
#define CGLAB_SLOTS (2 * TD_MAX_CG_HIST) /* as many cgroups as td_cg_hist can count */

static int label_of(struct ex_run *r, uint64_t id)
{
	size_t i = (size_t)(((id + 1) * 0x9e3779b97f4a7c15ull) >> 40) & (CGLAB_SLOTS - 1);
	const struct td_cgname *nm;
	struct td_cg_group g;
	int label = r->o->label_containers.n;

	for (; r->cglab[i].id; i = (i + 1) & (CGLAB_SLOTS - 1))
		if (r->cglab[i].id == id + 1)
			return r->cglab[i].label;
	nm = id ? td_cgnames_get(td_tracer_cgnames(r->t), id) : NULL;
	if (nm) {
		td_cg_group_of(nm, &g);
		for (int i = 0; i < r->o->label_containers.n; i++) {
			const char *want = r->o->label_containers.id[i];

			if (has_prefix(g.key, want) || has_prefix(nm->c.pod, want)) {
				label = i;
				break;
			}
		}
	}
	if (r->ncglab < CGLAB_SLOTS / 2) {
		r->cglab[i].id = id + 1;
		r->cglab[i].label = label;
		r->ncglab++;
	}
	return label;
}

static void add_cg_hist(void *ctx, const struct td_cg_hist_key *k, uint64_t n)
{
	struct ex_run *r = ctx;
	struct td_hist *h;

	if (k->state >= TD_TCP_MAX_STATES)
		return;
	h = &r->chist[label_of(r, k->cgroup_id)][k->state];
	if (k->bucket == TD_CG_HIST_SUM) {
		h->sum_ns += n;
	} else if (k->bucket < TD_HIST_BUCKETS) {
		h->b[k->bucket] += n;
		h->count += n;
	}
}

static int read_by_container(struct ex_run *r)
{
	int nl = r->o->label_containers.n + 1;

	memset(r->chist, 0, sizeof(*r->chist) * nl);
	memset(r->ctw, 0, sizeof(r->ctw));
	for (size_t i = 0; i < r->census.cap; i++)
		if (r->census.slot[i].cookie)
			r->ctw[label_of(r, r->census.slot[i].cgroup_id)]++;
	return td_tracer_read_cg_hist(r->t, add_cg_hist, r, &r->cg_unrecorded);
}

static void write_by_container(struct ex_run *r, struct td_expo *x)
{
	int nl = r->o->label_containers.n + 1;

	td_expo_family(x, "tcpdwell_container_dwell_seconds", "histogram",
		       "Time spent in a TCP state by the connection owner's container "
		       "(--label-containers; the rest as other).");
	for (int c = 0; c < nl; c++)
		for (size_t i = 0; i < sizeof(dwell_states) / sizeof(dwell_states[0]); i++)
			hist_series(x, &r->chist[c][dwell_states[i]],
				    td_state_name(dwell_states[i]), label_name(r, c));
	td_expo_family(x, "tcpdwell_container_dwell_unrecorded_total", "counter",
		       "Dwell times left out of tcpdwell_container_dwell_seconds: its "
		       "kernel map was full.");
	td_expo_u64(x, "", NULL, r->cg_unrecorded);
	td_expo_family(x, "tcpdwell_container_timewait_sockets", "gauge",
		       "Timewait sockets of the namespace by their owner's container; sockets "
		       "older than tcpdwell have no known owner and count as other.");
	for (int c = 0; c < nl; c++)
		td_expo_u64(
		    x, "",
		    (const char *[]){"netns", r->netns_label, "container", label_name(r, c), NULL},
		    r->ctw[c]);
}

static void write_timewait(struct ex_run *r, struct td_expo *x)
{
	const char *ns = r->netns_label;
	size_t tw = 0, fw2 = 0;

	for (size_t i = 0; i < r->census.cap; i++) {
		if (!r->census.slot[i].cookie)
			continue;
		if (r->census.slot[i].state == TD_TCP_FIN_WAIT2_TW)
			fw2++;
		else
			tw++;
	}
	td_expo_family(x, "tcpdwell_timewait_sockets", "gauge",
		       "Timewait sockets of the namespace by substate; their sum is "
		       "/proc/net/sockstat's tw.");
	td_expo_u64(x, "", (const char *[]){"netns", ns, "substate", "TIME_WAIT", NULL}, tw);
	td_expo_u64(x, "", (const char *[]){"netns", ns, "substate", "FIN_WAIT2", NULL}, fw2);
	td_expo_family(x, "tcpdwell_timewait_entered_total", "counter",
		       "Connections that entered a timewait socket in the namespace.");
	td_expo_u64(x, "", (const char *[]){"netns", ns, NULL}, r->tw_entered);
	td_expo_family(x, "tcpdwell_timewait_ended_total", "counter",
		       "Timewait sockets of the namespace that ended, by reason.");
	for (unsigned i = TD_TW_END_EXPIRED; i < TD_TW_END_MAX; i++) {
		if (i == TD_TW_END_OVERFLOW)
			continue; /* never entered: not an end of a timewait socket */
		td_expo_u64(x, "", (const char *[]){"netns", ns, "reason", td_tw_end_name(i), NULL},
			    r->tw_ended[i]);
	}
}

static void write_loss(struct ex_run *r, struct td_expo *x)
{
	struct td_loss l;
	uint64_t now[LOST_N];

	td_tracer_read_loss(r->t, &l);
	now[LOST_RB] = l.rb_drops;
	now[LOST_RECURSION] = l.recursion_misses;
	now[LOST_SOCK_EVICT] = l.evictions;
	now[LOST_SOCK_REFUSE] = l.insert_fail;
	now[LOST_TW_EVICT] = l.tw_evictions;
	now[LOST_TW_REFUSE] = l.tw_insert_fail;
	now[LOST_BAD] = l.bad_records;
	td_expo_family(x, "tcpdwell_lost_events_total", "counter",
		       "Events tcpdwell could not see, by cause (see Loss accounting in "
		       "docs/flags.md).");
	for (int i = 0; i < LOST_N; i++) {
		/* evictions are derived from counters read at different moments */
		if (now[i] > r->lost[i])
			r->lost[i] = now[i];
		if (i == LOST_RECURSION && l.no_recursion)
			continue; /* the kernel counts none: no series, not a 0 */
		td_expo_u64(x, "", (const char *[]){"cause", lost_names[i], NULL}, r->lost[i]);
	}
}

static void write_self(struct ex_run *r, struct td_expo *x)
{
	const struct td_httpd_stats *st = td_httpd_stats(r->h);
	char code[8];

	td_expo_family(x, "tcpdwell_build_info", "info",
		       "tcpdwell's version and the git revision it was built from.");
	td_expo_u64(
	    x, "", (const char *[]){"version", TD_VERSION, "revision", td_git_revision(), NULL}, 1);
	td_expo_family(x, "tcpdwell_start_time_seconds", "gauge",
		       "When the exporter started, in seconds since the epoch.");
	td_expo_f64(x, "", NULL, r->start_wall_s);
	td_expo_family(x, "tcpdwell_http_responses_total", "counter",
		       "HTTP responses of the exporter by status code.");
	for (int i = 0; i < TD_HC_MAX; i++) {
		snprintf(code, sizeof(code), "%d", td_httpd_code_num[i]);
		td_expo_u64(x, "", (const char *[]){"code", code, NULL}, st->responses[i]);
	}
	td_expo_family(x, "tcpdwell_http_dropped_total", "counter",
		       "HTTP connections dropped: the client did not take its response in "
		       "time, or left before its request was complete.");
	td_expo_u64(x, "", (const char *[]){"reason", "write_timeout", NULL}, st->write_timeouts);
	td_expo_u64(x, "", (const char *[]){"reason", "aborted", NULL}, st->aborted);
	td_expo_family(x, "tcpdwell_scrape_duration_seconds", "gauge",
		       "How long the previous /metrics response took to build.");
	td_expo_f64(x, "", NULL, r->last_render_s);
}

static int render(void *ctx, const struct td_http_req *req, int route, struct td_buf *b,
		  const char **ctype)
{
	struct ex_run *r = ctx;
	struct td_expo x = {.b = b};
	uint64_t t0 = td_tracer_now_ns(r->t);

	if (route == TD_ROUTE_HEALTHZ) {
		td_buf_str(b, "ok\n");
		return 200;
	}
	if (td_http_wants_openmetrics(req->accept, req->accept_len))
		x.fmt = TD_EXPO_OPENMETRICS;
	*ctype = td_expo_content_type(x.fmt);
	/* current to this moment: the census applies what is queued */
	td_tracer_drain(r->t);
	if (td_tracer_read_agg(r->t, r->agg, r->nagg) || td_tracer_read_hist(r->t, r->hist, NULL) ||
	    (r->chist && read_by_container(r)))
		return 500;
	write_transitions(r, &x);
	write_retrans_resets(r, &x);
	write_connect_failures(r, &x);
	write_dwell(r, &x);
	write_timewait(r, &x);
	if (r->chist)
		write_by_container(r, &x);
	write_loss(r, &x);
	write_self(r, &x);
	td_expo_end(&x);
	r->last_render_s = (double)(td_tracer_now_ns(r->t) - t0) / 1e9;
	return 200;
}

/* ---- the run ---- */

static int on_tick(void *ctx, uint64_t now)
{
	struct ex_run *r = ctx;

	td_httpd_service(r->h, now);
	return 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	const struct ex_run *r = ctx;

	td_loss_report(stdout, r->o->format == TD_FMT_JSON, loss, NULL);
}

static int find_netns(struct ex_run *r)
{
	uint32_t self = td_netns_self(), inum = r->o->filter.netns ? r->o->filter.netns : self;

	if (td_netns_find(inum, &r->ns)) {
		td_msg("network namespace %u not found (no /run/netns entry and no "
		       "process in it)",
		       inum);
		return TD_EXIT_USAGE;
	}
	if (inum == self) /* this thread's, whoever else is in it */
		strcpy(r->ns.path, "/proc/self/ns/net");
	snprintf(r->netns_label, sizeof(r->netns_label), "%u", inum);
	return td_census_init(&r->census, inum) ? TD_EXIT_ERROR : 0;
}

static int listen_http(struct ex_run *r)
{
	struct sockaddr_storage ss;
	unsigned len;
	int err;

	if (td_parse_listen(r->o->listen, &ss, &len)) /* checked by the parser already */
		return TD_EXIT_USAGE;
	err = td_httpd_open(&r->h, (struct sockaddr *)&ss, len, render, r);
	if (err) {
		td_msg("cannot listen on %s: %s", r->o->listen, strerror(-err));
		return TD_EXIT_USAGE;
	}
	return 0;
}

int td_export_main(const struct td_opts *o)
{
	struct ex_run *r = calloc(1, sizeof(*r));
	struct td_consumer c = {on_event, on_tick, on_report, r};
	struct td_tracer_cfg tc;
	struct td_iter_cfg seed = {.seed = 1};
	struct td_loss loss;
	struct timespec ts;
	int err;

	if (!r)
		return TD_EXIT_ERROR;
	r->o = o;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->start_wall_s = ts.tv_sec + ts.tv_nsec / 1e9;
	td_command_configure(o, &tc);
	r->nagg = td_agg_entries(&tc);
	r->agg = calloc(r->nagg, sizeof(*r->agg));
	if (o->label_containers.n) {
		r->chist = calloc(o->label_containers.n + 1, sizeof(*r->chist));
		r->cglab = calloc(CGLAB_SLOTS, sizeof(*r->cglab));
	}
	err = r->agg && (!o->label_containers.n || (r->chist && r->cglab)) ? find_netns(r)
									   : TD_EXIT_ERROR;
	/* listening before "tracing" is announced: scrapers may come at once */
	if (!err)
		err = listen_http(r);
	if (!err)
		err = td_tracer_open(&r->t, &tc);
	if (err)
		goto cleanup;
	err = td_tracer_snapshot(r->t, &r->ns, &seed, on_snapshot, r);
	if (err || r->err || td_tracer_watch_fd(r->t, td_httpd_fd(r->h))) {
		td_msg("cannot start the exporter: %s", strerror(-(err	    ? err
								   : r->err ? r->err
									    : -errno)));
		err = TD_EXIT_ERROR;
		goto cleanup;
	}
	err = td_tracer_run(r->t, &c);
	td_tracer_finish(r->t, &loss);
	err = td_tracer_conclude(r->t, stdout, o->format == TD_FMT_JSON, &loss, err, false);
cleanup:
	td_tracer_close(r->t);
	td_httpd_close(r->h);
	td_census_free(&r->census);
	free(r->agg);
	free(r->chist);
	free(r->cglab);
	free(r);
	return err;
}
