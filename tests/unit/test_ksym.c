// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/ksym.c: the /proc/kallsyms line parser, and one pass
 * for several names against a plain sscanf reading of the real file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ksym.h"

static const char *const names[] = {"tw_timer_handler", "reqsk_timer_handler", "tcp_write_timer"};

static void test_lines(void **state)
{
	uint64_t a[3] = {0};

	(void)state;
	assert_int_equal(td_ksym_match_line("ffffffff81a2b3c0 T tcp_write_timer\n", names, 3, a),
			 2);
	assert_true(a[2] == 0xffffffff81a2b3c0ull);
	/* a module's symbol: the name ends at the tab */
	assert_int_equal(
	    td_ksym_match_line("ffffffffc0001000 t tw_timer_handler\t[mod]\n", names, 3, a), 0);
	assert_true(a[0] == 0xffffffffc0001000ull);
	/* hidden addresses (kptr_restrict): found, and 0 */
	a[1] = 7;
	assert_int_equal(
	    td_ksym_match_line("0000000000000000 t reqsk_timer_handler\n", names, 3, a), 1);
	assert_true(a[1] == 0);
	/* a longer or shorter name is another symbol */
	assert_int_equal(td_ksym_match_line("ffffffff81000000 T tw_timer_handler2\n", names, 3, a),
			 -1);
	assert_int_equal(td_ksym_match_line("ffffffff81000000 T tw_timer_handle\n", names, 3, a),
			 -1);
	/* not kallsyms lines */
	assert_int_equal(td_ksym_match_line("", names, 3, a), -1);
	assert_int_equal(td_ksym_match_line("garbage\n", names, 3, a), -1);
	assert_int_equal(td_ksym_match_line(" T tcp_write_timer\n", names, 3, a), -1);
	assert_int_equal(td_ksym_match_line("xyz T tcp_write_timer\n", names, 3, a), -1);
	assert_int_equal(td_ksym_match_line("ffffffff81000000 tcp_write_timer\n", names, 3, a), -1);
	assert_int_equal(td_ksym_match_line("1ffffffff81000000 T tcp_write_timer\n", names, 3, a),
			 -1);
}

/* What sscanf makes of the real file: the ground truth for one pass. */
static int reference(const char *name, uint64_t *addr)
{
	char line[512], sym[256];
	FILE *f = fopen("/proc/kallsyms", "re");
	uint64_t v;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 " %*s %255s", &v, sym) == 2 && !strcmp(sym, name)) {
			*addr = v;
			ret = 0;
		}
	fclose(f);
	return ret;
}

static void test_real_kallsyms(void **state)
{
	uint64_t a[4], want;
	const char *four[] = {names[0], names[1], names[2], "td_no_such_symbol_here"};
	unsigned found;
	int err;

	(void)state;
	err = reference(names[0], &want);
	if (err == -EACCES || err == -ENOENT)
		skip(); /* no /proc/kallsyms here */
	assert_int_equal(td_ksyms_resolve(four, 4, a, &found), 0);
	for (int i = 0; i < 3; i++) {
		if (reference(names[i], &want)) {
			assert_false(found & 1u << i);
			continue;
		}
		assert_true(found & 1u << i);
		assert_true(a[i] == want);
	}
	assert_false(found & 1u << 3);
	assert_true(a[3] == 0);
	assert_int_equal(td_ksym_lookup("td_no_such_symbol_here", &want), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_real_kallsyms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
