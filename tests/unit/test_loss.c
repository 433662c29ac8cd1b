// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/loss.c: loss accounting and its reports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"
#include "jsoncheck.h"

static struct td_loss sample(void)
{
	struct td_loss l;

	memset(&l, 0, sizeof(l));
	l.events = 100;
	l.delivered.events = 90;
	l.delivered.tw_ends = 3;
	l.delivered.tw_switches = 6;
	l.rb_drops = 1;
	l.recursion_misses = 2;
	l.evictions = 4;
	l.insert_fail = 8;
	l.bad_records = 16;
	l.listen_full = 32;
	l.sock_inserts = 1000;
	l.sock_deletes = 990;
	l.sock_live = 7;
	l.tw_inserts = 500;
	l.tw_deletes = 480;
	l.tw_live = 5;
	l.tw_evictions = 64;
	l.tw_insert_fail = 128;
	l.tw_unseen_end = 256;
	l.tw_rearm = 512;
	l.exact = true;
	return l;
}

/* Print into memory; returns a malloc'd NUL-terminated string. */
static char *render(void (*fn)(FILE *, const struct td_loss *, const char *),
		    const struct td_loss *l, const char *degraded, size_t *len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);

	assert_non_null(f);
	fn(f, l, degraded);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	*len = sz;
	return buf;
}

#define PREFIX_EXACT   "{\"schema\":1,\"type\":\"loss\",\"exact\":true,\"events\":100,"
#define SUFFIX_EMPTY   ",\"programs\":[],\"degraded\":null}\n"
#define PREFIX_INEXACT "{\"schema\":1,\"type\":\"loss\",\"exact\":false,\"events\":100,"

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- td_loss_derive ---------------------------------------------------- */

static void test_derive(void **state)
{
	struct td_loss l;

	(void)state;
	memset(&l, 0, sizeof(l));
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 0);

	l.sock_inserts = 10;
	l.sock_deletes = 3;
	l.sock_live = 2;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 5);

	/* everything accounted for */
	l.sock_inserts = 5;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 0);

	/* counters read at different instants can overshoot: never negative */
	l.evictions = 12345;
	l.sock_inserts = 4;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 0);
	l.sock_inserts = 0;
	l.sock_deletes = 1;
	l.sock_live = 0;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 0);

	/* large values, no wrap */
	l.sock_inserts = 1ull << 40;
	l.sock_deletes = (1ull << 39);
	l.sock_live = 1;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, (1ull << 39) - 1);

	/* the other counters are left alone */
	struct td_loss s = sample(), before;
	before = s;
	td_loss_derive(&s);
	assert_int_equal(s.evictions, 3);
	assert_int_equal(s.tw_evictions, 15);
	s.evictions = before.evictions;
	s.tw_evictions = before.tw_evictions;
	assert_memory_equal(&s, &before, sizeof(s));
}

static void test_derive_timewait(void **state)
{
	struct td_loss l;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.tw_inserts = 10;
	l.tw_deletes = 3;
	l.tw_live = 2;
	td_loss_derive(&l);
	assert_int_equal(l.tw_evictions, 5);
	assert_int_equal(l.evictions, 0);

	l.tw_evictions = 99;
	l.tw_inserts = 4;
	td_loss_derive(&l);
	assert_int_equal(l.tw_evictions, 0);

	/* the two maps are independent */
	memset(&l, 0, sizeof(l));
	l.sock_inserts = 100;
	l.sock_deletes = 10;
	l.tw_inserts = 7;
	td_loss_derive(&l);
	assert_int_equal(l.evictions, 90);
	assert_int_equal(l.tw_evictions, 7);
}

/* ---- td_loss_total ----------------------------------------------------- */

static void test_total(void **state)
{
	struct td_loss l;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(td_loss_total(&l), 0);

	l = sample();
	/* 1 + 2 + 4 + 8 + 16; events, delivered, listen_full, socket counters
	 * are not losses */
	assert_int_equal(td_loss_total(&l), 31);

	memset(&l, 0, sizeof(l));
	l.rb_drops = 1;
	assert_int_equal(td_loss_total(&l), 1);
	memset(&l, 0, sizeof(l));
	l.recursion_misses = 1;
	assert_int_equal(td_loss_total(&l), 1);
	memset(&l, 0, sizeof(l));
	l.evictions = 1;
	assert_int_equal(td_loss_total(&l), 1);
	memset(&l, 0, sizeof(l));
	l.insert_fail = 1;
	assert_int_equal(td_loss_total(&l), 1);
	memset(&l, 0, sizeof(l));
	l.bad_records = 1;
	assert_int_equal(td_loss_total(&l), 1);
	/* a followed child the pid map refused: its connections are missed */
	memset(&l, 0, sizeof(l));
	l.pid_full = 1;
	assert_int_equal(td_loss_total(&l), 1);

	memset(&l, 0, sizeof(l));
	l.events = 5;
	l.delivered.events = 5;
	l.listen_full = 3;
	l.sock_inserts = 9;
	l.sock_deletes = 9;
	l.sock_live = 2;
	assert_int_equal(td_loss_total(&l), 0);
}

/* ---- td_loss_print_json ------------------------------------------------ */

static void test_print_json_counts(void **state)
{
	static const char *const want[] = {
	    "\"events\":100,",	      "\"delivered\":90,",	   "\"lost\":31,",
	    "\"ringbuf_drops\":1,",   "\"recursion_misses\":2,",   "\"evictions\":4,",
	    "\"map_refusals\":8,",    "\"listener_map_full\":32,", "\"bad_records\":16,",
	    "\"sockets_tracked\":7,", "\"timewait_ends\":3,",	   "\"timewait_switches\":6,",
	};
	struct td_loss l = sample();
	size_t len;
	char *s;

	(void)state;
	s = render(td_loss_print_json, &l, NULL, &len);
	assert_int_equal(len, strlen(s));
	assert_int_equal(count_lines(s), 1);
	assert_true(json_object_line_ok(s, len));
	assert_int_equal(strncmp(s, PREFIX_EXACT, strlen(PREFIX_EXACT)), 0);
	assert_non_null(strstr(s, "\"type\":\"loss\""));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(s, want[i]))
			fprintf(stderr, "missing %s in %s", want[i], s);
		assert_non_null(strstr(s, want[i]));
	}
	assert_true(len > strlen(SUFFIX_EMPTY));
	assert_string_equal(s + len - strlen(SUFFIX_EMPTY), SUFFIX_EMPTY);
	free(s);
}

static void test_print_json_timewait(void **state)
{
	static const char *const want[] = {
	    "\"timewait_evictions\":64,", "\"timewait_map_refusals\":128,",
	    "\"timewait_tracked\":5,",	  "\"timewait_unseen_ends\":256,",
	    "\"timewait_rearms\":512,",	  "\"pid_map_full\":0,",
	};
	struct td_loss l = sample();
	size_t len;
	char *s;

	(void)state;
	s = render(td_loss_print_json, &l, NULL, &len);
	assert_true(json_object_line_ok(s, len));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(s, want[i]))
			fprintf(stderr, "missing %s in %s", want[i], s);
		assert_non_null(strstr(s, want[i]));
	}
	free(s);
}

static void test_print_json_programs_degraded(void **state)
{
	struct td_loss l = sample();
	size_t len;
	char *s;

	(void)state;
	l.exact = false;
	l.nprogs = 2;
	l.prog[0].name = "handle_set_state";
	l.prog[0].misses = 3;
	l.prog[0].run_cnt = 1000;
	l.prog[0].run_time_ns = 50000;
	l.prog[1].name = "handle_retrans";
	l.prog[1].misses = 0;
	l.prog[1].run_cnt = 7;
	l.prog[1].run_time_ns = 700;
	s = render(td_loss_print_json, &l, "tracefs unavailable: accepted sockets keep their owner",
		   &len);
	assert_int_equal(count_lines(s), 1);
	assert_true(json_object_line_ok(s, len));
	assert_int_equal(strncmp(s, PREFIX_INEXACT, strlen(PREFIX_INEXACT)), 0);
	assert_non_null(strstr(s, "\"lost\":31,"));
	assert_non_null(strstr(
	    s,
	    "\"programs\":[{\"name\":\"handle_set_state\",\"recursion_misses\":3,\"run_cnt\":1000,"
	    "\"run_time_ns\":50000},{\"name\":\"handle_retrans\",\"recursion_misses\":0,"
	    "\"run_cnt\":7,\"run_time_ns\":700}],"));
	assert_non_null(strstr(
	    s, "\"degraded\":\"tracefs unavailable: accepted sockets keep their owner\"}\n"));
	assert_null(strstr(s, "null"));
	free(s);

	/* the largest counters print in full */
	memset(&l, 0, sizeof(l));
	l.events = UINT64_MAX;
	l.bad_records = UINT64_MAX;
	s = render(td_loss_print_json, &l, NULL, &len);
	assert_true(json_object_line_ok(s, len));
	assert_non_null(strstr(s, "\"events\":18446744073709551615,"));
	assert_non_null(strstr(s, "\"lost\":18446744073709551615,"));
	free(s);
}

/* ---- td_loss_print_text ------------------------------------------------ */

static void test_print_text(void **state)
{
	struct td_loss l = sample();
	size_t len;
	char *s;

	(void)state;
	s = render(td_loss_print_text, &l, NULL, &len);
	assert_int_equal(count_lines(s), 1);
	assert_non_null(strstr(s, "tcpdwell: 90 events delivered ("));
	assert_non_null(strstr(s, "); lost: 1 ring-buffer drops, "));
	assert_non_null(strstr(s, ", 2 recursion misses,"));
	assert_non_null(strstr(s, ", 4 socket-map evictions,"));
	assert_non_null(strstr(s, ", 8 socket-map refusals,"));
	assert_non_null(strstr(s, ", 16 bad records\n"));
	assert_null(strstr(s, "approximate"));
	assert_null(strstr(s, "degraded"));
	free(s);

	l.exact = false;
	s = render(td_loss_print_text, &l, "accept() tracepoint did not attach", &len);
	assert_int_equal(count_lines(s), 2);
	assert_non_null(strstr(s, ", 16 bad records (live, approximate)\n"
				  "tcpdwell: degraded: accept() tracepoint did not attach\n"));
	assert_int_equal(s[len - 1], '\n');
	assert_string_equal(strchr(s, '\n') + 1,
			    "tcpdwell: degraded: accept() tracepoint did not attach\n");
	free(s);

	/* every count is its own field */
	memset(&l, 0, sizeof(l));
	l.exact = true;
	l.delivered.events = 11;
	l.rb_drops = 22;
	l.recursion_misses = 33;
	l.evictions = 44;
	l.insert_fail = 55;
	l.bad_records = 66;
	s = render(td_loss_print_text, &l, NULL, &len);
	assert_non_null(strstr(s, "tcpdwell: 11 events delivered ("));
	assert_non_null(strstr(s, " 22 ring-buffer drops"));
	assert_non_null(strstr(s, " 33 recursion misses"));
	assert_non_null(strstr(s, " 44 socket-map evictions"));
	assert_non_null(strstr(s, " 55 socket-map refusals"));
	assert_non_null(strstr(s, " 66 bad records\n"));
	assert_int_equal(count_lines(s), 1);
	free(s);

	/* the timewait map's losses too */
	l = sample();
	s = render(td_loss_print_text, &l, NULL, &len);
	assert_non_null(strstr(s, " 64 timewait-map evictions"));
	assert_non_null(strstr(s, " 128 timewait-map refusals"));
	free(s);

	/* and --follow's refused children, in text, JSON and the total */
	l = sample();
	l.pid_full = 1024;
	s = render(td_loss_print_text, &l, NULL, &len);
	assert_non_null(strstr(s, " 1024 pid-map refusals (--follow),"));
	free(s);
	s = render(td_loss_print_json, &l, NULL, &len);
	assert_true(json_object_line_ok(s, len));
	assert_non_null(strstr(s, "\"pid_map_full\":1024,"));
	assert_non_null(strstr(s, "\"lost\":1055,"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_total),
	    cmocka_unit_test(test_derive_timewait),
	    cmocka_unit_test(test_print_json_counts),
	    cmocka_unit_test(test_print_json_timewait),
	    cmocka_unit_test(test_print_json_programs_degraded),
	    cmocka_unit_test(test_print_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
