// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "cgname.h"
#include "commands.h"
#include "format.h"
#include "json.h"
#include "loss.h"
#include "trace.h"
#include "tracer.h"

/* seconds since the tracer started, microsecond precision: "12.345678" */
static void line_rel_time(struct td_line *l, const struct td_trace *tr, uint64_t ts)
{
	int64_t rel = (int64_t)(ts - tr->start_ns);
	uint64_t a = rel < 0 ? -(uint64_t)rel : (uint64_t)rel;

	if (rel < 0)
		td_line_mem(l, "-", 1);
	td_line_u64(l, a / 1000000000);
	td_line_mem(l, ".", 1);
	td_line_frac(l, a % 1000000000 / 1000, 6);
}

/* The event's wall-clock time (-T) as local time; returns its microseconds. */
static unsigned long long wall_time(const struct td_trace *tr, uint64_t ts, struct tm *tm)
{
	uint64_t wall = ts + tr->wall_off_ns;
	time_t sec = wall / 1000000000ull;

	localtime_r(&sec, tm);
	return wall % 1000000000ull / 1000;
}

/* The time columns of a text line: wall clock (-T) or seconds since start. */
static void line_time(struct td_line *l, const struct td_trace *tr, uint64_t ts)
{
	if (tr->opts->wall_time) {
		struct tm tm;
		unsigned long long us = wall_time(tr, ts, &tm);

		td_line_printf(l, "%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min, tm.tm_sec, us);
		return;
	}
	line_rel_time(l, tr, ts);
	td_line_mem(l, " ", 1);
}

/* "wall" (with -T, ISO 8601 local time) and "time" (seconds since start). */
static void json_time(struct td_json *j, const struct td_trace *tr, uint64_t ts)
{
	if (tr->opts->wall_time) {
		struct tm tm;
		unsigned long long us = wall_time(tr, ts, &tm);

		td_json_key(j, "wall");
		td_line_printf(j->l, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06llu\"", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
	}
	td_json_key(j, "time");
	line_rel_time(j->l, tr, ts);
}

static const char *rst_reason(const struct td_trace *tr, const struct td_event *e, char *buf,
			      size_t sz)
{
	const char *name = td_kenum_name(tr->rst, e->arg);

	if (name)
		return name;
	snprintf(buf, sz, "%d", e->arg);
	return buf;
}

/* " connect failed: no free local port (ip_local_port_range 40000-40003)" */
static void line_connect_failed(struct td_line *l, const struct td_event *e)
{
	char buf[128];

	td_line_mem(l, " ", 1);
	td_line_str(l, td_connect_fail_str(e->kind, e->arg, buf, sizeof(buf)) > 0 ? buf : "");
}

/* "CLOSE -> SYN_SENT", "RETRANS syn in SYN_SENT", "RST sent in ..." */
static void line_what(struct td_line *l, const struct td_trace *tr, const struct td_event *e)
{
	char rbuf[16];

	switch (e->type) {
	case TD_EV_STATE:
		td_line_str(l, td_state_name(e->old_state));
		if ((e->flags & TD_F_TW) && e->new_state == TD_TCP_CLOSE) {
			/* the timewait socket is gone: the connection is over */
			td_line_str(l, " -> CLOSED ");
			td_line_str(l, td_tw_end_name(e->kind));
			if (e->flags & TD_F_LATE)
				td_line_str(l, " (was FIN_WAIT2(tw))");
		} else {
			td_line_str(l, " -> ");
			td_line_str(l, td_state_name(e->new_state));
			if (td_connect_fail_of(e))
				line_connect_failed(l, e);
			else if (e->kind == TD_TW_END_OVERFLOW)
				td_line_str(l, " (no TIME_WAIT: overflow)");
		}
		break;
	case TD_EV_RETRANS:
		td_line_str(l, "RETRANS ");
		td_line_str(l, td_retrans_kind_name(e->kind));
		td_line_str(l, " in ");
		td_line_str(l, td_state_name(e->old_state));
		if (e->kind == TD_RETRANS_DATA || e->kind == TD_RETRANS_TLP) {
			td_line_str(l, " (");
			td_line_str(l, td_ca_state_name(e->ca_state));
			td_line_str(l, ")");
		}
		if (e->segs > 1) { /* one skb, several segments (GSO) */
			td_line_mem(l, " ", 1);
			td_line_u64(l, e->segs);
			td_line_str(l, " segs");
		}
		if (e->flags & TD_F_FAILED) {
			td_line_str(l, " FAILED err=");
			td_line_i64(l, e->arg);
		}
		break;
	case TD_EV_RESET_SENT:
		if (e->old_state) {
			td_line_str(l, "RST sent in ");
			td_line_str(l, td_state_name(e->old_state));
		} else {
			td_line_str(l, "RST sent, no socket");
		}
		if (e->flags & TD_F_HAS_REASON) {
			td_line_str(l, " (");
			td_line_str(l, rst_reason(tr, e, rbuf, sizeof(rbuf)));
			td_line_str(l, ")");
		}
		break;
	case TD_EV_RESET_RECV:
		td_line_str(l, "RST recv in ");
		td_line_str(l, td_state_name(e->old_state));
		break;
	}
}

static void format_text(const struct td_trace *tr, const struct td_event *e, struct td_line *l)
{
	size_t addr_w = tr->opts->wide ? 47 : 21, col;
	char comm[4 * TD_COMM_LEN + 1];

	line_time(l, tr, e->ts_ns);
	col = l->len;
	if (e->owner == TD_OWNER_NONE) {
		td_line_str(l, "-");
		td_line_pad_to(l, col + 8);
		td_line_str(l, "-");
	} else {
		td_line_u64(l, e->pid);
		/* '*': not seen created, the task on the CPU at first sight */
		if (e->owner == TD_OWNER_INFERRED)
			td_line_mem(l, "*", 1);
		td_line_pad_to(l, col + 7);
		td_line_mem(l, " ", 1);
		col = l->len;
		td_line_mem(l, comm, td_escape_text(e->comm, sizeof(e->comm), comm, sizeof(comm)));
		col -= 8;
	}
	td_line_pad_to(l, col + 8 + 15);
	td_line_mem(l, " ", 1);
	if (tr->opts->containers) {
		col = l->len;
		td_line_container(l, tr->names, e->owner == TD_OWNER_NONE ? 0 : e->cgroup_id);
		td_line_pad_to(l, col + TD_CG_SHORT);
		td_line_mem(l, " ", 1);
	}
	if (tr->opts->wide)
		td_line_printf(l, "%u %-10u %-20" PRIu64 " %-8s %-12" PRIu64 " ",
			       e->family == AF_INET6 ? 6 : 4, e->netns, (uint64_t)e->cookie,
			       td_owner_name(e->owner), (uint64_t)e->cgroup_id);
	col = l->len;
	td_line_endpoint(l, e->family, e->laddr, e->lport);
	td_line_pad_to(l, col + addr_w);
	td_line_mem(l, " ", 1);
	col = l->len;
	td_line_endpoint(l, e->family, e->raddr, e->rport);
	td_line_pad_to(l, col + addr_w);
	td_line_mem(l, " ", 1);
	col = l->len;
	line_what(l, tr, e);
	td_line_pad_to(l, col + 32);
	td_line_mem(l, " ", 1);
	if (e->type == TD_EV_STATE) {
		if (e->flags & TD_F_NEW) {
			td_line_str(l, "new");
		} else if (e->flags & TD_F_FIRST) {
			td_line_str(l, "first");
		} else {
			td_line_ms(l, e->dwell_ns);
		}
	}
	td_line_mem(l, "\n", 1);
}

static void format_json(const struct td_trace *tr, const struct td_event *e, struct td_line *l)
{
	char rbuf[16];
	struct td_json j;

	td_json_init(&j, l, NULL);
	td_json_record(&j, NULL, td_event_type_name(e->type));
	json_time(&j, tr, e->ts_ns);
	td_json_u64(&j, "ts_ns", e->ts_ns);
	td_json_u64(&j, "cookie", e->cookie);
	td_json_u64(&j, "pid", e->pid);
	td_json_strn(&j, "comm", e->comm, sizeof(e->comm));
	td_json_str(&j, "owner", td_owner_name(e->owner));
	td_json_cgroup(&j, tr->names, e->cgroup_id);
	td_json_u64(&j, "netns", e->netns);
	td_json_tuple(&j, e);
	switch (e->type) {
	case TD_EV_STATE:
		td_json_str(&j, "old", td_state_name(e->old_state));
		td_json_str(&j, "new", td_state_name(e->new_state));
		if (e->flags & (TD_F_NEW | TD_F_FIRST)) {
			td_json_null(&j, "dwell_ns");
		} else if (e->flags & TD_F_LATE) { /* covers FIN_WAIT2(tw) and TIME_WAIT */
			td_json_null(&j, "dwell_ns");
			td_json_u64(&j, "timewait_ns", e->dwell_ns);
		} else {
			td_json_u64(&j, "dwell_ns", e->dwell_ns);
		}
		td_json_bool(&j, "created", e->flags & TD_F_NEW);
		td_json_bool(&j, "first_seen", e->flags & TD_F_FIRST);
		td_json_bool(&j, "deferred", e->flags & TD_F_DEFERRED);
		td_json_bool(&j, "timewait", e->flags & TD_F_TW);
		if (e->kind && !td_connect_fail_of(e))
			td_json_str(&j, "end", td_tw_end_name(e->kind));
		else
			td_json_null(&j, "end");
		td_json_bool(&j, "substate_switch_unseen", e->flags & TD_F_LATE);
		td_json_connect_failed(&j, e);
		break;
	case TD_EV_RETRANS:
		td_json_str(&j, "state", td_state_name(e->old_state));
		td_json_str(&j, "kind", td_retrans_kind_name(e->kind));
		if (e->kind == TD_RETRANS_DATA || e->kind == TD_RETRANS_TLP)
			td_json_str(&j, "ca_state", td_ca_state_name(e->ca_state));
		else
			td_json_null(&j, "ca_state");
		if (e->flags & TD_F_HAS_ERR)
			td_json_i64(&j, "err", e->arg);
		else
			td_json_null(&j, "err");
		td_json_bool(&j, "failed", e->flags & TD_F_FAILED);
		td_json_u64(&j, "segs", e->segs ? e->segs : 1);
		break;
	default:
		td_json_str(&j, "state", e->old_state ? td_state_name(e->old_state) : "NO_SOCKET");
		if (e->flags & TD_F_HAS_REASON)
			td_json_str(&j, "reason", rst_reason(tr, e, rbuf, sizeof(rbuf)));
		else
			td_json_null(&j, "reason");
		break;
	}
	td_json_end(&j);
}

size_t td_trace_format(const struct td_trace *tr, const struct td_event *e, char *out, size_t sz)
{
	struct td_line l = {out, sz, 0};

	if (!sz)
		return 0;
	out[0] = '\0';
	if (tr->opts->format == TD_FMT_JSON)
		format_json(tr, e, &l);
	else
		format_text(tr, e, &l);
	return l.len;
}

static void print_header(struct td_trace *tr)
{
	const struct td_opts *o = tr->opts;

	tr->header_done = true;
	if (o->format != TD_FMT_TEXT)
		return;
	fprintf(tr->out, "%-*s %-7s %-15s ", o->wall_time ? 15 : 8,
		o->wall_time ? "TIME" : "TIME(s)", "PID", "COMM");
	if (o->containers)
		fprintf(tr->out, "%-*s ", TD_CG_SHORT, "CONTAINER");
	if (o->wide)
		fprintf(tr->out, "%s %-10s %-20s %-8s %-12s ", "AF", "NETNS", "COOKIE", "OWNER",
			"CGROUP");
	fprintf(tr->out, "%-*s %-*s %-32s %s\n", o->wide ? 47 : 21, "LADDR:LPORT",
		o->wide ? 47 : 21, "RADDR:RPORT", "EVENT", "MS");
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct td_trace *tr = ctx;
	char line[TD_TRACE_LINE_MAX];
	size_t n = td_trace_format(tr, e, line, sizeof(line));

	if (!tr->header_done)
		print_header(tr);
	if (fwrite(line, 1, n, tr->out) != n)
		return -1; /* EPIPE: the reader went away */
	return 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct td_trace *tr = ctx;

	(void)now;
	/* Live stream: each drain reaches the pipe now, not at 4 KiB. */
	return fflush(tr->out) || ferror(tr->out) ? -1 : 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	const struct td_trace *tr = ctx;

	td_loss_report(tr->out, tr->opts->format == TD_FMT_JSON, loss, NULL);
}

int td_trace_main(const struct td_opts *o)
{
	struct td_trace tr = {.opts = o, .out = stdout};
	struct td_consumer c = {on_event, on_tick, on_report, &tr};
	struct td_tracer_cfg tc;
	struct td_tracer *t;
	struct td_loss loss;
	int err;

	/* Parse kernel BTF for the names before the ring buffer is mapped:
	 * the two would otherwise add up in the peak RSS. */
	tr.rst = td_kenum_load("sk_rst_reason", "SK_RST_REASON_");
	td_command_configure(o, &tc);
	err = td_tracer_open(&t, &tc);
	if (err) {
		td_kenum_free(tr.rst);
		return err;
	}
	tr.names = td_tracer_cgnames(t);
	tr.start_ns = td_tracer_start_ns(t);
	tr.wall_off_ns = td_tracer_wall_offset_ns(t);
	if (o->format == TD_FMT_TEXT)
		print_header(&tr);
	fflush(tr.out);

	err = td_tracer_run(t, &c);
	td_tracer_finish(t, &loss);
	err = td_tracer_conclude(t, tr.out, o->format == TD_FMT_JSON, &loss, err, false);
	td_tracer_close(t);
	td_kenum_free(tr.rst);
	return err;
}
