// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "format.h"
#include "loss.h"
#include "trace.h"
#include "tracer.h"

#define LINE_MAX_LEN 1024

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

static void line_time(struct td_line *l, const struct td_trace *tr, uint64_t ts, bool json)
{
	if (tr->opts->wall_time) {
		uint64_t wall = ts + tr->wall_off_ns;
		time_t sec = wall / 1000000000ull;
		struct tm tm;

		localtime_r(&sec, &tm);
		if (json)
			td_line_printf(l, "\"wall\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06llu\",",
				       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				       tm.tm_min, tm.tm_sec,
				       (unsigned long long)(wall % 1000000000ull / 1000));
		else
			td_line_printf(l, "%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min,
				       tm.tm_sec,
				       (unsigned long long)(wall % 1000000000ull / 1000));
		if (!json)
			return;
	}
	if (json) {
		td_line_str(l, "\"time\":");
		line_rel_time(l, tr, ts);
		td_line_mem(l, ",", 1);
	} else {
		line_rel_time(l, tr, ts);
		td_line_mem(l, " ", 1);
	}
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
			if (e->kind == TD_TW_END_OVERFLOW)
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

	line_time(l, tr, e->ts_ns, false);
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

static const char *json_bool(unsigned v)
{
	return v ? "true" : "false";
}

/* ,"key":value for the common numeric fields */
static void json_u64(struct td_line *l, const char *key, uint64_t v)
{
	td_line_str(l, key);
	td_line_u64(l, v);
}

static void format_json(const struct td_trace *tr, const struct td_event *e, struct td_line *l)
{
	char comm[6 * TD_COMM_LEN + 1], rbuf[16];

	td_line_str(l, "{\"schema\":");
	td_line_u64(l, TD_EVENT_VERSION);
	td_line_str(l, ",\"type\":\"");
	td_line_str(l, td_event_type_name(e->type));
	td_line_str(l, "\",");
	line_time(l, tr, e->ts_ns, true);
	json_u64(l, "\"ts_ns\":", e->ts_ns);
	json_u64(l, ",\"cookie\":", e->cookie);
	json_u64(l, ",\"pid\":", e->pid);
	td_line_str(l, ",\"comm\":\"");
	td_line_mem(l, comm, td_escape_json(e->comm, sizeof(e->comm), comm, sizeof(comm)));
	td_line_str(l, "\",\"owner\":\"");
	td_line_str(l, td_owner_name(e->owner));
	json_u64(l, "\",\"cgroup\":", e->cgroup_id);
	json_u64(l, ",\"netns\":", e->netns);
	json_u64(l, ",\"family\":", e->family == AF_INET6 ? 6 : 4);
	td_line_str(l, ",\"laddr\":\"");
	td_line_addr(l, e->family, e->laddr);
	json_u64(l, "\",\"lport\":", e->lport);
	td_line_str(l, ",\"raddr\":\"");
	td_line_addr(l, e->family, e->raddr);
	json_u64(l, "\",\"rport\":", e->rport);
	td_line_mem(l, ",", 1);
	switch (e->type) {
	case TD_EV_STATE:
		td_line_str(l, "\"old\":\"");
		td_line_str(l, td_state_name(e->old_state));
		td_line_str(l, "\",\"new\":\"");
		td_line_str(l, td_state_name(e->new_state));
		td_line_str(l, "\",");
		if (e->flags & (TD_F_NEW | TD_F_FIRST)) {
			td_line_str(l, "\"dwell_ns\":null,");
		} else if (e->flags & TD_F_LATE) { /* covers FIN_WAIT2(tw) and TIME_WAIT */
			json_u64(l, "\"dwell_ns\":null,\"timewait_ns\":", e->dwell_ns);
			td_line_mem(l, ",", 1);
		} else {
			json_u64(l, "\"dwell_ns\":", e->dwell_ns);
			td_line_mem(l, ",", 1);
		}
		td_line_printf(l,
			       "\"created\":%s,\"first_seen\":%s,\"deferred\":%s,\"timewait\":%s,",
			       json_bool(e->flags & TD_F_NEW), json_bool(e->flags & TD_F_FIRST),
			       json_bool(e->flags & TD_F_DEFERRED), json_bool(e->flags & TD_F_TW));
		if (e->kind) {
			td_line_str(l, "\"end\":\"");
			td_line_str(l, td_tw_end_name(e->kind));
			td_line_str(l, "\",");
		} else {
			td_line_str(l, "\"end\":null,");
		}
		td_line_str(l, "\"substate_switch_unseen\":");
		td_line_str(l, json_bool(e->flags & TD_F_LATE));
		td_line_str(l, "}\n");
		break;
	case TD_EV_RETRANS:
		td_line_str(l, "\"state\":\"");
		td_line_str(l, td_state_name(e->old_state));
		td_line_str(l, "\",\"kind\":\"");
		td_line_str(l, td_retrans_kind_name(e->kind));
		td_line_str(l, "\",\"ca_state\":");
		if (e->kind == TD_RETRANS_DATA || e->kind == TD_RETRANS_TLP) {
			td_line_str(l, "\"");
			td_line_str(l, td_ca_state_name(e->ca_state));
			td_line_str(l, "\",");
		} else {
			td_line_str(l, "null,");
		}
		if (e->flags & TD_F_HAS_ERR) {
			td_line_str(l, "\"err\":");
			td_line_i64(l, e->arg);
			td_line_mem(l, ",", 1);
		} else {
			td_line_str(l, "\"err\":null,");
		}
		td_line_str(l, "\"failed\":");
		td_line_str(l, json_bool(e->flags & TD_F_FAILED));
		json_u64(l, ",\"segs\":", e->segs ? e->segs : 1);
		td_line_str(l, "}\n");
		break;
	default:
		td_line_str(l, "\"state\":\"");
		td_line_str(l, e->old_state ? td_state_name(e->old_state) : "NO_SOCKET");
		td_line_str(l, "\",");
		if (e->flags & TD_F_HAS_REASON) {
			td_line_str(l, "\"reason\":\"");
			td_line_str(l, rst_reason(tr, e, rbuf, sizeof(rbuf)));
			td_line_str(l, "\"}\n");
		} else {
			td_line_str(l, "\"reason\":null}\n");
		}
		break;
	}
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
	if (o->wide)
		fprintf(tr->out, "%s %-10s %-20s %-8s %-12s ", "AF", "NETNS", "COOKIE", "OWNER",
			"CGROUP");
	fprintf(tr->out, "%-*s %-*s %-32s %s\n", o->wide ? 47 : 21, "LADDR:LPORT",
		o->wide ? 47 : 21, "RADDR:RPORT", "EVENT", "MS");
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct td_trace *tr = ctx;
	char line[LINE_MAX_LEN];
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
	struct td_tracer *t;
	struct td_loss loss;
	int err;

	/* Parse kernel BTF for the names before the ring buffer is mapped:
	 * the two would otherwise add up in the peak RSS. */
	tr.rst = td_kenum_load("sk_rst_reason", "SK_RST_REASON_");
	err = td_tracer_open(&t, o);
	if (err) {
		td_kenum_free(tr.rst);
		return err;
	}
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
