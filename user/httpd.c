// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The exporter's HTTP server (see httpd.h). Every socket is non-blocking
 * and every loop ends at EAGAIN, so one service call does a bounded amount
 * of work and returns to the tracer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "httpd.h"

#define LISTEN_KEY UINT32_MAX

const int td_httpd_code_num[TD_HC_MAX] = {200, 400, 404, 405, 408, 414, 431, 500, 503, 505};

enum cstate {
	C_FREE,
	C_READ,	  /* waiting for the request head */
	C_WRITE,  /* the response is going out */
	C_LINGER, /* sent and shut down for writing: waiting for the client's close */
};

struct client {
	int fd;
	enum cstate st;
	uint64_t deadline_ns;
	size_t in_len;
	size_t out_off;
	struct td_buf out;
	char in[TD_HTTPD_MAX_HEAD];
};

struct td_httpd {
	int lfd, epfd;
	bool listen_paused; /* accept() failed (fd limit): retry at the next service */
	td_http_handler fn;
	void *ctx;
	uint64_t now_ns;
	struct td_httpd_stats st;
	struct td_buf body;
	struct client c[TD_HTTPD_CLIENTS];
};

static const char *reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Internal Server Error";
}

static void count(struct td_httpd *h, int code)
{
	for (int i = 0; i < TD_HC_MAX; i++)
		if (td_httpd_code_num[i] == code) {
			h->st.responses[i]++;
			return;
		}
	h->st.responses[TD_HC_500]++;
}

static int watch(struct td_httpd *h, int op, int fd, uint32_t events, uint32_t key)
{
	struct epoll_event ev = {.events = events, .data.u32 = key};

	return epoll_ctl(h->epfd, op, fd, &ev);
}

static void drop(struct td_httpd *h, struct client *c)
{
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	c->in_len = c->out_off = 0;
	td_buf_reset(&c->out);
}

/* Write what the socket takes; once all is out, shut down our side and
 * wait for the client's close (closing with its bytes unread would reset
 * the connection, and the client could lose the response). */
static void flush_out(struct td_httpd *h, struct client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch(h, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c - h->c);
			return;
		}
		drop(h, c); /* the client is gone */
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->st = C_LINGER;
	c->deadline_ns = h->now_ns + TD_HTTPD_LINGER_NS;
	watch(h, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP, c - h->c);
}

static void respond(struct td_httpd *h, struct client *c, int code, const char *ctype,
		    const char *body, size_t len)
{
	td_buf_reset(&c->out);
	td_buf_printf(&c->out,
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		      "Connection: close\r\n\r\n",
		      code, reason(code), ctype, len, code == 405 ? "Allow: GET\r\n" : "");
	td_buf_put(&c->out, body, len);
	count(h, code);
	if (c->out.oom) {
		drop(h, c);
		return;
	}
	c->st = C_WRITE;
	c->out_off = 0;
	c->deadline_ns = h->now_ns + TD_HTTPD_WRITE_NS;
	flush_out(h, c);
}

static void respond_error(struct td_httpd *h, struct client *c, int code)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", code, reason(code));

	respond(h, c, code, "text/plain; charset=utf-8", body, n);
}

static void handle(struct td_httpd *h, struct client *c, const struct td_http_req *req)
{
	const char *ctype = "text/plain; charset=utf-8";
	int route = td_http_route(req), code;

	if (route >= 400) {
		respond_error(h, c, route);
		return;
	}
	td_buf_reset(&h->body);
	code = h->fn(h->ctx, req, route, &h->body, &ctype);
	if (code != 200 || h->body.oom)
		respond_error(h, c, 500);
	else
		respond(h, c, 200, ctype, h->body.p, h->body.len);
}

static void read_request(struct td_httpd *h, struct client *c)
{
	struct td_http_req req;
	ssize_t n;
	int st;

	while (c->st == C_READ) {
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			h->st.aborted++;
			drop(h, c);
			return;
		}
		c->in_len += n;
		st = td_http_parse(c->in, c->in_len, sizeof(c->in), &req);
		if (st == 200)
			handle(h, c, &req);
		else if (st != TD_HTTP_INCOMPLETE)
			respond_error(h, c, st);
	}
}

/* After the response: whatever the client still sends is discarded until
 * it closes. */
static void linger(struct td_httpd *h, struct client *c)
{
	char scratch[1024];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		drop(h, c);
		return;
	}
}

/* No free slot: a short 503, best effort, and the connection is closed. */
static void refuse_busy(struct td_httpd *h, int fd)
{
	static const char busy[] =
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
	    "503 too busy";

	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* nothing more to try: the connection goes either way */
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	count(h, 503);
}

static void accept_all(struct td_httpd *h)
{
	for (;;) {
		struct client *c = NULL;
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* e.g. EMFILE: the listener stays readable; stop watching
				 * it until the next service, or the loop would spin */
				h->st.accept_errors++;
				h->listen_paused = true;
				watch(h, EPOLL_CTL_MOD, h->lfd, 0, LISTEN_KEY);
			}
			return;
		}
		for (int i = 0; i < TD_HTTPD_CLIENTS && !c; i++)
			if (h->c[i].st == C_FREE)
				c = &h->c[i];
		if (!c || watch(h, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, c - h->c)) {
			refuse_busy(h, fd);
			continue;
		}
		c->fd = fd;
		c->st = C_READ;
		c->in_len = 0;
		c->deadline_ns = h->now_ns + TD_HTTPD_READ_NS;
	}
}

void td_httpd_service(struct td_httpd *h, uint64_t now_ns)
{
	struct epoll_event evs[TD_HTTPD_CLIENTS + 1];
	int n;

	h->now_ns = now_ns;
	if (h->listen_paused && !watch(h, EPOLL_CTL_MOD, h->lfd, EPOLLIN, LISTEN_KEY))
		h->listen_paused = false;
	n = epoll_wait(h->epfd, evs, TD_HTTPD_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		struct client *c;

		if (evs[i].data.u32 == LISTEN_KEY) {
			accept_all(h);
			continue;
		}
		c = &h->c[evs[i].data.u32];
		if (c->st == C_READ)
			read_request(h, c);
		else if (c->st == C_WRITE)
			flush_out(h, c);
		else if (c->st == C_LINGER)
			linger(h, c);
	}
	for (int i = 0; i < TD_HTTPD_CLIENTS; i++) {
		struct client *c = &h->c[i];

		if (c->st == C_FREE || now_ns < c->deadline_ns)
			continue;
		if (c->st == C_READ) {
			respond_error(h, c, 408); /* slow or silent: it gets 10 s to read this */
		} else {
			if (c->st == C_WRITE)
				h->st.write_timeouts++;
			drop(h, c);
		}
	}
}

int td_httpd_open(struct td_httpd **out, const struct sockaddr *addr, socklen_t len,
		  td_http_handler fn, void *ctx)
{
	struct td_httpd *h = calloc(1, sizeof(*h));
	int one = 1, err;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->lfd = h->epfd = -1;
	h->fn = fn;
	h->ctx = ctx;
	for (int i = 0; i < TD_HTTPD_CLIENTS; i++)
		h->c[i].fd = -1;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->lfd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->epfd < 0 || h->lfd < 0)
		goto fail;
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, addr, len) || listen(h->lfd, 64) ||
	    watch(h, EPOLL_CTL_ADD, h->lfd, EPOLLIN, LISTEN_KEY))
		goto fail;
	*out = h;
	return 0;
fail:
	err = -errno;
	td_httpd_close(h);
	return err;
}

int td_httpd_fd(const struct td_httpd *h)
{
	return h->epfd;
}

const struct td_httpd_stats *td_httpd_stats(const struct td_httpd *h)
{
	return &h->st;
}

void td_httpd_close(struct td_httpd *h)
{
	if (!h)
		return;
	for (int i = 0; i < TD_HTTPD_CLIENTS; i++) {
		if (h->c[i].st != C_FREE)
			close(h->c[i].fd);
		td_buf_free(&h->c[i].out);
	}
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->epfd >= 0)
		close(h->epfd);
	td_buf_free(&h->body);
	free(h);
}
