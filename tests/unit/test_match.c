// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/match.c, the userspace twin of td_filter_pass (a
 * replay's filters), on the cases the kernel filters are tested with in
 * tests/integration/test_filters_*.py, and for td_dwell_counts, the one
 * histogram rule the kernel and a replay share. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "match.h"

static struct td_event ev4(const char *l, uint16_t lport, const char *r, uint16_t rport)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.type = TD_EV_STATE;
	e.family = AF_INET;
	inet_pton(AF_INET, l, e.laddr);
	inet_pton(AF_INET, r, e.raddr);
	e.lport = lport;
	e.rport = rport;
	e.pid = 100;
	e.netns = 4026531840u;
	e.cgroup_id = 77;
	memcpy(e.comm, "curl", 5);
	return e;
}

static struct td_event ev6(const char *l, const char *r)
{
	struct td_event e = ev4("0.0.0.0", 1000, "0.0.0.0", 80);

	e.family = AF_INET6;
	inet_pton(AF_INET6, l, e.laddr);
	inet_pton(AF_INET6, r, e.raddr);
	return e;
}

static struct td_opts opts(void)
{
	struct td_opts o;

	memset(&o, 0, sizeof(o));
	return o;
}

static void cidrs(struct td_cidr_list *l, const char *s)
{
	const char *err;

	assert_int_equal(td_parse_cidrs(s, l, &err), 0);
}

static void test_none(void **state)
{
	struct td_opts o = opts();
	struct td_event e = ev4("127.0.0.1", 1, "127.0.0.1", 2);

	(void)state;
	assert_true(td_match(&o.filter, &e));
}

static void test_addresses(void **state)
{
	struct td_opts o = opts();
	struct td_event a = ev4("10.1.2.3", 1000, "192.168.0.9", 80);
	struct td_event m = ev6("::ffff:10.1.2.3", "::ffff:192.168.0.9");
	struct td_event v6 = ev6("fd00::1", "fd00::2");

	(void)state;
	cidrs(&o.filter.laddrs, "10.0.0.0/8");
	assert_true(td_match(&o.filter, &a));
	assert_true(td_match(&o.filter, &m)); /* an IPv4 CIDR matches the mapped form */
	assert_false(td_match(&o.filter, &v6));
	cidrs(&o.filter.raddrs, "192.168.0.0/30"); /* laddr AND raddr */
	assert_false(td_match(&o.filter, &a));
	o.filter.raddrs.n = 0;
	cidrs(&o.filter.raddrs, "192.168.0.8/29,fd00::/64"); /* OR within a list */
	assert_true(td_match(&o.filter, &a));
	o = opts();
	cidrs(&o.filter.laddrs, "::/0"); /* matches IPv4 too */
	assert_true(td_match(&o.filter, &a) && td_match(&o.filter, &v6));
	o.filter.family = AF_INET6;
	assert_false(td_match(&o.filter, &a));
	assert_true(td_match(&o.filter, &v6));
	o = opts();
	cidrs(&o.filter.laddrs, "fd00::1"); /* a bare address is /128 */
	assert_true(td_match(&o.filter, &v6));
	v6.laddr[15] = 3;
	assert_false(td_match(&o.filter, &v6));
	o = opts();
	cidrs(&o.filter.laddrs, "10.1.2.3/31"); /* odd prefix lengths: bit by bit */
	a.laddr[3] = 2;
	assert_true(td_match(&o.filter, &a));
	a.laddr[3] = 4;
	assert_false(td_match(&o.filter, &a));
}

static void test_ports_family_netns(void **state)
{
	struct td_opts o = opts();
	struct td_event e = ev4("127.0.0.1", 8000, "127.0.0.1", 443);
	const char *err;

	(void)state;
	assert_int_equal(td_parse_ports("80,8000-8100", &o.filter.lports, &err), 0);
	assert_true(td_match(&o.filter, &e));
	e.lport = 8101;
	assert_false(td_match(&o.filter, &e));
	e.lport = 80;
	assert_int_equal(td_parse_ports("443", &o.filter.rports, &err), 0);
	assert_true(td_match(&o.filter, &e));
	e.rport = 0; /* port 0 (a listener's remote) is never in a list */
	assert_false(td_match(&o.filter, &e));
	o = opts();
	o.filter.family = AF_INET6;
	assert_false(td_match(&o.filter, &e));
	o = opts();
	o.filter.netns = 5;
	assert_false(td_match(&o.filter, &e));
	e.netns = 5;
	assert_true(td_match(&o.filter, &e));
}

static void test_owners(void **state)
{
	struct td_opts o = opts();
	struct td_event e = ev4("127.0.0.1", 1, "127.0.0.1", 2);

	(void)state;
	o.filter.pids[0] = 99;
	o.filter.pids[1] = 100;
	o.filter.npids = 2;
	assert_true(td_match(&o.filter, &e));
	e.pid = 101;
	assert_false(td_match(&o.filter, &e));
	o = opts();
	strcpy(o.filter.comm, "curl");
	assert_true(td_match(&o.filter, &e));
	memcpy(e.comm, "curly", 6); /* the whole name, not a prefix */
	assert_false(td_match(&o.filter, &e));
	memcpy(e.comm, "cur", 4);
	assert_false(td_match(&o.filter, &e));
	/* a 15-character name and a full 16-byte comm: as the kernel loop */
	strcpy(o.filter.comm, "abcdefghijklmno");
	memcpy(e.comm, "abcdefghijklmno", 16);
	assert_true(td_match(&o.filter, &e));
	o = opts();
	o.filter.cgroup_ids[0] = 78;
	o.filter.ncgroups = 1;
	assert_false(td_match(&o.filter, &e));
	/* any of several ids */
	o.filter.cgroup_ids[1] = 77;
	o.filter.ncgroups = 2;
	assert_true(td_match(&o.filter, &e));
}

static void test_dwell_rule(void **state)
{
	struct td_event e = ev4("127.0.0.1", 1, "127.0.0.1", 2);

	(void)state;
	e.old_state = TD_TCP_ESTABLISHED;
	assert_true(td_dwell_counts(&e));
	e.flags = TD_F_DEFERRED | TD_F_TW; /* timed all the same */
	assert_true(td_dwell_counts(&e));
	for (unsigned f = 0; f < 3; f++) {
		e.flags = (unsigned[]){TD_F_NEW, TD_F_FIRST, TD_F_LATE}[f];
		assert_false(td_dwell_counts(&e));
	}
	e.flags = 0;
	e.type = TD_EV_RETRANS;
	assert_false(td_dwell_counts(&e));
	e.type = TD_EV_STATE;
	e.old_state = TD_TCP_MAX_STATES;
	assert_false(td_dwell_counts(&e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_none),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_ports_family_netns),
	    cmocka_unit_test(test_owners),
	    cmocka_unit_test(test_dwell_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
