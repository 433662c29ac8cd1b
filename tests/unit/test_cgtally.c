// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/cgtally.c: counts grouped by container or unit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgtally.h"
#include "format.h"
#include "json.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct td_cgnames *names(void)
{
	struct td_cgnames *n = td_cgnames_new(false, NULL);

	td_cgnames_put(n, 1, "/");
	td_cgnames_put(n, 10, "/system.slice/docker-" A64 ".scope");
	td_cgnames_put(n, 11, "/system.slice/docker-" A64 ".scope/init.scope"); /* the same */
	td_cgnames_put(n, 20, "/system.slice/docker-" B64 ".scope");
	td_cgnames_put(n, 30, "/user.slice/user-1000.slice/session-3.scope");
	td_cgnames_put(n, 31, "/user.slice/user-1001.slice/session-9.scope");
	td_cgnames_put(n, 40, "/system.slice/nginx.service");
	return n;
}

static void test_groups(void **state)
{
	struct td_cgnames *n = names();
	struct td_cg_tally t = {0};

	(void)state;
	/* a container's scope and a cgroup below it: one row */
	td_cg_tally_add(&t, 10, 5);
	td_cg_tally_add(&t, 11, 2);
	td_cg_tally_add(&t, 20, 3);
	td_cg_tally_add(&t, 30, 1);
	td_cg_tally_add(&t, 31, 1); /* by top-level unit: user.slice 2 */
	td_cg_tally_add(&t, 40, 4);
	td_cg_tally_add(&t, 1, 1);
	td_cg_tally_add(&t, 0, 6);   /* owner unknown */
	td_cg_tally_add(&t, 999, 2); /* a cgroup gone before it was named */
	td_cg_tally_add(&t, 10, 1);
	assert_int_equal(td_cg_tally_group(&t, n, 3), 0);
	assert_int_equal(t.groups_total, 5);
	assert_int_equal(t.ngroups, 3);
	assert_string_equal(t.groups[0].key, A64);
	assert_int_equal(t.groups[0].kind, TD_CT_DOCKER);
	assert_int_equal(t.groups[0].count, 8);
	assert_string_equal(t.groups[1].key, "nginx.service");
	assert_int_equal(t.groups[1].kind, TD_CT_SYSTEMD);
	assert_int_equal(t.groups[1].count, 4);
	assert_string_equal(t.groups[2].key, B64);
	/* the rest: user.slice 2 and / 1 */
	assert_int_equal(t.other, 3);
	assert_int_equal(t.unknown, 8);
	/* again, all rows */
	assert_int_equal(td_cg_tally_group(&t, n, 10), 0);
	assert_int_equal(t.ngroups, 5);
	assert_string_equal(t.groups[3].key, "user.slice");
	assert_int_equal(t.groups[3].kind, TD_CT_NONE);
	assert_string_equal(t.groups[4].key, "/");
	assert_int_equal(t.other, 0);
	/* reset: nothing counted, nothing grouped */
	td_cg_tally_reset(&t);
	assert_int_equal(td_cg_tally_group(&t, n, 10), 0);
	assert_int_equal(t.ngroups + t.groups_total + t.other + t.unknown, 0);
	td_cg_tally_free(&t);
	td_cgnames_free(n);
}

static void test_output(void **state)
{
	struct td_cgnames *n = names();
	struct td_cg_tally t = {0};
	char out[2048], *text = NULL;
	struct td_line l = {out, sizeof(out), 0};
	struct td_json j;
	size_t len = 0;
	FILE *f;

	(void)state;
	td_cg_tally_add(&t, 10, 5);
	td_cg_tally_add(&t, 30, 1);
	td_cg_tally_add(&t, 40, 2);
	td_cg_tally_add(&t, 0, 2);
	assert_int_equal(td_cg_tally_group(&t, n, 2), 0);
	td_json_init(&j, &l, NULL);
	td_json_object(&j, NULL);
	td_cg_tally_json(&j, &t);
	td_json_end(&j);
	assert_string_equal(out,
			    "{\"containers_total\":3,\"by_container\":[{\"container\":\"" A64
			    "\",\"kind\":\"docker\",\"unit\":null,\"count\":5},{\"container\":"
			    "\"nginx.service\",\"kind\":\"systemd\",\"unit\":null,\"count\":2}],"
			    "\"containers_other\":1,\"containers_unknown\":2}\n");
	f = open_memstream(&text, &len);
	td_cg_tally_text(f, &t);
	fclose(f);
	assert_string_equal(text,
			    "  by container (3): aaaaaaaaaaaa docker 5, nginx.service systemd "
			    "2, other 1, unknown 2\n");
	free(text);
	td_cg_tally_free(&t);
	td_cgnames_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_groups),
	    cmocka_unit_test(test_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
