// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>

#include <string.h>

#include "events.h"
#include "format.h"
#include "loss.h"

uint64_t td_loss_total(const struct td_loss *l)
{
	/* a followed child the pid map refused: its connections never pass */
	/* a cut recording: what came after the cut is unknown, so not nothing */
	return l->rb_drops + l->recursion_misses + l->evictions + l->insert_fail + l->bad_records +
	       l->pid_full + (l->recording_cut != 0);
}

void td_delivered_add(struct td_delivered *d, const struct td_event *e)
{
	d->events++;
	d->by_type[e->type]++;
	if (!(e->flags & TD_F_TW))
		return;
	if (e->new_state == TD_TCP_CLOSE)
		d->tw_ends++;
	else if (e->old_state == TD_TCP_FIN_WAIT2_TW)
		d->tw_switches++;
}

void td_loss_derive(struct td_loss *l)
{
	uint64_t gone = l->sock_deletes + l->sock_live;

	/* Every insert is either deleted at -> CLOSE, still live, or evicted. */
	l->evictions = l->sock_inserts > gone ? l->sock_inserts - gone : 0;
	gone = l->tw_deletes + l->tw_live;
	l->tw_evictions = l->tw_inserts > gone ? l->tw_inserts - gone : 0;
}

void td_loss_print_text(FILE *f, const struct td_loss *l, const char *degraded)
{
	const struct td_delivered *d = &l->delivered;
	char rec[24];

	td_loss_recursion_str(l, rec, sizeof(rec));
	fprintf(f,
		"tcpdwell: %" PRIu64 " events delivered (%" PRIu64 " transitions of which %" PRIu64
		" timewait ends, %" PRIu64 " substate switches, %" PRIu64 " retransmits, %" PRIu64
		" resets); lost: %" PRIu64 " ring-buffer drops, %s recursion misses, %" PRIu64
		" socket-map evictions, %" PRIu64 " socket-map refusals, %" PRIu64
		" timewait-map evictions, %" PRIu64 " timewait-map refusals, %" PRIu64
		" pid-map refusals (--follow), %" PRIu64 " bad records%s\n",
		d->events, d->by_type[TD_EV_STATE], d->tw_ends, d->tw_switches,
		d->by_type[TD_EV_RETRANS],
		d->by_type[TD_EV_RESET_SENT] + d->by_type[TD_EV_RESET_RECV], l->rb_drops, rec,
		l->evictions, l->insert_fail, l->tw_evictions, l->tw_insert_fail, l->pid_full,
		l->bad_records, l->exact ? "" : " (live, approximate)");
	if (l->recording_cut)
		fprintf(f, "tcpdwell: the recording was cut at byte %" PRIu64 "\n",
			l->recording_cut);
	if (degraded)
		fprintf(f, "tcpdwell: degraded: %s\n", degraded);
}

/* A recursion-miss count n as text, or `na` where the kernel keeps none. */
static void misses_str(const struct td_loss *l, uint64_t n, const char *na, char *buf, size_t sz)
{
	if (l->no_recursion)
		snprintf(buf, sz, "%s", na);
	else
		snprintf(buf, sz, "%" PRIu64, n);
}

void td_loss_recursion_str(const struct td_loss *l, char *buf, size_t sz)
{
	misses_str(l, l->recursion_misses, "n/a", buf, sz);
}

void td_loss_print_json(FILE *f, const struct td_loss *l, const char *degraded)
{
	const struct td_delivered *d = &l->delivered;
	char rec[24];

	misses_str(l, l->recursion_misses, "null", rec, sizeof(rec)); /* JSON's n/a */

	fprintf(
	    f,
	    "{\"schema\":%d,\"type\":\"loss\",\"exact\":%s,\"events\":%" PRIu64
	    ",\"delivered\":%" PRIu64 ",\"delivered_by_type\":{\"state\":%" PRIu64
	    ",\"retrans\":%" PRIu64 ",\"reset_sent\":%" PRIu64 ",\"reset_recv\":%" PRIu64
	    "},\"timewait_ends\":%" PRIu64 ",\"timewait_switches\":%" PRIu64 ",\"lost\":%" PRIu64
	    ",\"ringbuf_drops\":%" PRIu64 ",\"recursion_misses\":%s"
	    ",\"evictions\":%" PRIu64 ",\"map_refusals\":%" PRIu64 ",\"listener_map_full\":%" PRIu64
	    ",\"timewait_evictions\":%" PRIu64 ",\"timewait_map_refusals\":%" PRIu64
	    ",\"bad_records\":%" PRIu64 ",\"pid_map_full\":%" PRIu64 ",\"sockets_tracked\":%" PRIu64
	    ",\"timewait_tracked\":%" PRIu64 ",\"timewait_unseen_ends\":%" PRIu64
	    ",\"timewait_rearms\":%" PRIu64 ",\"programs\":[",
	    TD_EVENT_VERSION, l->exact ? "true" : "false", l->events, d->events,
	    d->by_type[TD_EV_STATE], d->by_type[TD_EV_RETRANS], d->by_type[TD_EV_RESET_SENT],
	    d->by_type[TD_EV_RESET_RECV], d->tw_ends, d->tw_switches, td_loss_total(l), l->rb_drops,
	    rec, l->evictions, l->insert_fail, l->listen_full, l->tw_evictions, l->tw_insert_fail,
	    l->bad_records, l->pid_full, l->sock_live, l->tw_live, l->tw_unseen_end, l->tw_rearm);
	for (int i = 0; i < l->nprogs; i++) {
		misses_str(l, l->prog[i].misses, "null", rec, sizeof(rec));
		fprintf(f,
			"%s{\"name\":\"%s\",\"recursion_misses\":%s,\"run_cnt\":%" PRIu64
			",\"run_time_ns\":%" PRIu64 "}",
			i ? "," : "", l->prog[i].name, rec, l->prog[i].run_cnt,
			l->prog[i].run_time_ns);
	}
	fprintf(f, "]");
	if (l->recording_cut)
		fprintf(f, ",\"recording_cut_at\":%" PRIu64, l->recording_cut);
	fprintf(f, ",\"degraded\":");
	if (degraded) {
		char esc[1024];

		td_escape_json(degraded, strlen(degraded), esc, sizeof(esc));
		fprintf(f, "\"%s\"}\n", esc);
	} else
		fprintf(f, "null}\n");
}

void td_loss_report(FILE *out, bool json, const struct td_loss *l, const char *degraded)
{
	if (json && !ferror(out)) {
		td_loss_print_json(out, l, degraded);
		fflush(out);
	}
	td_loss_print_text(stderr, l, degraded);
}
