// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/recfmt.c: the recording format's pure parser, on
 * whole recordings, every truncation, every single-byte corruption,
 * forged headers and random bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <sys/mman.h>
#include <unistd.h>

#include "cgname.h"
#include "recbuild.h"
#include "recread.h"

struct seen {
	int frames;
	uint64_t events;
	struct td_rec_header h;
	struct td_rec_loss loss;
	bool have_loss;
};

static int count(void *ctx, const struct td_frame *f, const uint8_t *raw)
{
	struct seen *s = ctx;

	s->frames++;
	if (f->kind == TD_FR_EVENTS)
		s->events += f->raw_len / sizeof(struct td_event);
	assert_int_not_equal(f->kind, TD_FR_HEADER); /* read at open */
	if (f->kind == TD_FR_LOSS)
		s->have_loss = !td_rec_loss_parse(raw, f->raw_len, &s->loss);
	return 0;
}

/* A recording held in memory, read the way replay reads a file
 * (user/recread.c, through a memfd): the header frame at open, then every
 * frame through count(). */
static int walk(const uint8_t *buf, size_t len, struct seen *s, uint64_t *cut, char *err)
{
	int fd = memfd_create("recording", MFD_CLOEXEC), rc;
	const struct td_rec_header *h;
	struct td_rec_reader *r;
	const uint8_t *raw;
	struct td_frame f;
	char path[64];

	memset(s, 0, sizeof(*s));
	*cut = 0;
	assert_true(fd >= 0);
	assert_true(!len || write(fd, buf, len) == (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rc = td_rec_open(path, &r, err, 256);
	close(fd);
	if (rc)
		return rc;
	h = td_rec_header_of(r);
	s->h = *h;
	s->frames = 1;
	while ((rc = td_rec_next(r, &f, &raw, err, 256)) == TD_REC_OK)
		count(s, &f, raw);
	*cut = td_rec_cut_at(r);
	td_rec_close(r);
	return rc == TD_REC_SHORT ? TD_REC_OK : rc;
}

static void test_roundtrip(void **state)
{
	struct built b = build(5, 1000);
	struct td_rec_header want;
	struct seen s;
	uint64_t cut;
	char err[256];
	struct td_loss l;

	(void)state;
	assert_int_equal(walk(b.buf, b.len, &s, &cut, err), TD_REC_OK);
	assert_int_equal(cut, 0);
	assert_int_equal(s.frames, 7);
	assert_int_equal(s.events, 5000);
	test_header(&want);
	assert_string_equal(s.h.host, want.host); /* quotes, control, UTF-8 survive */
	assert_string_equal(s.h.kernel, want.kernel);
	assert_string_equal(s.h.argv, want.argv);
	assert_int_equal(s.h.start_ns, want.start_ns);
	assert_int_equal(s.h.wall_offset_ns, -5);
	assert_int_equal(s.h.hz, 250);
	assert_int_equal(s.h.snap_netns, want.snap_netns);
	assert_int_equal(s.h.snap_sys.range_hi, 60999);
	assert_int_equal(s.h.snap_sys.tw_reuse, 2);
	assert_true(s.have_loss);
	td_rec_loss_to(&s.loss, &l);
	assert_true(l.exact);
	assert_int_equal(l.events, 5000);
	assert_int_equal(l.nprogs, 1);
	assert_string_equal(l.prog[0].name, "td_set_state");
	free(b.buf);
}

/* Cut at every byte: never a crash; up to the header frame it is refused,
 * after it the whole frames before the cut are read and the cut is named
 * at the start of the frame it fell into (or the end, when the cut is on a
 * frame boundary before the final loss frame). */
static void test_truncate_everywhere(void **state)
{
	struct built b = build(4, 300);
	struct seen s;
	uint64_t cut;
	char err[256];

	(void)state;
	for (size_t len = 0; len <= b.len; len++) {
		int rc = walk(b.buf, len, &s, &cut, err);
		size_t start = TD_REC_FILE_HDR, whole = 0;
		int f;

		if (len < b.bounds[0]) {
			assert_int_equal(rc, TD_REC_BAD);
			assert_non_null(strstr(err, "byte"));
			continue;
		}
		assert_int_equal(rc, TD_REC_OK);
		for (f = 0; f < b.nframes && b.bounds[f] <= len; f++) {
			start = b.bounds[f];
			whole++;
		}
		assert_int_equal(s.frames, whole);
		assert_int_equal(s.events,
				 (whole >= 2 ? (whole - 1 > 4 ? 4 : whole - 1) : 0) * 300);
		/* the reader calls a recording cut unless it ends in its final
		 * loss frame: at the frame the cut fell into, or at the end */
		assert_int_equal(cut, len == b.len ? 0 : start);
		/* the final loss frame is the last: only the whole file has it */
		assert_int_equal(s.have_loss, len == b.len);
	}
	free(b.buf);
}

/* Every byte flipped, one at a time: always refused, naming the offset of
 * the frame (or file header field) it is in. */
static void test_flip_every_byte(void **state)
{
	struct built b = build(3, 200);
	struct seen s;
	uint64_t cut;
	char err[256], want[64];

	(void)state;
	for (size_t i = 0; i < b.len; i++) {
		size_t start = 0;

		for (int f = 0; f < b.nframes; f++)
			if (b.bounds[f] <= i)
				start = b.bounds[f];
		if (i < TD_REC_FILE_HDR)
			start = i < 8 ? 0 : i < 12 ? 8 : 12;
		else if (start == 0)
			start = TD_REC_FILE_HDR;
		for (int bit = 0; bit < 8; bit += 3) {
			b.buf[i] ^= 1 << bit;
			assert_int_equal(walk(b.buf, b.len, &s, &cut, err), TD_REC_BAD);
			snprintf(want, sizeof(want), "byte %zu", start);
			if (!strstr(err, want))
				fail_msg("flip at %zu: '%s' does not name %s", i, err, want);
			b.buf[i] ^= 1 << bit;
		}
	}
	assert_int_equal(walk(b.buf, b.len, &s, &cut, err), TD_REC_OK);
	free(b.buf);
}

/* Headers with good checksums but impossible contents. */
static void test_forged_frames(void **state)
{
	uint8_t buf[TD_REC_FILE_HDR + TD_REC_FRAME_HDR + 64] = {0};
	uint8_t *fr = buf + TD_REC_FILE_HDR;
	struct td_frame f;
	struct seen s;
	uint64_t cut;
	char err[256];
	static const struct {
		uint8_t kind, codec;
		uint32_t raw, stored;
		const char *msg;
	} cases[] = {
	    {TD_FR_EVENTS, TD_CODEC_ZLIB, 0xffffffffu, 10, "too large"},
	    {TD_FR_EVENTS, TD_CODEC_NONE, 100, 100, "not whole records"},
	    {TD_FR_EVENTS, TD_CODEC_NONE, 104, 50, "lengths disagree"},
	    {TD_FR_LOSS, TD_CODEC_NONE, 8, 8, "loss frame"},
	    {TD_FR_HEADER, TD_CODEC_NONE, 0, 0, "too large"},
	    {9, TD_CODEC_NONE, 4, 4, "unknown frame kind"},
	    {TD_FR_EVENTS, 7, 104, 104, "unknown frame kind"},
	    {TD_FR_EVENTS, TD_CODEC_ZLIB, 104, 0xfffffff0u, "lengths disagree"},
	};

	(void)state;
	td_rec_put_file_header(buf);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		td_rec_put_frame_header(fr, cases[i].kind, cases[i].codec, cases[i].raw,
					fr + TD_REC_FRAME_HDR, 0);
		/* rewrite the lengths and the header checksum as a forger would */
		fr[12] = cases[i].stored;
		fr[13] = cases[i].stored >> 8;
		fr[14] = cases[i].stored >> 16;
		fr[15] = cases[i].stored >> 24;
		{
			uint32_t c = crc32(crc32(0, Z_NULL, 0), fr, 20);

			fr[20] = c;
			fr[21] = c >> 8;
			fr[22] = c >> 16;
			fr[23] = c >> 24;
		}
		assert_int_equal(td_rec_parse_frame(fr, sizeof(buf) - TD_REC_FILE_HDR,
						    TD_REC_FILE_HDR, &f, err, sizeof(err)),
				 TD_REC_BAD);
		if (!strstr(err, cases[i].msg) || !strstr(err, "at byte 16"))
			fail_msg("case %zu: '%s'", i, err);
		assert_int_equal(walk(buf, sizeof(buf), &s, &cut, err), TD_REC_BAD);
	}
	/* zlib data that is not what the header says it is */
	{
		uint8_t junk[104];
		struct td_frame g;
		uint8_t out[104];

		memset(junk, 0x41, sizeof(junk));
		td_rec_put_frame_header(fr, TD_FR_EVENTS, TD_CODEC_ZLIB, 104, junk, 40);
		memcpy(fr + TD_REC_FRAME_HDR, junk, 40);
		assert_int_equal(td_rec_parse_frame(fr, TD_REC_FRAME_HDR + 40, 16, &g, err, 256),
				 TD_REC_OK);
		assert_int_equal(td_rec_decode_payload(&g, junk, out, err, 256), TD_REC_BAD);
		assert_non_null(strstr(err, "bad compressed data in the frame at byte 16"));
	}
}

static void test_foreign(void **state)
{
	struct seen s;
	uint64_t cut;
	char err[256];
	uint8_t fh[TD_REC_FILE_HDR];
	const char *elf = "\x7f"
			  "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";

	(void)state;
	assert_int_equal(walk((const uint8_t *)elf, 16, &s, &cut, err), TD_REC_BAD);
	assert_string_equal(err, "not a tcpdwell recording (bad magic at byte 0)");
	assert_int_equal(walk((const uint8_t *)"", 0, &s, &cut, err), TD_REC_BAD);
	td_rec_put_file_header(fh);
	fh[8] = 2;
	assert_int_equal(walk(fh, sizeof(fh), &s, &cut, err), TD_REC_BAD);
	assert_non_null(strstr(err, "unsupported format version 2 at byte 8"));
	fh[8] = 1;
	assert_int_equal(walk(fh, sizeof(fh), &s, &cut, err), TD_REC_BAD);
	assert_non_null(strstr(err, "no header frame"));
}

static void test_header_json_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "[]",
	    "{\"format\":}",
	    "{\"format\":1,}",
	    "{\"format\":1 \"x\":2}",
	    "{\"format\":{\"a\":1}}",
	    "{\"format\":[1]}",
	    "{\"host\":\"unterminated}",
	    "{\"host\":\"bad \\q escape\"}",
	    "{\"host\":\"\\u12\"}",
	    "{\"format\":1,\"event_version\":1,\"event_size\":104}",
	    "{\"format\":1,\"event_version\":1,\"event_size\":104,\"start_ns\":1} x",
	    "{\"format\":1.5,\"event_version\":1,\"event_size\":104,\"start_ns\":1}",
	    "{\"format\":99999999999999999999999,\"event_version\":1}",
	};
	struct td_rec_header h;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (td_rec_header_parse(bad[i], strlen(bad[i]), &h, err, sizeof(err)) != TD_REC_BAD)
			fail_msg("accepted: %s", bad[i]);
	{
		const char *ok = "{\"format\":1,\"event_version\":1,\"event_size\":104,"
				 "\"start_ns\":18446744073709551615,\"x\":null,"
				 "\"y\":true,\"z\":\"\\u00e9\"}";

		assert_int_equal(td_rec_header_parse(ok, strlen(ok), &h, err, sizeof(err)),
				 TD_REC_OK);
	}
	assert_true(h.start_ns == UINT64_MAX);
	assert_int_equal(h.hz, -1);
}

/* Random bytes after a valid start, and random damage to a valid file:
 * whatever comes back, nothing crashes and nothing reads past the buffer
 * (run under valgrind or ASan to see the latter). */
static void test_random_input(void **state)
{
	struct built b = build(3, 64);
	uint64_t rng = 7, cut;
	struct seen s;
	char err[256];

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t len = xorshift64(&rng) % (b.len + 64);
		uint8_t *copy = malloc(len + 1);
		int rc;

		for (size_t i = 0; i < len; i++)
			copy[i] = i < b.len ? b.buf[i] : xorshift64(&rng);
		for (int k = xorshift64(&rng) % 4; k >= 0 && len; k--)
			copy[xorshift64(&rng) % len] ^= 1 + xorshift64(&rng) % 255;
		if (round % 3 == 0) /* pure noise after a valid file header */
			for (size_t i = TD_REC_FILE_HDR; i < len; i++)
				copy[i] = xorshift64(&rng);
		rc = walk(copy, len, &s, &cut, err);
		assert_true(rc == TD_REC_OK || rc == TD_REC_BAD);
		free(copy);
	}
	free(b.buf);
}

static void test_loss_rejects(void **state)
{
	struct td_rec_loss l;
	uint8_t buf[sizeof(l)];

	(void)state;
	memset(&l, 0, sizeof(l));
	l.nprogs = TD_MAX_PROGS + 1;
	memcpy(buf, &l, sizeof(l));
	assert_int_equal(td_rec_loss_parse(buf, sizeof(buf), &l), -1);
	assert_int_equal(td_rec_loss_parse(buf, sizeof(buf) - 1, &l), -1);
	memset(&l, 0, sizeof(l));
	l.flags = 8; /* a flag this reader does not know */
	memcpy(buf, &l, sizeof(l));
	assert_int_equal(td_rec_loss_parse(buf, sizeof(buf), &l), -1);
	memset(&l, 0, sizeof(l)); /* names without a NUL are cut, not overrun */
	l.nprogs = 1;
	memset(l.prog, 'x', sizeof(l.prog[0].name));
	memcpy(buf, &l, sizeof(l));
	assert_int_equal(td_rec_loss_parse(buf, sizeof(buf), &l), 0);
	assert_int_equal(strlen(l.prog[0].name), TD_REC_PROG_NAMELEN - 1);
}

/* ---- cgroups frames ------------------------------------------------------ */

struct names_seen {
	int n;
	uint64_t id[4];
	char path[4][TD_CG_PATH_MAX];
};

static void saw_name(void *ctx, uint64_t id, const char *path)
{
	struct names_seen *s = ctx;

	s->id[s->n] = id;
	snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
	s->n++;
}

static void test_cgroups_frame(void **state)
{
	char big[TD_CG_PATH_MAX + 1], err[256];
	struct names_seen s = {0};
	uint8_t buf[1024];
	size_t n, m;

	(void)state;
	n = td_rec_cgroup_put(buf, sizeof(buf), 0x123456789abcull, "/system.slice/a.service");
	assert_int_equal(n, 10 + strlen("/system.slice/a.service"));
	m = td_rec_cgroup_put(buf + n, sizeof(buf) - n, 1, "/");
	assert_int_equal(td_rec_cgroups_parse(buf, n + m, saw_name, &s, err, sizeof(err)),
			 TD_REC_OK);
	assert_int_equal(s.n, 2);
	assert_true(s.id[0] == 0x123456789abcull && s.id[1] == 1);
	assert_string_equal(s.path[0], "/system.slice/a.service");
	assert_string_equal(s.path[1], "/");
	/* what cannot be stored is not */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(td_rec_cgroup_put(buf, sizeof(buf), 1, big), 0);
	assert_int_equal(td_rec_cgroup_put(buf, sizeof(buf), 1, ""), 0);
	assert_int_equal(td_rec_cgroup_put(buf, 11, 1, "/ab"), 0);
	/* cut anywhere inside an entry: refused, naming where */
	for (size_t cut = 1; cut < n; cut++) {
		s.n = 0;
		assert_int_equal(td_rec_cgroups_parse(buf, cut, saw_name, &s, err, sizeof(err)),
				 TD_REC_BAD);
		assert_int_equal(s.n, 0);
		assert_non_null(strstr(err, "offset 0"));
	}
	/* not a path: no leading '/', a NUL inside, id 0 */
	buf[10] = 'x';
	assert_int_equal(td_rec_cgroups_parse(buf, n, saw_name, &s, err, sizeof(err)), TD_REC_BAD);
	buf[10] = '/';
	buf[12] = '\0';
	assert_int_equal(td_rec_cgroups_parse(buf, n, saw_name, &s, err, sizeof(err)), TD_REC_BAD);
	n = td_rec_cgroup_put(buf, sizeof(buf), 0, "/a");
	assert_int_equal(td_rec_cgroups_parse(buf, n, saw_name, &s, err, sizeof(err)), TD_REC_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),	    cmocka_unit_test(test_truncate_everywhere),
	    cmocka_unit_test(test_flip_every_byte), cmocka_unit_test(test_forged_frames),
	    cmocka_unit_test(test_foreign),	    cmocka_unit_test(test_header_json_malformed),
	    cmocka_unit_test(test_random_input),    cmocka_unit_test(test_loss_rejects),
	    cmocka_unit_test(test_cgroups_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
