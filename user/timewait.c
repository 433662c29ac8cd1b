// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell timewait`: at start the census iterator lists the timewait
 * sockets that already exist (and enters them into the kernel's timewait
 * map so their end is reported like any other); from then on the timewait
 * transitions on the ring keep each namespace's set current. Every interval
 * prints the count (and /proc/net/sockstat's tw with --verify), entries and
 * ends per second, ages, top peers and local ports, and the ephemeral-port
 * pressure per destination, for which a second iterator pass counts the
 * connected sockets. --once prints the snapshot alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "census.h"
#include "cgtally.h"
#include "format.h"
#include "json.h"
#include "kconfig.h"
#include "loss.h"
#include "netns.h"
#include "recfmt.h"
#include "timewait.h"
#include "tracer.h"

struct tw_ns {
	struct td_netns ns;
	struct td_census census;
	bool listed; /* found by the latest namespace listing */
	/* read at each report */
	struct td_tcp_sysctls sys;
	long sockstat_tw; /* -1: not read */
	long census_at;	  /* the set's size when sockstat was read */
};

struct tw_run {
	struct td_opts o;
	struct td_tracer_cfg tc; /* built from o once its namespace is known */
	struct td_tracer *t;
	struct tw_ns *ns;
	size_t nns, cap;
	long hz; /* CONFIG_HZ, -1: unknown (no remaining times, ages of old sockets unknown) */
	uint32_t self;
	struct td_netns single; /* without --all-netns: the one namespace */
	bool gone;		/* ... and it was deleted: the run ends, exit 1 */
	struct td_event *in_use;
	size_t n_in_use, cap_in_use;
	uint64_t interval_ns, next_ns, last_ns;
	/* the namespace a snapshot is filling */
	struct tw_ns *target;
	bool seed;
	struct td_cg_tally tally; /* -C: the report's counts by container */
	int err;
};

static bool json(const struct tw_run *r)
{
	return r->o.format == TD_FMT_JSON;
}

/* ---- reading a namespace's files ---- */

/* "TCP: inuse 5 orphan 0 tw 20000 alloc 7 mem 1" */
static long sockstat_tw(void)
{
	char line[256], *p;
	long tw = -1;
	FILE *f = fopen("/proc/thread-self/net/sockstat", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "TCP:", 4) && (p = strstr(line, " tw ")))
			tw = strtol(p + 4, NULL, 10);
	fclose(f);
	return tw;
}

/* A replay: the sysctls the recorder read in the snapshot's namespace. */
static int recorded_ns_files(const struct td_rec_header *h, struct tw_ns *n)
{
	n->sockstat_tw = -1;
	if (n->ns.inum != h->snap_netns)
		return 0; /* unknown: not the namespace the recorder walked */
	n->sys = h->snap_sys;
	return 0;
}

/* Sysctls and sockstat are per namespace: read them from inside. */
static int read_ns_files(struct tw_run *r, struct tw_ns *n)
{
	int old = -1;

	if (td_tracer_recording(r->t))
		return recorded_ns_files(td_tracer_recording(r->t), n);
	if (n->ns.inum != r->self) {
		old = td_netns_enter(n->ns.path, n->ns.inum);
		if (old < 0)
			return old;
	}
	n->sockstat_tw = sockstat_tw(); /* printed with --verify; a size hint */
	td_netns_tcp_sysctls(&n->sys);
	td_netns_leave(old);
	return 0;
}

/* ---- snapshots ---- */

/* When a snapshot's socket leaves timewait (its timer, in jiffies) and,
 * from that, when it entered: TIME_WAIT lasts TCP_TIMEWAIT_LEN, the
 * FIN_WAIT2 substate about tcp_fin_timeout. 0: unknown. */
static void estimate_times(const struct tw_run *r, const struct tw_ns *n, const struct td_event *e,
			   uint64_t *enter, uint64_t *expires)
{
	uint64_t life_ns = td_tw_timer_ns(e->new_state, n->sys.fin_timeout);
	uint64_t left_ns;

	*enter = *expires = 0;
	if (r->hz <= 0)
		return;
	left_ns = (uint64_t)e->arg * 1000000000ull / r->hz;
	*expires = e->ts_ns + left_ns;
	if (life_ns)
		*enter = e->ts_ns - (left_ns < life_ns ? life_ns - left_ns : 0);
}

static int on_snapshot(void *ctx, const struct td_event *e)
{
	struct tw_run *r = ctx;
	struct td_event *grown;

	if (e->flags & TD_F_TW) {
		if (!r->seed)
			return 0; /* interval pass: the live set is the count */
		uint64_t enter, expires;

		estimate_times(r, r->target, e, &enter, &expires);
		r->err = td_census_put(&r->target->census, e, enter, expires, true);
		return r->err;
	}
	if (r->n_in_use == r->cap_in_use) {
		r->cap_in_use = r->cap_in_use ? 2 * r->cap_in_use : 1024;
		grown = realloc(r->in_use, r->cap_in_use * sizeof(*grown));
		if (!grown)
			return r->err = -ENOMEM;
		r->in_use = grown;
	}
	r->in_use[r->n_in_use++] = *e;
	return 0;
}

/* seed: list the timewait sockets into the set (and the kernel's map
 * unless --once); otherwise collect the connected ones for port pressure. */
static int snapshot(struct tw_run *r, struct tw_ns *n, bool seed)
{
	struct td_iter_cfg cfg = {.seed = seed && !r->o.once, .in_use = !seed || r->o.once};
	int err;

	r->target = n;
	r->seed = seed;
	r->n_in_use = 0;
	r->err = 0;
	err = td_tracer_snapshot(r->t, &n->ns, &cfg, on_snapshot, r);
	return err ? err : r->err;
}

/* ---- namespaces ---- */

static struct tw_ns *find_ns(struct tw_run *r, uint32_t inum)
{
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].ns.inum == inum)
			return &r->ns[i];
	return NULL;
}

static int add_ns(struct tw_run *r, const struct td_netns *ns)
{
	struct tw_ns *n, *grown;
	int err;

	if (r->nns == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		grown = realloc(r->ns, r->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->ns = grown;
	}
	n = &r->ns[r->nns];
	memset(n, 0, sizeof(*n));
	n->ns = *ns;
	n->listed = true;
	n->sys.tw_reuse = -1;
	n->sockstat_tw = -1;
	err = td_census_init(&n->census, ns->inum);
	if (err)
		return err;
	r->nns++;
	/* fin_timeout first: it dates the FIN_WAIT2-substate sockets */
	err = read_ns_files(r, n);
	if (!err && n->sockstat_tw > 0)
		err = td_census_reserve(&n->census, n->sockstat_tw + n->sockstat_tw / 8);
	if (!err)
		err = snapshot(r, n, true);
	if (err == -ENOENT || err == -ESTALE) { /* gone in the meantime */
		td_census_free(&n->census);
		r->nns--;
		return 0;
	}
	return err;
}

static void drop_ns(struct tw_run *r, size_t i)
{
	td_census_free(&r->ns[i].census);
	r->ns[i] = r->ns[--r->nns];
}

/* --all-netns: namespaces come and go; new ones get their own snapshot. */
static int refresh_namespaces(struct tw_run *r)
{
	struct td_netns *list = NULL;
	size_t n = 0;
	int err;

	if (!r->o.all_netns) {
		if (r->nns)
			return 0;
		err = add_ns(r, &r->single);
		return err ? err : r->nns ? 0 : -ENOENT; /* gone before its first snapshot */
	}
	err = td_netns_list(&list, &n);
	if (err)
		return err;
	for (size_t i = 0; i < r->nns; i++)
		r->ns[i].listed = false;
	for (size_t i = 0; i < n && !err; i++) {
		struct tw_ns *have = find_ns(r, list[i].inum);

		if (have)
			have->listed = true;
		else
			err = add_ns(r, &list[i]);
	}
	free(list);
	for (size_t i = r->nns; i-- > 0;)
		if (!r->ns[i].listed)
			drop_ns(r, i);
	return err;
}

/* ---- output ---- */

static bool is_loopback(unsigned family, const uint8_t *a)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (family == 2 /* AF_INET */)
		return a[0] == 127;
	return !memcmp(a, v6lo, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

static const char *reuse_note(int tw_reuse, bool loopback)
{
	switch (tw_reuse) {
	case 0:
		return "tcp_tw_reuse=0: connect() cannot take these ports before they leave "
		       "TIME_WAIT";
	case 1:
		return "tcp_tw_reuse=1: connect() can reuse a TIME_WAIT port about 1 s after it "
		       "entered (with TCP timestamps)";
	case 2:
		return loopback
			   ? "tcp_tw_reuse=2 (loopback only): this destination is loopback, "
			     "so connect() can reuse its TIME_WAIT ports after about 1 s"
			   : "tcp_tw_reuse=2 (loopback only): this destination is not loopback, "
			     "so its TIME_WAIT ports cannot be reused";
	}
	return "tcp_tw_reuse unknown";
}

static double pct(const struct tw_ns *n, const struct td_top_row *row)
{
	unsigned size = n->sys.range_hi - n->sys.range_lo + 1;

	return n->sys.range_hi ? 100.0 * (row->timewait + row->in_use) / size : 0;
}

/* A forecast this close is warned about, whatever the share held now. */
#define TW_FORECAST_WARN_S 300
/* The entry rate is taken over this long: a burst within one short
 * interval is not a rate that lasts (its sockets are still in the set:
 * timewait lasts 60 s). */
#define TW_RATE_WINDOW_S 10

/* A destination's new timewait sockets a second over the window. */
static double entry_rate(const struct td_top_row *p)
{
	return (double)p->recent / TW_RATE_WINDOW_S;
}

/* Seconds until its ports run out at that rate; -1: they do not. */
static double exhaustion_s(const struct tw_ns *n, const struct td_top_row *p)
{
	double rate = entry_rate(p);

	if (!n->sys.range_hi || rate <= 0)
		return -1;
	return td_port_exhaustion_s(rate, p->timewait, p->in_use,
				    n->sys.range_hi - n->sys.range_lo + 1);
}

/* The port-pressure warnings of a report, one message each, for text and
 * JSON alike: a destination whose ports run out soon at its entry rate,
 * one above --warn-pct, and one connect() failed for (since the last
 * report) whatever its share. */
static void port_warnings(const struct tw_run *r, const struct tw_ns *n,
			  const struct td_census_report *rep,
			  void (*emit)(void *ctx, const char *msg), void *ctx)
{
	char a[TD_ADDR_STRLEN], b[TD_ENDPOINT_STRLEN], msg[640];

	for (size_t i = 0; i < rep->npressure; i++) {
		const struct td_top_row *p = &rep->pressure[i];
		const char *note = reuse_note(n->sys.tw_reuse, is_loopback(p->family, p->raddr));
		double eta = exhaustion_s(n, p), rate = entry_rate(p);

		td_addr_str(p->family, p->laddr, a);
		td_endpoint_str(p->family, p->raddr, p->rport, b);
		if (eta >= 0 && eta <= TW_FORECAST_WARN_S) {
			snprintf(msg, sizeof(msg),
				 "%s -> %s: at %.1f new TIME_WAITs/s its ephemeral ports run out "
				 "in about %.0f s (it holds %u of %u; at this rate TIME_WAIT alone "
				 "would hold %.0f); ip_local_port_range=%u-%u, tcp_tw_reuse=%d, "
				 "tcp_max_tw_buckets=%ld: widen the range, reuse connections, or "
				 "let connect() reuse TIME_WAIT ports; %s",
				 a, b, rate, eta, p->timewait + p->in_use,
				 n->sys.range_hi - n->sys.range_lo + 1, rate * 60, n->sys.range_lo,
				 n->sys.range_hi, n->sys.tw_reuse, n->sys.max_tw_buckets, note);
			emit(ctx, msg);
		}
		if (p->connect_failed) {
			snprintf(msg, sizeof(msg),
				 "%s -> %s: %u connect() calls failed before their SYN (no free "
				 "local port or 4-tuple in use) while it held %u ports of %u-%u; "
				 "%s",
				 a, b, p->connect_failed, p->timewait + p->in_use, n->sys.range_lo,
				 n->sys.range_hi, note);
			emit(ctx, msg);
		}
		if (pct(n, p) >= r->o.warn_pct) {
			snprintf(msg, sizeof(msg),
				 "%s -> %s holds %.1f%% of the ephemeral ports (--warn-pct %u); %s",
				 a, b, pct(n, p), r->o.warn_pct, note);
			emit(ctx, msg);
		}
	}
}

static void print_warning(void *ctx, const char *msg)
{
	(void)ctx;
	printf("  warning: %s\n", msg);
}

static void json_warning(void *ctx, const char *msg)
{
	td_json_str(ctx, NULL, msg);
}

static void age_label(unsigned b, char *buf, size_t sz)
{
	if (b == 0)
		snprintf(buf, sz, "<%us", td_age_bucket_hi_s[0]);
	else if (b == TD_AGE_BUCKETS - 1)
		snprintf(buf, sz, ">=%us", td_age_bucket_hi_s[b - 1]);
	else
		snprintf(buf, sz, "%u-%us", td_age_bucket_hi_s[b - 1], td_age_bucket_hi_s[b]);
}

static void print_text(const struct tw_run *r, const struct tw_ns *n,
		       const struct td_census_report *rep, double at_s, double span_s)
{
	const struct td_cg_tally *by_cg = r->o.containers ? &r->tally : NULL;
	const struct td_census *c = &n->census;
	char a[TD_ADDR_STRLEN], b[TD_ENDPOINT_STRLEN], label[16];
	uint64_t ended = c->ended_untracked;

	printf("timewait netns %u (%s)", n->ns.inum, n->ns.name);
	if (!r->o.once)
		printf(" at %.3f s", at_s);
	printf(": %zu (TIME_WAIT %zu, FIN_WAIT2 %zu)", rep->count, rep->time_wait, rep->fin_wait2);
	if (r->o.verify)
		printf("  sockstat tw %ld", n->sockstat_tw);
	putchar('\n');
	if (r->o.verify && n->sockstat_tw != n->census_at)
		printf("  warning: the census (%ld when sockstat was read) differs from "
		       "/proc/net/sockstat tw (%ld)\n",
		       n->census_at, n->sockstat_tw);
	if (!r->o.once && span_s > 0) {
		for (unsigned i = 0; i < TD_TW_END_MAX; i++)
			ended += c->ended[i];
		printf("  entered %.1f/s, ended %.1f/s (", c->entered / span_s, ended / span_s);
		for (unsigned i = 1; i < TD_TW_END_MAX; i++)
			printf("%s%s %lu", i > 1 ? ", " : "", td_tw_end_name(i),
			       (unsigned long)c->ended[i]);
		printf(")");
		if (c->switched)
			printf(", FIN_WAIT2 -> TIME_WAIT %lu", (unsigned long)c->switched);
		if (c->connect_failed)
			printf(", connect() failed %lu", (unsigned long)c->connect_failed);
		putchar('\n');
	}
	printf("  age:");
	for (unsigned i = 0; i < TD_AGE_BUCKETS; i++) {
		age_label(i, label, sizeof(label));
		printf(" %s %lu", label, (unsigned long)rep->age[i]);
	}
	if (rep->age_unknown)
		printf(", unknown %zu", rep->age_unknown);
	if (rep->age_estimated)
		printf(" (%zu from the timer: older than tcpdwell)", rep->age_estimated);
	putchar('\n');
	printf("  top peers (%zu):", rep->peers_total);
	for (size_t i = 0; i < rep->npeers; i++)
		printf("%s %s %u", i ? "," : "",
		       td_addr_str(rep->peers[i].family, rep->peers[i].raddr, a),
		       rep->peers[i].timewait);
	printf("\n  top local ports (%zu):", rep->lports_total);
	for (size_t i = 0; i < rep->nlports; i++)
		printf("%s %u %u", i ? "," : "", rep->lports[i].lport, rep->lports[i].timewait);
	putchar('\n');
	if (by_cg)
		td_cg_tally_text(stdout, by_cg);
	printf("  ephemeral ports %u-%u (%u), tcp_tw_reuse=%d; per destination:\n", n->sys.range_lo,
	       n->sys.range_hi, n->sys.range_hi ? n->sys.range_hi - n->sys.range_lo + 1 : 0,
	       n->sys.tw_reuse);
	for (size_t i = 0; i < rep->npressure; i++) {
		const struct td_top_row *p = &rep->pressure[i];
		double used = pct(n, p);

		printf("    %s -> %s  %u timewait + %u in use = %.1f%%",
		       td_addr_str(p->family, p->laddr, a),
		       td_endpoint_str(p->family, p->raddr, p->rport, b), p->timewait, p->in_use,
		       used);
		if (p->recent)
			printf(", +%.1f/s", entry_rate(p));
		if (exhaustion_s(n, p) >= 0)
			printf(", ports run out in ~%.0f s", exhaustion_s(n, p));
		if (p->connect_failed)
			printf(", %u connect() failed", p->connect_failed);
		putchar('\n');
	}
	port_warnings(r, n, rep, print_warning, NULL);
}

static void print_json(const struct tw_run *r, const struct tw_ns *n,
		       const struct td_census_report *rep, double at_s, double span_s)
{
	const struct td_census *c = &n->census;
	char label[16], msg[256];
	char buf[4096];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, stdout);
	td_json_record(&j, NULL, "timewait");
	td_json_bool(&j, "once", r->o.once);
	td_json_f64(&j, "time_s", at_s, 3);
	td_json_u64(&j, "netns", n->ns.inum);
	td_json_strn(&j, "name", n->ns.name, sizeof(n->ns.name));
	td_json_u64(&j, "count", rep->count);
	td_json_object(&j, "substates");
	td_json_u64(&j, "TIME_WAIT", rep->time_wait);
	td_json_u64(&j, "FIN_WAIT2", rep->fin_wait2);
	td_json_close(&j);
	if (r->o.verify) {
		td_json_i64(&j, "sockstat_tw", n->sockstat_tw);
		td_json_i64(&j, "census_at_sockstat", n->census_at);
	}
	if (!r->o.once) {
		td_json_f64(&j, "interval_s", span_s, 3);
		td_json_u64(&j, "entered", c->entered);
		td_json_u64(&j, "switched", c->switched);
		td_json_u64(&j, "connect_failures", c->connect_failed);
		td_json_object(&j, "ended");
		for (unsigned i = 1; i < TD_TW_END_MAX; i++)
			td_json_u64(&j, td_tw_end_name(i), c->ended[i]);
		td_json_u64(&j, "untracked", c->ended_untracked);
		td_json_close(&j);
	}
	td_json_object(&j, "age");
	for (unsigned i = 0; i < TD_AGE_BUCKETS; i++) {
		age_label(i, label, sizeof(label));
		td_json_u64(&j, label, rep->age[i]);
	}
	td_json_u64(&j, "unknown", rep->age_unknown);
	td_json_u64(&j, "estimated", rep->age_estimated);
	td_json_close(&j);
	td_json_u64(&j, "peers_total", rep->peers_total);
	td_json_array(&j, "top_peers");
	for (size_t i = 0; i < rep->npeers; i++) {
		td_json_object(&j, NULL);
		td_json_addr(&j, "addr", rep->peers[i].family, rep->peers[i].raddr);
		td_json_u64(&j, "count", rep->peers[i].timewait);
		td_json_close(&j);
	}
	td_json_close(&j);
	td_json_u64(&j, "local_ports_total", rep->lports_total);
	td_json_array(&j, "top_local_ports");
	for (size_t i = 0; i < rep->nlports; i++) {
		td_json_object(&j, NULL);
		td_json_u64(&j, "port", rep->lports[i].lport);
		td_json_u64(&j, "count", rep->lports[i].timewait);
		td_json_close(&j);
	}
	td_json_close(&j);
	if (r->o.containers)
		td_cg_tally_json(&j, &r->tally);
	td_json_array(&j, "port_range");
	td_json_u64(&j, NULL, n->sys.range_lo);
	td_json_u64(&j, NULL, n->sys.range_hi);
	td_json_close(&j);
	td_json_i64(&j, "tcp_tw_reuse", n->sys.tw_reuse);
	td_json_u64(&j, "destinations_total", rep->pressure_total);
	td_json_array(&j, "port_pressure");
	for (size_t i = 0; i < rep->npressure; i++) {
		const struct td_top_row *p = &rep->pressure[i];

		td_json_object(&j, NULL);
		td_json_addr(&j, "laddr", p->family, p->laddr);
		td_json_addr(&j, "raddr", p->family, p->raddr);
		td_json_u64(&j, "rport", p->rport);
		td_json_u64(&j, "timewait", p->timewait);
		td_json_u64(&j, "in_use", p->in_use);
		td_json_f64(&j, "pct", pct(n, p), 2);
		td_json_u64(&j, "connect_failed", p->connect_failed);
		td_json_f64(&j, "entry_rate", entry_rate(p), 2);
		if (exhaustion_s(n, p) >= 0)
			td_json_f64(&j, "exhausted_in_s", exhaustion_s(n, p), 1);
		else
			td_json_null(&j, "exhausted_in_s");
		td_json_close(&j);
	}
	td_json_close(&j);
	td_json_array(&j, "warnings");
	if (r->o.verify && n->sockstat_tw != n->census_at) {
		snprintf(msg, sizeof(msg), "census %ld differs from sockstat tw %ld", n->census_at,
			 n->sockstat_tw);
		td_json_str(&j, NULL, msg);
	}
	port_warnings(r, n, rep, json_warning, &j);
	td_json_end(&j);
}

/* key: from a to b in `unit` ns ("12.345"), or null when unknown. */
static void json_span(struct td_json *j, const char *key, uint64_t from, uint64_t to, bool known,
		      double unit)
{
	if (known)
		td_json_f64(j, key, to > from ? (double)(to - from) / unit : 0.0, 3);
	else
		td_json_null(j, key);
}

/* From a to b in `unit` ns ("12.345"), or `unknown` when not known. */
static void print_span(uint64_t from, uint64_t to, bool known, double unit, const char *unknown)
{
	if (!known)
		fputs(unknown, stdout);
	else
		printf("%.3f", to > from ? (double)(to - from) / unit : 0.0);
}

/* --sockets: one line (object) per timewait socket. */
static void print_sockets(const struct tw_run *r, const struct tw_ns *n, uint64_t now)
{
	char l[TD_ENDPOINT_STRLEN], rm[TD_ENDPOINT_STRLEN], buf[1024];
	const struct td_census *c = &n->census;
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, stdout);

	for (size_t i = 0; i < c->cap; i++) {
		const struct td_tw_entry *t = &c->slot[i];

		if (!t->cookie)
			continue;
		td_endpoint_str(t->family, t->laddr, t->lport, l);
		td_endpoint_str(t->family, t->raddr, t->rport, rm);
		if (json(r)) {
			td_json_record(&j, NULL, "timewait_socket");
			td_json_u64(&j, "netns", n->ns.inum);
			td_json_u64(&j, "cookie", t->cookie);
			td_json_str(&j, "state",
				    t->state == TD_TCP_TIME_WAIT ? "TIME_WAIT" : "FIN_WAIT2");
			td_json_u64(&j, "family", t->family == 2 ? 4 : 6);
			td_json_addr(&j, "laddr", t->family, t->laddr);
			td_json_u64(&j, "lport", t->lport);
			td_json_addr(&j, "raddr", t->family, t->raddr);
			td_json_u64(&j, "rport", t->rport);
			json_span(&j, "left_ms", now, t->expires_ns, t->expires_ns, 1e6);
			json_span(&j, "age_ms", t->enter_ns, now, t->enter_ns, 1e6);
			td_json_bool(&j, "estimated", t->estimated);
			td_json_end(&j);
			continue;
		}
		printf("  %-9s %s -> %s  left ",
		       t->state == TD_TCP_TIME_WAIT ? "TIME_WAIT" : "FIN_WAIT2", l, rm);
		print_span(now, t->expires_ns, t->expires_ns, 1e9, "?");
		fputs(" s  age ", stdout);
		print_span(t->enter_ns, now, t->enter_ns, 1e9, "?");
		fputs(t->estimated ? " s (from the timer)\n" : " s\n", stdout);
	}
}

/*
 * --verify while tracing: the set is current to the last drain, sockstat to
 * the moment it is read. Mark that moment, drain what happened up to it
 * and after, and take the set's size at the mark from the timestamps. A
 * kill's end is classified on the next timer event of its CPU: 2 ms lets
 * those reach the ring too.
 *
 * The kernel counts a timewait socket in sockstat a few instructions after
 * the timer start that dates it (6.1's __inet_twsk_schedule: mod_timer,
 * then refcount_inc): a CPU preempted in between (by a hypervisor, or
 * under TCG) leaves the set one ahead of sockstat until it runs again.
 * That race ends by itself, so a mismatch is measured again, up to
 * TW_VERIFY_TRIES times, waiting longer each time; only one that lasts is
 * reported.
 */
#define TW_VERIFY_TRIES 4

static int read_ns_files_marked(struct tw_run *r, struct tw_ns *n)
{
	struct td_census *c = &n->census;
	int64_t a, b, lo, hi;
	int err, try;

	if (!r->o.verify || r->o.once) {
		err = read_ns_files(r, n);
		n->census_at = (long)c->count;
		return err;
	}
	for (try = 0;; try++) {
		c->since_mark[0] = c->since_mark[1] = 0;
		c->mark_ns[0] = td_tracer_now_ns(r->t);
		err = read_ns_files(r, n);
		c->mark_ns[1] = td_tracer_now_ns(r->t);
		usleep(2000u << try);
		td_tracer_drain(r->t);
		a = td_census_count_at_mark(c, 0);
		b = td_census_count_at_mark(c, 1);
		c->mark_ns[0] = c->mark_ns[1] = 0;
		lo = a < b ? a : b;
		hi = a < b ? b : a;
		/* anything the kernel counted in between is within [a, b] */
		n->census_at = n->sockstat_tw >= lo && n->sockstat_tw <= hi ? n->sockstat_tw : a;
		if (err || n->census_at == n->sockstat_tw || try + 1 == TW_VERIFY_TRIES)
			return err;
	}
}

/* One namespace's report: files first (sockstat is closest to the drain
 * the set is current to), then the connected sockets, then the numbers. */
/* -C: the set's sockets by their owners' containers (the owners of
 * those older than tcpdwell are unknown) */
static int tally_containers(struct tw_run *r, struct tw_ns *n)
{
	const struct td_census *c = &n->census;
	int err = 0;

	td_cg_tally_reset(&r->tally);
	for (size_t i = 0; !err && i < c->cap; i++)
		if (c->slot[i].cookie)
			err = td_cg_tally_add(&r->tally, c->slot[i].cgroup_id, 1);
	return err ? err : td_cg_tally_group(&r->tally, td_tracer_cgnames(r->t), r->o.top);
}

static int report_ns(struct tw_run *r, struct tw_ns *n, uint64_t now, double at_s, double span_s)
{
	struct td_census_report rep;
	int err = read_ns_files_marked(r, n);

	if (!err && !r->o.once)
		err = snapshot(r, n, false);
	if (err)
		return err;
	err = td_census_report(&n->census, r->in_use, r->n_in_use, n->sys.range_lo,
			       n->sys.range_hi ? n->sys.range_hi : 0, now,
			       r->o.once || now < TW_RATE_WINDOW_S * 1000000000ull
				   ? 0
				   : now - TW_RATE_WINDOW_S * 1000000000ull,
			       r->o.top, &rep);
	if (!err && r->o.containers)
		err = tally_containers(r, n);
	if (err)
		return err;
	if (json(r))
		print_json(r, n, &rep, at_s, span_s);
	else
		print_text(r, n, &rep, at_s, span_s);
	if (r->o.sockets)
		print_sockets(r, n, now);
	td_census_report_free(&rep);
	td_census_reset_rates(&n->census);
	return 0;
}

/* The one namespace asked for (--netns, or our own) was deleted: the run
 * ends, saying so. */
static int single_gone(struct tw_run *r)
{
	if (!r->gone)
		td_msg("network namespace %u (%s) is gone", r->single.inum, r->single.name);
	r->gone = true;
	return -ENOENT;
}

static int report_all(struct tw_run *r, uint64_t now)
{
	double at_s = (double)(now - td_tracer_start_ns(r->t)) / 1e9;
	double span_s = (double)(now - r->last_ns) / 1e9;
	int err = r->gone ? -ENOENT : refresh_namespaces(r);

	if (err == -ENOENT && !r->o.all_netns)
		return single_gone(r);
	for (size_t i = 0; !err && i < r->nns; i++) {
		err = report_ns(r, &r->ns[i], now, at_s, span_s);
		if (err != -ENOENT && err != -ESTALE)
			continue;
		/* deleted since the listing */
		if (!r->o.all_netns)
			return single_gone(r);
		drop_ns(r, i--);
		err = 0;
	}
	r->last_ns = now;
	fflush(stdout);
	return err;
}

/* ---- the live run ---- */

static int on_event(void *ctx, const struct td_event *e)
{
	struct tw_run *r = ctx;
	struct tw_ns *n = find_ns(r, e->netns);

	/* a namespace not listed yet gets its snapshot at the next report */
	return n ? td_census_apply(&n->census, e, n->sys.fin_timeout) : 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct tw_run *r = ctx;
	int err;

	if (now < r->next_ns)
		return 0;
	err = report_all(r, now);
	while (r->next_ns <= now)
		r->next_ns += r->interval_ns;
	if (err && !r->gone)
		td_msg("timewait report failed: %s", strerror(-err));
	return err ? -1 : 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	const struct tw_run *r = ctx;

	td_loss_report(stdout, json(r), loss, NULL);
}

static int start(struct tw_run *r)
{
	int err = refresh_namespaces(r);

	if (err == -ENOENT && !r->o.all_netns) {
		single_gone(r);
		return TD_EXIT_ERROR;
	}
	if (err) {
		td_msg("timewait snapshot failed: %s", strerror(-err));
		return TD_EXIT_ERROR;
	}
	return 0;
}

/* A replay: the namespace and CONFIG_HZ are the recorder's. The tracer
 * reads r->tc as it replays, so the default --netns set here still counts. */
static int open_replay(struct tw_run *r)
{
	const struct td_rec_header *h;
	int err;

	td_command_configure(&r->o, &r->tc);
	err = td_tracer_open(&r->t, &r->tc);
	if (err)
		return err;
	h = td_tracer_recording(r->t);
	r->self = h->snap_netns;
	r->hz = h->hz;
	if (!r->o.filter.netns)
		r->o.filter.netns = r->tc.filter.netns = h->snap_netns;
	r->single.inum = r->o.filter.netns;
	snprintf(r->single.name, sizeof(r->single.name), "%s",
		 r->o.filter.netns == h->snap_netns && h->snap_netns_name[0] ? h->snap_netns_name
									     : "recorded");
	return 0;
}

int td_timewait_main(const struct td_opts *o)
{
	struct tw_run *r = calloc(1, sizeof(*r));
	struct td_consumer c = {on_event, on_tick, on_report, r};
	struct td_loss loss;
	int err;

	if (!r)
		return TD_EXIT_ERROR;
	r->o = *o;
	if (o->replay_path) {
		err = open_replay(r);
		if (err)
			goto cleanup;
		goto run;
	}
	r->self = td_netns_self();
	if (!r->o.all_netns && !r->o.filter.netns)
		r->o.filter.netns = r->self; /* the kernel filter, too */
	r->hz = td_kconfig_long("CONFIG_HZ");
	if (!r->o.all_netns) {
		if (td_netns_find(r->o.filter.netns, &r->single)) {
			td_msg("network namespace %u not found (no /run/netns "
			       "entry and no process in it)",
			       r->o.filter.netns);
			err = TD_EXIT_USAGE;
			goto cleanup;
		}
		if (r->single.inum == r->self) /* this thread's, whoever else is in it */
			strcpy(r->single.path, "/proc/self/ns/net");
	}
	td_command_configure(&r->o, &r->tc);
	err = td_tracer_open(&r->t, &r->tc);
	if (err)
		goto cleanup;
run:
	err = start(r);
	if (err)
		goto cleanup;
	if (r->o.once) {
		err = report_all(r, td_tracer_now_ns(r->t)) ? TD_EXIT_ERROR : TD_EXIT_OK;
		goto cleanup;
	}
	r->interval_ns = (uint64_t)(r->o.interval_s * 1e9);
	r->last_ns = td_tracer_now_ns(r->t);
	r->next_ns = r->last_ns + r->interval_ns;
	err = td_tracer_run(r->t, &c);
	td_tracer_finish(r->t, &loss);
	/* the last word: the set after the final drain */
	if ((r->gone || report_all(r, td_tracer_now_ns(r->t))) && !err)
		err = TD_EXIT_ERROR;
	err = td_tracer_conclude(r->t, stdout, json(r), &loss, err, false);
cleanup:
	td_tracer_close(r->t);
	for (size_t i = 0; i < r->nns; i++)
		td_census_free(&r->ns[i].census);
	free(r->ns);
	free(r->in_use);
	td_cg_tally_free(&r->tally);
	free(r);
	return err;
}
