/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Turning kernel values into text: states, addresses, durations, strings. */
#ifndef TCPDWELL_FORMAT_H
#define TCPDWELL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "events.h"

/* "ESTABLISHED", "FIN_WAIT2(tw)", ...; unknown values give "UNKNOWN". */
const char *td_state_name(unsigned state);
const char *td_owner_name(unsigned owner);
const char *td_retrans_kind_name(unsigned kind);
/* The congestion state of a data retransmit: "loss" (after a timeout),
 * "recovery" (fast retransmit), "open", "disorder", "cwr". */
const char *td_ca_state_name(unsigned ca);
const char *td_tw_end_name(unsigned end);
/* A connect() that failed before its SYN (enum td_connect_fail): why, in
 * words ("no free local port") and as a key ("no_free_port"). */
const char *td_connect_fail_name(unsigned why);
const char *td_connect_fail_key(unsigned why);
/* "connect failed: no free local port (ip_local_port_range 40000-40003)",
 * from the event's kind and arg (the range left out when 0: unknown).
 * Returns what snprintf returns. */
int td_connect_fail_str(unsigned why, int32_t arg, char *buf, size_t sz);
/* "state", "retrans", "reset_sent", "reset_recv" (the JSON "type") */
const char *td_event_type_name(unsigned type);

/* Address of an event side as text; IPv4-mapped IPv6 kept as the kernel
 * reports it. buf must hold TD_ADDR_STRLEN bytes. */
#define TD_ADDR_STRLEN 46
const char *td_addr_str(unsigned family, const __u8 *addr, char *buf);

/* addr:port, IPv6 in brackets: "[::1]:80". buf: TD_ENDPOINT_STRLEN. */
#define TD_ENDPOINT_STRLEN (TD_ADDR_STRLEN + 8)
const char *td_endpoint_str(unsigned family, const __u8 *addr, uint16_t port, char *buf);

/* A kernel string (comm, ...) made safe for a terminal: control bytes,
 * backslash and non-ASCII become \xNN. Stops at NUL or len. Output is
 * always NUL-terminated; needs 4 * len + 1 bytes. */
size_t td_escape_text(const char *in, size_t len, char *out, size_t outsz);

/* The same string as the body of a JSON string literal (no quotes). */
size_t td_escape_json(const char *in, size_t len, char *out, size_t outsz);

/*
 * An append-only line buffer for the per-event hot paths: integers,
 * fractions, padding and IPv4 addresses without printf (which costs most of
 * the reader's CPU at a few hundred thousand events per second). Output is
 * truncated at sz - 1 and always NUL-terminated.
 */
struct td_line {
	char *buf;
	size_t sz, len;
};

void td_line_mem(struct td_line *l, const char *s, size_t n);
void td_line_str(struct td_line *l, const char *s);
void td_line_u64(struct td_line *l, uint64_t v);
void td_line_i64(struct td_line *l, int64_t v);
/* v as exactly `digits` decimal digits, zero-padded ("000123"). */
void td_line_frac(struct td_line *l, uint64_t v, int digits);
/* Nanoseconds as milliseconds with microsecond precision: "12.345". */
void td_line_ms(struct td_line *l, uint64_t ns);
/* Spaces until the line is `col` long (nothing if it already is). */
void td_line_pad_to(struct td_line *l, size_t col);
void td_line_addr(struct td_line *l, unsigned family, const __u8 *addr);
/* "addr:port", IPv6 in brackets, as td_endpoint_str(). */
void td_line_endpoint(struct td_line *l, unsigned family, const __u8 *addr, uint16_t port);
/* printf-style, for the rare and the complicated. */
void td_line_printf(struct td_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TCPDWELL_FORMAT_H */
