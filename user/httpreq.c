// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * HTTP/1.x request heads (RFC 9112), strictly: the exporter serves two
 * GET endpoints, so anything unusual is more likely an attack or a
 * confused client than something worth being lenient about. The one
 * leniency is a bare LF as line end (RFC 9112 2.2 allows it).
 */
#include <string.h>

#include "httpreq.h"

#define MAX_METHOD  32
#define MAX_HEADERS 64

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A visible ASCII character: what a request target may hold. */
static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* What a header value may hold: visible, SP, HT, or obs-text. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool ieq(const char *a, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = a[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)lit[i])
			return false;
	}
	return true;
}

/* A request line not complete yet: refuse what can already not be one
 * (a TLS hello, binary noise) instead of waiting for the deadline. */
static int check_partial_line(const char *b, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar(b[i]))
		i++;
	if (i > MAX_METHOD)
		return 400;
	if (i == n)
		return TD_HTTP_INCOMPLETE;
	if (b[i] != ' ' || i == 0)
		return 400;
	i++;
	if (i < n && b[i] != '/')
		return 400;
	for (; i < n && b[i] != ' '; i++)
		if (!is_vchar(b[i]))
			return 400;
	return TD_HTTP_INCOMPLETE;
}

static int parse_version(const char *v, size_t n, struct td_http_req *req)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return 505;
	req->minor = v[7] - '0';
	return 0;
}

/* METHOD SP origin-form SP HTTP/1.x */
static int parse_request_line(const char *l, size_t n, struct td_http_req *req)
{
	size_t i = 0, t;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i > MAX_METHOD || i == n || l[i] != ' ')
		return 400;
	req->method = l;
	req->method_len = i;
	t = ++i;
	while (i < n && is_vchar(l[i]))
		i++;
	if (i == t || i == n || l[i] != ' ' || l[t] != '/')
		return 400;
	req->path = l + t;
	req->path_len = i - t;
	for (size_t k = 0; k < req->path_len; k++)
		if (req->path[k] == '?') {
			req->path_len = k;
			break;
		}
	i++;
	return parse_version(l + i, n - i, req);
}

/* name ":" OWS value OWS; no space before the colon, no line folding. */
static int parse_header(const char *l, size_t n, struct td_http_req *req, int *hosts)
{
	size_t i = 0, v, e;

	while (i < n && is_tchar(l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return 400;
	for (v = i + 1; v < n; v++)
		if (!is_field_char(l[v]))
			return 400;
	for (v = i + 1; v < n && (l[v] == ' ' || l[v] == '\t'); v++)
		;
	for (e = n; e > v && (l[e - 1] == ' ' || l[e - 1] == '\t'); e--)
		;
	if (ieq(l, i, "host")) {
		(*hosts)++;
	} else if (ieq(l, i, "accept")) {
		if (!req->accept) {
			req->accept = l + v;
			req->accept_len = e - v;
		}
	} else if (ieq(l, i, "transfer-encoding")) {
		return 400; /* a body: no endpoint takes one */
	} else if (ieq(l, i, "content-length")) {
		if (v == e)
			return 400;
		for (size_t k = v; k < e; k++)
			if (l[k] != '0')
				return 400; /* not a number, or a body */
	}
	return 0;
}

/* The line starting at pos: its length without CR LF (or LF), and where
 * the next begins. False when no LF follows yet. A CR anywhere but before
 * the LF is left in the line, where the character checks refuse it. */
static bool next_line(const char *buf, size_t len, size_t pos, size_t *n, size_t *next)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);

	if (!nl)
		return false;
	*next = nl - buf + 1;
	*n = nl - (buf + pos);
	if (*n && buf[pos + *n - 1] == '\r')
		(*n)--;
	return true;
}

int td_http_parse(const char *buf, size_t len, size_t max, struct td_http_req *req)
{
	size_t pos, n, next;
	int st, hosts = 0, headers = 0;

	memset(req, 0, sizeof(*req));
	if (len > max)
		len = max; /* what lies beyond the limit does not count */
	/* A NUL is refused in the head only: bytes after a complete head must
	 * not change the answer, or it would depend on how reads coalesce. */
	if (!next_line(buf, len, 0, &n, &next)) {
		if (memchr(buf, '\0', len))
			return 400;
		st = check_partial_line(buf, len);
		return st ? st : len >= max ? 414 : TD_HTTP_INCOMPLETE;
	}
	if (memchr(buf, '\0', n))
		return 400;
	st = parse_request_line(buf, n, req);
	if (st)
		return st;
	for (pos = next;; pos = next) {
		if (!next_line(buf, len, pos, &n, &next)) {
			if (memchr(buf + pos, '\0', len - pos))
				return 400; /* a header line that can no longer be one */
			return len >= max ? 431 : TD_HTTP_INCOMPLETE;
		}
		if (memchr(buf + pos, '\0', n))
			return 400;
		if (!n)
			break;
		if (buf[pos] == ' ' || buf[pos] == '\t')
			return 400; /* obsolete line folding */
		if (++headers > MAX_HEADERS)
			return 431;
		st = parse_header(buf + pos, n, req, &hosts);
		if (st)
			return st;
	}
	/* HTTP/1.1 needs exactly one Host; 1.0 at most one (RFC 9112 3.2) */
	if (hosts > 1 || (req->minor == 1 && hosts != 1))
		return 400;
	req->head_len = next;
	return 200;
}

int td_http_route(const struct td_http_req *req)
{
	int route;

	if (req->path_len == 8 && !memcmp(req->path, "/metrics", 8))
		route = TD_ROUTE_METRICS;
	else if (req->path_len == 8 && !memcmp(req->path, "/healthz", 8))
		route = TD_ROUTE_HEALTHZ;
	else
		return 404;
	if (req->method_len != 3 || memcmp(req->method, "GET", 3))
		return 405;
	return route;
}

/* q=0 (or 0.0, 0.000) refuses a media type. */
static bool q_zero(const char *p, size_t n)
{
	size_t i;

	if (n < 3 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' || p[2] != '0')
		return false;
	i = 3;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] == '0'; i++)
			;
	return i == n;
}

static size_t trim(const char **p, size_t n)
{
	while (n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		n--;
	}
	while (n && ((*p)[n - 1] == ' ' || (*p)[n - 1] == '\t'))
		n--;
	return n;
}

bool td_http_wants_openmetrics(const char *accept, size_t len)
{
	const char *p = accept, *end;

	if (!accept) /* no header; NULL + 0 is undefined behaviour too */
		return false;
	end = accept + len;
	while (p < end) {
		const char *comma = memchr(p, ',', end - p);
		const char *seg_end = comma ? comma : end, *type = p, *semi;
		bool refused = false;
		size_t tn;

		p = comma ? comma + 1 : end;
		semi = memchr(type, ';', seg_end - type);
		tn = trim(&type, (semi ? semi : seg_end) - type);
		if (!ieq(type, tn, "application/openmetrics-text"))
			continue;
		while (semi) { /* the parameters: version=..., q=... */
			const char *par = semi + 1;

			semi = memchr(par, ';', seg_end - par);
			tn = trim(&par, (semi ? semi : seg_end) - par);
			refused |= q_zero(par, tn);
		}
		if (!refused)
			return true;
	}
	return false;
}
