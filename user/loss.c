// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>

#include <string.h>

#include "events.h"
#include "format.h"
#include "json.h"
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

/* A recursion-miss count, or null where the kernel keeps none (JSON's n/a). */
static void json_misses(struct td_json *j, const char *key, const struct td_loss *l, uint64_t n)
{
	if (l->no_recursion)
		td_json_null(j, key);
	else
		td_json_u64(j, key, n);
}

void td_loss_json(struct td_json *j, const char *key, const struct td_loss *l, const char *degraded)
{
	const struct td_delivered *d = &l->delivered;

	td_json_record(j, key, "loss");
	td_json_bool(j, "exact", l->exact);
	td_json_u64(j, "events", l->events);
	td_json_u64(j, "delivered", d->events);
	td_json_object(j, "delivered_by_type");
	td_json_u64(j, "state", d->by_type[TD_EV_STATE]);
	td_json_u64(j, "retrans", d->by_type[TD_EV_RETRANS]);
	td_json_u64(j, "reset_sent", d->by_type[TD_EV_RESET_SENT]);
	td_json_u64(j, "reset_recv", d->by_type[TD_EV_RESET_RECV]);
	td_json_close(j);
	td_json_u64(j, "timewait_ends", d->tw_ends);
	td_json_u64(j, "timewait_switches", d->tw_switches);
	td_json_u64(j, "lost", td_loss_total(l));
	td_json_u64(j, "ringbuf_drops", l->rb_drops);
	json_misses(j, "recursion_misses", l, l->recursion_misses);
	td_json_u64(j, "evictions", l->evictions);
	td_json_u64(j, "map_refusals", l->insert_fail);
	td_json_u64(j, "listener_map_full", l->listen_full);
	td_json_u64(j, "timewait_evictions", l->tw_evictions);
	td_json_u64(j, "timewait_map_refusals", l->tw_insert_fail);
	td_json_u64(j, "bad_records", l->bad_records);
	td_json_u64(j, "pid_map_full", l->pid_full);
	td_json_u64(j, "sockets_tracked", l->sock_live);
	td_json_u64(j, "timewait_tracked", l->tw_live);
	td_json_u64(j, "timewait_unseen_ends", l->tw_unseen_end);
	td_json_u64(j, "timewait_rearms", l->tw_rearm);
	td_json_array(j, "programs");
	for (int i = 0; i < l->nprogs; i++) {
		td_json_object(j, NULL);
		td_json_str(j, "name", l->prog[i].name);
		json_misses(j, "recursion_misses", l, l->prog[i].misses);
		td_json_u64(j, "run_cnt", l->prog[i].run_cnt);
		td_json_u64(j, "run_time_ns", l->prog[i].run_time_ns);
		td_json_close(j);
	}
	td_json_close(j);
	if (l->recording_cut)
		td_json_u64(j, "recording_cut_at", l->recording_cut);
	if (degraded)
		td_json_str(j, "degraded", degraded);
	else
		td_json_null(j, "degraded");
	td_json_close(j);
}

void td_loss_print_json(FILE *f, const struct td_loss *l, const char *degraded)
{
	char buf[2048];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, f);
	td_loss_json(&j, NULL, l, degraded);
	td_json_end(&j);
}

void td_loss_report(FILE *out, bool json, const struct td_loss *l, const char *degraded)
{
	if (json && !ferror(out)) {
		td_loss_print_json(out, l, degraded);
		fflush(out);
	}
	td_loss_print_text(stderr, l, degraded);
}
