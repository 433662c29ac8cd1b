// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The exporter's HTTP request parser on whatever a client sends. The first
 * two bytes are the head limit (so 414/431 paths are reached with short
 * inputs), the rest is the request. Checked: the answer is one of the
 * documented statuses, every pointer it returns lies inside the buffer, and
 * a head complete in a prefix parses the same in the whole buffer (bytes
 * arriving later never change an answer already given).
 */
#include <string.h>

#include "fuzz.h"
#include "httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int status_ok(int st)
{
	return st == TD_HTTP_INCOMPLETE || st == 200 || st == 400 || st == 414 || st == 431 ||
	       st == 505;
}

static void inside(const char *buf, size_t len, const char *p, size_t n)
{
	FUZZ_CHECK(p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static int parse(const char *buf, size_t len, size_t max, struct td_http_req *req)
{
	int st;

	memset(req, 0, sizeof(*req));
	st = td_http_parse(buf, len, max, req);
	FUZZ_CHECK(status_ok(st));
	if (st != 200)
		return st;
	FUZZ_CHECK(req->head_len > 0 && req->head_len <= len && req->head_len <= max);
	inside(buf, req->head_len, req->method, req->method_len);
	inside(buf, req->head_len, req->path, req->path_len);
	if (req->accept) {
		inside(buf, req->head_len, req->accept, req->accept_len);
		(void)td_http_wants_openmetrics(req->accept, req->accept_len);
	}
	st = td_http_route(req);
	FUZZ_CHECK(st == TD_ROUTE_METRICS || st == TD_ROUTE_HEALTHZ || st == 404 || st == 405);
	return 200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_http_req req, whole;
	size_t max, len, cut;
	char *buf;
	int st;

	fuzz_quiet();
	if (size < 2)
		return 0;
	max = ((size_t)data[0] << 8 | data[1]) % 8192 + 1;
	len = size - 2;
	/* exactly len bytes: the parser must not look past them */
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	memcpy(buf, data + 2, len);
	st = parse(buf, len, max, &whole);
	/* the same bytes arriving in two reads: a prefix first */
	cut = len ? (data[0] ^ data[1]) % len : 0;
	if (parse(buf, cut, max, &req) == 200) {
		FUZZ_CHECK(st == 200 && whole.head_len == req.head_len);
		FUZZ_CHECK(whole.path_len == req.path_len && whole.method_len == req.method_len);
	}
	/* the accept matcher on raw bytes too */
	(void)td_http_wants_openmetrics(buf, len);
	free(buf);
	return 0;
}
