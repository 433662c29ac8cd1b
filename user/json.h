/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef TCPDWELL_JSON_H
#define TCPDWELL_JSON_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

#include "format.h"

/*
 * The one JSON writer of every JSON output: it escapes strings, places the
 * commas and closes each object or array with its own bracket. It appends
 * to a td_line, so the per-event lines stay free of printf; a writer given
 * a FILE empties the line into it whenever it is half full, so a report of
 * any length streams through a small buffer. A `key` is NULL for a value
 * inside an array (or the top-level value).
 */
#define TD_JSON_MAX_DEPTH 16

struct td_json {
	struct td_line *l;
	FILE *f;	   /* NULL: the caller writes the line out */
	unsigned depth;	   /* open objects and arrays */
	uint32_t had;	   /* bit d: the container at depth d has a member */
	uint32_t is_array; /* bit d: the container at depth d is an array */
};

/* A writer appending to l (and emptying it into f, if f). */
void td_json_init(struct td_json *j, struct td_line *l, FILE *f);
void td_json_object(struct td_json *j, const char *key);
void td_json_array(struct td_json *j, const char *key);
/* A record of tcpdwell's output: an object that starts with the JSON
 * schema version ("schema", TD_EVENT_VERSION) and its "type". */
void td_json_record(struct td_json *j, const char *key, const char *type);
/* Close the innermost object or array. */
void td_json_close(struct td_json *j);
/* Close what is still open, end the line with '\n' and, with a FILE,
 * write out what the line holds. */
void td_json_end(struct td_json *j);

void td_json_str(struct td_json *j, const char *key, const char *s);
/* A fixed-size kernel string (comm): up to n bytes or its NUL. */
void td_json_strn(struct td_json *j, const char *key, const char *s, size_t n);
void td_json_u64(struct td_json *j, const char *key, uint64_t v);
void td_json_i64(struct td_json *j, const char *key, int64_t v);
void td_json_bool(struct td_json *j, const char *key, bool v);
void td_json_null(struct td_json *j, const char *key);
/* v with exactly `decimals` decimals, as printf's %.*f. */
void td_json_f64(struct td_json *j, const char *key, double v, int decimals);
/* An address as a string: dotted quad or RFC 5952 IPv6. */
void td_json_addr(struct td_json *j, const char *key, unsigned family, const __u8 *addr);
struct td_event;
/* A connection's tuple: "family" (4 or 6), "laddr", "lport", "raddr", "rport". */
void td_json_tuple(struct td_json *j, const struct td_event *e);
/* A state record's "connect_failed": why a connect() ended before its SYN
 * ("no_free_port", "tuple_in_use", "before_syn") or null; with a reason,
 * "port_range": [lo, hi] as the kernel had it (null: unknown). */
void td_json_connect_failed(struct td_json *j, const struct td_event *e);
/* A value the caller formatted itself as valid JSON (a number, a nested
 * literal). */
void td_json_raw(struct td_json *j, const char *key, const char *json);
/* The key (and its comma): what follows is the caller's value, written to
 * j->l with td_line_* (e.g. a time in a format of its own). */
void td_json_key(struct td_json *j, const char *key);

#endif /* TCPDWELL_JSON_H */
