// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/expo.c: the two exposition formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "expo.h"

static void test_text_counter(void **state)
{
	struct td_buf b = {};
	struct td_expo x = {.b = &b, .fmt = TD_EXPO_TEXT};
	const char *l[] = {"from", "A", "to", "B", NULL};

	(void)state;
	td_expo_family(&x, "t_transitions_total", "counter", "Help \\ with\nnewline.");
	td_expo_u64(&x, "", l, 42);
	td_expo_end(&x);
	assert_string_equal(b.p, "# HELP t_transitions_total Help \\\\ with\\nnewline.\n"
				 "# TYPE t_transitions_total counter\n"
				 "t_transitions_total{from=\"A\",to=\"B\"} 42\n");
	td_buf_free(&b);
}

static void test_openmetrics_names(void **state)
{
	struct td_buf b = {};
	struct td_expo x = {.b = &b, .fmt = TD_EXPO_OPENMETRICS};

	(void)state;
	td_expo_family(&x, "t_resets_total", "counter", "R \"q\".");
	td_expo_u64(&x, "", NULL, 3);
	td_expo_family(&x, "t_build_info", "info", "B.");
	td_expo_u64(&x, "", (const char *[]){"version", "1", NULL}, 1);
	td_expo_family(&x, "t_seconds", "histogram", "H.");
	td_expo_u64(&x, "_bucket", (const char *[]){"le", "+Inf", NULL}, 2);
	td_expo_f64(&x, "_sum", NULL, 0.25);
	td_expo_u64(&x, "_count", NULL, 2);
	td_expo_end(&x);
	assert_string_equal(b.p, "# HELP t_resets R \\\"q\\\".\n"
				 "# TYPE t_resets counter\n"
				 "t_resets_total 3\n"
				 "# HELP t_build B.\n"
				 "# TYPE t_build info\n"
				 "t_build_info{version=\"1\"} 1\n"
				 "# HELP t_seconds H.\n"
				 "# TYPE t_seconds histogram\n"
				 "t_seconds_bucket{le=\"+Inf\"} 2\n"
				 "t_seconds_sum 0.25\n"
				 "t_seconds_count 2\n"
				 "# EOF\n");
	td_buf_free(&b);
}

static void test_text_info_is_gauge(void **state)
{
	struct td_buf b = {};
	struct td_expo x = {.b = &b, .fmt = TD_EXPO_TEXT};

	(void)state;
	td_expo_family(&x, "t_build_info", "info", "B.");
	td_expo_end(&x);
	assert_string_equal(b.p, "# HELP t_build_info B.\n# TYPE t_build_info gauge\n");
	td_buf_free(&b);
}

static void test_label_escaping_and_floats(void **state)
{
	struct td_buf b = {};
	struct td_expo x = {.b = &b, .fmt = TD_EXPO_TEXT};

	(void)state;
	td_expo_family(&x, "g", "gauge", "G.");
	td_expo_f64(&x, "", (const char *[]){"v", "a\"b\\c\nd", NULL}, 0.022830630000000001);
	td_expo_f64(&x, "", NULL, INFINITY);
	td_expo_f64(&x, "", NULL, NAN);
	td_expo_f64(&x, "", NULL, 0.1 + 0.2); /* needs 17 digits to read back */
	assert_string_equal(b.p, "# HELP g G.\n# TYPE g gauge\n"
				 "g{v=\"a\\\"b\\\\c\\nd\"} 0.02283063\n"
				 "g +Inf\n"
				 "g NaN\n"
				 "g 0.30000000000000004\n");
	td_buf_free(&b);
}

static void test_content_types(void **state)
{
	(void)state;
	assert_non_null(strstr(td_expo_content_type(TD_EXPO_TEXT), "text/plain; version=0.0.4"));
	assert_non_null(strstr(td_expo_content_type(TD_EXPO_OPENMETRICS),
			       "application/openmetrics-text; version=1.0.0"));
}

static void test_buf_grows(void **state)
{
	struct td_buf b = {};

	(void)state;
	for (int i = 0; i < 10000; i++)
		td_buf_printf(&b, "%05d,", i);
	assert_false(b.oom);
	assert_int_equal(b.len, 60000);
	assert_memory_equal(b.p + 59994, "09999,", 6);
	td_buf_reset(&b);
	assert_int_equal(b.len, 0);
	td_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_counter),
	    cmocka_unit_test(test_openmetrics_names),
	    cmocka_unit_test(test_text_info_is_gauge),
	    cmocka_unit_test(test_label_escaping_and_floats),
	    cmocka_unit_test(test_content_types),
	    cmocka_unit_test(test_buf_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
