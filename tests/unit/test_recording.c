// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/recwrite.c and user/recread.c on real files: a
 * 1 000 000-record round trip (ratio and speed printed, never asserted),
 * --rotate parts, O_EXCL and the 0600 mode. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "event.h"
#include "recbuild.h"
#include "recread.h"
#include "recwrite.h"

#define N_BIG 1000000

static char dir[] = "/tmp/td-recording-XXXXXX";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void path_of(char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "%s/%s", dir, name);
}

/* Read a recording back; checks each record against the stream. */
static uint64_t read_back(const char *path, uint64_t *rng, uint64_t *next, bool *final)
{
	struct td_rec_reader *r;
	const uint8_t *raw;
	struct td_frame f;
	char err[256];
	uint64_t n = 0;

	if (td_rec_open(path, &r, err, sizeof(err)))
		fail_msg("%s: %s", path, err);
	*final = td_rec_cut_at(r) == 0;
	while (td_rec_next(r, &f, &raw, err, sizeof(err)) == TD_REC_OK) {
		if (f.kind != TD_FR_EVENTS)
			continue;
		for (size_t i = 0; i < f.raw_len / sizeof(struct td_event); i++) {
			struct td_event want = synth_event((*next)++, rng), got;

			assert_int_equal(td_event_decode(raw + i * sizeof(got), sizeof(got), &got),
					 0);
			assert_memory_equal(&got, &want, sizeof(got));
			n++;
		}
	}
	td_rec_close(r);
	return n;
}

static void write_stream(struct td_rec_writer *w, uint64_t n)
{
	struct td_rec_header h;
	struct td_loss l;
	uint64_t rng = 42;

	test_header(&h);
	assert_int_equal(td_recw_start(w, &h, NULL, NULL), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct td_event e = synth_event(i, &rng);

		assert_int_equal(td_recw_event(w, &e), 0);
	}
	memset(&l, 0, sizeof(l));
	l.events = n;
	assert_int_equal(td_recw_flush(w), 0);
	assert_int_equal(td_recw_loss(w, &l, 1, TD_REC_LOSS_FINAL), 0);
}

static void test_million(void **state)
{
	struct td_rec_writer *w;
	struct td_recw_stats st;
	char path[256];
	uint64_t rng = 42, next = 0, n;
	double t0, tw, tr;
	bool final;
	struct stat sb;

	(void)state;
	path_of(path, sizeof(path), "big.tdw");
	t0 = now_s();
	assert_int_equal(td_recw_create(&w, path, false, 0, 1), 0);
	write_stream(w, N_BIG);
	td_recw_stats(w, &st);
	td_recw_close(w, false);
	tw = now_s() - t0;
	t0 = now_s();
	n = read_back(path, &rng, &next, &final);
	tr = now_s() - t0;
	assert_int_equal(n, N_BIG);
	assert_true(final);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, st.stored_bytes);
	/* for docs/record.md: the figures of this machine, not a pass mark */
	printf("recording round trip: %d records, %.1f MB raw -> %.1f MB on disk (ratio %.1f); "
	       "write %.0f MB/s (%.2f M events/s), read+check %.0f MB/s (%.2f M events/s)\n",
	       N_BIG, st.raw_bytes / 1e6, st.stored_bytes / 1e6,
	       (double)st.raw_bytes / st.stored_bytes, st.raw_bytes / 1e6 / tw, N_BIG / 1e6 / tw,
	       st.raw_bytes / 1e6 / tr, N_BIG / 1e6 / tr);
	unlink(path);
}

static void test_rotate(void **state)
{
	struct td_rec_writer *w;
	struct td_recw_stats st;
	char path[256], part[300];
	uint64_t rng = 42, next = 0, total = 0;
	bool final;
	struct stat sb;

	(void)state;
	path_of(path, sizeof(path), "rot.tdw");
	assert_int_equal(td_recw_create(&w, path, false, 64 * 1024, 1), 0);
	write_stream(w, 200000);
	td_recw_stats(w, &st);
	td_recw_close(w, false);
	assert_true(st.files > 3);
	for (uint64_t i = 0; i < st.files; i++) {
		if (i)
			snprintf(part, sizeof(part), "%s.%" PRIu64, path, i);
		else
			snprintf(part, sizeof(part), "%s", path);
		assert_int_equal(stat(part, &sb), 0);
		/* each part a whole recording, none past the limit */
		assert_true(sb.st_size <= 64 * 1024);
		assert_int_equal(sb.st_mode & 0777, 0600);
		total += read_back(part, &rng, &next, &final);
		assert_true(final); /* a part ends with its loss frame, not a cut */
		unlink(part);
	}
	assert_int_equal(total, 200000);
}

static void test_exclusive(void **state)
{
	struct td_rec_writer *w;
	char path[256];
	struct stat sb;

	(void)state;
	path_of(path, sizeof(path), "excl.tdw");
	assert_int_equal(td_recw_create(&w, path, false, 0, 1), 0);
	td_recw_close(w, false);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(td_recw_create(&w, path, false, 0, 1), -EEXIST);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(td_recw_create(&w, path, true, 0, 1), 0);
	td_recw_close(w, false);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600); /* --force: still 0600 */
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_million),
	    cmocka_unit_test(test_rotate),
	    cmocka_unit_test(test_exclusive),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
