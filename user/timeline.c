// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cgname.h"
#include "commands.h"
#include "err.h"
#include "format.h"
#include "json.h"
#include "hist.h"
#include "loss.h"
#include "timeline.h"
#include "tracer.h"

struct td_timeline {
	const struct td_opts *opts;
	struct td_conns *conns;
	struct td_cgnames *names;
	bool out_failed;
};

#define SYN_CLOSE "SYN_SENT -> CLOSE "

static const char *ev_text(const struct td_conn_ev *e, char *buf, size_t sz)
{
	switch (e->type) {
	case TD_EV_STATE:
		if ((e->flags & TD_F_TW) && e->new_state == TD_TCP_CLOSE)
			snprintf(buf, sz, "%s -> CLOSED %s", td_state_name(e->old_state),
				 td_tw_end_name(e->kind));
		else if (td_conn_ev_connect_fail(e) && sz > sizeof(SYN_CLOSE))
			td_connect_fail_str(e->kind, e->arg, buf + sizeof(SYN_CLOSE) - 1,
					    sz - (size_t)snprintf(buf, sz, "%s", SYN_CLOSE));
		else
			snprintf(buf, sz, "%s -> %s%s", td_state_name(e->old_state),
				 td_state_name(e->new_state),
				 e->kind == TD_TW_END_OVERFLOW ? " (no TIME_WAIT: overflow)" : "");
		break;
	case TD_EV_RETRANS:
		snprintf(buf, sz, "retransmit %s%s", td_retrans_kind_name(e->kind),
			 e->flags & TD_F_FAILED ? " (failed)" : "");
		break;
	case TD_EV_RESET_SENT:
		snprintf(buf, sz, "RST sent");
		break;
	default:
		snprintf(buf, sz, "RST received");
		break;
	}
	return buf;
}

static void print_text(FILE *f, const struct td_opts *o, struct td_cgnames *names,
		       const struct td_conn *c, const struct td_conn_summary *s)
{
	const struct td_event *id = &c->id;
	char la[TD_ENDPOINT_STRLEN], ra[TD_ENDPOINT_STRLEN], comm[4 * TD_COMM_LEN + 1];
	char d1[24], d2[24], what[96];
	uint64_t t0 = c->n ? c->ev[0].ts_ns : 0;

	td_escape_text(id->comm, sizeof(id->comm), comm, sizeof(comm));
	fprintf(f, "%s -> %s  pid %u%s %s (%s)  cookie %" PRIu64 "\n",
		td_endpoint_str(id->family, id->laddr, id->lport, la),
		td_endpoint_str(id->family, id->raddr, id->rport, ra), id->pid,
		id->owner == TD_OWNER_INFERRED ? "*" : "", comm, td_owner_name(id->owner),
		(uint64_t)c->cookie);
	if (o->containers) {
		char buf[TD_CG_ID_MAX + 24];
		struct td_line l = {buf, sizeof(buf), 0};

		td_line_container(&l, names, id->owner == TD_OWNER_NONE ? 0 : id->cgroup_id);
		fprintf(f, "  container %s\n", buf);
	}
	fprintf(f, "  opened %s", td_opened_name(s->opened));
	if (s->has_handshake)
		fprintf(f, " (handshake %s)", td_dur_str(s->handshake_ns, d1, sizeof(d1)));
	fprintf(f, ", closed first by %s, end %s", td_closer_name(s->closer), td_end_name(s->end));
	if (s->complete)
		fprintf(f, ", lifetime %s\n", td_dur_str(s->lifetime_ns, d2, sizeof(d2)));
	else
		fprintf(f, ", INCOMPLETE (%s)\n",
			s->end == TD_END_OPEN ? "still open"
			: s->gaps	      ? "transitions missing"
			: s->forgotten	      ? "evicted from the socket map: a dwell unknown"
					      : "not seen from its start");
	for (uint32_t i = 0; i < c->n; i++) {
		const struct td_conn_ev *e = &c->ev[i];

		fprintf(f, "  %+12.6f s  %-38s", (double)(e->ts_ns - t0) / 1e9,
			ev_text(e, what, sizeof(what)));
		if (e->type == TD_EV_STATE && !(e->flags & (TD_F_NEW | TD_F_FIRST)))
			fprintf(f, " %s %s%s", td_state_name(e->old_state),
				td_dur_str(e->dwell_ns, d1, sizeof(d1)),
				e->flags & TD_F_LATE ? " (incl. FIN_WAIT2(tw))" : "");
		fputc('\n', f);
	}
	if (c->dropped)
		fprintf(f, "  (%u more events not kept)\n", c->dropped);
	fputc('\n', f);
}

static void print_json(FILE *f, struct td_cgnames *names, const struct td_conn *c,
		       const struct td_conn_summary *s)
{
	const struct td_event *id = &c->id;
	char buf[4096];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, f);
	td_json_record(&j, NULL, "connection");
	td_json_u64(&j, "cookie", c->cookie);
	td_json_tuple(&j, id);
	td_json_u64(&j, "netns", id->netns);
	td_json_u64(&j, "pid", id->pid);
	td_json_strn(&j, "comm", id->comm, sizeof(id->comm));
	td_json_str(&j, "owner", td_owner_name(id->owner));
	td_json_cgroup(&j, names, id->cgroup_id);
	td_json_str(&j, "opened", td_opened_name(s->opened));
	td_json_str(&j, "closed_first", td_closer_name(s->closer));
	td_json_str(&j, "end", td_end_name(s->end));
	td_json_bool(&j, "complete", s->complete);
	if (s->has_handshake)
		td_json_u64(&j, "handshake_ns", s->handshake_ns);
	else
		td_json_null(&j, "handshake_ns");
	if (s->complete)
		td_json_u64(&j, "lifetime_ns", s->lifetime_ns);
	else
		td_json_null(&j, "lifetime_ns");
	td_json_u64(&j, "retransmits", s->retrans);
	td_json_u64(&j, "failed_retransmits", s->retrans_failed);
	td_json_u64(&j, "resets_sent", s->rst_sent);
	td_json_u64(&j, "resets_received", s->rst_recv);
	td_json_u64(&j, "gaps", s->gaps);
	td_json_u64(&j, "dropped_events", c->dropped);
	td_json_array(&j, "events");
	for (uint32_t i = 0; i < c->n; i++) {
		const struct td_conn_ev *e = &c->ev[i];
		bool timed =
		    e->type == TD_EV_STATE && !(e->flags & (TD_F_NEW | TD_F_FIRST | TD_F_LATE));

		td_json_object(&j, NULL);
		td_json_u64(&j, "ts_ns", e->ts_ns);
		td_json_str(&j, "type", td_event_type_name(e->type));
		if (e->type == TD_EV_STATE) {
			td_json_str(&j, "old", td_state_name(e->old_state));
			td_json_str(&j, "new", td_state_name(e->new_state));
			if (timed)
				td_json_u64(&j, "dwell_ns", e->dwell_ns);
			else
				td_json_null(&j, "dwell_ns");
			if (td_conn_ev_connect_fail(e))
				td_json_str(&j, "connect_failed", td_connect_fail_key(e->kind));
			else if (e->kind)
				td_json_str(&j, "end", td_tw_end_name(e->kind));
		} else if (e->type == TD_EV_RETRANS) {
			td_json_str(&j, "kind", td_retrans_kind_name(e->kind));
			td_json_bool(&j, "failed", e->flags & TD_F_FAILED);
		}
		td_json_close(&j);
	}
	td_json_end(&j);
}

void td_timeline_print(FILE *f, const struct td_opts *o, struct td_cgnames *names,
		       const struct td_conn *c)
{
	struct td_conn_summary s;

	td_conn_summarize(c, &s);
	if (o->format == TD_FMT_JSON)
		print_json(f, names, c, &s);
	else
		print_text(f, o, names, c, &s);
}

static void print_conn(void *ctx, const struct td_conn *c)
{
	struct td_timeline *tl = ctx;

	if (tl->out_failed)
		return;
	td_timeline_print(stdout, tl->opts, tl->names, c);
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct td_timeline *tl = ctx;

	td_conns_add(tl->conns, e);
	return 0;
}

/* After each drain: the connections that ended TD_CONN_LINGER_NS ago, with
 * the events the kernel emits after their -> CLOSE (see conn.h). */
static int on_tick(void *ctx, uint64_t now)
{
	struct td_timeline *tl = ctx;

	td_conns_flush(tl->conns, print_conn, tl, now);
	if (fflush(stdout) || ferror(stdout))
		tl->out_failed = true;
	return tl->out_failed ? -1 : 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	struct td_timeline *tl = ctx;

	td_loss_report(stdout, tl->opts->format == TD_FMT_JSON, loss, NULL);
	/* how full the table is, for sizing --max-sockets before it overflows */
	td_msg("timeline: %zu connections open, %" PRIu64 " not kept (--max-sockets %u)",
	       td_conns_open(tl->conns), td_conns_overflowed(tl->conns), tl->opts->max_sockets);
}

int td_timeline_main(const struct td_opts *o)
{
	struct td_timeline tl = {.opts = o};
	struct td_consumer c = {on_event, on_tick, on_report, &tl};
	struct td_tracer_cfg tc;
	struct td_tracer *t = NULL;
	struct td_loss loss;
	int err;

	tl.conns = td_conns_new(o->max_sockets);
	if (!tl.conns)
		return TD_EXIT_ERROR;
	td_command_configure(o, &tc);
	err = td_tracer_open(&t, &tc);
	if (err)
		goto cleanup;
	tl.names = td_tracer_cgnames(t);

	err = td_tracer_run(t, &c);
	td_tracer_finish(t, &loss);
	/* connections still open are shown as such, marked incomplete */
	td_conns_flush(tl.conns, print_conn, &tl, TD_CONNS_ALL);
	err = td_tracer_conclude(t, stdout, o->format == TD_FMT_JSON, &loss, err,
				 td_conns_overflowed(tl.conns));
	if (td_conns_overflowed(tl.conns))
		td_msg("%" PRIu64 " connections not kept (table full, --max-sockets)",
		       td_conns_overflowed(tl.conns));
cleanup:
	td_tracer_close(t);
	td_conns_free(tl.conns);
	return err;
}
