// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/httpreq.c: the exporter's request-head parser, with
 * well-formed, partial and malformed input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"
#include "rng.h"

#define MAX 8192

static int parse(const char *s, struct td_http_req *req)
{
	return td_http_parse(s, strlen(s), MAX, req);
}

static void test_get_metrics(void **state)
{
	struct td_http_req req;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n";

	(void)state;
	assert_int_equal(parse(s, &req), 200);
	assert_int_equal(req.head_len, strlen(s));
	assert_int_equal(req.minor, 1);
	assert_int_equal(td_http_route(&req), TD_ROUTE_METRICS);
	assert_int_equal(req.accept_len, strlen("text/plain"));
	assert_memory_equal(req.accept, "text/plain", req.accept_len);
}

static void test_query_lf_and_http10(void **state)
{
	struct td_http_req req;

	(void)state;
	/* bare LF line ends; HTTP/1.0 needs no Host; the query is not the path */
	assert_int_equal(parse("GET /healthz?x=1 HTTP/1.0\n\n", &req), 200);
	assert_int_equal(req.minor, 0);
	assert_int_equal(td_http_route(&req), TD_ROUTE_HEALTHZ);
	assert_int_equal(
	    parse("GET /metrics HTTP/1.1\r\nhOsT:   a  \r\nContent-Length: 0\r\n\r\n", &req), 200);
}

static void test_routes(void **state)
{
	struct td_http_req req;

	(void)state;
	assert_int_equal(parse("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(td_http_route(&req), 404);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(td_http_route(&req), 404);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(td_http_route(&req), 405);
	assert_int_equal(parse("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(td_http_route(&req), 405);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &req), 200);
	assert_int_equal(td_http_route(&req), 405); /* methods are case-sensitive */
}

static void test_incomplete(void **state)
{
	const char *full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct td_http_req req;

	(void)state;
	/* every proper prefix is incomplete, never an error */
	for (size_t n = 0; n < strlen(full); n++)
		assert_int_equal(td_http_parse(full, n, MAX, &req), TD_HTTP_INCOMPLETE);
	assert_int_equal(td_http_parse(full, strlen(full), MAX, &req), 200);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",	   /* two spaces */
	    "GET /metrics\r\nHost: x\r\n\r\n",			   /* HTTP/0.9 */
	    "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",		   /* not origin-form */
	    "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",	   /* trailing space */
	    "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",		   /* no colon */
	    "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",	   /* space before colon */
	    "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", /* obs-fold */
	    "GET /metrics HTTP/1.1\r\n\r\n",			   /* 1.1 without Host */
	    "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two Hosts */
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	    "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "GET /met\x01rics HTTP/1.1\r\nHost: x\r\n\r\n", /* control in target */
	    "GET /metrics HTTP/1.1\r\nHost: x\x7f\r\n\r\n", /* DEL in a value */
	    "GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n",  /* bare CR */
	    "GET /metrics HTTP/1.x\r\nHost: x\r\n\r\n",	    /* bad version */
	    "GET /metrics FTP/1.1\r\nHost: x\r\n\r\n",
	    "\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", /* empty line first */
	};
	struct td_http_req req;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = parse(bad[i], &req);

		if (st != 400)
			fail_msg("case %zu: %d, not 400: %s", i, st, bad[i]);
	}
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", &req), 505);
	assert_int_equal(parse("GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n", &req), 505);
}

static void test_garbage_refused_early(void **state)
{
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	struct td_http_req req;

	(void)state;
	/* no newline yet, but it cannot become a request: refused at once */
	assert_int_equal(td_http_parse(tls, sizeof(tls) - 1, MAX, &req), 400);
	assert_int_equal(parse("GET\tx", &req), 400);
	assert_int_equal(parse("GET x", &req), 400);
	assert_int_equal(parse("GET /a\x01", &req), 400);
	assert_int_equal(td_http_parse("GET /\0 ", 7, MAX, &req), 400);
	assert_int_equal(parse("GET /metr", &req), TD_HTTP_INCOMPLETE);
}

/* Found by tests/fuzz/httpreq: a NUL after a complete head made the answer
 * 400, while the same head read alone was 200. Only the head counts. */
static void test_nul_after_head_ignored(void **state)
{
	static const char s[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n\xff\0POST";
	static const char in_head[] = "GET /m HTTP/1.1\r\nHo\0st: x\r\n\r\n";
	static const char in_line[] = "GET /m HTTP/1\0";
	size_t head = strlen("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	struct td_http_req req;

	(void)state;
	assert_int_equal(td_http_parse(s, head, MAX, &req), 200);
	assert_int_equal(td_http_parse(s, sizeof(s) - 1, MAX, &req), 200);
	assert_int_equal(req.head_len, head);
	/* in the head it is still refused, complete or not */
	assert_int_equal(td_http_parse(in_head, sizeof(in_head) - 1, MAX, &req), 400);
	assert_int_equal(td_http_parse(in_head, 22, MAX, &req), 400); /* "...Ho\0st" */
	assert_int_equal(td_http_parse(in_line, sizeof(in_line) - 1, MAX, &req), 400);
}

static void test_limits(void **state)
{
	char *buf = malloc(MAX + 1);
	struct td_http_req req;
	size_t n;

	(void)state;
	assert_non_null(buf);
	/* a request line that does not fit: 414 */
	strcpy(buf, "GET /");
	memset(buf + 5, 'a', MAX - 5);
	assert_int_equal(td_http_parse(buf, MAX, MAX, &req), 414);
	/* headers that do not fit: 431 */
	n = (size_t)sprintf(buf, "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ");
	memset(buf + n, 'b', MAX - n);
	assert_int_equal(td_http_parse(buf, MAX, MAX, &req), 431);
	/* too many headers: 431 */
	n = (size_t)sprintf(buf, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(buf + n, "X%d: y\r\n", i);
	strcpy(buf + n, "\r\n");
	assert_int_equal(td_http_parse(buf, strlen(buf), MAX, &req), 431);
	/* bytes beyond max do not count: the head there is not seen */
	assert_int_equal(td_http_parse("GET / HTTP/1.0\n\n", 16, 10, &req), 414);
	free(buf);
}

static void test_openmetrics_accept(void **state)
{
	static const char prom[] = "application/openmetrics-text;version=1.0.0,application/"
				   "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
				   "q=0.5,*/*;q=0.1";

	(void)state;
	assert_true(td_http_wants_openmetrics(prom, strlen(prom)));
	assert_true(td_http_wants_openmetrics(" Application/OpenMetrics-Text ", 30));
	assert_false(td_http_wants_openmetrics("text/plain", 10));
	assert_false(td_http_wants_openmetrics(NULL, 0));
	assert_false(td_http_wants_openmetrics("*/*", 3));
	assert_false(td_http_wants_openmetrics("application/openmetrics-text;q=0", 32));
	assert_false(
	    td_http_wants_openmetrics("application/openmetrics-text; q=0.000, text/plain", 49));
	assert_true(td_http_wants_openmetrics("application/openmetrics-text; q=0.01", 36));
	assert_false(td_http_wants_openmetrics("application/openmetrics-textual", 31));
}

/* Random bytes and mutated requests: never a crash, never a read past the
 * buffer (run under ASan/valgrind to see the latter), always a defined
 * answer. */
static void test_random_input(void **state)
{
	static const char seed[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: a/b;q=1\r\n\r\n";
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct td_http_req req;
	char buf[128];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t n = xorshift64(&rng) % sizeof(buf);
		char *heap;
		int st;

		if (i % 2) {
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)xorshift64(&rng);
		} else {
			n = sizeof(seed) - 1;
			memcpy(buf, seed, n);
			for (int m = 0; m < 3; m++)
				buf[xorshift64(&rng) % n] = (char)xorshift64(&rng);
			n = xorshift64(&rng) % (n + 1);
		}
		heap = malloc(n ? n : 1); /* exact size: an overread is out of bounds */
		assert_non_null(heap);
		memcpy(heap, buf, n);
		st = td_http_parse(heap, n, 64, &req);
		assert_true(st == TD_HTTP_INCOMPLETE || st == 200 || st == 400 || st == 414 ||
			    st == 431 || st == 505);
		if (st == 200) {
			assert_true(req.head_len <= n);
			assert_true(req.path >= heap && req.path + req.path_len <= heap + n);
			st = td_http_route(&req);
			assert_true(st == TD_ROUTE_METRICS || st == TD_ROUTE_HEALTHZ || st == 404 ||
				    st == 405);
			if (req.accept)
				td_http_wants_openmetrics(req.accept, req.accept_len);
		}
		free(heap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_metrics),	 cmocka_unit_test(test_query_lf_and_http10),
	    cmocka_unit_test(test_routes),	 cmocka_unit_test(test_incomplete),
	    cmocka_unit_test(test_malformed),	 cmocka_unit_test(test_garbage_refused_early),
	    cmocka_unit_test(test_limits),	 cmocka_unit_test(test_openmetrics_accept),
	    cmocka_unit_test(test_random_input), cmocka_unit_test(test_nul_after_head_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
