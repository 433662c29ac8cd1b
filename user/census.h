/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The set of timewait sockets of one network namespace, kept current from
 * the iterator's snapshot and the live timewait transitions, and what the
 * census reports about it: count by substate, ages, top peers and local
 * ports, and ephemeral-port pressure. No I/O here (unit-tested).
 */
#ifndef TCPDWELL_CENSUS_H
#define TCPDWELL_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct td_tw_entry {
	uint64_t cookie;     /* 0: free slot */
	uint64_t enter_ns;   /* CLOCK_MONOTONIC it entered timewait; 0: unknown */
	uint64_t expires_ns; /* when its timer fires, likewise; 0: unknown */
	uint8_t family;
	uint8_t state;	   /* TD_TCP_TIME_WAIT or TD_TCP_FIN_WAIT2_TW */
	uint8_t estimated; /* enter_ns derived from the timer (older than tcpdwell) */
	uint16_t lport, rport;
	uint8_t laddr[TD_ADDR_LEN], raddr[TD_ADDR_LEN];
	uint64_t cgroup_id; /* the connection's owner's; 0: unknown (older than tcpdwell) */
};

/* A row of a top-N table: the key and how many sockets share it. */
struct td_top_row {
	uint8_t family;
	uint16_t lport, rport;
	uint8_t laddr[TD_ADDR_LEN], raddr[TD_ADDR_LEN];
	uint32_t timewait;	 /* sockets in timewait */
	uint32_t in_use;	 /* other connected sockets (port pressure only) */
	uint32_t connect_failed; /* connect() calls that failed before their SYN
				  * (port pressure only, since the last report) */
	uint32_t recent;	 /* of the timewait ones: entered since since_ns
				  * (port pressure only) */
};

struct td_census {
	uint32_t netns;
	struct td_tw_entry *slot; /* open addressing on the cookie */
	size_t cap, count;
	uint64_t entered;	       /* since td_census_reset_rates() */
	uint64_t switched;	       /* FIN_WAIT2(tw) -> TIME_WAIT, likewise */
	uint64_t ended[TD_TW_END_MAX]; /* by reason, likewise */
	uint64_t ended_untracked;      /* ends of sockets the set did not hold */
	/* connect() failures before the SYN, likewise: in all, and by
	 * destination (rows merged when the array fills) */
	uint64_t connect_failed;
	struct td_top_row *fails;
	size_t nfails, fails_cap;
	/* --verify: sockstat was read between mark_ns[0] and [1]; since_mark
	 * sums the entries (+1) and ends (-1) applied with later timestamps */
	uint64_t mark_ns[2];
	int64_t since_mark[2];
	/* the report's tables, kept from one report to the next: fresh ones
	 * cost a page fault per 4 KiB every interval */
	struct td_top_row *rows[3];
	size_t rows_cap;
};

int td_census_init(struct td_census *c, uint32_t netns);
void td_census_free(struct td_census *c);
/* Room for n sockets without growing (a hint: sockstat's tw). */
int td_census_reserve(struct td_census *c, size_t n);

/* Insert (or update the substate of) the timewait socket e describes. */
int td_census_put(struct td_census *c, const struct td_event *e, uint64_t enter_ns,
		  uint64_t expires_ns, bool estimated);
bool td_census_remove(struct td_census *c, uint64_t cookie);

/* A ring event: timewait entries, substate switches and ends move the set
 * and the rates; a connect() that failed before its SYN is counted for its
 * destination's port pressure; anything else is ignored. A TIME_WAIT timer runs
 * TCP_TIMEWAIT_LEN (60 s) from entry; a FIN_WAIT2-substate one
 * fin_timeout_s (0: unknown). Returns 0 or -ENOMEM. */
int td_census_apply(struct td_census *c, const struct td_event *e, unsigned fin_timeout_s);

/* How long the timer of a timewait socket runs from when it is armed:
 * TCP_TIMEWAIT_LEN (60 s, fixed in Linux) in TIME_WAIT, about
 * tcp_fin_timeout in the FIN_WAIT2 substate (fin_timeout_s; 0: unknown,
 * and so is the result). */
uint64_t td_tw_timer_ns(uint8_t state, unsigned fin_timeout_s);

void td_census_reset_rates(struct td_census *c);

/* The size of the set at mark_ns[i], from its size now. */
int64_t td_census_count_at_mark(const struct td_census *c, int i);

#define TD_AGE_BUCKETS 8 /* <1 s, 1-2, 2-4, 4-8, 8-16, 16-32, 32-60, >= 60 s */
extern const unsigned td_age_bucket_hi_s[TD_AGE_BUCKETS - 1];

struct td_census_report {
	size_t count;
	size_t time_wait, fin_wait2; /* by substate */
	uint64_t age[TD_AGE_BUCKETS];
	size_t age_unknown;   /* older than tcpdwell and no timer reading */
	size_t age_estimated; /* from the timer's remaining time */
	struct td_top_row *peers, *lports, *pressure;
	size_t npeers, nlports, npressure; /* rows kept (<= top) */
	size_t peers_total, lports_total;  /* distinct keys */
	size_t pressure_total;		   /* distinct destinations */
};

/*
 * Compute the report at now_ns. in_use: the namespace's connected sockets
 * that are not in timewait (TD_EV_SNAPSHOT records); a destination's port
 * pressure counts the local ports inside [range_lo, range_hi] that its
 * timewait and in-use sockets hold, beside the connect() calls to it that
 * failed since td_census_reset_rates(), and how many of its timewait
 * sockets entered since since_ns (0: none counted). Returns 0 or -ENOMEM.
 */
int td_census_report(struct td_census *c, const struct td_event *in_use, size_t n_in_use,
		     uint16_t range_lo, uint16_t range_hi, uint64_t now_ns, uint64_t since_ns,
		     unsigned top, struct td_census_report *r);

/*
 * When a destination runs out of ephemeral ports at `rate` new timewait
 * sockets a second, holding `timewait` of them and `in_use` others, of a
 * range of `range` ports: each timewait socket holds its port 60 s
 * (TCP_TIMEWAIT_LEN), so the timewait count goes to rate x 60 s as
 * N(t) = S - (S - N0) e^(-t/60). Seconds until N + in_use reaches the
 * range; 0 when it already has; -1 when the steady state fits.
 */
double td_port_exhaustion_s(double rate, unsigned timewait, unsigned in_use, unsigned range);
void td_census_report_free(struct td_census_report *r);

#endif /* TCPDWELL_CENSUS_H */
