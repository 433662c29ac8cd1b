// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The verdict of `tcpdwell run` and the three ways it is written out. */
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "format.h"
#include "run.h"

static const char *const list_names[TD_RL_MAX] = {
    [TD_RL_LEAK] = "leaks",
    [TD_RL_RETRANS] = "retransmitting",
    [TD_RL_RESET] = "reset",
    [TD_RL_TIMEWAIT] = "timewait",
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
	add_threshold(r, "max-lost", "events tcpdwell could not see", o->max_lost, lost(r), -1);
}

/* A JSON string literal body of a NUL-terminated string of any length. */
static void json_str(FILE *f, const char *s)
{
	char esc[6 * 256 + 1];
	size_t n = strlen(s);

	for (size_t off = 0; off < n; off += 256) {
		td_escape_json(s + off, n - off < 256 ? n - off : 256, esc, sizeof(esc));
		fputs(esc, f);
	}
}

static void json_conn(FILE *f, const struct td_run_conn *c)
{
	char la[TD_ADDR_STRLEN], ra[TD_ADDR_STRLEN], comm[6 * TD_COMM_LEN + 1];
	const struct td_event *id = &c->id;

	td_escape_json(id->comm, sizeof(id->comm), comm, sizeof(comm));
	fprintf(f,
		"{\"cookie\":%" PRIu64 ",\"family\":%d,\"laddr\":\"%s\",\"lport\":%u,"
		"\"raddr\":\"%s\",\"rport\":%u,\"pid\":%u,\"comm\":\"%s\",\"state_at_exit\":\"%s\","
		"\"closed_by_exit\":%s,\"retransmits\":%u,\"resets\":%u}",
		(uint64_t)id->cookie, id->family == AF_INET6 ? 6 : 4,
		td_addr_str(id->family, id->laddr, la), id->lport,
		td_addr_str(id->family, id->raddr, ra), id->rport, id->pid, comm,
		c->state < TD_TCP_MAX_STATES ? td_state_name(c->state) : "unknown",
		c->by_exit ? "true" : "false", c->retrans, c->resets);
}

void td_run_write_json(FILE *f, const struct td_run_report *r)
{
	fprintf(f, "{\"schema\":%d,\"type\":\"run\",\"command\":[", TD_EVENT_VERSION);
	for (int i = 0; r->argv[i]; i++) {
		fputs(i ? ",\"" : "\"", f);
		json_str(f, r->argv[i]);
		fputc('"', f);
	}
	fprintf(f,
		"],\"isolation\":\"%s\",\"exit_status\":%d,\"duration_s\":%.3f,"
		"\"verdict\":\"%s\",\"connections\":{\"total\":%" PRIu64 ",\"by_outcome\":{",
		r->isolation, r->status, r->duration_s, r->crossed ? "fail" : "pass", r->conns);
	for (int i = 0; i < r->noutcomes; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", r->outcome[i].name, r->outcome[i].n);
	fprintf(f, "}},\"dwell\":{");
	for (unsigned st = 0, first = 1; st < TD_TCP_MAX_STATES; st++) {
		const struct td_hist *h = &r->hist[st];

		if (!h->count)
			continue;
		fprintf(f,
			"%s\"%s\":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64
			",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}",
			first ? "" : ",", td_state_name(st), h->count, td_hist_quantile(h, 0.5),
			td_hist_quantile(h, 0.9), td_hist_quantile(h, 0.99), h->max_ns);
		first = 0;
	}
	fprintf(f,
		"},\"retransmits\":%" PRIu64 ",\"failed_retransmits\":%" PRIu64
		",\"resets\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 "},\"at_exit\":{"
		"\"close_wait\":%" PRIu64 ",\"fin_wait2\":%" PRIu64 ",\"timewait\":%" PRIu64
		",\"open\":%" PRIu64 "}",
		r->retrans, r->retrans_failed, r->rst_sent, r->rst_recv, r->close_wait_left,
		r->fin_wait2_left, r->timewait_left, r->open_at_exit);
	for (int l = 0; l < TD_RL_MAX; l++) {
		fprintf(f, ",\"%s\":{\"total\":%" PRIu64 ",\"listed\":[", list_names[l],
			r->list[l].total);
		for (int i = 0; i < r->list[l].n; i++) {
			if (i)
				fputc(',', f);
			json_conn(f, &r->list[l].v[i]);
		}
		fprintf(f, "]}");
	}
	fprintf(f, ",\"lost\":%" PRIu64 ",\"connections_not_kept\":%" PRIu64 ",\"thresholds\":[",
		lost(r), r->conns_not_kept);
	for (int i = 0; i < r->nth; i++)
		fprintf(f,
			"%s{\"name\":\"%s\",\"limit\":%" PRIu64 ",\"value\":%" PRIu64
			",\"crossed\":%s}",
			i ? "," : "", r->th[i].name, r->th[i].limit, r->th[i].value,
			r->th[i].crossed ? "true" : "false");
	fprintf(f, "],\"loss\":");
	td_loss_print_json(f, &r->loss, NULL);
	/* td_loss_print_json ends the object with a newline: close ours after it */
	fprintf(f, "}\n");
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

void td_run_write_summary(FILE *f, const struct td_run_report *r)
{
	fprintf(f, "tcpdwell run: %" PRIu64 " connections (", r->conns);
	for (int i = 0; i < r->noutcomes; i++)
		fprintf(f, "%s%" PRIu64 " %s", i ? ", " : "", r->outcome[i].n, r->outcome[i].name);
	fprintf(f,
		"%s), %" PRIu64 " retransmits, %" PRIu64 " resets, %" PRIu64
		" left in CLOSE_WAIT/FIN_WAIT2, %" PRIu64 " in TIME_WAIT, %" PRIu64
		" events lost; command exit %d\n",
		r->noutcomes ? "" : "none", r->retrans, r->rst_sent + r->rst_recv,
		r->close_wait_left + r->fin_wait2_left, r->timewait_left, lost(r), r->status);
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
