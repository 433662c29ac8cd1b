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

/* Append to a fixed line buffer; truncation is harmless (sz is generous). */
struct line {
	char *buf;
	size_t sz, len;
};

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= l->sz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->sz - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + n < l->sz ? l->len + n : l->sz - 1;
}

static void put_time(struct line *l, const struct td_trace *tr, uint64_t ts, bool json)
{
	if (tr->opts->wall_time) {
		uint64_t wall = ts + tr->wall_off_ns;
		time_t sec = wall / 1000000000ull;
		struct tm tm;

		localtime_r(&sec, &tm);
		if (json)
			put(l, "\"wall\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06llu\",",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			    tm.tm_sec, (unsigned long long)(wall % 1000000000ull / 1000));
		else
			put(l, "%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min, tm.tm_sec,
			    (unsigned long long)(wall % 1000000000ull / 1000));
		if (!json)
			return;
	}
	{
		int64_t rel = (int64_t)(ts - tr->start_ns);
		const char *sign = rel < 0 ? "-" : "";
		uint64_t a = rel < 0 ? -rel : rel;

		if (json)
			put(l, "\"time\":%s%llu.%06llu,", sign,
			    (unsigned long long)(a / 1000000000),
			    (unsigned long long)(a % 1000000000 / 1000));
		else
			put(l, "%s%llu.%06llu ", sign, (unsigned long long)(a / 1000000000),
			    (unsigned long long)(a % 1000000000 / 1000));
	}
}

static const char *event_type_name(unsigned type)
{
	switch (type) {
	case TD_EV_STATE:
		return "state";
	case TD_EV_RETRANS:
		return "retrans";
	case TD_EV_RESET_SENT:
		return "reset_sent";
	case TD_EV_RESET_RECV:
		return "reset_recv";
	}
	return "unknown";
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

/* "CLOSE -> SYN_SENT", "RETRANS syn", "RST sent TCP_ABORT_ON_DATA" ... */
static void put_what(struct line *l, const struct td_trace *tr, const struct td_event *e)
{
	char rbuf[16];

	switch (e->type) {
	case TD_EV_STATE:
		if ((e->flags & TD_F_TW) && e->new_state == TD_TCP_CLOSE) {
			/* the timewait socket is gone: the connection is over */
			put(l, "%s -> CLOSED %s", td_state_name(e->old_state),
			    td_tw_end_name(e->kind));
			if (e->flags & TD_F_LATE)
				put(l, " (was FIN_WAIT2(tw))");
		} else {
			put(l, "%s -> %s", td_state_name(e->old_state),
			    td_state_name(e->new_state));
			if (e->kind == TD_TW_END_OVERFLOW)
				put(l, " (no TIME_WAIT: overflow)");
		}
		break;
	case TD_EV_RETRANS:
		put(l, "RETRANS %s in %s", td_retrans_kind_name(e->kind),
		    td_state_name(e->old_state));
		if (e->flags & TD_F_FAILED)
			put(l, " FAILED err=%d", e->arg);
		break;
	case TD_EV_RESET_SENT:
		if (e->old_state)
			put(l, "RST sent in %s", td_state_name(e->old_state));
		else
			put(l, "RST sent, no socket");
		if (e->flags & TD_F_HAS_REASON)
			put(l, " (%s)", rst_reason(tr, e, rbuf, sizeof(rbuf)));
		break;
	case TD_EV_RESET_RECV:
		put(l, "RST recv in %s", td_state_name(e->old_state));
		break;
	}
}

static void format_text(const struct td_trace *tr, const struct td_event *e, struct line *l)
{
	char comm[4 * TD_COMM_LEN + 1], pid[16], la[TD_ENDPOINT_STRLEN], ra[TD_ENDPOINT_STRLEN];
	char ms[32], what[96];
	struct line w = {what, sizeof(what), 0};

	td_escape_text(e->comm, sizeof(e->comm), comm, sizeof(comm));
	if (e->owner == TD_OWNER_NONE) {
		strcpy(pid, "-");
		strcpy(comm, "-");
	} else {
		/* '*': not seen created, the task on the CPU at first sight */
		snprintf(pid, sizeof(pid), "%u%s", e->pid,
			 e->owner == TD_OWNER_INFERRED ? "*" : "");
	}
	td_endpoint_str(e->family, e->laddr, e->lport, la);
	td_endpoint_str(e->family, e->raddr, e->rport, ra);
	put_what(&w, tr, e);
	if (e->type != TD_EV_STATE)
		strcpy(ms, "");
	else if (e->flags & TD_F_NEW)
		strcpy(ms, "new");
	else if (e->flags & TD_F_FIRST)
		strcpy(ms, "first");
	else
		td_ms_str(e->dwell_ns, ms, sizeof(ms));

	put_time(l, tr, e->ts_ns, false);
	put(l, "%-7s %-15s ", pid, comm);
	if (tr->opts->wide)
		put(l, "%u %-10u %-20" PRIu64 " %-8s %-12" PRIu64 " ",
		    e->family == AF_INET6 ? 6 : 4, e->netns, (uint64_t)e->cookie,
		    td_owner_name(e->owner), (uint64_t)e->cgroup_id);
	put(l, "%-*s %-*s %-32s %s\n", tr->opts->wide ? 47 : 21, la, tr->opts->wide ? 47 : 21, ra,
	    what, ms);
}

static const char *json_bool(unsigned v)
{
	return v ? "true" : "false";
}

static void format_json(const struct td_trace *tr, const struct td_event *e, struct line *l)
{
	char comm[6 * TD_COMM_LEN + 1], la[TD_ADDR_STRLEN], ra[TD_ADDR_STRLEN], rbuf[16];

	td_escape_json(e->comm, sizeof(e->comm), comm, sizeof(comm));
	put(l, "{\"schema\":%d,\"type\":\"%s\",", TD_EVENT_VERSION, event_type_name(e->type));
	put_time(l, tr, e->ts_ns, true);
	put(l,
	    "\"ts_ns\":%" PRIu64 ",\"cookie\":%" PRIu64
	    ",\"pid\":%u,\"comm\":\"%s\",\"owner\":\"%s\",\"cgroup\":%" PRIu64
	    ",\"netns\":%u,\"family\":%d,\"laddr\":\"%s\",\"lport\":%u,\"raddr\":\"%s\","
	    "\"rport\":%u,",
	    (uint64_t)e->ts_ns, (uint64_t)e->cookie, e->pid, comm, td_owner_name(e->owner),
	    (uint64_t)e->cgroup_id, e->netns, e->family == AF_INET6 ? 6 : 4,
	    td_addr_str(e->family, e->laddr, la), e->lport, td_addr_str(e->family, e->raddr, ra),
	    e->rport);
	switch (e->type) {
	case TD_EV_STATE:
		put(l, "\"old\":\"%s\",\"new\":\"%s\",", td_state_name(e->old_state),
		    td_state_name(e->new_state));
		if (e->flags & (TD_F_NEW | TD_F_FIRST))
			put(l, "\"dwell_ns\":null,");
		else if (e->flags & TD_F_LATE) /* covers FIN_WAIT2(tw) and TIME_WAIT */
			put(l, "\"dwell_ns\":null,\"timewait_ns\":%" PRIu64 ",",
			    (uint64_t)e->dwell_ns);
		else
			put(l, "\"dwell_ns\":%" PRIu64 ",", (uint64_t)e->dwell_ns);
		put(l, "\"created\":%s,\"first_seen\":%s,\"deferred\":%s,\"timewait\":%s,",
		    json_bool(e->flags & TD_F_NEW), json_bool(e->flags & TD_F_FIRST),
		    json_bool(e->flags & TD_F_DEFERRED), json_bool(e->flags & TD_F_TW));
		if (e->kind)
			put(l, "\"end\":\"%s\",", td_tw_end_name(e->kind));
		else
			put(l, "\"end\":null,");
		put(l, "\"substate_switch_unseen\":%s}\n", json_bool(e->flags & TD_F_LATE));
		break;
	case TD_EV_RETRANS:
		put(l, "\"state\":\"%s\",\"kind\":\"%s\",", td_state_name(e->old_state),
		    td_retrans_kind_name(e->kind));
		if (e->flags & TD_F_HAS_ERR)
			put(l, "\"err\":%d,", e->arg);
		else
			put(l, "\"err\":null,");
		put(l, "\"failed\":%s}\n", json_bool(e->flags & TD_F_FAILED));
		break;
	default:
		put(l, "\"state\":\"%s\",",
		    e->old_state ? td_state_name(e->old_state) : "NO_SOCKET");
		if (e->flags & TD_F_HAS_REASON)
			put(l, "\"reason\":\"%s\"}\n", rst_reason(tr, e, rbuf, sizeof(rbuf)));
		else
			put(l, "\"reason\":null}\n");
		break;
	}
}

size_t td_trace_format(const struct td_trace *tr, const struct td_event *e, char *out, size_t sz)
{
	struct line l = {out, sz, 0};

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

/* The summary for people on stderr, and in JSON mode also in the stream. */
static void print_loss(const struct td_trace *tr, const struct td_loss *loss, const char *degraded)
{
	if (tr->opts->format == TD_FMT_JSON && !ferror(tr->out)) {
		td_loss_print_json(tr->out, loss, degraded);
		fflush(tr->out);
	}
	td_loss_print_text(stderr, loss, degraded);
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	print_loss(ctx, loss, NULL);
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
	/* Attached: anything that happens from now on is seen (tests wait for this). */
	fprintf(stderr,
		"tcpdwell: tracing, Ctrl-C or SIGTERM to stop, SIGUSR1 for loss counters\n");

	err = td_tracer_run(t, &c);
	td_tracer_finish(t, &loss);
	fflush(tr.out);
	print_loss(&tr, &loss, td_tracer_degraded(t));
	td_tracer_close(t);
	td_kenum_free(tr.rst);
	if (err)
		return err;
	return td_loss_total(&loss) ? TD_EXIT_LOST : TD_EXIT_OK;
}
