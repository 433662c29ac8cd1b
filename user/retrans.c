// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell retrans`: the kernel sends only retransmits (and resets with
 * --resets) through the ring. Without -c every one is a line, formatted
 * like `trace`; with -c they are counted per flow (the 4-tuple and the
 * connection's owner) and per remote endpoint, printed every -i SEC for
 * the interval and at exit for the whole run. Failed attempts (err != 0,
 * where the kernel reports them) are counted apart, never as retransmits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "format.h"
#include "json.h"
#include "loss.h"
#include "retrans.h"
#include "tally.h"
#include "trace.h"
#include "tracer.h"

enum rt_count { RT_SYN, RT_SYNACK, RT_DATA, RT_TLP, RT_FAILED, RT_RST_SENT, RT_RST_RECV, RT_N };

static const char *const rt_names[RT_N] = {"syn",    "synack",	 "data",    "tlp",
					   "failed", "rst_sent", "rst_recv"};

/* A tally row: the key (a flow with its owner, or a remote endpoint with
 * the rest zeroed), then the counters. */
struct rt_row {
	uint8_t family;
	uint8_t pad;
	uint16_t lport, rport;
	uint8_t laddr[TD_ADDR_LEN], raddr[TD_ADDR_LEN];
	uint32_t netns, pid;
	char comm[TD_COMM_LEN];
	uint32_t n[RT_N];
};

#define RT_KEY offsetof(struct rt_row, n)

struct rt_rows {
	struct rt_row *v;
	size_t n, cap;
};

struct rt_span {
	struct rt_rows flows;		       /* one row per event until merged */
	uint64_t resets[2][TD_TCP_MAX_STATES]; /* [0] sent, [1] received, by state */
};

struct rt_run {
	const struct td_opts *o;
	struct td_tracer *t;
	struct rt_span iv, total;
	uint64_t start_ns, interval_ns, next_ns, iv_start_ns;
	int err;
};

static int push(struct rt_rows *r, const struct rt_row *row)
{
	struct rt_row *grown;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		grown = realloc(r->v, r->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		r->v = grown;
	}
	r->v[r->n++] = *row;
	return 0;
}

/* Merge the rows appended since the last merge. Bounded by the flows seen. */
static void merge(struct rt_rows *r)
{
	r->n = td_tally_merge(r->v, r->n, sizeof(*r->v), RT_KEY);
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct rt_run *r = ctx;
	struct rt_row row;
	int which;

	switch (e->type) {
	case TD_EV_RETRANS:
		if (e->flags & TD_F_FAILED)
			which = RT_FAILED;
		else
			which = e->kind == TD_RETRANS_SYN      ? RT_SYN
				: e->kind == TD_RETRANS_SYNACK ? RT_SYNACK
				: e->kind == TD_RETRANS_TLP    ? RT_TLP
							       : RT_DATA;
		break;
	case TD_EV_RESET_SENT:
	case TD_EV_RESET_RECV:
		which = e->type == TD_EV_RESET_SENT ? RT_RST_SENT : RT_RST_RECV;
		r->iv.resets[which == RT_RST_RECV][e->old_state]++;
		break;
	default:
		return 0;
	}
	memset(&row, 0, sizeof(row));
	row.family = e->family;
	row.lport = e->lport;
	row.rport = e->rport;
	memcpy(row.laddr, e->laddr, sizeof(row.laddr));
	memcpy(row.raddr, e->raddr, sizeof(row.raddr));
	row.netns = e->netns;
	row.pid = e->pid;
	memcpy(row.comm, e->comm, sizeof(row.comm));
	row.n[which] = 1;
	if (push(&r->iv.flows, &row))
		return r->err = -ENOMEM;
	/* a retransmit storm stays bounded: fold every 64 Ki events */
	if (r->iv.flows.n >= 65536)
		merge(&r->iv.flows);
	return 0;
}

/* Per remote endpoint: the flows with their local side and owner zeroed. */
static int endpoints(const struct rt_rows *flows, struct rt_rows *out)
{
	for (size_t i = 0; i < flows->n; i++) {
		struct rt_row row = flows->v[i];

		memset(row.laddr, 0, sizeof(row.laddr));
		memset(row.comm, 0, sizeof(row.comm));
		row.lport = 0;
		row.pid = 0;
		if (push(out, &row))
			return -ENOMEM;
	}
	merge(out);
	td_tally_by_count(out->v, out->n, sizeof(*out->v), RT_KEY);
	return 0;
}

static unsigned counted(const struct rt_run *r)
{
	return r->o->resets ? RT_N : RT_RST_SENT;
}

static void print_counts_text(const struct rt_run *r, const struct rt_row *row, bool flow)
{
	char l[TD_ENDPOINT_STRLEN], rm[TD_ENDPOINT_STRLEN], comm[4 * TD_COMM_LEN + 1];

	td_endpoint_str(row->family, row->raddr, row->rport, rm);
	if (flow) {
		td_escape_text(row->comm, sizeof(row->comm), comm, sizeof(comm));
		printf("  %-7u %-15s %-21s %-21s", row->pid, comm,
		       td_endpoint_str(row->family, row->laddr, row->lport, l), rm);
	} else {
		printf("  %-21s", rm);
	}
	for (unsigned i = 0; i < counted(r); i++)
		printf(" %8u", row->n[i]);
	putchar('\n');
}

static void print_counts_json(const struct rt_run *r, struct td_json *j, const struct rt_row *row,
			      bool flow)
{
	td_json_object(j, NULL);
	if (flow) {
		td_json_u64(j, "pid", row->pid);
		td_json_strn(j, "comm", row->comm, sizeof(row->comm));
		td_json_u64(j, "netns", row->netns);
		td_json_addr(j, "laddr", row->family, row->laddr);
		td_json_u64(j, "lport", row->lport);
	}
	td_json_addr(j, "raddr", row->family, row->raddr);
	td_json_u64(j, "rport", row->rport);
	for (unsigned i = 0; i < counted(r); i++)
		td_json_u64(j, rt_names[i], row->n[i]);
	td_json_close(j);
}

static void print_table(const struct rt_run *r, struct td_json *j, const char *what,
			const struct rt_rows *rows, bool flow)
{
	size_t shown = rows->n < r->o->top ? rows->n : r->o->top;
	char key[32];

	if (j) {
		snprintf(key, sizeof(key), "%s_total", what);
		td_json_u64(j, key, rows->n);
		td_json_array(j, what);
		for (size_t i = 0; i < shown; i++)
			print_counts_json(r, j, &rows->v[i], flow);
		td_json_close(j);
		return;
	}
	printf("%s (%zu, top %zu):\n", what, rows->n, shown);
	if (flow)
		printf("  %-7s %-15s %-21s %-21s", "PID", "COMM", "LADDR:LPORT", "RADDR:RPORT");
	else
		printf("  %-21s", "RADDR:RPORT");
	for (unsigned i = 0; i < counted(r); i++)
		printf(" %8s", rt_names[i]);
	putchar('\n');
	for (size_t i = 0; i < shown; i++)
		print_counts_text(r, &rows->v[i], flow);
}

static void print_resets(const struct rt_run *r, struct td_json *j, const struct rt_span *s)
{
	static const char *const dir[2] = {"sent", "received"};

	if (!r->o->resets)
		return;
	if (j)
		td_json_object(j, "resets");
	else
		printf("resets by state:");
	for (int d = 0; d < 2; d++) {
		bool first = true;

		if (j)
			td_json_object(j, dir[d]);
		else
			printf("%s %s", d ? ";" : "", dir[d]);
		for (unsigned st = 0; st < TD_TCP_MAX_STATES; st++) {
			const char *name = st ? td_state_name(st) : "NO_SOCKET";

			if (!s->resets[d][st])
				continue;
			if (j)
				td_json_u64(j, name, s->resets[d][st]);
			else
				printf("%s %s %lu", first ? "" : ",", name,
				       (unsigned long)s->resets[d][st]);
			first = false;
		}
		if (j)
			td_json_close(j);
	}
	if (j)
		td_json_close(j);
	else
		printf("\n");
}

/* One report: the interval's (or the run's) flows and endpoints. */
static int report(struct rt_run *r, struct rt_span *s, const char *span, uint64_t from, uint64_t to)
{
	struct rt_rows eps = {0};
	double a = (double)(from - r->start_ns) / 1e9, b = (double)(to - r->start_ns) / 1e9;
	char buf[4096];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json json, *j = r->o->format == TD_FMT_JSON ? &json : NULL;

	merge(&s->flows);
	td_tally_by_count(s->flows.v, s->flows.n, sizeof(*s->flows.v), RT_KEY);
	if (endpoints(&s->flows, &eps)) {
		free(eps.v);
		return -ENOMEM;
	}
	if (j) {
		td_json_init(j, &line, stdout);
		td_json_record(j, NULL, "retrans_counts");
		td_json_str(j, "span", span);
		td_json_f64(j, "start_s", a, 3);
		td_json_f64(j, "end_s", b, 3);
	} else {
		printf("--- retransmits %s %.3f s .. %.3f s ---\n", span, a, b);
	}
	print_table(r, j, "flows", &s->flows, true);
	print_table(r, j, "endpoints", &eps, false);
	print_resets(r, j, s);
	if (j)
		td_json_end(j);
	free(eps.v);
	fflush(stdout);
	return 0;
}

/* The interval's rows join the run's totals (merged: bounded by flows). */
static int roll_interval(struct rt_run *r)
{
	for (size_t i = 0; i < r->iv.flows.n; i++)
		if (push(&r->total.flows, &r->iv.flows.v[i]))
			return -ENOMEM;
	merge(&r->total.flows);
	for (int d = 0; d < 2; d++)
		for (unsigned st = 0; st < TD_TCP_MAX_STATES; st++)
			r->total.resets[d][st] += r->iv.resets[d][st];
	r->iv.flows.n = 0;
	memset(r->iv.resets, 0, sizeof(r->iv.resets));
	return 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct rt_run *r = ctx;

	if (r->err)
		return -1;
	if (!r->interval_ns || now < r->next_ns)
		return 0;
	if (report(r, &r->iv, "interval", r->iv_start_ns, now) || roll_interval(r))
		return -1;
	r->iv_start_ns = now;
	while (r->next_ns <= now)
		r->next_ns += r->interval_ns;
	return 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	const struct rt_run *r = ctx;

	td_loss_report(stdout, r->o->format == TD_FMT_JSON, loss, NULL);
}

static int count_main(const struct td_opts *o)
{
	struct rt_run r = {.o = o};
	struct td_consumer c = {on_event, on_tick, on_report, &r};
	struct td_tracer_cfg tc;
	struct td_loss loss;
	int err;

	td_command_configure(o, &tc);
	err = td_tracer_open(&r.t, &tc);
	if (err)
		return err;
	r.start_ns = r.iv_start_ns = td_tracer_start_ns(r.t);
	r.interval_ns = (uint64_t)(o->interval_s * 1e9);
	r.next_ns = r.start_ns + r.interval_ns;
	err = td_tracer_run(r.t, &c);
	td_tracer_finish(r.t, &loss);
	if (roll_interval(&r) || report(&r, &r.total, "total", r.start_ns, td_tracer_now_ns(r.t)) ||
	    r.err)
		err = err ? err : TD_EXIT_ERROR;
	err = td_tracer_conclude(r.t, stdout, o->format == TD_FMT_JSON, &loss, err, false);
	td_tracer_close(r.t);
	free(r.iv.flows.v);
	free(r.total.flows.v);
	return err;
}

int td_retrans_main(const struct td_opts *o)
{
	/* one line per event: the trace view, with only these events */
	return o->count ? count_main(o) : td_trace_main(o);
}
