// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests for the timewait set and its report (user/census.c): the
 * open-addressing table against a plain array model under random inserts
 * and removals, the ring-event rules (entries, substate switches, ends by
 * reason), ages, top-N grouping and port pressure within the range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "census.h"
#include "rng.h"

#define SEC 1000000000ull

static struct td_event tw_event(uint64_t cookie, uint8_t state, uint8_t raddr_last, uint16_t lport,
				uint16_t rport)
{
	struct td_event e = {0};

	e.type = TD_EV_STATE;
	e.flags = TD_F_TW;
	e.cookie = cookie;
	e.family = AF_INET;
	e.new_state = state;
	e.old_state = TD_TCP_FIN_WAIT2;
	e.laddr[0] = 127;
	e.laddr[3] = 1;
	e.raddr[0] = 127;
	e.raddr[3] = raddr_last;
	e.lport = lport;
	e.rport = rport;
	return e;
}

/* Count the table's members by walking it: what the report sees. */
static size_t members(const struct td_census *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->cap; i++)
		n += c->slot[i].cookie != 0;
	return n;
}

static void test_table_matches_a_model(void **state)
{
	enum { N = 20000 };
	static uint8_t in[N + 1];
	struct td_census c;
	uint64_t seed = 42;
	size_t model = 0;

	(void)state;
	memset(in, 0, sizeof(in));
	assert_int_equal(td_census_init(&c, 1), 0);
	/* sequential cookies, as the kernel hands them out, in and out at random */
	for (int round = 0; round < 200000; round++) {
		uint64_t cookie = 1 + xorshift64(&seed) % N;

		if (xorshift64(&seed) % 3) {
			struct td_event e = tw_event(cookie, TD_TCP_TIME_WAIT, 2, 1000, 80);

			assert_int_equal(td_census_put(&c, &e, 1, 0, false), 0);
			model += !in[cookie];
			in[cookie] = 1;
		} else {
			assert_int_equal(td_census_remove(&c, cookie), in[cookie]);
			model -= in[cookie];
			in[cookie] = 0;
		}
		assert_int_equal(c.count, model);
	}
	assert_int_equal(members(&c), model);
	/* every member is still found: removal kept the probe chains intact */
	for (uint64_t k = 1; k <= N; k++) {
		assert_int_equal(td_census_remove(&c, k), in[k]);
		in[k] = 0;
	}
	assert_int_equal(c.count, 0);
	assert_int_equal(members(&c), 0);
	td_census_free(&c);
}

static void test_ring_events(void **state)
{
	struct td_census c;
	struct td_event e;

	(void)state;
	assert_int_equal(td_census_init(&c, 1), 0);
	/* orphan: enters the FIN_WAIT2 substate, then switches to TIME_WAIT */
	e = tw_event(7, TD_TCP_FIN_WAIT2_TW, 2, 1000, 80);
	e.ts_ns = 10 * SEC;
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	assert_int_equal(c.slot[0].cookie == 7 || c.count == 1, 1);
	e.old_state = TD_TCP_FIN_WAIT2_TW;
	e.new_state = TD_TCP_TIME_WAIT;
	e.ts_ns = 12 * SEC;
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.entered, 1); /* a switch is not a second entry */
	for (size_t i = 0; i < c.cap; i++) {
		if (c.slot[i].cookie != 7)
			continue;
		assert_int_equal(c.slot[i].state, TD_TCP_TIME_WAIT);
		assert_int_equal(c.slot[i].enter_ns, 10 * SEC);	  /* kept */
		assert_int_equal(c.slot[i].expires_ns, 72 * SEC); /* re-armed: 60 s */
	}
	/* a full socket's transition is not the census's business */
	e = tw_event(8, TD_TCP_CLOSE, 2, 1001, 80);
	e.flags = 0;
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	assert_int_equal(c.count, 1);
	/* ends: counted by reason; one for a socket never held counted apart */
	e = tw_event(7, TD_TCP_CLOSE, 2, 1000, 80);
	e.kind = TD_TW_END_REUSED;
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	e.cookie = 99;
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	assert_int_equal(c.count, 0);
	assert_int_equal(c.ended[TD_TW_END_REUSED], 1);
	assert_int_equal(c.ended_untracked, 1);
	td_census_reset_rates(&c);
	assert_int_equal(c.entered + c.ended[TD_TW_END_REUSED] + c.ended_untracked, 0);
	/* no cookie: nothing to key it by, not inserted */
	e = tw_event(0, TD_TCP_TIME_WAIT, 2, 1000, 80);
	assert_int_equal(td_census_apply(&c, &e, 30), 0);
	assert_int_equal(c.count, 0);
	td_census_free(&c);
}

static void test_report(void **state)
{
	struct td_census_report r;
	struct td_event in_use[3];
	struct td_census c;
	uint64_t now = 100 * SEC;

	(void)state;
	assert_int_equal(td_census_init(&c, 1), 0);
	/* peer .2: 6 sockets from ports 30000.. to :80; peer .3: 3 sockets,
	 * two of them from port 30000 too; one server-side socket (lport 80) */
	for (int i = 0; i < 6; i++) {
		struct td_event e = tw_event(100 + i, TD_TCP_TIME_WAIT, 2, 30000 + i, 80);

		/* ages 0.5 s, 1.5 s, ... 5.5 s */
		assert_int_equal(td_census_put(&c, &e, now - (SEC / 2 + i * SEC), 0, false), 0);
	}
	for (int i = 0; i < 3; i++) {
		struct td_event e = tw_event(200 + i, TD_TCP_FIN_WAIT2_TW, 3, 30000 + i / 2, 443);

		assert_int_equal(td_census_put(&c, &e, i ? now - 70 * SEC : 0, 0, i == 1), 0);
	}
	struct td_event srv = tw_event(300, TD_TCP_TIME_WAIT, 9, 80, 40000);

	assert_int_equal(td_census_put(&c, &srv, now, 0, false), 0);
	/* connected sockets: two to .2:80 in range, one outside the range */
	in_use[0] = tw_event(0, TD_TCP_ESTABLISHED, 2, 30100, 80);
	in_use[1] = tw_event(0, TD_TCP_ESTABLISHED, 2, 30101, 80);
	in_use[2] = tw_event(0, TD_TCP_ESTABLISHED, 2, 1000, 80);

	assert_int_equal(td_census_report(&c, in_use, 3, 30000, 39999, now, 0, 2, &r), 0);
	assert_int_equal(r.count, 10);
	assert_int_equal(r.time_wait, 7);
	assert_int_equal(r.fin_wait2, 3);
	/* <1s: 0.5 s + the server one (0 s); 1-2s; 2-4s: 2.5, 3.5; 4-8s: 4.5, 5.5; >=60s: 2 */
	assert_int_equal(r.age[0], 2);
	assert_int_equal(r.age[1], 1);
	assert_int_equal(r.age[2], 2);
	assert_int_equal(r.age[3], 2);
	assert_int_equal(r.age[TD_AGE_BUCKETS - 1], 2);
	assert_int_equal(r.age_unknown, 1);
	assert_int_equal(r.age_estimated, 1);
	/* top 2 of 3 peers, by count */
	assert_int_equal(r.peers_total, 3);
	assert_int_equal(r.npeers, 2);
	assert_int_equal(r.peers[0].raddr[3], 2);
	assert_int_equal(r.peers[0].timewait, 6);
	assert_int_equal(r.peers[1].raddr[3], 3);
	assert_int_equal(r.peers[1].timewait, 3);
	/* local ports: 30000 is held three times (one to .2, two to .3) */
	assert_int_equal(r.lports_total, 7); /* 30000..30005 and 80 */
	assert_int_equal(r.lports[0].lport, 30000);
	assert_int_equal(r.lports[0].timewait, 3);
	assert_int_equal(r.lports[1].lport, 30001);
	assert_int_equal(r.lports[1].timewait, 2);
	/* pressure: the server socket (port 80) and the out-of-range open one
	 * hold no ephemeral port */
	assert_int_equal(r.pressure_total, 2);
	assert_int_equal(r.pressure[0].raddr[3], 2);
	assert_int_equal(r.pressure[0].rport, 80);
	assert_int_equal(r.pressure[0].timewait, 6);
	assert_int_equal(r.pressure[0].in_use, 2);
	assert_int_equal(r.pressure[1].rport, 443);
	assert_int_equal(r.pressure[1].timewait, 3);
	td_census_report_free(&r);
	td_census_free(&c);
}

/* connect() failures count for their destination's pressure row until the
 * rates are reset; the array holds one row per destination, however many
 * failures come (merged as it fills). */
static void test_connect_failures(void **state)
{
	struct td_census_report r;
	struct td_census c;
	struct td_event e;

	(void)state;
	assert_int_equal(td_census_init(&c, 1), 0);
	e = tw_event(1, TD_TCP_TIME_WAIT, 2, 30000, 80);
	assert_int_equal(td_census_apply(&c, &e, 0), 0);
	for (int i = 0; i < 10000; i++) {
		e = tw_event(0, TD_TCP_CLOSE, i % 10 ? 2 : 5, 0, 80);
		e.flags = 0;
		e.old_state = TD_TCP_SYN_SENT;
		e.kind = i % 2 ? TD_CONNECT_NO_PORT : TD_CONNECT_IN_USE;
		assert_int_equal(td_census_apply(&c, &e, 0), 0);
	}
	/* a refused connect() (kind 0) and a timewait end are no failures */
	e.kind = TD_CONNECT_OK;
	assert_int_equal(td_census_apply(&c, &e, 0), 0);
	assert_int_equal(c.connect_failed, 10000);
	assert_true(c.fails_cap <= 128);
	assert_int_equal(c.count, 1);
	assert_int_equal(td_census_report(&c, NULL, 0, 30000, 39999, 0, 0, 10, &r), 0);
	assert_int_equal(r.pressure_total, 2);
	assert_int_equal(r.pressure[0].raddr[3], 2);
	assert_int_equal(r.pressure[0].timewait, 1);
	assert_int_equal(r.pressure[0].connect_failed, 9000);
	assert_int_equal(r.pressure[1].raddr[3], 5);
	assert_int_equal(r.pressure[1].connect_failed, 1000);
	assert_int_equal(r.count, 1); /* the failures hold no socket */
	td_census_report_free(&r);
	td_census_reset_rates(&c);
	assert_int_equal(td_census_report(&c, NULL, 0, 30000, 39999, 0, 0, 10, &r), 0);
	assert_int_equal(r.pressure_total, 1);
	assert_int_equal(r.pressure[0].connect_failed, 0);
	td_census_report_free(&r);
	td_census_free(&c);
}

/* The exhaustion forecast: the timewait count tends to rate x 60 s. */
static void test_exhaustion_forecast(void **state)
{
	(void)state;
	/* no entries, or a steady state that fits: never */
	assert_true(td_port_exhaustion_s(0, 500, 0, 1000) < 0);
	assert_true(td_port_exhaustion_s(10, 500, 0, 1000) < 0);  /* 600 at most */
	assert_true(td_port_exhaustion_s(15, 900, 99, 1000) < 0); /* 900 <= 901 room */
	/* full already */
	assert_true(td_port_exhaustion_s(0, 990, 10, 1000) == 0);
	/* 100/s toward 6000, from 0, through 1000: 60 ln(6000/5000) */
	assert_true(fabs(td_port_exhaustion_s(100, 0, 0, 1000) - 60 * log(1.2)) < 1e-9);
	/* other sockets hold part of the range: less room, sooner */
	assert_true(td_port_exhaustion_s(100, 0, 500, 1000) <
		    td_port_exhaustion_s(100, 0, 0, 1000));
	/* half full at 1000/s: under a second */
	assert_true(fabs(td_port_exhaustion_s(1000, 500, 0, 1000) - 60 * log(59500.0 / 59000)) <
		    1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_matches_a_model),
	    cmocka_unit_test(test_ring_events),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_connect_failures),
	    cmocka_unit_test(test_exhaustion_forecast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
