// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include <sys/socket.h>

#include "events.h"
#include "format.h"
#include "json.h"

void td_json_init(struct td_json *j, struct td_line *l, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->l = l;
	j->f = f;
}

static void flush_line(struct td_json *j)
{
	fwrite(j->l->buf, 1, j->l->len, j->f);
	j->l->len = 0;
	j->l->buf[0] = '\0';
}

/* With a FILE: write out what the line holds once it is half full, so the
 * next key or number (far smaller than half a line) never truncates. */
static void spill(struct td_json *j)
{
	if (j->f && j->l->len >= j->l->sz / 2)
		flush_line(j);
}

/* n bytes of a string's body: with a FILE, whatever the line cannot take
 * goes out first (or straight to the FILE, if the line never could). */
static void put(struct td_json *j, const char *s, size_t n)
{
	if (j->f && j->l->len + n >= j->l->sz) {
		flush_line(j);
		if (n >= j->l->sz) {
			fwrite(s, 1, n, j->f);
			return;
		}
	}
	td_line_mem(j->l, s, n);
}

void td_json_key(struct td_json *j, const char *key)
{
	uint32_t bit = 1u << j->depth;
	bool comma = j->had & bit;
	size_t n = key ? strlen(key) : 0;
	struct td_line *l = j->l;
	char *p;

	spill(j);
	j->had |= bit;
	if (l->len + n + 5 > l->sz) { /* the end of the line: cut as td_line cuts */
		if (comma)
			td_line_mem(l, ",", 1);
		if (key) {
			td_line_mem(l, "\"", 1);
			td_line_mem(l, key, n);
			td_line_mem(l, "\":", 2);
		}
		return;
	}
	/* ,"key": in one go: every field of every trace -o json line comes here */
	p = l->buf + l->len;
	if (comma)
		*p++ = ',';
	if (key) {
		*p++ = '"';
		memcpy(p, key, n);
		p += n;
		*p++ = '"';
		*p++ = ':';
	}
	*p = '\0';
	l->len = p - l->buf;
}

static void open_container(struct td_json *j, const char *key, bool array)
{
	td_json_key(j, key);
	td_line_mem(j->l, array ? "[" : "{", 1);
	if (j->depth + 1 >= TD_JSON_MAX_DEPTH)
		return; /* deeper than any output of tcpdwell: a bug, kept valid */
	j->depth++;
	j->had &= ~(1u << j->depth);
	if (array)
		j->is_array |= 1u << j->depth;
	else
		j->is_array &= ~(1u << j->depth);
}

void td_json_object(struct td_json *j, const char *key)
{
	open_container(j, key, false);
}

void td_json_array(struct td_json *j, const char *key)
{
	open_container(j, key, true);
}

void td_json_record(struct td_json *j, const char *key, const char *type)
{
	td_json_object(j, key);
	td_json_u64(j, "schema", TD_EVENT_VERSION);
	td_json_str(j, "type", type);
}

void td_json_close(struct td_json *j)
{
	if (!j->depth)
		return;
	td_line_mem(j->l, j->is_array & (1u << j->depth) ? "]" : "}", 1);
	j->depth--;
}

void td_json_end(struct td_json *j)
{
	while (j->depth)
		td_json_close(j);
	td_line_mem(j->l, "\n", 1);
	if (j->f)
		flush_line(j);
	j->had = 0;
}

void td_json_strn(struct td_json *j, const char *key, const char *s, size_t n)
{
	enum { CHUNK = 128 };
	char esc[6 * CHUNK + 1];

	td_json_key(j, key);
	td_line_mem(j->l, "\"", 1);
	/* in chunks: a long string (an argv) streams out as it is escaped */
	for (size_t off = 0; off < n && s[off]; off += CHUNK) {
		size_t len = n - off < CHUNK ? n - off : CHUNK;

		put(j, esc, td_escape_json(s + off, len, esc, sizeof(esc)));
		if (memchr(s + off, '\0', len))
			break;
	}
	put(j, "\"", 1);
}

void td_json_str(struct td_json *j, const char *key, const char *s)
{
	td_json_strn(j, key, s, strlen(s));
}

void td_json_u64(struct td_json *j, const char *key, uint64_t v)
{
	td_json_key(j, key);
	td_line_u64(j->l, v);
}

void td_json_i64(struct td_json *j, const char *key, int64_t v)
{
	td_json_key(j, key);
	td_line_i64(j->l, v);
}

void td_json_raw(struct td_json *j, const char *key, const char *json)
{
	td_json_key(j, key);
	td_line_str(j->l, json);
}

void td_json_bool(struct td_json *j, const char *key, bool v)
{
	td_json_raw(j, key, v ? "true" : "false");
}

void td_json_null(struct td_json *j, const char *key)
{
	td_json_raw(j, key, "null");
}

void td_json_f64(struct td_json *j, const char *key, double v, int decimals)
{
	td_json_key(j, key);
	td_line_printf(j->l, "%.*f", decimals, v);
}

void td_json_addr(struct td_json *j, const char *key, unsigned family, const __u8 *addr)
{
	td_json_key(j, key);
	td_line_mem(j->l, "\"", 1);
	td_line_addr(j->l, family, addr);
	td_line_mem(j->l, "\"", 1);
}

void td_json_tuple(struct td_json *j, const struct td_event *e)
{
	td_json_u64(j, "family", e->family == AF_INET6 ? 6 : 4);
	td_json_addr(j, "laddr", e->family, e->laddr);
	td_json_u64(j, "lport", e->lport);
	td_json_addr(j, "raddr", e->family, e->raddr);
	td_json_u64(j, "rport", e->rport);
}

void td_json_connect_failed(struct td_json *j, const struct td_event *e)
{
	uint32_t range = (uint32_t)e->arg;
	unsigned why = td_connect_fail_of(e);

	if (!why) {
		td_json_null(j, "connect_failed");
		return;
	}
	td_json_str(j, "connect_failed", td_connect_fail_key(why));
	if (!range) {
		td_json_null(j, "port_range");
		return;
	}
	td_json_array(j, "port_range");
	td_json_u64(j, NULL, range & 0xffff);
	td_json_u64(j, NULL, range >> 16);
	td_json_close(j);
}
