// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The verdict of `tcpdwell run` and the three ways it is written out. */
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "cgname.h"
#include "format.h"
#include "json.h"
#include "run.h"

static const char *const list_names[TD_RL_MAX] = {
    [TD_RL_LEAK] = "leaks",	   [TD_RL_RETRANS] = "retransmitting",	[TD_RL_RESET] = "reset",
    [TD_RL_TIMEWAIT] = "timewait", [TD_RL_CONNFAIL] = "connect_failed",
};

static uint64_t lost(const struct td_run_report *r)
{
	return td_loss_total(&r->loss) + r->conns_not_kept;
}

static void add_threshold(struct td_run_report *r, const char *name, const char *what,
			  uint64_t limit, uint64_t value, int list)
{
	struct td_run_threshold *t = &r->th[r->nth++];

	t->name = name;
	t->what = what;
	t->limit = limit;
	t->value = value;
	t->crossed = value > limit;
	t->list = list;
	r->crossed += t->crossed;
}

void td_run_judge(struct td_run_report *r, const struct td_opts *o)
{
	r->nth = r->crossed = 0;
	if (o->max_retrans >= 0)
		add_threshold(r, "max-retrans", "retransmits", o->max_retrans, r->retrans,
			      TD_RL_RETRANS);
	if (o->max_resets >= 0)
		add_threshold(r, "max-resets", "resets sent or received", o->max_resets,
			      r->rst_sent + r->rst_recv, TD_RL_RESET);
	if (o->max_tw >= 0)
		add_threshold(r, "max-timewait", "connections in TIME_WAIT at exit", o->max_tw,
			      r->timewait_left, TD_RL_TIMEWAIT);
	if (o->fail_on_leak)
		add_threshold(r, "fail-on-leak", "connections left in CLOSE_WAIT or FIN_WAIT2", 0,
			      r->close_wait_left + r->fin_wait2_left, TD_RL_LEAK);
	if (o->max_connfail >= 0)
		add_threshold(r, "max-connect-failures",
			      "connect() calls that failed before their SYN", o->max_connfail,
			      r->connect_failures, TD_RL_CONNFAIL);
	add_threshold(r, "max-lost", "events tcpdwell could not see", o->max_lost, lost(r), -1);
}

static void json_conn(struct td_json *j, struct td_cgnames *names, const struct td_run_conn *c)
{
	const struct td_event *id = &c->id;

	td_json_object(j, NULL);
	td_json_u64(j, "cookie", id->cookie);
	td_json_tuple(j, id);
	td_json_u64(j, "pid", id->pid);
	td_json_strn(j, "comm", id->comm, sizeof(id->comm));
	td_json_cgroup(j, names, id->cgroup_id);
	td_json_str(j, "state_at_exit",
		    c->state < TD_TCP_MAX_STATES ? td_state_name(c->state) : "unknown");
	td_json_bool(j, "closed_by_exit", c->by_exit);
	td_json_u64(j, "retransmits", c->retrans);
	td_json_u64(j, "resets", c->resets);
	td_json_close(j);
}

/* A cgroup's row (names NULL: the rest's, "by_cgroup_rest"). */
static void json_cg(struct td_json *j, struct td_cgnames *names, const struct td_run_cg *c)
{
	td_json_object(j, names ? NULL : "by_cgroup_rest");
	if (names)
		td_json_cgroup(j, names, c->id);
	td_json_u64(j, "connections", c->conns);
	td_json_u64(j, "timewait", c->timewait);
	td_json_u64(j, "leaks", c->leaks);
	td_json_u64(j, "retransmits", c->retrans);
	td_json_u64(j, "resets", c->resets);
	td_json_u64(j, "connect_failures", c->connect_failures);
	td_json_close(j);
}

void td_run_write_json(FILE *f, const struct td_run_report *r)
{
	char buf[4096];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, f);
	td_json_record(&j, NULL, "run");
	td_json_array(&j, "command");
	for (int i = 0; r->argv[i]; i++)
		td_json_str(&j, NULL, r->argv[i]);
	td_json_close(&j);
	td_json_str(&j, "isolation", r->isolation);
	td_json_i64(&j, "exit_status", r->status);
	td_json_f64(&j, "duration_s", r->duration_s, 3);
	td_json_str(&j, "verdict", r->crossed ? "fail" : "pass");
	td_json_object(&j, "connections");
	td_json_u64(&j, "total", r->conns);
	td_json_object(&j, "by_outcome");
	for (int i = 0; i < r->noutcomes; i++)
		td_json_u64(&j, r->outcome[i].name, r->outcome[i].n);
	td_json_close(&j);
	td_json_close(&j);
	td_json_object(&j, "dwell");
	for (unsigned st = 0; st < TD_TCP_MAX_STATES; st++) {
		const struct td_hist *h = &r->hist[st];

		if (!h->count)
			continue;
		td_json_object(&j, td_state_name(st));
		td_json_u64(&j, "count", h->count);
		td_json_u64(&j, "p50_ns", td_hist_quantile(h, 0.5));
		td_json_u64(&j, "p90_ns", td_hist_quantile(h, 0.9));
		td_json_u64(&j, "p99_ns", td_hist_quantile(h, 0.99));
		td_json_u64(&j, "max_ns", h->max_ns);
		td_json_close(&j);
	}
	td_json_close(&j);
	td_json_u64(&j, "retransmits", r->retrans);
	td_json_u64(&j, "failed_retransmits", r->retrans_failed);
	td_json_u64(&j, "connect_failures", r->connect_failures);
	td_json_object(&j, "resets");
	td_json_u64(&j, "sent", r->rst_sent);
	td_json_u64(&j, "received", r->rst_recv);
	td_json_close(&j);
	td_json_object(&j, "at_exit");
	td_json_u64(&j, "close_wait", r->close_wait_left);
	td_json_u64(&j, "fin_wait2", r->fin_wait2_left);
	td_json_u64(&j, "timewait", r->timewait_left);
	td_json_u64(&j, "open", r->open_at_exit);
	td_json_close(&j);
	for (int l = 0; l < TD_RL_MAX; l++) {
		td_json_object(&j, list_names[l]);
		td_json_u64(&j, "total", r->list[l].total);
		td_json_array(&j, "listed");
		for (int i = 0; i < r->list[l].n; i++)
			json_conn(&j, r->names, &r->list[l].v[i]);
		td_json_close(&j);
		td_json_close(&j);
	}
	td_json_array(&j, "by_cgroup");
	for (int i = 0; i < r->ncg; i++)
		json_cg(&j, r->names, &r->cg[i]);
	td_json_close(&j);
	if (r->cg_rest.conns)
		json_cg(&j, NULL, &r->cg_rest);
	else
		td_json_null(&j, "by_cgroup_rest");
	td_json_u64(&j, "lost", lost(r));
	td_json_u64(&j, "connections_not_kept", r->conns_not_kept);
	td_json_array(&j, "thresholds");
	for (int i = 0; i < r->nth; i++) {
		td_json_object(&j, NULL);
		td_json_str(&j, "name", r->th[i].name);
		td_json_u64(&j, "limit", r->th[i].limit);
		td_json_u64(&j, "value", r->th[i].value);
		td_json_bool(&j, "crossed", r->th[i].crossed);
		td_json_close(&j);
	}
	td_json_close(&j);
	td_loss_json(&j, "loss", &r->loss, NULL);
	td_json_end(&j);
}

/* XML text or attribute value: the five predefined entities; tab and
 * newline as character references (an attribute would turn them into
 * spaces); other control bytes are not allowed in XML 1.0 and become '?'. */
static void xml_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\t':
		case '\n':
			fprintf(f, "&#%d;", c);
			break;
		default:
			fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
		}
	}
}

/* "127.0.0.1:40000 -> 127.0.0.1:8080 pid 42 (curl) CLOSE_WAIT, 3 retransmits" */
static void conn_line(FILE *f, const struct td_run_conn *c, bool xml)
{
	char la[TD_ENDPOINT_STRLEN], ra[TD_ENDPOINT_STRLEN], comm[4 * TD_COMM_LEN + 1], line[256];
	const struct td_event *id = &c->id;

	td_escape_text(id->comm, sizeof(id->comm), comm, sizeof(comm));
	snprintf(line, sizeof(line), "%s -> %s pid %u (%s) %s%s, %u retransmits, %u resets",
		 td_endpoint_str(id->family, id->laddr, id->lport, la),
		 td_endpoint_str(id->family, id->raddr, id->rport, ra), id->pid, comm,
		 c->state < TD_TCP_MAX_STATES ? td_state_name(c->state) : "?",
		 c->by_exit ? " (closed only by its exit)" : "", c->retrans, c->resets);
	if (xml)
		xml_str(f, line);
	else
		fputs(line, f);
}

static void threshold_line(FILE *f, const struct td_run_threshold *t, bool xml)
{
	char line[160];

	if (!strcmp(t->name, "fail-on-leak"))
		snprintf(line, sizeof(line), "--%s: %" PRIu64 " %s", t->name, t->value, t->what);
	else
		snprintf(line, sizeof(line), "--%s %" PRIu64 ": %" PRIu64 " %s", t->name, t->limit,
			 t->value, t->what);
	if (xml)
		xml_str(f, line);
	else
		fputs(line, f);
}

static void offenders(FILE *f, const struct td_run_report *r, const struct td_run_threshold *t,
		      bool xml)
{
	const char *indent = xml ? "" : "    ";
	char rec[24];

	if (t->list < 0) {
		td_loss_recursion_str(&r->loss, rec, sizeof(rec));
		fprintf(f,
			"%sring-buffer drops %" PRIu64
			", recursion misses %s, map evictions %" PRIu64
			", connections not kept %" PRIu64 "\n",
			indent, r->loss.rb_drops, rec, r->loss.evictions, r->conns_not_kept);
		return;
	}
	for (int i = 0; i < r->list[t->list].n; i++) {
		fputs(indent, f);
		conn_line(f, &r->list[t->list].v[i], xml);
		fputc('\n', f);
	}
	if (r->list[t->list].total > (uint64_t)r->list[t->list].n)
		fprintf(f, "%s(%" PRIu64 " more)\n", indent,
			r->list[t->list].total - r->list[t->list].n);
}

void td_run_write_junit(FILE *f, const struct td_run_report *r)
{
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"tcpdwell\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n"
		"  <testsuite name=\"tcpdwell run\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
		"skipped=\"0\" time=\"%.3f\">\n",
		r->nth, r->crossed, r->nth, r->crossed, r->duration_s);
	fprintf(f, "    <properties>\n      <property name=\"command\" value=\"");
	for (int i = 0; r->argv[i]; i++) {
		if (i)
			fputc(' ', f);
		xml_str(f, r->argv[i]);
	}
	fprintf(f,
		"\"/>\n      <property name=\"exit_status\" value=\"%d\"/>\n"
		"      <property name=\"isolation\" value=\"%s\"/>\n    </properties>\n",
		r->status, r->isolation);
	for (int i = 0; i < r->nth; i++) {
		const struct td_run_threshold *t = &r->th[i];

		fprintf(f, "    <testcase classname=\"tcpdwell\" name=\"%s\" time=\"0\"", t->name);
		if (!t->crossed) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n      <failure type=\"threshold\" message=\"");
		threshold_line(f, t, true);
		fprintf(f, "\">");
		offenders(f, r, t, true);
		fprintf(f, "</failure>\n    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
}

static void text_cg(FILE *f, const struct td_cgname *name, const struct td_run_cg *c)
{
	fprintf(f, "tcpdwell run:   ");
	if (name)
		fprintf(f, "%s", name->path);
	else if (c->id)
		fprintf(f, "cgroup %" PRIu64, c->id);
	else
		fprintf(f, "other cgroups");
	fprintf(f,
		": %" PRIu64 " connections, %" PRIu64 " in TIME_WAIT, %" PRIu64 " leaks, %" PRIu64
		" retransmits, %" PRIu64 " resets, %" PRIu64 " connect failures\n",
		c->conns, c->timewait, c->leaks, c->retrans, c->resets, c->connect_failures);
}

void td_run_write_summary(FILE *f, const struct td_run_report *r)
{
	fprintf(f, "tcpdwell run: %" PRIu64 " connections (", r->conns);
	for (int i = 0; i < r->noutcomes; i++)
		fprintf(f, "%s%" PRIu64 " %s", i ? ", " : "", r->outcome[i].n, r->outcome[i].name);
	fprintf(f,
		"%s), %" PRIu64 " retransmits, %" PRIu64 " resets, %" PRIu64
		" connect failures, %" PRIu64 " left in CLOSE_WAIT/FIN_WAIT2, %" PRIu64
		" in TIME_WAIT, %" PRIu64 " events lost; command exit %d\n",
		r->noutcomes ? "" : "none", r->retrans, r->rst_sent + r->rst_recv,
		r->connect_failures, r->close_wait_left + r->fin_wait2_left, r->timewait_left,
		lost(r), r->status);
	/* a command that made cgroups of its own: each one's share */
	for (int i = 0; r->ncg > 1 && i < r->ncg; i++)
		text_cg(f, td_cgnames_get(r->names, r->cg[i].id), &r->cg[i]);
	if (r->cg_rest.conns)
		text_cg(f, NULL, &r->cg_rest);
	for (int i = 0; i < r->nth; i++) {
		const struct td_run_threshold *t = &r->th[i];

		if (!t->crossed)
			continue;
		fputs("tcpdwell run: FAIL ", f);
		threshold_line(f, t, false);
		fputc('\n', f);
		offenders(f, r, t, false);
	}
}
