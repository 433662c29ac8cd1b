// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "tally.h"

const unsigned td_age_bucket_hi_s[TD_AGE_BUCKETS - 1] = {1, 2, 4, 8, 16, 32, 60};

int td_census_init(struct td_census *c, uint32_t netns)
{
	memset(c, 0, sizeof(*c));
	c->netns = netns;
	c->cap = 1024;
	c->slot = calloc(c->cap, sizeof(*c->slot));
	return c->slot ? 0 : -ENOMEM;
}

void td_census_free(struct td_census *c)
{
	for (int i = 0; i < 3; i++)
		free(c->rows[i]);
	free(c->fails);
	c->fails = NULL;
	c->nfails = c->fails_cap = 0;
	free(c->slot);
	c->slot = NULL;
	c->cap = c->count = 0;
}

/* Cookies are sequential: mix them before masking. */
static size_t home(const struct td_census *c, uint64_t cookie)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 20) & (c->cap - 1);
}

static struct td_tw_entry *find(const struct td_census *c, uint64_t cookie)
{
	for (size_t i = home(c, cookie);; i = (i + 1) & (c->cap - 1)) {
		if (c->slot[i].cookie == cookie)
			return &c->slot[i];
		if (!c->slot[i].cookie)
			return NULL;
	}
}

static struct td_tw_entry *claim(struct td_census *c, uint64_t cookie)
{
	size_t i = home(c, cookie);

	while (c->slot[i].cookie && c->slot[i].cookie != cookie)
		i = (i + 1) & (c->cap - 1);
	return &c->slot[i];
}

static int resize(struct td_census *c, size_t cap)
{
	struct td_tw_entry *old = c->slot;
	size_t oldcap = c->cap;

	c->slot = calloc(cap, sizeof(*c->slot));
	if (!c->slot) {
		c->slot = old;
		return -ENOMEM;
	}
	c->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].cookie)
			*claim(c, old[i].cookie) = old[i];
	free(old);
	return 0;
}

/* Keep the load at most 1/2 so probes stay short. */
static int grow(struct td_census *c)
{
	return resize(c, c->cap * 2);
}

int td_census_reserve(struct td_census *c, size_t n)
{
	size_t cap = c->cap;

	while (cap < 2 * n)
		cap *= 2;
	return cap == c->cap ? 0 : resize(c, cap);
}

int td_census_put(struct td_census *c, const struct td_event *e, uint64_t enter_ns,
		  uint64_t expires_ns, bool estimated)
{
	struct td_tw_entry *t;

	if (!e->cookie)
		return 0; /* cannot be tracked: no identity */
	t = find(c, e->cookie);
	if (t) {
		t->state = e->new_state;
		if (expires_ns)
			t->expires_ns = expires_ns; /* a re-arm */
		return 0;
	}
	if (2 * (c->count + 1) > c->cap && grow(c))
		return -ENOMEM;
	t = claim(c, e->cookie);
	t->cookie = e->cookie;
	t->enter_ns = enter_ns;
	t->expires_ns = expires_ns;
	t->estimated = estimated;
	t->family = e->family;
	t->state = e->new_state;
	/* a guessed owner's cgroup is that of the task on the CPU: unknown */
	t->cgroup_id =
	    e->owner == TD_OWNER_NONE || e->owner == TD_OWNER_INFERRED ? 0 : e->cgroup_id;
	t->lport = e->lport;
	t->rport = e->rport;
	memcpy(t->laddr, e->laddr, sizeof(t->laddr));
	memcpy(t->raddr, e->raddr, sizeof(t->raddr));
	c->count++;
	return 0;
}

/* Linear probing without tombstones: pull later members of the cluster
 * back into the hole so every lookup still ends at an empty slot. */
bool td_census_remove(struct td_census *c, uint64_t cookie)
{
	struct td_tw_entry *t = find(c, cookie);
	size_t hole, i;

	if (!t)
		return false;
	hole = t - c->slot;
	c->slot[hole].cookie = 0;
	c->count--;
	for (i = (hole + 1) & (c->cap - 1); c->slot[i].cookie; i = (i + 1) & (c->cap - 1)) {
		size_t h = home(c, c->slot[i].cookie);

		/* movable when its home is not in the cyclic range (hole, i] */
		if ((i > hole && (h <= hole || h > i)) || (i < hole && h <= hole && h > i)) {
			c->slot[hole] = c->slot[i];
			c->slot[i].cookie = 0;
			hole = i;
		}
	}
	return true;
}

static void note_change(struct td_census *c, const struct td_event *e, int delta)
{
	for (int i = 0; i < 2; i++)
		if (c->mark_ns[i] && e->ts_ns > c->mark_ns[i])
			c->since_mark[i] += delta;
}

uint64_t td_tw_timer_ns(uint8_t state, unsigned fin_timeout_s)
{
	return state == TD_TCP_TIME_WAIT ? 60 * 1000000000ull : fin_timeout_s * 1000000000ull;
}

int64_t td_census_count_at_mark(const struct td_census *c, int i)
{
	return (int64_t)c->count - c->since_mark[i];
}

/* One failure for e's destination: rows merged by destination before the
 * array grows, so it holds about one row per destination. */
static int add_failure(struct td_census *c, const struct td_event *e)
{
	const size_t key = offsetof(struct td_top_row, timewait);
	struct td_top_row *r;

	if (c->nfails == c->fails_cap) {
		if (c->nfails)
			c->nfails = td_tally_merge(c->fails, c->nfails, sizeof(*c->fails), key);
		/* still over half full once merged: many destinations, grow */
		if (!c->fails_cap || c->nfails > c->fails_cap / 2) {
			size_t cap = c->fails_cap ? 2 * c->fails_cap : 64;
			struct td_top_row *grown = realloc(c->fails, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			c->fails = grown;
			c->fails_cap = cap;
		}
	}
	r = &c->fails[c->nfails++];
	memset(r, 0, sizeof(*r));
	r->family = e->family;
	memcpy(r->laddr, e->laddr, TD_ADDR_LEN);
	memcpy(r->raddr, e->raddr, TD_ADDR_LEN);
	r->rport = e->rport;
	r->connect_failed = 1;
	c->connect_failed++;
	return 0;
}

int td_census_apply(struct td_census *c, const struct td_event *e, unsigned fin_timeout_s)
{
	uint64_t life_ns;
	size_t before;
	int err;

	if (td_connect_fail_of(e))
		return add_failure(c, e);
	if (e->type != TD_EV_STATE || !(e->flags & TD_F_TW))
		return 0;
	if (e->new_state == TD_TCP_CLOSE) {
		if (td_census_remove(c, e->cookie)) {
			c->ended[e->kind < TD_TW_END_MAX ? e->kind : 0]++;
			note_change(c, e, -1);
		} else
			c->ended_untracked++;
		return 0;
	}
	if (e->new_state != TD_TCP_TIME_WAIT && e->new_state != TD_TCP_FIN_WAIT2_TW)
		return 0;
	/* FIN_WAIT2(tw) -> TIME_WAIT is a switch of substate, not an entry */
	if (e->old_state == TD_TCP_FIN_WAIT2_TW)
		c->switched++;
	else
		c->entered++;
	life_ns = td_tw_timer_ns(e->new_state, fin_timeout_s);
	before = c->count;
	err = td_census_put(c, e, e->ts_ns, life_ns ? e->ts_ns + life_ns : 0, false);
	if (c->count > before) /* not when the snapshot had it already */
		note_change(c, e, +1);
	return err;
}

void td_census_reset_rates(struct td_census *c)
{
	c->entered = c->switched = c->ended_untracked = c->connect_failed = 0;
	c->nfails = 0;
	memset(c->ended, 0, sizeof(c->ended));
}

/* ---- the report ---- */

/* Group rows with equal keys (summing their counts), order by count and
 * keep the first `top`. Returns the number of distinct keys. */
static size_t top_n(struct td_top_row *rows, size_t n, unsigned top, size_t *kept)
{
	const size_t key = offsetof(struct td_top_row, timewait);
	size_t out = td_tally_merge(rows, n, sizeof(*rows), key);

	*kept = td_tally_top(rows, out, sizeof(*rows), key, top);
	return out;
}

static unsigned age_bucket(uint64_t age_ns)
{
	unsigned b = 0;

	while (b < TD_AGE_BUCKETS - 1 && age_ns >= td_age_bucket_hi_s[b] * 1000000000ull)
		b++;
	return b;
}

static void row_from(struct td_top_row *r, uint8_t family, const uint8_t *laddr,
		     const uint8_t *raddr, uint16_t lport, uint16_t rport, bool tw)
{
	memset(r, 0, sizeof(*r));
	r->family = family;
	if (laddr)
		memcpy(r->laddr, laddr, TD_ADDR_LEN);
	if (raddr)
		memcpy(r->raddr, raddr, TD_ADDR_LEN);
	r->lport = lport;
	r->rport = rport;
	r->timewait = tw;
	r->in_use = !tw;
}

/* Room for n rows in each of the report's tables. */
static int rows_reserve(struct td_census *c, size_t n)
{
	size_t cap = c->rows_cap ? c->rows_cap : 1024;

	while (cap < n)
		cap *= 2;
	if (cap == c->rows_cap)
		return 0;
	for (int i = 0; i < 3; i++) {
		free(c->rows[i]);
		c->rows[i] = malloc(cap * sizeof(*c->rows[i]));
	}
	c->rows_cap = c->rows[0] && c->rows[1] && c->rows[2] ? cap : 0;
	return c->rows_cap ? 0 : -ENOMEM;
}

int td_census_report(struct td_census *c, const struct td_event *in_use, size_t n_in_use,
		     uint16_t range_lo, uint16_t range_hi, uint64_t now_ns, uint64_t since_ns,
		     unsigned top, struct td_census_report *r)
{
	size_t np = 0, nl = 0, nx = 0;

	memset(r, 0, sizeof(*r));
	if (rows_reserve(c, c->count + n_in_use + c->nfails + 1))
		return -ENOMEM;
	r->peers = c->rows[0];
	r->lports = c->rows[1];
	r->pressure = c->rows[2];
	for (size_t i = 0; i < c->cap; i++) {
		const struct td_tw_entry *t = &c->slot[i];

		if (!t->cookie)
			continue;
		r->count++;
		if (t->state == TD_TCP_FIN_WAIT2_TW)
			r->fin_wait2++;
		else
			r->time_wait++;
		if (!t->enter_ns) {
			r->age_unknown++;
		} else {
			r->age[age_bucket(now_ns > t->enter_ns ? now_ns - t->enter_ns : 0)]++;
			r->age_estimated += t->estimated;
		}
		row_from(&r->peers[np++], t->family, NULL, t->raddr, 0, 0, true);
		row_from(&r->lports[nl++], 0, NULL, NULL, t->lport, 0, true);
		if (t->lport >= range_lo && t->lport <= range_hi) {
			row_from(&r->pressure[nx], t->family, t->laddr, t->raddr, 0, t->rport,
				 true);
			/* dated by its own entry, not by the timer */
			r->pressure[nx++].recent =
			    since_ns && !t->estimated && t->enter_ns > since_ns;
		}
	}
	for (size_t i = 0; i < n_in_use; i++) {
		const struct td_event *e = &in_use[i];

		if (e->lport >= range_lo && e->lport <= range_hi)
			row_from(&r->pressure[nx++], e->family, e->laddr, e->raddr, 0, e->rport,
				 false);
	}
	if (c->nfails)
		memcpy(&r->pressure[nx], c->fails, c->nfails * sizeof(*c->fails));
	nx += c->nfails;
	r->peers_total = top_n(r->peers, np, top, &r->npeers);
	r->lports_total = top_n(r->lports, nl, top, &r->nlports);
	r->pressure_total = top_n(r->pressure, nx, top, &r->npressure);
	return 0;
}

double td_port_exhaustion_s(double rate, unsigned timewait, unsigned in_use, unsigned range)
{
	const double life_s = 60; /* TCP_TIMEWAIT_LEN */
	double steady = rate * life_s, room;

	if (timewait + in_use >= range)
		return 0;
	room = (double)range - in_use;
	if (steady <= room)
		return -1;
	return life_s * log((steady - timewait) / (steady - room));
}

void td_census_report_free(struct td_census_report *r)
{
	/* the tables are the census's own, kept for the next report */
	r->peers = r->lports = r->pressure = NULL;
}
