// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/cgname.c: containers from cgroup paths, the resolver. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgname.h"
#include "format.h"
#include "json.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID  "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"
#define UIDU "1b2c3d4e_5f60_4718_8293_a4b5c6d7e8f9"

static void expect(const char *path, enum td_container_kind kind, const char *id, const char *pod)
{
	struct td_container c;

	assert_int_equal(td_container_of(path, &c), kind != TD_CT_NONE);
	assert_int_equal(c.kind, kind);
	assert_string_equal(c.id, id);
	assert_string_equal(c.pod, pod);
}

static void test_runtimes(void **state)
{
	(void)state;
	/* systemd cgroup driver: the runtimes' scopes */
	expect("/system.slice/docker-" ID64 ".scope", TD_CT_DOCKER, ID64, "");
	expect("/system.slice/crio-" ID64 ".scope", TD_CT_CRIO, ID64, "");
	expect("/machine.slice/libpod-" ID64 ".scope", TD_CT_PODMAN, ID64, "");
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID64 ".scope",
	       TD_CT_PODMAN, ID64, "");
	/* cgroupfs driver */
	expect("/docker/" ID64, TD_CT_DOCKER, ID64, "");
	/* a monitor beside a container is not one */
	expect("/machine.slice/libpod-conmon-" ID64 ".scope", TD_CT_NONE, "", "");
	expect("/system.slice/crio-conmon-" ID64 ".scope", TD_CT_NONE, "", "");
	/* not 64 lowercase hex digits: not an id */
	expect("/system.slice/docker-" ID64 "0.scope", TD_CT_NONE, "", "");
	expect(
	    "/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	    ".scope",
	    TD_CT_NONE, "", "");
	expect("/other/" ID64, TD_CT_NONE, "", "");
}

static void test_kubernetes(void **state)
{
	(void)state;
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	       ".slice/cri-containerd-" ID64 ".scope",
	       TD_CT_CONTAINERD, ID64, UID);
	expect("/kubepods.slice/kubepods-pod" UIDU ".slice/crio-" ID64 ".scope", TD_CT_CRIO, ID64,
	       UID);
	/* the pod's own cgroup (its pause process, or a sandbox) */
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU ".slice",
	       TD_CT_POD, UID, UID);
	/* cgroupfs driver: pod<uid> with dashes, the container's bare id */
	expect("/kubepods/burstable/pod" UID "/" ID64, TD_CT_KUBE, ID64, UID);
	expect("/kubepods/pod" UID, TD_CT_POD, UID, UID);
	/* "pod<uid>" names a pod only below kubepods */
	expect("/pod" UID, TD_CT_NONE, "", "");
	/* a malformed uid is no pod, and leaves no half of one behind */
	expect("/kubepods.slice/kubepods-pod1234.slice", TD_CT_NONE, "", "");
	expect("/kubepods/pod1b2c3d4e-5f60-4718-8293-a4b5c6d7e8fX/" ID64, TD_CT_NONE, "", "");
}

static void test_systemd_units(void **state)
{
	(void)state;
	expect("/system.slice/nginx.service", TD_CT_SYSTEMD, "nginx.service", "");
	/* the innermost unit */
	expect("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", TD_CT_SYSTEMD,
	       "foo.service", "");
	/* a container outranks a unit inside it: which container is the question */
	expect("/system.slice/docker-" ID64 ".scope/system.slice/nginx.service", TD_CT_DOCKER, ID64,
	       "");
	expect("/", TD_CT_NONE, "", "");
	expect("", TD_CT_NONE, "", "");
	expect("/.service", TD_CT_NONE, "", "");
	expect("/user.slice/session-3.scope", TD_CT_NONE, "", "");
}

static void test_short(void **state)
{
	struct td_container c;
	char buf[TD_CG_ID_MAX];

	(void)state;
	td_container_of("/docker/" ID64, &c);
	assert_string_equal(td_container_short(&c, buf, sizeof(buf)), "0123456789ab");
	td_container_of("/system.slice/a-rather-long-unit-name-that-stays-whole.service", &c);
	assert_string_equal(td_container_short(&c, buf, sizeof(buf)),
			    "a-rather-long-unit-name-that-stays-whole.service");
	assert_string_equal(td_container_kind_name(TD_CT_CONTAINERD), "containerd");
	assert_string_equal(td_container_kind_name(99), "none");
}

/* ---- the resolver, over a directory tree standing in for cgroupfs ------- */

static char root[] = "/tmp/td-cgname-XXXXXX";

static uint64_t mkcg(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

static void rmcg(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	assert_int_equal(rmdir(p), 0);
}

static void test_resolver(void **state)
{
	const struct td_cgname *nm;
	struct td_cgnames *n;
	uint64_t sys, dock, late, gone;
	struct stat st;
	unsigned walks;

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(stat(root, &st), 0);
	sys = mkcg("/system.slice");
	dock = mkcg("/system.slice/docker-" ID64 ".scope");
	n = td_cgnames_new(true, root);
	assert_non_null(n);
	/* the root is "/" */
	nm = td_cgnames_get(n, st.st_ino);
	assert_non_null(nm);
	assert_string_equal(nm->path, "/");
	walks = td_cgnames_walks(n);
	assert_int_equal(walks, 1);
	nm = td_cgnames_get(n, dock);
	assert_non_null(nm);
	assert_string_equal(nm->path, "/system.slice/docker-" ID64 ".scope");
	assert_int_equal(nm->c.kind, TD_CT_DOCKER);
	assert_string_equal(td_cgnames_get(n, sys)->path, "/system.slice");
	/* known ones cost no walk */
	assert_int_equal(td_cgnames_walks(n), walks);
	/* created after the first walk: found by the next */
	late = mkcg("/system.slice/nginx.service");
	nm = td_cgnames_get(n, late);
	assert_non_null(nm);
	assert_string_equal(nm->c.id, "nginx.service");
	assert_int_equal(td_cgnames_walks(n), walks + 1);
	/* removed before anyone asked: its id stays an id, and asking again
	 * costs no second walk */
	gone = mkcg("/gone");
	rmcg("/gone");
	assert_null(td_cgnames_get(n, gone));
	assert_null(td_cgnames_get(n, gone));
	assert_int_equal(td_cgnames_walks(n), walks + 2);
	/* removed after it was resolved: the path it had (ids are not reused) */
	rmcg("/system.slice/nginx.service");
	assert_string_equal(td_cgnames_get(n, late)->path, "/system.slice/nginx.service");
	assert_null(td_cgnames_get(n, 0));
	td_cgnames_free(n);
	rmcg("/system.slice/docker-" ID64 ".scope");
	rmcg("/system.slice");
	rmdir(root);
}

static void test_told_names(void **state)
{
	struct td_cgnames *n = td_cgnames_new(false, NULL);
	char big[TD_CG_PATH_MAX + 1];

	(void)state;
	assert_null(td_cgnames_get(n, 7));
	assert_int_equal(td_cgnames_put(n, 7, "/kubepods/pod" UID "/" ID64), 0);
	assert_int_equal(td_cgnames_get(n, 7)->c.kind, TD_CT_KUBE);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(td_cgnames_put(n, 8, big), -1);
	assert_int_equal(td_cgnames_put(n, 0, "/"), -1);
	assert_null(td_cgnames_get(n, 8));
	assert_int_equal(td_cgnames_walks(n), 0);
	/* a replay keeps every name a recording can carry (65536), never
	 * emptying its table as a live one would */
	for (uint64_t id = 100; id < 100 + 65535; id++) { /* with 7: 65536 */
		char p[32];

		snprintf(p, sizeof(p), "/c%llu", (unsigned long long)id);
		assert_int_equal(td_cgnames_put(n, id, p), 0);
	}
	assert_string_equal(td_cgnames_get(n, 100)->path, "/c100");
	assert_string_equal(td_cgnames_get(n, 100 + 65534)->path, "/c65634");
	assert_int_equal(td_cgnames_put(n, 1, "/one-too-many"), 0);
	assert_null(td_cgnames_get(n, 1)); /* not taken, and nothing thrown away */
	assert_string_equal(td_cgnames_get(n, 100)->path, "/c100");
	assert_int_equal(td_cgnames_get(n, 7)->c.kind, TD_CT_KUBE);
	td_cgnames_free(n);
}

static void test_json(void **state)
{
	struct td_cgnames *n = td_cgnames_new(false, NULL);
	char out[1024];
	struct td_line l = {out, sizeof(out), 0};
	struct td_json j;

	(void)state;
	td_cgnames_put(n, 5, "/system.slice/docker-" ID64 ".scope");
	td_json_init(&j, &l, NULL);
	td_json_record(&j, NULL, "x");
	td_json_cgroup(&j, n, 5);
	td_json_cgroup(&j, n, 6);
	td_json_end(&j);
	assert_string_equal(
	    strchr(out, ',') + 1,
	    "\"type\":\"x\",\"cgroup\":5,\"cgroup_path\":\"/system.slice/docker-" ID64
	    ".scope\",\"container\":\"" ID64 "\",\"container_kind\":\"docker\","
	    "\"pod\":null,\"cgroup\":6,\"cgroup_path\":null,\"container\":null,"
	    "\"container_kind\":null,\"pod\":null}\n");
	td_cgnames_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtimes),	  cmocka_unit_test(test_kubernetes),
	    cmocka_unit_test(test_systemd_units), cmocka_unit_test(test_short),
	    cmocka_unit_test(test_resolver),	  cmocka_unit_test(test_told_names),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
