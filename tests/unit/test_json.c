// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/json.c, the one JSON writer: commas and brackets in
 * any nesting, escaping, values in arrays, and a long report streamed
 * through a small line into a FILE, byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "jsoncheck.h"

static char buf[4096];

static struct td_line line(void)
{
	return (struct td_line){buf, sizeof(buf), 0};
}

static void test_nesting_and_commas(void **state)
{
	struct td_line l = line();
	struct td_json j;
	const __u8 v4[16] = {127, 0, 0, 1};

	(void)state;
	td_json_init(&j, &l, NULL);
	td_json_object(&j, NULL);
	td_json_u64(&j, "a", 1);
	td_json_object(&j, "empty");
	td_json_close(&j);
	td_json_array(&j, "list");
	td_json_i64(&j, NULL, -2);
	td_json_array(&j, NULL);
	td_json_close(&j);
	td_json_object(&j, NULL);
	td_json_null(&j, "n");
	td_json_bool(&j, "t", true);
	td_json_close(&j);
	td_json_f64(&j, NULL, 1.5, 3);
	td_json_close(&j);
	td_json_addr(&j, "addr", AF_INET, v4);
	td_json_raw(&j, "raw", "[1,2]");
	td_json_end(&j); /* closes the object left open */
	assert_string_equal(buf, "{\"a\":1,\"empty\":{},\"list\":[-2,[],{\"n\":null,\"t\":true},"
				 "1.500],\"addr\":\"127.0.0.1\",\"raw\":[1,2]}\n");
	assert_true(json_object_line_ok(buf, strlen(buf)));
}

static void test_strings_are_escaped(void **state)
{
	struct td_line l = line();
	struct td_json j;
	const char comm[16] = "a\"b\\c\x01\xff"; /* a task name is any bytes */

	(void)state;
	td_json_init(&j, &l, NULL);
	td_json_object(&j, NULL);
	td_json_strn(&j, "comm", comm, sizeof(comm));
	td_json_str(&j, "s", "tab\there");
	td_json_end(&j);
	assert_string_equal(buf,
			    "{\"comm\":\"a\\\"b\\\\c\\u0001\\u00ff\",\"s\":\"tab\\u0009here\"}\n");
	assert_true(json_object_line_ok(buf, strlen(buf)));
}

/* A value far longer than the line, and many of them: streamed out as the
 * line fills, the result is what one big line would have held. */
static void test_streams_through_a_small_line(void **state)
{
	char small[64], *big = NULL, *want = NULL;
	struct td_line l = {small, sizeof(small), 0}, wl = {NULL, 1 << 16, 0};
	struct td_json j, w;
	size_t len = 0;
	FILE *f = open_memstream(&big, &len);
	char arg[1000];

	(void)state;
	assert_non_null(f);
	wl.buf = want = malloc(wl.sz);
	assert_non_null(want);
	memset(arg, 'x', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	td_json_init(&j, &l, f);
	td_json_init(&w, &wl, NULL);
	for (struct td_json *p = &j; p; p = p == &j ? &w : NULL) {
		td_json_object(p, NULL);
		td_json_array(p, "command");
		for (int i = 0; i < 20; i++)
			td_json_str(p, NULL, arg);
		td_json_close(p);
		td_json_array(p, "n");
		for (int i = 0; i < 500; i++)
			td_json_u64(p, NULL, (uint64_t)i * 1000003);
		td_json_end(p);
	}
	fclose(f);
	assert_int_equal(len, wl.len);
	assert_memory_equal(big, want, len);
	assert_true(json_object_line_ok(big, len));
	free(big);
	free(want);
}

/* A line too short for what is written is cut, never overrun. */
static void test_a_full_line_is_cut_not_overrun(void **state)
{
	char tiny[16 + 8];
	struct td_line l = {tiny, 16, 0};
	struct td_json j;

	(void)state;
	memset(tiny, '#', sizeof(tiny));
	td_json_init(&j, &l, NULL);
	td_json_object(&j, NULL);
	td_json_str(&j, "a long key", "and a long value");
	td_json_u64(&j, "b", 123456789);
	td_json_end(&j);
	assert_int_equal(l.len, 15);
	assert_int_equal(tiny[15], '\0');
	for (size_t i = 16; i < sizeof(tiny); i++)
		assert_int_equal(tiny[i], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nesting_and_commas),
	    cmocka_unit_test(test_strings_are_escaped),
	    cmocka_unit_test(test_streams_through_a_small_line),
	    cmocka_unit_test(test_a_full_line_is_cut_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
