/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A tiny HTTP/1.1 server for the exporter that never blocks the tracer's
 * single thread: non-blocking sockets behind an epoll fd of their own
 * (which the tracer's loop watches), at most TD_HTTPD_CLIENTS at a time,
 * a deadline for each request and each response, one request per
 * connection. Each response is built whole, then written as the client
 * takes it, so a slow reader costs memory, never time.
 */
#ifndef TCPDWELL_HTTPD_H
#define TCPDWELL_HTTPD_H

#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "httpreq.h"

#define TD_HTTPD_CLIENTS   16
#define TD_HTTPD_MAX_HEAD  8192
#define TD_HTTPD_READ_NS   5000000000ull  /* a request must arrive within 5 s */
#define TD_HTTPD_WRITE_NS  10000000000ull /* and its response be taken in 10 s */
#define TD_HTTPD_LINGER_NS 1000000000ull  /* then wait up to 1 s for the client's close */

/* Status codes the server answers with, for the counters. */
enum td_httpd_code {
	TD_HC_200,
	TD_HC_400,
	TD_HC_404,
	TD_HC_405,
	TD_HC_408,
	TD_HC_414,
	TD_HC_431,
	TD_HC_500,
	TD_HC_503,
	TD_HC_505,
	TD_HC_MAX,
};

struct td_httpd_stats {
	uint64_t responses[TD_HC_MAX]; /* by code */
	uint64_t write_timeouts;       /* responses dropped: the client did not read them */
	uint64_t aborted;	       /* clients gone before their request was complete */
	uint64_t accept_errors;
};

extern const int td_httpd_code_num[TD_HC_MAX];

/* Answer a routed GET: fill body and *ctype (a literal), return 200, or
 * 500 when the body could not be built. */
typedef int (*td_http_handler)(void *ctx, const struct td_http_req *req, int route,
			       struct td_buf *body, const char **ctype);

struct td_httpd;

/* Listen on the address. Returns 0 or -errno. */
int td_httpd_open(struct td_httpd **out, const struct sockaddr *addr, socklen_t len,
		  td_http_handler fn, void *ctx);

/* The epoll fd: readable when a socket of the server needs attention. */
int td_httpd_fd(const struct td_httpd *h);

/* Do what the sockets allow without blocking, and enforce the deadlines. */
void td_httpd_service(struct td_httpd *h, uint64_t now_ns);

const struct td_httpd_stats *td_httpd_stats(const struct td_httpd *h);

void td_httpd_close(struct td_httpd *h);

#endif /* TCPDWELL_HTTPD_H */
