// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/cli.c: port lists and command-line parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "version.h"

/* ---- helpers ----------------------------------------------------------- */

#define MAX_ARGS 16
#define CAP_SZ	 8192

/* Writable copies of the arguments: getopt_long permutes argv[] and
 * td_parse_args may advance it, so the strings are owned separately. */
struct args {
	int argc;
	char *own[MAX_ARGS];
	char *argv[MAX_ARGS + 1];
};

static void args_init(struct args *a, const char *const *list)
{
	memset(a, 0, sizeof(*a));
	a->own[a->argc] = strdup("tcpdwell");
	a->argv[a->argc] = a->own[a->argc];
	a->argc++;
	for (; *list; list++) {
		assert_true(a->argc < MAX_ARGS);
		a->own[a->argc] = strdup(*list);
		assert_non_null(a->own[a->argc]);
		a->argv[a->argc] = a->own[a->argc];
		a->argc++;
	}
	a->argv[a->argc] = NULL;
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->own[i]);
}

/* glibc keeps getopt's scan position (a pointer into the previous argv) in
 * hidden state that td_parse_args' optind = 1 does not clear; only
 * optind = 0 re-initialises it. Every call below starts from a clean getopt
 * so that tests stay independent and never touch freed argv strings; the
 * re-entrancy problem itself is tested on its own at the end. */
static int reset_getopt(void **state)
{
	char a0[] = "reset";
	char *av[] = {a0, NULL};

	(void)state;
	optind = 0;
	opterr = 0;
	while (getopt(1, av, "") != -1)
		;
	return 0;
}

/* What one call printed. */
struct cap {
	int rc;
	size_t out_len, err_len;
	char out[CAP_SZ];
	char err[CAP_SZ];
};

static size_t slurp(FILE *f, char *buf, size_t sz)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, sz - 1, f);
	buf[n] = '\0';
	return n;
}

/* Run td_parse_args with stdout and stderr captured. Nothing is asserted
 * while the descriptors are redirected, so a failure cannot swallow
 * cmocka's own report. */
static void parse_cap_list(struct td_opts *o, struct cap *c, const char *const *list)
{
	struct args a;
	FILE *fo = tmpfile(), *fe = tmpfile();
	int saved_out, saved_err;

	assert_non_null(fo);
	assert_non_null(fe);
	args_init(&a, list);
	reset_getopt(NULL);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	assert_true(saved_out >= 0 && saved_err >= 0);
	dup2(fileno(fo), STDOUT_FILENO);
	dup2(fileno(fe), STDERR_FILENO);

	c->rc = td_parse_args(a.argc, a.argv, o);

	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	c->out_len = slurp(fo, c->out, sizeof(c->out));
	c->err_len = slurp(fe, c->err, sizeof(c->err));
	fclose(fo);
	fclose(fe);
	args_free(&a);
}

#define PARSE(o, c, ...) parse_cap_list((o), (c), (const char *const[]){__VA_ARGS__, NULL})
#define PARSE0(o, c)	 parse_cap_list((o), (c), (const char *const[]){NULL})

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* An error: exit 2, nothing on stdout, exactly one complete line on stderr
 * that starts with the program name. */
static void assert_usage_error(const struct cap *c)
{
	if (c->rc != TD_EXIT_USAGE || count_lines(c->err) != 1)
		fprintf(stderr, "rc=%d stderr=<<%s>>\n", c->rc, c->err);
	assert_int_equal(c->rc, TD_EXIT_USAGE);
	assert_int_equal(count_lines(c->err), 1);
	assert_true(c->err_len > 0);
	assert_int_equal(c->err[c->err_len - 1], '\n');
	assert_int_equal(strncmp(c->err, "tcpdwell: ", 10), 0);
	assert_int_equal(c->out_len, 0);
}

static void assert_ok_quiet(const struct cap *c)
{
	if (c->rc != 0)
		fprintf(stderr, "rc=%d stderr=<<%s>>\n", c->rc, c->err);
	assert_int_equal(c->rc, 0);
	assert_int_equal(c->err_len, 0);
	assert_int_equal(c->out_len, 0);
}

static int parse_ports(const char *s, struct td_port_list *l, const char **err)
{
	memset(l, 0, sizeof(*l));
	*err = NULL;
	return td_parse_ports(s, l, err);
}

/* ---- td_parse_ports ---------------------------------------------------- */

static void test_ports_single(void **state)
{
	struct td_port_list l;
	const char *err;

	(void)state;
	assert_int_equal(parse_ports("80", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].lo, 80);
	assert_int_equal(l.r[0].hi, 80);
	assert_null(err);

	assert_int_equal(parse_ports("1", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].lo, 1);
	assert_int_equal(l.r[0].hi, 1);

	assert_int_equal(parse_ports("65535", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].lo, 65535);
	assert_int_equal(l.r[0].hi, 65535);
}

static void test_ports_list_and_ranges(void **state)
{
	struct td_port_list l;
	const char *err;

	(void)state;
	assert_int_equal(parse_ports("80,443,8000-8100", &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.r[0].lo, 80);
	assert_int_equal(l.r[0].hi, 80);
	assert_int_equal(l.r[1].lo, 443);
	assert_int_equal(l.r[1].hi, 443);
	assert_int_equal(l.r[2].lo, 8000);
	assert_int_equal(l.r[2].hi, 8100);

	assert_int_equal(parse_ports("8000-8100", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].lo, 8000);
	assert_int_equal(l.r[0].hi, 8100);

	/* a one-port range and the full range */
	assert_int_equal(parse_ports("22-22,1-65535", &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.r[0].lo, 22);
	assert_int_equal(l.r[0].hi, 22);
	assert_int_equal(l.r[1].lo, 1);
	assert_int_equal(l.r[1].hi, 65535);
}

static void test_ports_appends(void **state)
{
	struct td_port_list l;
	const char *err = NULL;

	(void)state;
	/* the list accumulates across calls (--lport given twice) */
	assert_int_equal(parse_ports("80", &l, &err), 0);
	assert_int_equal(td_parse_ports("443-444", &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.r[1].lo, 443);
	assert_int_equal(l.r[1].hi, 444);
}

static void expect_port_error(const char *s, const char *why)
{
	struct td_port_list l;
	const char *err;

	if (parse_ports(s, &l, &err) != -1)
		fprintf(stderr, "accepted bad port list '%s'\n", s);
	assert_int_equal(parse_ports(s, &l, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, why);
}

static void test_ports_rejects(void **state)
{
	const char *range = "ports are numbers from 1 to 65535";
	const char *empty = "empty port in list";

	(void)state;
	expect_port_error("0", range);
	expect_port_error("65536", range);
	expect_port_error("99999999999999999999999", range);
	expect_port_error("abc", range);
	expect_port_error("8o", range);
	expect_port_error("-5", range);
	expect_port_error("+80", range);
	expect_port_error("80-", range);
	expect_port_error("-", range);
	expect_port_error("80-90-100", range);
	expect_port_error("0-80", range);
	expect_port_error("80-65536", range);
	expect_port_error("80,", empty);
	expect_port_error(",80", empty);
	expect_port_error("80,,81", empty);
	expect_port_error(",", empty);
	expect_port_error("", empty);
	expect_port_error("100-50", "port range runs backwards");
	expect_port_error("81-80", "port range runs backwards");
}

static void test_ports_max_ranges(void **state)
{
	char buf[1024];
	size_t o = 0;
	struct td_port_list l;
	const char *err;

	(void)state;
	for (int i = 1; i <= TD_MAX_PORT_RANGES; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%s%d", i > 1 ? "," : "", i);
	assert_int_equal(parse_ports(buf, &l, &err), 0);
	assert_int_equal(l.n, TD_MAX_PORT_RANGES);
	assert_int_equal(l.r[63].lo, 64);
	assert_int_equal(l.r[63].hi, 64);

	snprintf(buf + o, sizeof(buf) - o, ",65");
	expect_port_error(buf, "too many port ranges (max 64)");
}

static void test_ports_too_long(void **state)
{
	char buf[1100];
	struct td_port_list l;
	const char *err;

	(void)state;
	/* 1023 characters still fit the parser's buffer: "000...080" is port 80 */
	memset(buf, '0', 1021);
	memcpy(buf + 1021, "80", 3);
	assert_int_equal(strlen(buf), 1023);
	assert_int_equal(parse_ports(buf, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.r[0].lo, 80);

	/* 1024 and more do not */
	memset(buf, '0', 1022);
	memcpy(buf + 1022, "80", 3);
	assert_int_equal(strlen(buf), 1024);
	expect_port_error(buf, "port list too long");

	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_port_error(buf, "port list too long");
}

/* ---- td_port_in -------------------------------------------------------- */

static void test_port_in(void **state)
{
	struct td_port_list l;
	const char *err;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_false(td_port_in(&l, 80));
	assert_false(td_port_in(&l, 0));
	assert_false(td_port_in(&l, 65535));

	assert_int_equal(parse_ports("80,8000-8100", &l, &err), 0);
	assert_false(td_port_in(&l, 0));
	assert_false(td_port_in(&l, 79));
	assert_true(td_port_in(&l, 80));
	assert_false(td_port_in(&l, 81));
	assert_false(td_port_in(&l, 7999));
	assert_true(td_port_in(&l, 8000));
	assert_true(td_port_in(&l, 8050));
	assert_true(td_port_in(&l, 8100));
	assert_false(td_port_in(&l, 8101));
	assert_false(td_port_in(&l, 65535));

	assert_int_equal(parse_ports("1,65535", &l, &err), 0);
	assert_false(td_port_in(&l, 0));
	assert_true(td_port_in(&l, 1));
	assert_false(td_port_in(&l, 2));
	assert_false(td_port_in(&l, 65534));
	assert_true(td_port_in(&l, 65535));

	assert_int_equal(parse_ports("1-65535", &l, &err), 0);
	assert_false(td_port_in(&l, 0));
	assert_true(td_port_in(&l, 1));
	assert_true(td_port_in(&l, 32768));
	assert_true(td_port_in(&l, 65535));
}

/* ---- td_parse_cidrs ---------------------------------------------------- */

static int parse_cidrs(const char *s, struct td_cidr_list *l, const char **err)
{
	memset(l, 0, sizeof(*l));
	*err = NULL;
	return td_parse_cidrs(s, l, err);
}

/* ::ffff:a.b.c.d, the form IPv4 takes in the tries */
static void mapped(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	out[12] = a;
	out[13] = b;
	out[14] = c;
	out[15] = d;
}

static void test_cidrs_ipv4(void **state)
{
	struct td_cidr_list l;
	uint8_t want[16];
	const char *err;

	(void)state;
	assert_int_equal(parse_cidrs("10.0.0.0/8,192.168.1.7", &l, &err), 0);
	assert_null(err);
	assert_int_equal(l.n, 2);
	mapped(want, 10, 0, 0, 0);
	assert_memory_equal(l.c[0].addr, want, 16);
	assert_int_equal(l.c[0].prefix, 96 + 8);
	mapped(want, 192, 168, 1, 7); /* a bare address is a /32 */
	assert_memory_equal(l.c[1].addr, want, 16);
	assert_int_equal(l.c[1].prefix, 128);

	/* host bits are cleared: the trie keys on the network */
	assert_int_equal(parse_cidrs("10.1.2.3/12", &l, &err), 0);
	mapped(want, 10, 0, 0, 0);
	assert_memory_equal(l.c[0].addr, want, 16);
	assert_int_equal(l.c[0].prefix, 108);
	assert_int_equal(parse_cidrs("10.255.2.3/9", &l, &err), 0);
	mapped(want, 10, 128, 0, 0);
	assert_memory_equal(l.c[0].addr, want, 16);

	/* /0 is every IPv4 address: the ::ffff:0:0/96 block */
	assert_int_equal(parse_cidrs("0.0.0.0/0", &l, &err), 0);
	mapped(want, 0, 0, 0, 0);
	assert_memory_equal(l.c[0].addr, want, 16);
	assert_int_equal(l.c[0].prefix, 96);
}

static void test_cidrs_ipv6(void **state)
{
	static const uint8_t lo[16] = {[15] = 1};
	static const uint8_t fd00[16] = {0xfd};
	static const uint8_t fe80_10[16] = {0xfe, 0x80};
	struct td_cidr_list l;
	uint8_t want[16];
	const char *err;

	(void)state;
	assert_int_equal(parse_cidrs("::1,fd00::/8,fe80::1/10", &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_memory_equal(l.c[0].addr, lo, 16);
	assert_int_equal(l.c[0].prefix, 128);
	assert_memory_equal(l.c[1].addr, fd00, 16);
	assert_int_equal(l.c[1].prefix, 8);
	assert_memory_equal(l.c[2].addr, fe80_10, 16); /* ::1 cleared */
	assert_int_equal(l.c[2].prefix, 10);

	/* an IPv4-mapped IPv6 address is the same key as the IPv4 one */
	assert_int_equal(parse_cidrs("::ffff:10.0.0.1,10.0.0.1", &l, &err), 0);
	mapped(want, 10, 0, 0, 1);
	assert_memory_equal(l.c[0].addr, want, 16);
	assert_memory_equal(l.c[1].addr, want, 16);
	assert_int_equal(l.c[0].prefix, l.c[1].prefix);

	assert_int_equal(parse_cidrs("::/0", &l, &err), 0);
	assert_int_equal(l.c[0].prefix, 0);
}

static void expect_cidr_error(const char *s, const char *msg)
{
	struct td_cidr_list l;
	const char *err;

	if (parse_cidrs(s, &l, &err) != -1 || !err || strcmp(err, msg))
		fprintf(stderr, "'%s': err=%s, want %s\n", s, err ? err : "(none)", msg);
	assert_int_equal(parse_cidrs(s, &l, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, msg);
}

static void test_cidrs_rejects(void **state)
{
	static const char *const bad_addr = "not an IPv4 or IPv6 address (ADDR or ADDR/LEN)";

	(void)state;
	expect_cidr_error("", "empty address in list");
	expect_cidr_error(",10.0.0.1", "empty address in list");
	expect_cidr_error("10.0.0.1,", "empty address in list");
	expect_cidr_error("10.0.0.1,,::1", "empty address in list");
	expect_cidr_error("10.0.0", bad_addr);
	expect_cidr_error("10.0.0.256", bad_addr);
	expect_cidr_error("example.com", bad_addr);
	expect_cidr_error("fd00:::1", bad_addr);
	expect_cidr_error("/8", bad_addr);
	expect_cidr_error("[::1]", bad_addr);
	expect_cidr_error("10.0.0.0/33", "an IPv4 prefix length is 0 to 32");
	expect_cidr_error("10.0.0.0/", "an IPv4 prefix length is 0 to 32");
	expect_cidr_error("10.0.0.0/-1", "an IPv4 prefix length is 0 to 32");
	expect_cidr_error("10.0.0.0/8/8", "an IPv4 prefix length is 0 to 32");
	expect_cidr_error("10.0.0.0/x", "an IPv4 prefix length is 0 to 32");
	expect_cidr_error("::1/129", "an IPv6 prefix length is 0 to 128");
	expect_cidr_error("::1/", "an IPv6 prefix length is 0 to 128");
}

static void test_cidrs_max(void **state)
{
	char buf[2048];
	size_t o = 0;
	struct td_cidr_list l;
	const char *err;

	(void)state;
	for (int i = 1; i <= TD_MAX_CIDRS; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%s10.0.0.%d", i > 1 ? "," : "", i);
	assert_int_equal(parse_cidrs(buf, &l, &err), 0);
	assert_int_equal(l.n, TD_MAX_CIDRS);
	assert_int_equal(l.c[63].addr[15], 64);

	snprintf(buf + o, sizeof(buf) - o, ",::1");
	expect_cidr_error(buf, "too many CIDRs (max 64 per --laddr/--raddr side)");

	/* lists append: the limit counts across repeated options too */
	memset(&l, 0, sizeof(l));
	buf[o] = '\0';
	assert_int_equal(td_parse_cidrs(buf, &l, &err), 0);
	assert_int_equal(td_parse_cidrs("::1", &l, &err), -1);
	assert_string_equal(err, "too many CIDRs (max 64 per --laddr/--raddr side)");
}

/* ---- td_parse_args: accepted input -------------------------------------- */

static void assert_defaults_except_family(const struct td_opts *o)
{
	assert_int_equal(o->cmd, TD_CMD_TRACE);
	assert_int_equal(o->format, TD_FMT_TEXT);
	assert_int_equal(o->filter.lports.n, 0);
	assert_int_equal(o->filter.rports.n, 0);
	assert_false(o->wall_time);
	assert_false(o->wide);
	assert_true(o->duration_s == 0.0);
	assert_int_equal(o->flush_ms, 100);
	assert_int_equal(o->ringbuf_kb, 4096);
	assert_int_equal(o->max_sockets, 131072);
	assert_int_equal(o->timewait_map, 131072);
	assert_true(o->interval_s == 0.0);
	assert_int_equal(o->wakeup_pct, 25);
	assert_false(o->wakeup_per_event);
	assert_int_equal(o->accept_hook, TD_ACCEPT_AUTO);
	assert_false(o->no_accept);
}

static void test_args_defaults(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	memset(&o, 0xa5, sizeof(o)); /* every default must be written */
	PARSE0(&o, &c);
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, 0);
	assert_defaults_except_family(&o);
}

static void test_args_trace_word(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	PARSE(&o, &c, "trace");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, 0);
	assert_defaults_except_family(&o);

	PARSE(&o, &c, "trace", "-6", "-w");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, AF_INET6);
	assert_true(o.wide);

	/* options without the command word */
	PARSE(&o, &c, "-6", "-w");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, AF_INET6);
	assert_true(o.wide);
}

static void test_args_family(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-4");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, AF_INET);

	PARSE(&o, &c, "--ipv6");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, AF_INET6);

	PARSE(&o, &c, "--ipv4");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.family, AF_INET);

	PARSE(&o, &c, "-4", "-6");
	assert_usage_error(&c);
	PARSE(&o, &c, "-6", "-4");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--ipv4", "--ipv6");
	assert_usage_error(&c);
	PARSE(&o, &c, "-46");
	assert_usage_error(&c);
}

static void test_args_ports(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "--lport", "80,443", "--rport", "8000-8100");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.lports.n, 2);
	assert_int_equal(o.filter.lports.r[0].lo, 80);
	assert_int_equal(o.filter.lports.r[1].lo, 443);
	assert_int_equal(o.filter.rports.n, 1);
	assert_int_equal(o.filter.rports.r[0].lo, 8000);
	assert_int_equal(o.filter.rports.r[0].hi, 8100);

	PARSE(&o, &c, "--lport=22", "--lport", "25");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.lports.n, 2);
	assert_int_equal(o.filter.lports.r[0].lo, 22);
	assert_int_equal(o.filter.lports.r[1].lo, 25);
	assert_int_equal(o.filter.rports.n, 0);

	PARSE(&o, &c, "--lport", "0");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'0'"));
	assert_non_null(strstr(c.err, "ports are numbers from 1 to 65535"));

	PARSE(&o, &c, "--rport", "100-50");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "port range runs backwards"));

	PARSE(&o, &c, "--rport", "80,");
	assert_usage_error(&c);
	PARSE(&o, &c, "--lport=");
	assert_usage_error(&c);
}

static void test_args_output(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-o", "json");
	assert_ok_quiet(&c);
	assert_int_equal(o.format, TD_FMT_JSON);

	PARSE(&o, &c, "-o", "json", "-o", "text");
	assert_ok_quiet(&c);
	assert_int_equal(o.format, TD_FMT_TEXT);

	PARSE(&o, &c, "-ojson");
	assert_ok_quiet(&c);
	assert_int_equal(o.format, TD_FMT_JSON);

	PARSE(&o, &c, "--output=json");
	assert_ok_quiet(&c);
	assert_int_equal(o.format, TD_FMT_JSON);

	PARSE(&o, &c, "--output", "text");
	assert_ok_quiet(&c);
	assert_int_equal(o.format, TD_FMT_TEXT);

	PARSE(&o, &c, "-o", "yaml");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'yaml'"));

	PARSE(&o, &c, "-o", "JSON");
	assert_usage_error(&c);
	PARSE(&o, &c, "-o", "");
	assert_usage_error(&c);
}

static void test_args_flags(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-T");
	assert_ok_quiet(&c);
	assert_true(o.wall_time);
	assert_false(o.wide);

	PARSE(&o, &c, "-w");
	assert_ok_quiet(&c);
	assert_true(o.wide);
	assert_false(o.wall_time);

	PARSE(&o, &c, "-Tw");
	assert_ok_quiet(&c);
	assert_true(o.wide);
	assert_true(o.wall_time);

	PARSE(&o, &c, "--timestamp", "--wide", "--wakeup-per-event");
	assert_ok_quiet(&c);
	assert_true(o.wide);
	assert_true(o.wall_time);
	assert_true(o.wakeup_per_event);
}

static void test_args_accept_hook(void **state)
{
	static const char *const names[] = {"auto", "fentry", "kprobe", "tracepoint", "none"};
	struct td_opts o;
	struct cap c;

	(void)state;
	for (int h = TD_ACCEPT_AUTO; h <= TD_ACCEPT_NONE; h++) {
		PARSE(&o, &c, "trace", "--accept-hook", names[h]);
		assert_ok_quiet(&c);
		assert_int_equal(o.accept_hook, h);
		assert_string_equal(td_accept_hook_name(o.accept_hook), names[h]);
	}
	PARSE(&o, &c, "--no-accept-tracepoint");
	assert_ok_quiet(&c);
	assert_true(o.no_accept);
	assert_int_equal(o.accept_hook, TD_ACCEPT_AUTO);
	PARSE(&o, &c, "--accept-hook", "fexit");
	assert_usage_error(&c);
	PARSE(&o, &c, "--accept-hook", "tracepoint", "--no-accept-tracepoint");
	assert_usage_error(&c);
	PARSE(&o, &c, "--accept-hook", "");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "x.tdrec", "--accept-hook", "none");
	assert_usage_error(&c);
}

static void test_args_duration(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-d", "2.5");
	assert_ok_quiet(&c);
	assert_true(o.duration_s == 2.5);

	PARSE(&o, &c, "--duration", "10");
	assert_ok_quiet(&c);
	assert_true(o.duration_s == 10.0);

	PARSE(&o, &c, "-d0.001");
	assert_ok_quiet(&c);
	assert_true(o.duration_s == 0.001);

	static const char *const bad[] = {"0", "-1", "abc", "", "2.5s", "nan", "inf", "1e10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PARSE(&o, &c, "-d", bad[i]);
		assert_usage_error(&c);
		assert_non_null(strstr(c.err, "bad duration"));
	}
}

static void test_args_numbers(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	/* --ringbuf-kb: a power of two in 4..1048576 */
	static const char *const rb_ok[] = {"4", "8", "4096", "1048576"};
	static const unsigned rb_val[] = {4, 8, 4096, 1048576};
	for (size_t i = 0; i < 4; i++) {
		PARSE(&o, &c, "--ringbuf-kb", rb_ok[i]);
		assert_ok_quiet(&c);
		assert_int_equal(o.ringbuf_kb, rb_val[i]);
	}
	static const char *const rb_bad[] = {"0",    "1",    "2",	"3",	 "6", "100",
					     "4095", "4097", "2097152", "-4096", "x", ""};
	for (size_t i = 0; i < sizeof(rb_bad) / sizeof(rb_bad[0]); i++) {
		PARSE(&o, &c, "--ringbuf-kb", rb_bad[i]);
		assert_usage_error(&c);
		assert_int_equal(o.ringbuf_kb, 4096);
	}

	PARSE(&o, &c, "--flush-ms", "1", "--max-sockets", "16", "--wakeup-pct", "100");
	assert_ok_quiet(&c);
	assert_int_equal(o.flush_ms, 1);
	assert_int_equal(o.max_sockets, 16);
	assert_int_equal(o.wakeup_pct, 100);

	PARSE(&o, &c, "--flush-ms", "10000", "--max-sockets", "16777216", "--wakeup-pct", "1");
	assert_ok_quiet(&c);
	assert_int_equal(o.flush_ms, 10000);
	assert_int_equal(o.max_sockets, 16777216);
	assert_int_equal(o.wakeup_pct, 1);

	PARSE(&o, &c, "--flush-ms", "0");
	assert_usage_error(&c);
	PARSE(&o, &c, "--flush-ms", "10001");
	assert_usage_error(&c);
	PARSE(&o, &c, "--max-sockets", "15");
	assert_usage_error(&c);
	PARSE(&o, &c, "--max-sockets", "16777217");
	assert_usage_error(&c);
	PARSE(&o, &c, "--wakeup-pct", "0");
	assert_usage_error(&c);
	PARSE(&o, &c, "--wakeup-pct", "101");
	assert_usage_error(&c);
	PARSE(&o, &c, "--wakeup-pct", "-1");
	assert_usage_error(&c);
}

static void test_args_timewait_map(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "--timewait-map", "16");
	assert_ok_quiet(&c);
	assert_int_equal(o.timewait_map, 16);
	assert_int_equal(o.max_sockets, 131072);

	PARSE(&o, &c, "--timewait-map=16777216");
	assert_ok_quiet(&c);
	assert_int_equal(o.timewait_map, 16777216);

	PARSE(&o, &c, "--timewait-map", "15");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "--timewait-map"));
	PARSE(&o, &c, "--timewait-map", "16777217");
	assert_usage_error(&c);
}

static void test_args_subcommands(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "dwell");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_DWELL);

	PARSE(&o, &c, "timeline", "-4");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_TIMELINE);
	assert_int_equal(o.filter.family, AF_INET);

	PARSE(&o, &c, "dwell", "-i", "2.5");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_DWELL);
	assert_true(o.interval_s == 2.5);

	PARSE(&o, &c, "dwell", "--interval=0.25", "-d", "1");
	assert_ok_quiet(&c);
	assert_true(o.interval_s == 0.25);
	assert_true(o.duration_s == 1.0);

	PARSE(&o, &c, "dwell", "-i", "0");
	assert_usage_error(&c);
	PARSE(&o, &c, "dwell", "-i");
	assert_usage_error(&c);
	/* the command word only counts first */
	PARSE(&o, &c, "-4", "dwell");
	assert_usage_error(&c);
}

static void test_args_timewait(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "timewait");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_TIMEWAIT);
	assert_true(o.interval_s == 1.0); /* a report per second by default */
	assert_int_equal(o.top, 10);
	assert_int_equal(o.warn_pct, 50);
	assert_false(o.once || o.verify || o.sockets || o.all_netns);

	PARSE(&o, &c, "timewait", "--once", "--verify", "--sockets", "--top", "3", "--warn-pct",
	      "80", "--all-netns", "-i", "5");
	assert_ok_quiet(&c);
	assert_true(o.once && o.verify && o.sockets && o.all_netns);
	assert_int_equal(o.top, 3);
	assert_int_equal(o.warn_pct, 80);
	assert_true(o.interval_s == 5.0);

	PARSE(&o, &c, "timewait", "--netns", "/proc/self/ns/net");
	assert_ok_quiet(&c);
	assert_string_equal(o.netns_path, "/proc/self/ns/net");
	assert_true(o.filter.netns != 0);

	/* out of range, the wrong command, contradictions: one line, exit 2 */
	PARSE(&o, &c, "timewait", "--top", "0");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--warn-pct", "101");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--verify");
	assert_usage_error(&c);
	PARSE(&o, &c, "dwell", "--once");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--all-netns", "--netns", "/proc/self/ns/net");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--once", "-d", "2");
	assert_usage_error(&c);
}

static void test_args_retrans(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "retrans");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_RETRANS);
	assert_false(o.count || o.resets);
	assert_true(o.interval_s == 0); /* -c: totals at exit unless -i */

	PARSE(&o, &c, "retrans", "-c", "--resets", "--top", "5", "-i", "2", "--lport", "80");
	assert_ok_quiet(&c);
	assert_true(o.count && o.resets);
	assert_int_equal(o.top, 5);
	assert_true(o.interval_s == 2.0);
	assert_int_equal(o.filter.lports.n, 1);

	/* -c and --resets belong to retrans, --top to retrans and timewait */
	PARSE(&o, &c, "trace", "-c");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--resets");
	assert_usage_error(&c);
	PARSE(&o, &c, "dwell", "--top", "3");
	assert_usage_error(&c);
	PARSE(&o, &c, "retrans", "--once");
	assert_usage_error(&c);
}

/* Every filter on every tracing command; the combinations that cannot work. */
static void test_args_filters(void **state)
{
	static const char *const cmds[] = {"trace", "dwell", "timeline", "timewait", "retrans"};
	struct td_opts o;
	struct cap c;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		PARSE(&o, &c, cmds[i], "-4", "--lport", "80", "--rport", "443", "--laddr",
		      "10.0.0.0/8", "--raddr", "::1,10.1.0.0/16", "--pid", "1,2", "--follow",
		      "--comm", "nginx");
		assert_ok_quiet(&c);
		assert_int_equal(o.filter.laddrs.n, 1);
		assert_int_equal(o.filter.raddrs.n, 2);
		assert_int_equal(o.filter.npids, 2);
		assert_true(o.follow);
		assert_true(td_filter_active(&o.filter));
	}
	/* repeated: appended */
	PARSE(&o, &c, "trace", "--laddr", "10.0.0.1", "--laddr", "::1");
	assert_ok_quiet(&c);
	assert_int_equal(o.filter.laddrs.n, 2);
	PARSE(&o, &c, "trace");
	assert_false(td_filter_active(&o.filter));
	PARSE(&o, &c, "trace", "--netns", "/proc/self/ns/net"); /* picks a namespace */
	assert_false(td_filter_active(&o.filter));

	PARSE(&o, &c, "trace", "--laddr", "10.0.0.0/40");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "bad --laddr '10.0.0.0/40'"));
	PARSE(&o, &c, "trace", "--raddr", "x");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "bad --raddr 'x'"));
	PARSE(&o, &c, "trace", "--follow");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "--pid"));
	PARSE(&o, &c, "trace", "--pid", "1", "--follow");
	assert_ok_quiet(&c);
	assert_int_equal(o.max_follow, TD_MAX_PIDS_FOLLOW);
	PARSE(&o, &c, "trace", "--pid", "1", "--follow", "--max-follow", "64");
	assert_ok_quiet(&c);
	assert_int_equal(o.max_follow, 64);
	PARSE(&o, &c, "trace", "--pid", "1", "--follow", "--max-follow", "63");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--pid", "1", "--max-follow", "100");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "add --follow"));
	/* the snapshot knows no owners; sockstat counts everything */
	PARSE(&o, &c, "timewait", "--once", "--pid", "1");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--once", "--raddr", "10.0.0.1");
	assert_ok_quiet(&c);
	PARSE(&o, &c, "timewait", "--pid", "1");
	assert_ok_quiet(&c);
	PARSE(&o, &c, "timewait", "--verify", "--lport", "80");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "--verify"));
	PARSE(&o, &c, "timewait", "--verify", "-6");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--verify", "--netns", "/proc/self/ns/net");
	assert_ok_quiet(&c);
	PARSE(&o, &c, "doctor", "--laddr", "10.0.0.1");
	assert_usage_error(&c);
}

/* ---- td_parse_args: rejected input -------------------------------------- */

static void test_args_unknown_option(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "--bogus");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'--bogus'"));

	PARSE(&o, &c, "-x");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'-x'"));

	PARSE(&o, &c, "trace", "-4", "--nope=1");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "--nope"));

	PARSE(&o, &c, "--wide=1"); /* flag given a value */
	assert_usage_error(&c);
}

/* The message must name the option the user mistyped, also when it is
 * the first letter of a cluster such as "-x4". */
static void test_args_unknown_option_in_cluster_named(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-x4");
	assert_usage_error(&c);
	if (!strstr(c.err, "-x"))
		fprintf(stderr, "message does not name -x: %s", c.err);
	assert_non_null(strstr(c.err, "-x"));

	PARSE(&o, &c, "trace", "-wx");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "x"));
	assert_null(strstr(c.err, "'trace'"));
}

static void test_args_missing_value(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "-o");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'-o'"));
	assert_non_null(strstr(c.err, "needs a value"));

	PARSE(&o, &c, "-d");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'-d'"));

	PARSE(&o, &c, "--lport");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'--lport'"));

	PARSE(&o, &c, "trace", "-4", "--ringbuf-kb");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'--ringbuf-kb'"));
}

/* record -w FILE and replay FILE [COMMAND]: what each takes and refuses. */
/* An option another command takes is refused naming it and the commands
 * that take it (the command table's groups), or why this one does not. */
static void test_args_wrong_command(void **state)
{
	static const struct {
		const char *args[6];
		const char *msg;
	} cases[] = {
	    {{"trace", "--once"}, "trace: --once is an option of timewait"},
	    {{"dwell", "--top", "3"}, "dwell: --top is an option of timewait and retrans"},
	    {{"trace", "-i", "1"}, "trace: -i is an option of dwell, timewait and retrans"},
	    {{"timewait", "-c"}, "timewait: -c is an option of retrans"},
	    {{"export", "--comm", "x"}, "export: --comm does not apply: "},
	    {{"run", "-d", "1", "--", "true"}, "run: -d does not apply: "},
	    {{"doctor", "--netns", "1"}, "doctor: --netns does not apply: "},
	    {{"record", "-w", "/tmp/x", "--wide"}, "record: --wide does not apply: "},
	    {{"replay", "/tmp/x", "--ringbuf-kb", "64"}, "replay: --ringbuf-kb does not apply: "},
	    {{"replay", "/tmp/x", "timewait", "--verify"}, "replay: --verify does not apply: "},
	    {{"replay", "/tmp/x", "export"},
	     "replay: replays trace, timeline, dwell, timewait or retrans"},
	};
	struct td_opts o;
	struct cap c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_cap_list(&o, &c, cases[i].args);
		assert_usage_error(&c);
		if (!strstr(c.err, cases[i].msg))
			fail_msg("%s: got '%s', want '%s'", cases[i].args[1], c.err, cases[i].msg);
	}
}

static void test_args_record_replay(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "record", "-w", "/tmp/x", "--rotate", "64k", "--force", "-4", "-d", "2");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_RECORD);
	assert_non_null(o.write_path); /* points into argv, gone after PARSE */
	assert_int_equal(o.rotate_bytes, 65536);
	assert_true(o.force);
	PARSE(&o, &c, "record", "--write", "/tmp/x", "--rotate", "2M");
	assert_ok_quiet(&c);
	assert_int_equal(o.rotate_bytes, 2 << 20);
	PARSE(&o, &c, "record");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "-w FILE"));
	PARSE(&o, &c, "record", "-w", "/tmp/x", "-o", "json");
	assert_usage_error(&c);
	PARSE(&o, &c, "record", "-w", "/tmp/x", "--wide");
	assert_usage_error(&c);
	PARSE(&o, &c, "record", "-w", "/tmp/x", "--rotate", "1k");
	assert_usage_error(&c);
	PARSE(&o, &c, "record", "-w", "/tmp/x", "--rotate", "5X");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--force");
	assert_usage_error(&c);

	PARSE(&o, &c, "replay", "/tmp/x", "dwell", "-i", "1", "-o", "json", "--lport", "80");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_DWELL);
	assert_non_null(o.replay_path);
	PARSE(&o, &c, "replay", "/tmp/x", "-w", "--netns", "4026531840", "--cgroup", "77",
	      "--cgroup", "78", "--container", "0123456789ab");
	assert_ok_quiet(&c);
	assert_int_equal(o.cmd, TD_CMD_TRACE);
	assert_int_equal(o.filter.netns, 4026531840u);
	assert_int_equal(o.filter.ncgroups, 2);
	assert_int_equal(o.filter.cgroup_ids[0], 77);
	assert_int_equal(o.filter.cgroup_ids[1], 78);
	assert_string_equal(o.filter.container, "0123456789ab");
	PARSE(&o, &c, "export", "--label-containers", "0123456789ab,nginx.service");
	assert_ok_quiet(&c);
	assert_int_equal(o.label_containers.n, 2);
	assert_string_equal(o.label_containers.id[1], "nginx.service");
	PARSE(&o, &c, "export", "--label-containers", "a,,b/c");
	assert_usage_error(&c);
	/* one series per label value: no duplicates, "other" is the rest's */
	PARSE(&o, &c, "export", "--label-containers", "abc,abc");
	assert_usage_error(&c);
	PARSE(&o, &c, "export", "--label-containers", "other");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--label-containers", "abc");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--container", "a/b");
	assert_usage_error(&c);
	PARSE(&o, &c, "trace", "--container", "");
	assert_usage_error(&c);
	PARSE(&o, &c, "timewait", "--once", "--container", "abc");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "--container need the live census"));
	PARSE(&o, &c, "replay");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "-4");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "/tmp/x", "run");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "/tmp/x", "doctor");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "/tmp/x", "--netns", "/proc/self/ns/net");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "inode number"));
	PARSE(&o, &c, "replay", "/tmp/x", "--ringbuf-kb", "64");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "/tmp/x", "--pid", "1", "--follow");
	assert_usage_error(&c);
	PARSE(&o, &c, "replay", "/tmp/x", "timewait", "--once");
	assert_usage_error(&c);
}

static void test_args_unknown_command(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "recrod");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "unknown command 'recrod'"));

	PARSE(&o, &c, "Trace");
	assert_usage_error(&c);
	PARSE(&o, &c, "tracex", "-4");
	assert_usage_error(&c);
	PARSE(&o, &c, "");
	assert_usage_error(&c);
}

static void test_args_unexpected_argument(void **state)
{
	struct td_opts o;
	struct cap c;

	(void)state;
	PARSE(&o, &c, "trace", "extra");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "unexpected argument 'extra'"));

	PARSE(&o, &c, "-4", "extra");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'extra'"));

	PARSE(&o, &c, "trace", "trace");
	assert_usage_error(&c);

	PARSE(&o, &c, "trace", "-w", "80", "-T");
	assert_usage_error(&c);
	assert_non_null(strstr(c.err, "'80'"));
}

static void test_args_help_version(void **state)
{
	struct td_opts o;
	struct cap c;
	char want[256];

	(void)state;
	PARSE(&o, &c, "--help");
	assert_int_equal(c.rc, -1);
	assert_int_equal(c.err_len, 0);
	assert_int_equal(strncmp(c.out, "Usage: tcpdwell", 15), 0);
	assert_non_null(strstr(c.out, "--ringbuf-kb"));

	PARSE(&o, &c, "trace", "-h");
	assert_int_equal(c.rc, -1);
	assert_int_equal(c.err_len, 0);
	assert_int_equal(strncmp(c.out, "Usage: tcpdwell", 15), 0);

	PARSE(&o, &c, "--version");
	assert_int_equal(c.rc, -1);
	assert_int_equal(c.err_len, 0);
	snprintf(want, sizeof(want), "tcpdwell %s (git %s, libbpf %s)\n", TD_VERSION,
		 td_git_revision(), libbpf_version_string());
	assert_string_equal(c.out, want);
	assert_int_equal(strncmp(libbpf_version_string(), "v", 1), 0);

	PARSE(&o, &c, "-V");
	assert_int_equal(c.rc, -1);
	assert_string_equal(c.out, want);
}

/* td_parse_args resets optind itself, so it is meant to be callable more
 * than once. A later call must not see anything of an earlier argv. */
static void test_args_reentrant_after_error_in_cluster(void **state)
{
	char a0[] = "tcpdwell", a1[] = "-x4";
	char b0[] = "tcpdwell", b1[] = "-w";
	char *av[] = {a0, a1, NULL};
	char *bv[] = {b0, b1, NULL};
	struct td_opts o;
	FILE *fe = tmpfile();
	int saved, rc1, rc2;

	(void)state;
	assert_non_null(fe);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	dup2(fileno(fe), STDERR_FILENO);
	/* the first call stops with getopt in the middle of "-x4" */
	rc1 = td_parse_args(2, av, &o);
	/* a fresh argv, both argv arrays still alive: only -w */
	rc2 = td_parse_args(2, bv, &o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(fe);

	if (o.filter.family != 0 || !o.wide)
		fprintf(stderr, "second call: rc=%d family=%d wide=%d (stale '4' of '-x4'?)\n", rc2,
			o.filter.family, o.wide);
	assert_int_equal(rc1, TD_EXIT_USAGE);
	assert_int_equal(rc2, 0);
	assert_int_equal(o.filter.family, 0);
	assert_true(o.wide);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ports_single),
	    cmocka_unit_test(test_ports_list_and_ranges),
	    cmocka_unit_test(test_ports_appends),
	    cmocka_unit_test(test_ports_rejects),
	    cmocka_unit_test(test_ports_max_ranges),
	    cmocka_unit_test(test_ports_too_long),
	    cmocka_unit_test(test_port_in),
	    cmocka_unit_test(test_cidrs_ipv4),
	    cmocka_unit_test(test_cidrs_ipv6),
	    cmocka_unit_test(test_cidrs_rejects),
	    cmocka_unit_test(test_cidrs_max),
	    cmocka_unit_test_setup(test_args_filters, reset_getopt),
	    cmocka_unit_test_setup(test_args_defaults, reset_getopt),
	    cmocka_unit_test_setup(test_args_trace_word, reset_getopt),
	    cmocka_unit_test_setup(test_args_family, reset_getopt),
	    cmocka_unit_test_setup(test_args_ports, reset_getopt),
	    cmocka_unit_test_setup(test_args_output, reset_getopt),
	    cmocka_unit_test_setup(test_args_flags, reset_getopt),
	    cmocka_unit_test_setup(test_args_accept_hook, reset_getopt),
	    cmocka_unit_test_setup(test_args_duration, reset_getopt),
	    cmocka_unit_test_setup(test_args_numbers, reset_getopt),
	    cmocka_unit_test_setup(test_args_timewait_map, reset_getopt),
	    cmocka_unit_test_setup(test_args_subcommands, reset_getopt),
	    cmocka_unit_test_setup(test_args_timewait, reset_getopt),
	    cmocka_unit_test_setup(test_args_retrans, reset_getopt),
	    cmocka_unit_test_setup(test_args_unknown_option, reset_getopt),
	    cmocka_unit_test_setup(test_args_unknown_option_in_cluster_named, reset_getopt),
	    cmocka_unit_test_setup(test_args_missing_value, reset_getopt),
	    cmocka_unit_test_setup(test_args_unknown_command, reset_getopt),
	    cmocka_unit_test_setup(test_args_record_replay, reset_getopt),
	    cmocka_unit_test_setup(test_args_wrong_command, reset_getopt),
	    cmocka_unit_test_setup(test_args_unexpected_argument, reset_getopt),
	    cmocka_unit_test_setup(test_args_help_version, reset_getopt),
	    cmocka_unit_test_setup(test_args_reentrant_after_error_in_cluster, reset_getopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
