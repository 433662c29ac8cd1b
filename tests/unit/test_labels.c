// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for export's command-line input in user/cli.c: --label-peers,
 * --label-ports and --listen, and where they are accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli.h"

static void test_peers(void **state)
{
	struct td_peer_list l = {};
	const char *err = NULL;

	(void)state;
	assert_int_equal(td_parse_peers("10.0.0.0/8,192.168.1.5,::1,fd00::/8", &l, &err), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.p[0].text, "10.0.0.0/8");
	assert_int_equal(l.p[0].prefix, 96 + 8);
	assert_int_equal(l.p[0].addr[10], 0xff); /* IPv4 as ::ffff:a.b.c.d */
	assert_int_equal(l.p[0].addr[12], 10);
	assert_string_equal(l.p[1].text, "192.168.1.5");
	assert_int_equal(l.p[1].prefix, 128);
	assert_string_equal(l.p[2].text, "::1");
	assert_int_equal(l.p[2].prefix, 128);
	assert_string_equal(l.p[3].text, "fd00::/8");
	assert_int_equal(l.p[3].prefix, 8);
	/* the label value is canonical */
	l.n = 0;
	assert_int_equal(td_parse_peers("0:0::1", &l, &err), 0);
	assert_string_equal(l.p[0].text, "::1");
}

/* 16 > 15; a macro, not two literals in the list: clang's
 * -Wstring-concatenation takes those for a missing comma */
#define PEERS_16                                                                                   \
	"1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9,1.1.1.10,"        \
	"1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,1.1.1.16"

static void test_peers_bad(void **state)
{
	static const char *const bad[] = {
	    "",		"10.0.0.0/33", "::1/129",    "10.1.0.0/8", /* host bits set */
	    "host",	"10.0.0.1,",   ",10.0.0.1",  "10.0.0.1,,10.0.0.2",
	    "1.2.3.4/", "1.2.3.4/-1",  "1.2.3.4/+8", PEERS_16,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct td_peer_list l = {};
		const char *err = NULL;

		if (td_parse_peers(bad[i], &l, &err) != -1 || !err)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned len;

	(void)state;
	assert_int_equal(td_parse_listen("127.0.0.1:9466", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 9466);
	assert_int_equal(len, sizeof(*s4));
	assert_int_equal(td_parse_listen("[::1]:80", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 80);
	assert_int_equal(td_parse_listen("[::]:1", &ss, &len), 0);
	assert_int_equal(td_parse_listen("127.0.0.1", &ss, &len), -1);
	assert_int_equal(td_parse_listen("127.0.0.1:0", &ss, &len), -1);
	assert_int_equal(td_parse_listen("127.0.0.1:65536", &ss, &len), -1);
	assert_int_equal(td_parse_listen("::1:80", &ss, &len), -1); /* brackets needed */
	assert_int_equal(td_parse_listen("localhost:80", &ss, &len), -1);
	assert_int_equal(td_parse_listen(":80", &ss, &len), -1);
	assert_int_equal(td_parse_listen("[::1]:", &ss, &len), -1);
}

/* td_parse_args on a copy of the arguments (getopt permutes them). */
static int args(struct td_opts *o, int n, const char *const *list)
{
	char copy[8][64], *argv[9];

	assert_true(n < 9);
	for (int i = 0; i < n; i++) {
		snprintf(copy[i], sizeof(copy[i]), "%s", list[i]);
		argv[i] = copy[i];
	}
	argv[n] = NULL;
	optind = 0;
	return td_parse_args(n, argv, o);
}

static void test_export_args(void **state)
{
	struct td_opts o;

	(void)state;
	assert_int_equal(args(&o, 2, (const char *[]){"tcpdwell", "export"}), 0);
	assert_int_equal(o.cmd, TD_CMD_EXPORT);
	assert_string_equal(o.listen, "127.0.0.1:9466"); /* the default */
	assert_int_equal(
	    args(&o, 8,
		 (const char *[]){"tcpdwell", "export", "--listen", "[::1]:9000", "--label-ports",
				  "80,8000-8100", "--label-peers", "10.0.0.0/8"}),
	    0);
	assert_string_equal(o.listen, "[::1]:9000");
	assert_int_equal(o.label_ports.n, 2);
	assert_int_equal(o.label_ports.r[1].hi, 8100);
	assert_int_equal(o.label_peers.n, 1);
	/* one line on stderr and exit 2 for everything below */
	assert_int_equal(args(&o, 4, (const char *[]){"tcpdwell", "export", "--listen", "x:1"}),
			 TD_EXIT_USAGE);
	assert_int_equal(args(&o, 4, (const char *[]){"tcpdwell", "export", "--label-ports", "0"}),
			 TD_EXIT_USAGE);
	assert_int_equal(args(&o, 4,
			      (const char *[]){"tcpdwell", "export", "--label-ports",
					       "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"}),
			 TD_EXIT_USAGE);
	assert_int_equal(
	    args(&o, 4, (const char *[]){"tcpdwell", "export", "--label-peers", "nope"}),
	    TD_EXIT_USAGE);
	assert_int_equal(
	    args(&o, 4, (const char *[]){"tcpdwell", "trace", "--listen", "127.0.0.1:1"}),
	    TD_EXIT_USAGE);
	assert_int_equal(args(&o, 4, (const char *[]){"tcpdwell", "dwell", "--label-ports", "80"}),
			 TD_EXIT_USAGE);
	assert_int_equal(args(&o, 4, (const char *[]){"tcpdwell", "export", "--pid", "1"}),
			 TD_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peers),
	    cmocka_unit_test(test_peers_bad),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_export_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
