// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgname.h"
#include "err.h"
#include "event.h"
#include "match.h"
#include "recread.h"
#include "replay.h"

/* A gap in the recording longer than this many ticks is crossed in one:
 * a forged timestamp must not make the replay tick for centuries. */
#define MAX_TICKS_PER_GAP 10000000ull

struct td_replay {
	const struct td_tracer_cfg *cfg; /* what the live command would ask */
	struct td_cgnames *names;	 /* told the recording's cgroup names */
	struct td_rec_reader *rd;
	struct td_rec_header hdr;
	struct td_event *snap; /* the census at the recording's start */
	size_t nsnap;
	struct td_rec_loss loss; /* the last loss frame */
	bool have_loss;
	const struct td_consumer *c;
	uint64_t now_ns, next_tick, tick_ns;
	struct td_delivered delivered;
	uint64_t bad_records;
	bool stop;
	struct td_hist hist[TD_TCP_MAX_STATES];
	uint64_t imax[TD_TCP_MAX_STATES];
};

static int fail(const struct td_replay *r, const char *err)
{
	td_msg("%s: %s", r->cfg->replay_path, err);
	return TD_EXIT_USAGE;
}

/* The census records lead the recording, in frames of their own. */
static int load_snapshot(struct td_replay *r)
{
	const uint8_t *raw;
	struct td_frame f;
	char err[256];
	int rc;

	while ((rc = td_rec_next(r->rd, &f, &raw, err, sizeof(err))) == TD_REC_OK) {
		size_t n = f.raw_len / sizeof(struct td_event);
		struct td_event *grown, e;

		if (f.kind != TD_FR_EVENTS || td_event_decode(raw, sizeof(e), &e) ||
		    e.type != TD_EV_SNAPSHOT)
			break;
		grown = realloc(r->snap, (r->nsnap + n) * sizeof(*grown));
		if (!grown)
			return fail(r, "out of memory");
		r->snap = grown;
		for (size_t i = 0; i < n; i++)
			if (!td_event_decode(raw + i * sizeof(e), sizeof(e), &e) &&
			    e.type == TD_EV_SNAPSHOT)
				r->snap[r->nsnap++] = e;
	}
	if (rc == TD_REC_BAD)
		return fail(r, err);
	td_rec_rewind(r->rd);
	return 0;
}

int td_replay_open(struct td_replay **out, const struct td_tracer_cfg *cfg,
		   struct td_cgnames *names)
{
	struct td_replay *r = calloc(1, sizeof(*r));
	char err[256];
	int rc;

	*out = NULL;
	if (!r) {
		td_msg("out of memory");
		return TD_EXIT_ERROR;
	}
	r->cfg = cfg;
	r->names = names;
	if (td_rec_open(cfg->replay_path, &r->rd, err, sizeof(err))) {
		rc = fail(r, err);
		goto cleanup;
	}
	r->hdr = *td_rec_header_of(r->rd);
	r->now_ns = r->hdr.start_ns;
	rc = load_snapshot(r);
	if (rc)
		goto cleanup;
	*out = r;
	return 0;
cleanup:
	td_replay_close(r);
	return rc;
}

/* --container: by the names the recording carries (told before the
 * events that need them) */
static bool in_container(struct td_replay *r, const struct td_event *e)
{
	const struct td_cgname *n = td_cgnames_get(r->names, e->cgroup_id);

	return n && td_container_matches(&n->c, r->cfg->filter.container);
}

static void deliver(struct td_replay *r, const struct td_event *e)
{
	if (!td_match(&r->cfg->filter, e) || (r->cfg->filter.container[0] && !in_container(r, e)))
		return;
	/* the histograms see what passed the filters, as td_emit does */
	if (td_dwell_counts(e)) {
		td_hist_add(&r->hist[e->old_state], e->dwell_ns);
		if (e->dwell_ns > r->imax[e->old_state])
			r->imax[e->old_state] = e->dwell_ns;
	}
	if (!td_ring_wants(&r->cfg->k, e))
		return;
	td_delivered_add(&r->delivered, e);
	if (r->c->on_event(r->c->ctx, e))
		r->stop = true;
}

/* Every tick the live reader would have made before `ts`. */
static void ticks_until(struct td_replay *r, uint64_t ts)
{
	if (ts > r->next_tick && (ts - r->next_tick) / r->tick_ns > MAX_TICKS_PER_GAP)
		r->next_tick = ts - ts % r->tick_ns;
	while (!r->stop && r->next_tick <= ts) {
		r->now_ns = r->next_tick;
		r->next_tick += r->tick_ns;
		if (r->c->on_tick && r->c->on_tick(r->c->ctx, r->now_ns))
			r->stop = true;
	}
}

static int events_frame(struct td_replay *r, const struct td_frame *f, const uint8_t *raw,
			uint64_t deadline, uint64_t *last)
{
	struct td_event e;

	for (size_t i = 0; i < f->raw_len / sizeof(e) && !r->stop; i++) {
		if (td_event_decode(raw + i * sizeof(e), sizeof(e), &e)) {
			r->bad_records++;
			continue;
		}
		if (e.type == TD_EV_SNAPSHOT)
			continue; /* the census, handed out by td_replay_snapshot */
		if (e.ts_ns >= deadline)
			return 1;
		ticks_until(r, e.ts_ns);
		if (r->stop)
			break;
		if (e.ts_ns > *last)
			*last = e.ts_ns;
		deliver(r, &e);
	}
	return 0;
}

static void tell_name(void *ctx, uint64_t id, const char *path)
{
	td_cgnames_put(ctx, id, path);
}

int td_replay_run(struct td_replay *r, const struct td_consumer *c)
{
	uint64_t deadline = UINT64_MAX, last = r->hdr.start_ns, end;
	const uint8_t *raw;
	struct td_frame f;
	char err[256];
	bool timed_out = false;
	int rc = TD_REC_OK;

	r->c = c;
	r->tick_ns = (uint64_t)r->cfg->flush_ms * 1000000;
	r->next_tick = r->hdr.start_ns + r->tick_ns;
	if (r->cfg->duration_s > 0)
		deadline = r->hdr.start_ns + (uint64_t)(r->cfg->duration_s * 1e9);
	td_rec_rewind(r->rd);
	while (!r->stop && !timed_out &&
	       (rc = td_rec_next(r->rd, &f, &raw, err, sizeof(err))) == TD_REC_OK) {
		if (f.kind == TD_FR_LOSS) {
			r->have_loss = !td_rec_loss_parse(raw, f.raw_len, &r->loss);
			if (r->loss.at_ns > last)
				last = r->loss.at_ns;
		} else if (f.kind == TD_FR_EVENTS) {
			timed_out = events_frame(r, &f, raw, deadline, &last);
		} else if (f.kind == TD_FR_CGROUPS &&
			   td_rec_cgroups_parse(raw, f.raw_len, tell_name, r->names, err,
						sizeof(err))) {
			rc = TD_REC_BAD;
			break;
		}
	}
	if (!r->stop && !timed_out && rc == TD_REC_BAD)
		return fail(r, err);
	/* the live run ended when the recorder stopped (or at -d) */
	end = timed_out || (deadline != UINT64_MAX && last > deadline) ? deadline : last;
	ticks_until(r, end);
	if (end > r->now_ns)
		r->now_ns = end;
	return 0;
}

void td_replay_finish(struct td_replay *r, struct td_loss *loss)
{
	uint64_t cut = td_rec_cut_at(r->rd);

	if (r->have_loss)
		td_rec_loss_to(&r->loss, loss);
	else
		memset(loss, 0, sizeof(*loss));
	/* what this replay handed on, after its own filters and view */
	loss->delivered = r->delivered;
	loss->bad_records += r->bad_records;
	loss->recording_cut = cut;
	if (cut)
		td_msg("%s: recording cut at byte %" PRIu64
		       " (killed, or its disk filled): replayed the whole frames before it",
		       r->cfg->replay_path, cut);
	else if (r->have_loss && (r->loss.flags & TD_REC_LOSS_PART))
		td_msg("%s: part %u of a rotated recording; %s.%u continues it",
		       r->cfg->replay_path, r->hdr.part, r->cfg->replay_path, r->hdr.part + 1);
}

void td_replay_close(struct td_replay *r)
{
	if (!r)
		return;
	td_rec_close(r->rd);
	free(r->snap);
	free(r);
}

int td_replay_read_hist(struct td_replay *r, struct td_hist *h, uint64_t *imax)
{
	memcpy(h, r->hist, sizeof(r->hist));
	if (imax)
		memcpy(imax, r->imax, sizeof(r->imax));
	return 0;
}

void td_replay_next_interval(struct td_replay *r)
{
	memset(r->imax, 0, sizeof(r->imax));
}

int td_replay_snapshot(struct td_replay *r, uint32_t netns, const struct td_iter_cfg *cfg,
		       td_event_fn fn, void *ctx)
{
	for (size_t i = 0; i < r->nsnap; i++) {
		const struct td_event *e = &r->snap[i];

		/* the iterator's own filters: td_filter_pass, and in_use */
		if (e->netns != netns || !td_match(&r->cfg->filter, e) ||
		    (r->cfg->filter.container[0] && !in_container(r, e)) ||
		    (!(e->flags & TD_F_TW) && !cfg->in_use))
			continue;
		if (fn(ctx, e))
			break;
	}
	return 0;
}

const struct td_rec_header *td_replay_header(const struct td_replay *r)
{
	return &r->hdr;
}

uint64_t td_replay_now_ns(const struct td_replay *r)
{
	return r->now_ns;
}
