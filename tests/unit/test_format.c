// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/format.c: names, addresses, escaping, durations. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "format.h"

#define CANARY 0xa5

/* ---- names ------------------------------------------------------------- */

static void test_state_names(void **state)
{
	static const char *const kernel[] = {
	    NULL,	 "ESTABLISHED", "SYN_SENT",	"SYN_RECV",   "FIN_WAIT1",
	    "FIN_WAIT2", "TIME_WAIT",	"CLOSE",	"CLOSE_WAIT", "LAST_ACK",
	    "LISTEN",	 "CLOSING",	"NEW_SYN_RECV",
	};

	(void)state;
	/* the kernel's states 1..12 */
	for (unsigned s = 1; s <= 12; s++)
		assert_string_equal(td_state_name(s), kernel[s]);
	assert_string_equal(td_state_name(TD_TCP_ESTABLISHED), "ESTABLISHED");
	assert_string_equal(td_state_name(TD_TCP_CLOSE), "CLOSE");
	assert_string_equal(td_state_name(TD_TCP_NEW_SYN_RECV), "NEW_SYN_RECV");
	/* tcpdwell's own substate of a timewait socket */
	assert_string_equal(td_state_name(TD_TCP_FIN_WAIT2_TW), "FIN_WAIT2(tw)");
	/* every state below the limit has a real name */
	for (unsigned s = 1; s < TD_TCP_MAX_STATES; s++) {
		assert_non_null(td_state_name(s));
		assert_string_not_equal(td_state_name(s), "UNKNOWN");
	}
	/* out of range */
	assert_string_equal(td_state_name(0), "UNKNOWN");
	assert_string_equal(td_state_name(TD_TCP_MAX_STATES), "UNKNOWN");
	assert_string_equal(td_state_name(TD_TCP_MAX_STATES + 1), "UNKNOWN");
	assert_string_equal(td_state_name(255), "UNKNOWN");
	assert_string_equal(td_state_name(256), "UNKNOWN");
	assert_string_equal(td_state_name(~0u), "UNKNOWN");
}

static void test_tw_end_names(void **state)
{
	(void)state;
	assert_string_equal(td_tw_end_name(TD_TW_END_NONE), "none");
	assert_string_equal(td_tw_end_name(TD_TW_END_EXPIRED), "expired");
	assert_string_equal(td_tw_end_name(TD_TW_END_REUSED), "reused");
	assert_string_equal(td_tw_end_name(TD_TW_END_RESET), "reset");
	assert_string_equal(td_tw_end_name(TD_TW_END_KILLED), "killed");
	assert_string_equal(td_tw_end_name(TD_TW_END_OVERFLOW), "overflow");
	assert_string_equal(td_tw_end_name(TD_TW_END_UNKNOWN), "unknown");
	assert_string_equal(td_tw_end_name(TD_TW_END_MAX), "unknown");
	assert_string_equal(td_tw_end_name(65535), "unknown");
}

static void test_owner_names(void **state)
{
	(void)state;
	assert_string_equal(td_owner_name(TD_OWNER_NONE), "none");
	assert_string_equal(td_owner_name(TD_OWNER_CONNECT), "connect");
	assert_string_equal(td_owner_name(TD_OWNER_LISTEN), "listen");
	assert_string_equal(td_owner_name(TD_OWNER_ACCEPT), "accept");
	assert_string_equal(td_owner_name(TD_OWNER_LISTENER), "listener");
	assert_string_equal(td_owner_name(TD_OWNER_INFERRED), "inferred");
	assert_string_equal(td_owner_name(TD_OWNER_MAX), "unknown");
	assert_string_equal(td_owner_name(255), "unknown");
	assert_string_equal(td_owner_name(~0u), "unknown");
}

static void test_retrans_kind_names(void **state)
{
	(void)state;
	assert_string_equal(td_retrans_kind_name(TD_RETRANS_DATA), "data");
	assert_string_equal(td_retrans_kind_name(TD_RETRANS_SYN), "syn");
	assert_string_equal(td_retrans_kind_name(TD_RETRANS_SYNACK), "synack");
	assert_string_equal(td_retrans_kind_name(TD_RETRANS_KIND_MAX), "unknown");
	assert_string_equal(td_retrans_kind_name(65535), "unknown");
}

/* ---- addresses --------------------------------------------------------- */

static void test_addr_ipv4(void **state)
{
	__u8 a[TD_ADDR_LEN] = {127, 0, 0, 1};
	__u8 b[TD_ADDR_LEN] = {255, 255, 255, 255};
	char buf[TD_ADDR_STRLEN], ep[TD_ENDPOINT_STRLEN];

	(void)state;
	/* IPv4 uses only the first 4 bytes: junk after them is ignored */
	memset(a + 4, 0xee, TD_ADDR_LEN - 4);
	assert_ptr_equal(td_addr_str(AF_INET, a, buf), buf);
	assert_string_equal(buf, "127.0.0.1");
	assert_ptr_equal(td_endpoint_str(AF_INET, a, 80, ep), ep);
	assert_string_equal(ep, "127.0.0.1:80");
	assert_string_equal(td_endpoint_str(AF_INET, b, 65535, ep), "255.255.255.255:65535");
	assert_string_equal(td_endpoint_str(AF_INET, a, 0, ep), "127.0.0.1:0");

	/* no family (RST without a socket): printed as IPv4 */
	memset(a, 0, sizeof(a));
	assert_string_equal(td_addr_str(0, a, buf), "0.0.0.0");
	assert_string_equal(td_endpoint_str(0, a, 0, ep), "0.0.0.0:0");
}

static void test_addr_ipv6(void **state)
{
	__u8 lo[TD_ADDR_LEN] = {[15] = 1};
	__u8 doc[TD_ADDR_LEN] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x42};
	__u8 full[TD_ADDR_LEN];
	char buf[TD_ADDR_STRLEN], ep[TD_ENDPOINT_STRLEN];

	(void)state;
	assert_string_equal(td_addr_str(AF_INET6, lo, buf), "::1");
	assert_string_equal(td_endpoint_str(AF_INET6, lo, 443, ep), "[::1]:443");
	assert_string_equal(td_endpoint_str(AF_INET6, doc, 8080, ep), "[2001:db8::42]:8080");

	/* the longest endpoint fits */
	memset(full, 0xff, sizeof(full));
	assert_string_equal(td_endpoint_str(AF_INET6, full, 65535, ep),
			    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void test_addr_ipv4_mapped(void **state)
{
	__u8 m[TD_ADDR_LEN] = {[10] = 0xff, [11] = 0xff, [12] = 10, [13] = 0, [14] = 0, [15] = 1};
	char buf[TD_ADDR_STRLEN], ep[TD_ENDPOINT_STRLEN];

	(void)state;
	/* kept as the kernel reports it, not folded to IPv4 */
	assert_string_equal(td_addr_str(AF_INET6, m, buf), "::ffff:10.0.0.1");
	assert_string_equal(td_endpoint_str(AF_INET6, m, 22, ep), "[::ffff:10.0.0.1]:22");
}

/* ---- td_escape_text ---------------------------------------------------- */

static void test_escape_text_plain(void **state)
{
	char out[128];
	const char *s = "curl-7.88 (x) ~!{}";

	(void)state;
	assert_int_equal(td_escape_text(s, strlen(s), out, sizeof(out)), strlen(s));
	assert_string_equal(out, s);
	/* every printable ASCII byte but '\\' passes through */
	for (int c = 0x20; c < 0x7f; c++) {
		char in = (char)c;

		if (c == '\\')
			continue;
		assert_int_equal(td_escape_text(&in, 1, out, sizeof(out)), 1);
		assert_int_equal(out[0], c);
		assert_int_equal(out[1], '\0');
	}
}

static void test_escape_text_escapes(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(td_escape_text("\x1b", 1, out, sizeof(out)), 4);
	assert_string_equal(out, "\\x1b");
	assert_int_equal(td_escape_text("\x1b[31mred", 8, out, sizeof(out)), 11);
	assert_string_equal(out, "\\x1b[31mred");
	assert_int_equal(td_escape_text("a\\b", 3, out, sizeof(out)), 6);
	assert_string_equal(out, "a\\x5cb");
	assert_int_equal(td_escape_text("\xff", 1, out, sizeof(out)), 4);
	assert_string_equal(out, "\\xff");
	assert_int_equal(td_escape_text("\x7f\x80\x01\n\t", 5, out, sizeof(out)), 20);
	assert_string_equal(out, "\\x7f\\x80\\x01\\x0a\\x09");
	/* a UTF-8 sequence is escaped byte by byte */
	assert_int_equal(td_escape_text("\xc3\xa9", 2, out, sizeof(out)), 8);
	assert_string_equal(out, "\\xc3\\xa9");
}

static void test_escape_text_stops(void **state)
{
	char out[64];
	const char comm[TD_COMM_LEN] = {'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H',
					'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P'};
	char with_tail[TD_COMM_LEN + 4];

	(void)state;
	/* at NUL */
	assert_int_equal(td_escape_text("ab\0cd", 5, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	/* at len */
	assert_int_equal(td_escape_text("abcdef", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(td_escape_text("abc", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* a comm with no NUL is read for exactly its 16 bytes */
	memcpy(with_tail, comm, sizeof(comm));
	memcpy(with_tail + TD_COMM_LEN, "XYZ", 4);
	assert_int_equal(td_escape_text(with_tail, TD_COMM_LEN, out, sizeof(out)), 16);
	assert_string_equal(out, "ABCDEFGHIJKLMNOP");
}

/* Shared check for both escapers: for every output size, the result is
 * NUL-terminated, shorter than outsz, a prefix of the untruncated result
 * made of whole escapes, and nothing past outsz is written. */
typedef size_t (*escape_fn)(const char *, size_t, char *, size_t);

static void check_truncation(escape_fn fn, const char *in, size_t len, const char *full,
			     const size_t *bounds, size_t nbounds)
{
	size_t full_len = strlen(full);
	char buf[256];

	assert_true(full_len + 8 < sizeof(buf));
	/* outsz 0: nothing written at all */
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(fn(in, len, buf, 0), 0);
	assert_int_equal((unsigned char)buf[0], CANARY);

	for (size_t outsz = 1; outsz <= full_len + 4; outsz++) {
		size_t n, want = 0;

		memset(buf, CANARY, sizeof(buf));
		n = fn(in, len, buf, outsz);
		/* longest whole-escape prefix that fits with its NUL */
		for (size_t b = 0; b < nbounds; b++)
			if (bounds[b] < outsz)
				want = bounds[b];
		assert_int_equal(n, want);
		assert_true(n < outsz);
		assert_int_equal(buf[n], '\0');
		assert_int_equal(strlen(buf), n);
		assert_memory_equal(buf, full, n);
		for (size_t k = outsz; k < sizeof(buf); k++)
			assert_int_equal((unsigned char)buf[k], CANARY);
	}
}

static void test_escape_text_truncation(void **state)
{
	const char in[] = "a\x1b"
			  "b\\\xff"
			  "cd";
	const char *full = "a\\x1bb\\x5c\\xffcd";
	/* output lengths after each whole input byte */
	const size_t bounds[] = {0, 1, 5, 6, 10, 14, 15, 16};
	char buf[8];

	(void)state;
	check_truncation(td_escape_text, in, sizeof(in) - 1, full, bounds, 8);

	/* exact small cases */
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(td_escape_text("abcdef", 6, buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal((unsigned char)buf[1], CANARY);
	assert_int_equal(td_escape_text("abcdef", 6, buf, 3), 2);
	assert_string_equal(buf, "ab");
	/* an escape that does not fit entirely is dropped, not cut */
	assert_int_equal(td_escape_text("\x1b", 1, buf, 4), 0);
	assert_string_equal(buf, "");
	assert_int_equal(td_escape_text("\x1b", 1, buf, 5), 4);
	assert_string_equal(buf, "\\x1b");
	assert_int_equal(td_escape_text("a\x1b", 2, buf, 5), 1);
	assert_string_equal(buf, "a");
}

/* ---- td_escape_json ---------------------------------------------------- */

static void test_escape_json(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(td_escape_json("nginx: worker", 13, out, sizeof(out)), 13);
	assert_string_equal(out, "nginx: worker");
	assert_int_equal(td_escape_json("a\"b\\c", 5, out, sizeof(out)), 7);
	assert_string_equal(out, "a\\\"b\\\\c");
	assert_int_equal(td_escape_json("\x1b[31m", 5, out, sizeof(out)), 10);
	assert_string_equal(out, "\\u001b[31m");
	assert_int_equal(td_escape_json("\x01\n\x1f\x7f", 4, out, sizeof(out)), 24);
	assert_string_equal(out, "\\u0001\\u000a\\u001f\\u007f");
	assert_int_equal(td_escape_json("\xff\x80", 2, out, sizeof(out)), 12);
	assert_string_equal(out, "\\u00ff\\u0080");
	/* '/' needs no escape; stops at NUL and at len */
	assert_int_equal(td_escape_json("a/b\0c", 5, out, sizeof(out)), 3);
	assert_string_equal(out, "a/b");
	assert_int_equal(td_escape_json("abcdef", 2, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	/* no raw control byte, quote or backslash survives unescaped */
	for (int c = 1; c < 256; c++) {
		char in = (char)c;
		size_t n = td_escape_json(&in, 1, out, sizeof(out));

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			assert_int_equal(n, 1);
			assert_int_equal(out[0], c);
		} else if (c == '"' || c == '\\') {
			assert_int_equal(n, 2);
			assert_int_equal(out[0], '\\');
			assert_int_equal(out[1], c);
		} else {
			char want[8];

			snprintf(want, sizeof(want), "\\u00%02x", c);
			assert_int_equal(n, 6);
			assert_string_equal(out, want);
		}
	}
}

static void test_escape_json_truncation(void **state)
{
	const char in[] = "a\"\x1b"
			  "b\\";
	const char *full = "a\\\"\\u001bb\\\\";
	const size_t bounds[] = {0, 1, 3, 9, 10, 12};
	char buf[8];

	(void)state;
	check_truncation(td_escape_json, in, sizeof(in) - 1, full, bounds, 6);

	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(td_escape_json("\"", 1, buf, 2), 0);
	assert_string_equal(buf, "");
	assert_int_equal(td_escape_json("\"", 1, buf, 3), 2);
	assert_string_equal(buf, "\\\"");
	assert_int_equal(td_escape_json("\x01", 1, buf, 6), 0);
	assert_int_equal(td_escape_json("\x01", 1, buf, 7), 6);
	assert_string_equal(buf, "\\u0001");
	assert_int_equal((unsigned char)buf[7], CANARY);
}

/* ---- td_line_ms -------------------------------------------------------- */

static const char *ms(uint64_t ns, char *buf, size_t sz)
{
	struct td_line l = {buf, sz, 0};

	td_line_ms(&l, ns);
	return buf;
}

static void test_line_ms(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(ms(0, buf, sizeof(buf)), "0.000");
	assert_string_equal(ms(999, buf, sizeof(buf)), "0.000");
	assert_string_equal(ms(1000, buf, sizeof(buf)), "0.001");
	assert_string_equal(ms(999999, buf, sizeof(buf)), "0.999");
	assert_string_equal(ms(1000000, buf, sizeof(buf)), "1.000");
	assert_string_equal(ms(1234567, buf, sizeof(buf)), "1.234");
	assert_string_equal(ms(12345678, buf, sizeof(buf)), "12.345");
	assert_string_equal(ms(60000000000ull, buf, sizeof(buf)), "60000.000");
	assert_string_equal(ms(UINT64_MAX, buf, sizeof(buf)), "18446744073709.551");

	/* a short buffer truncates, still NUL-terminated */
	memset(buf, CANARY, sizeof(buf));
	ms(1234567, buf, 4);
	assert_string_equal(buf, "1.2");
	assert_int_equal((unsigned char)buf[4], CANARY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_tw_end_names),
	    cmocka_unit_test(test_owner_names),
	    cmocka_unit_test(test_retrans_kind_names),
	    cmocka_unit_test(test_addr_ipv4),
	    cmocka_unit_test(test_addr_ipv6),
	    cmocka_unit_test(test_addr_ipv4_mapped),
	    cmocka_unit_test(test_escape_text_plain),
	    cmocka_unit_test(test_escape_text_escapes),
	    cmocka_unit_test(test_escape_text_stops),
	    cmocka_unit_test(test_escape_text_truncation),
	    cmocka_unit_test(test_escape_json),
	    cmocka_unit_test(test_escape_json_truncation),
	    cmocka_unit_test(test_line_ms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
