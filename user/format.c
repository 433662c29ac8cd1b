// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "format.h"

static const char *const state_names[TD_TCP_MAX_STATES] = {
    [TD_TCP_ESTABLISHED] = "ESTABLISHED",
    [TD_TCP_SYN_SENT] = "SYN_SENT",
    [TD_TCP_SYN_RECV] = "SYN_RECV",
    [TD_TCP_FIN_WAIT1] = "FIN_WAIT1",
    [TD_TCP_FIN_WAIT2] = "FIN_WAIT2",
    [TD_TCP_TIME_WAIT] = "TIME_WAIT",
    [TD_TCP_CLOSE] = "CLOSE",
    [TD_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
    [TD_TCP_LAST_ACK] = "LAST_ACK",
    [TD_TCP_LISTEN] = "LISTEN",
    [TD_TCP_CLOSING] = "CLOSING",
    [TD_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
    [TD_TCP_FIN_WAIT2_TW] = "FIN_WAIT2(tw)",
};

const char *td_state_name(unsigned state)
{
	if (state < TD_TCP_MAX_STATES && state_names[state])
		return state_names[state];
	return "UNKNOWN";
}

static const char *const owner_names[TD_OWNER_MAX] = {
    [TD_OWNER_NONE] = "none",	      [TD_OWNER_CONNECT] = "connect",
    [TD_OWNER_LISTEN] = "listen",     [TD_OWNER_ACCEPT] = "accept",
    [TD_OWNER_LISTENER] = "listener", [TD_OWNER_INFERRED] = "inferred",
    [TD_OWNER_PROC] = "proc",
};

const char *td_owner_name(unsigned owner)
{
	return owner < TD_OWNER_MAX ? owner_names[owner] : "unknown";
}

static const char *const tw_end_names[TD_TW_END_MAX] = {
    [TD_TW_END_NONE] = "none",	     [TD_TW_END_EXPIRED] = "expired",
    [TD_TW_END_REUSED] = "reused",   [TD_TW_END_RESET] = "reset",
    [TD_TW_END_KILLED] = "killed",   [TD_TW_END_OVERFLOW] = "overflow",
    [TD_TW_END_UNKNOWN] = "unknown",
};

const char *td_event_type_name(unsigned type)
{
	switch (type) {
	case TD_EV_STATE:
		return "state";
	case TD_EV_RETRANS:
		return "retrans";
	case TD_EV_RESET_SENT:
		return "reset_sent";
	case TD_EV_RESET_RECV:
		return "reset_recv";
	}
	return "unknown";
}

const char *td_tw_end_name(unsigned end)
{
	return end < TD_TW_END_MAX ? tw_end_names[end] : "unknown";
}

static const char *const connect_fail_names[TD_CONNECT_FAIL_MAX] = {
    [TD_CONNECT_OK] = "none",
    [TD_CONNECT_NO_PORT] = "no free local port",
    [TD_CONNECT_IN_USE] = "4-tuple in use",
    [TD_CONNECT_NO_SYN] = "failed before SYN",
};

/* the same as label and JSON values */
static const char *const connect_fail_keys[TD_CONNECT_FAIL_MAX] = {
    [TD_CONNECT_OK] = "none",
    [TD_CONNECT_NO_PORT] = "no_free_port",
    [TD_CONNECT_IN_USE] = "tuple_in_use",
    [TD_CONNECT_NO_SYN] = "before_syn",
};

const char *td_connect_fail_name(unsigned why)
{
	return why < TD_CONNECT_FAIL_MAX ? connect_fail_names[why] : "unknown";
}

int td_connect_fail_str(unsigned why, int32_t arg, char *buf, size_t sz)
{
	uint32_t range = (uint32_t)arg;

	if (!range)
		return snprintf(buf, sz, "connect failed: %s", td_connect_fail_name(why));
	return snprintf(buf, sz, "connect failed: %s (ip_local_port_range %u-%u)",
			td_connect_fail_name(why), range & 0xffff, range >> 16);
}

const char *td_connect_fail_key(unsigned why)
{
	return why < TD_CONNECT_FAIL_MAX ? connect_fail_keys[why] : "unknown";
}

static const char *const kind_names[TD_RETRANS_KIND_MAX] = {
    [TD_RETRANS_DATA] = "data",
    [TD_RETRANS_SYN] = "syn",
    [TD_RETRANS_SYNACK] = "synack",
    [TD_RETRANS_TLP] = "tlp",
};

const char *td_retrans_kind_name(unsigned kind)
{
	return kind < TD_RETRANS_KIND_MAX ? kind_names[kind] : "unknown";
}

static const char *const ca_names[TD_CA_MAX] = {
    [TD_CA_OPEN] = "open",	   [TD_CA_DISORDER] = "disorder", [TD_CA_CWR] = "cwr",
    [TD_CA_RECOVERY] = "recovery", [TD_CA_LOSS] = "loss",
};

const char *td_ca_state_name(unsigned ca)
{
	return ca < TD_CA_MAX ? ca_names[ca] : "unknown";
}

const char *td_addr_str(unsigned family, const __u8 *addr, char *buf)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, TD_ADDR_STRLEN))
		snprintf(buf, TD_ADDR_STRLEN, "?");
	return buf;
}

const char *td_endpoint_str(unsigned family, const __u8 *addr, uint16_t port, char *buf)
{
	char a[TD_ADDR_STRLEN];

	td_addr_str(family, addr, a);
	snprintf(buf, TD_ENDPOINT_STRLEN, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

static const char hex[] = "0123456789abcdef";

size_t td_escape_text(const char *in, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (!outsz)
		return 0;
	for (size_t i = 0; i < len && in[i]; i++) {
		unsigned char c = in[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

size_t td_escape_json(const char *in, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	if (!outsz)
		return 0;
	for (size_t i = 0; i < len && in[i]; i++) {
		unsigned char c = in[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outsz)
				break;
			out[o++] = c;
		} else if (c == '"' || c == '\\') {
			if (o + 2 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = c;
		} else {
			/* control or non-ASCII byte: \u00XX keeps the JSON valid UTF-8 */
			if (o + 6 >= outsz)
				break;
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		}
	}
	out[o] = '\0';
	return o;
}

void td_line_mem(struct td_line *l, const char *s, size_t n)
{
	if (!l->sz)
		return;
	if (l->len + n >= l->sz)
		n = l->sz - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

void td_line_str(struct td_line *l, const char *s)
{
	td_line_mem(l, s, strlen(s));
}

void td_line_u64(struct td_line *l, uint64_t v)
{
	char tmp[20];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	td_line_mem(l, tmp + i, sizeof(tmp) - i);
}

void td_line_i64(struct td_line *l, int64_t v)
{
	if (v < 0) {
		td_line_mem(l, "-", 1);
		td_line_u64(l, -(uint64_t)v);
	} else {
		td_line_u64(l, v);
	}
}

void td_line_ms(struct td_line *l, uint64_t ns)
{
	uint64_t us = ns / 1000;

	td_line_u64(l, us / 1000);
	td_line_mem(l, ".", 1);
	td_line_frac(l, us % 1000, 3);
}

void td_line_frac(struct td_line *l, uint64_t v, int digits)
{
	char tmp[20];

	if (digits > 20)
		digits = 20;
	for (int i = digits - 1; i >= 0; i--) {
		tmp[i] = '0' + v % 10;
		v /= 10;
	}
	td_line_mem(l, tmp, digits);
}

void td_line_pad_to(struct td_line *l, size_t col)
{
	static const char spaces[] = "                                                ";

	while (l->len < col && l->len + 1 < l->sz) {
		size_t n = col - l->len;

		if (n > sizeof(spaces) - 1)
			n = sizeof(spaces) - 1;
		td_line_mem(l, spaces, n);
	}
}

void td_line_addr(struct td_line *l, unsigned family, const __u8 *addr)
{
	char buf[TD_ADDR_STRLEN];

	if (family == AF_INET6) {
		td_line_str(l, td_addr_str(family, addr, buf));
		return;
	}
	/* dotted quad without division: at most 15 bytes, written at once */
	char q[16];
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = addr[i];

		if (i)
			q[n++] = '.';
		if (v >= 100) {
			q[n++] = '0' + v / 100;
			v %= 100;
			q[n++] = '0' + v / 10;
		} else if (v >= 10) {
			q[n++] = '0' + v / 10;
		}
		q[n++] = '0' + v % 10;
	}
	td_line_mem(l, q, n);
}

void td_line_endpoint(struct td_line *l, unsigned family, const __u8 *addr, uint16_t port)
{
	if (family == AF_INET6)
		td_line_mem(l, "[", 1);
	td_line_addr(l, family, addr);
	td_line_mem(l, family == AF_INET6 ? "]:" : ":", family == AF_INET6 ? 2 : 1);
	td_line_u64(l, port);
}

void td_line_printf(struct td_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len + 1 >= l->sz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->sz - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + n < l->sz ? l->len + n : l->sz - 1;
}
