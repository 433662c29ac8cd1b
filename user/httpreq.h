/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The HTTP/1.x request head, parsed from a buffer: a pure function with no
 * I/O and no allocation, so that it can be unit-tested and fuzzed on its
 * own. Only what the exporter needs is extracted (method, path, Accept);
 * anything malformed is an error status, never a guess.
 */
#ifndef TCPDWELL_HTTPREQ_H
#define TCPDWELL_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define TD_HTTP_INCOMPLETE 0 /* no complete head yet: read more */

enum td_http_route {
	TD_ROUTE_METRICS = 1,
	TD_ROUTE_HEALTHZ = 2,
};

struct td_http_req {
	size_t head_len;    /* bytes up to and including the blank line */
	const char *method; /* into the buffer, not NUL-terminated */
	size_t method_len;
	const char *path; /* the target without its query */
	size_t path_len;
	int minor;	    /* HTTP/1.minor */
	const char *accept; /* the Accept header's value (NULL: none) */
	size_t accept_len;
};

/*
 * Parse the request head in buf[0..len). max is the most a head may take:
 * a head that is not complete within it is refused.
 * Returns TD_HTTP_INCOMPLETE, 200 when *req describes a complete head, or
 * the status to answer with: 400 (malformed; also a body, which no
 * endpoint takes, and HTTP/1.1 without exactly one Host), 414 (request
 * line longer than max), 431 (headers too large or too many), 505 (not
 * HTTP/1.x). Garbage is refused as soon as it is seen, not at the
 * deadline.
 */
int td_http_parse(const char *buf, size_t len, size_t max, struct td_http_req *req);

/* The endpoint of a parsed request (a TD_ROUTE_*), or 405 for a method
 * other than GET, 404 for an unknown path. */
int td_http_route(const struct td_http_req *req);

/* Whether Accept asks for application/openmetrics-text (q > 0). */
bool td_http_wants_openmetrics(const char *accept, size_t len);

#endif /* TCPDWELL_HTTPREQ_H */
