/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A small, strict JSON validator for the unit tests: enough of RFC 8259 to
 * tell whether one line of tcpdwell output is exactly one well-formed JSON
 * object followed by a single newline. Raw control bytes inside strings,
 * bad escapes, trailing commas, unbalanced braces and trailing garbage are
 * all rejected.
 */
#ifndef TCPDWELL_TEST_JSONCHECK_H
#define TCPDWELL_TEST_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jc {
	const char *s;
	size_t i, n;
	int depth;
};

static bool jc_value(struct jc *p);

static void jc_ws(struct jc *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

static bool jc_peek(const struct jc *p, char c)
{
	return p->i < p->n && p->s[p->i] == c;
}

static bool jc_is_digit(const struct jc *p)
{
	return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static bool jc_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool jc_literal(struct jc *p, const char *lit)
{
	size_t l = strlen(lit);

	if (p->n - p->i < l || memcmp(p->s + p->i, lit, l))
		return false;
	p->i += l;
	return true;
}

static bool jc_string(struct jc *p)
{
	if (!jc_peek(p, '"'))
		return false;
	p->i++;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			p->i++;
			return true;
		}
		if (c < 0x20)
			return false; /* raw control byte: invalid JSON */
		if (c == '\\') {
			char e;

			if (++p->i >= p->n)
				return false;
			e = p->s[p->i];
			if (e == 'u') {
				if (p->n - p->i < 5)
					return false;
				for (int k = 1; k <= 4; k++)
					if (!jc_is_hex(p->s[p->i + k]))
						return false;
				p->i += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return false;
		}
		p->i++;
	}
	return false; /* unterminated */
}

static bool jc_number(struct jc *p)
{
	if (jc_peek(p, '-'))
		p->i++;
	if (jc_peek(p, '0')) {
		p->i++;
	} else if (jc_is_digit(p)) {
		while (jc_is_digit(p))
			p->i++;
	} else {
		return false;
	}
	if (jc_peek(p, '.')) {
		p->i++;
		if (!jc_is_digit(p))
			return false;
		while (jc_is_digit(p))
			p->i++;
	}
	if (jc_peek(p, 'e') || jc_peek(p, 'E')) {
		p->i++;
		if (jc_peek(p, '+') || jc_peek(p, '-'))
			p->i++;
		if (!jc_is_digit(p))
			return false;
		while (jc_is_digit(p))
			p->i++;
	}
	return true;
}

static bool jc_object(struct jc *p)
{
	p->i++; /* '{' */
	jc_ws(p);
	if (jc_peek(p, '}')) {
		p->i++;
		return true;
	}
	for (;;) {
		jc_ws(p);
		if (!jc_string(p))
			return false;
		jc_ws(p);
		if (!jc_peek(p, ':'))
			return false;
		p->i++;
		if (!jc_value(p))
			return false;
		jc_ws(p);
		if (jc_peek(p, '}')) {
			p->i++;
			return true;
		}
		if (!jc_peek(p, ','))
			return false;
		p->i++;
	}
}

static bool jc_array(struct jc *p)
{
	p->i++; /* '[' */
	jc_ws(p);
	if (jc_peek(p, ']')) {
		p->i++;
		return true;
	}
	for (;;) {
		if (!jc_value(p))
			return false;
		jc_ws(p);
		if (jc_peek(p, ']')) {
			p->i++;
			return true;
		}
		if (!jc_peek(p, ','))
			return false;
		p->i++;
	}
}

static bool jc_value(struct jc *p)
{
	bool ok;

	jc_ws(p);
	if (p->i >= p->n || p->depth > 32)
		return false;
	switch (p->s[p->i]) {
	case '{':
		p->depth++;
		ok = jc_object(p);
		p->depth--;
		return ok;
	case '[':
		p->depth++;
		ok = jc_array(p);
		p->depth--;
		return ok;
	case '"':
		return jc_string(p);
	case 't':
		return jc_literal(p, "true");
	case 'f':
		return jc_literal(p, "false");
	case 'n':
		return jc_literal(p, "null");
	default:
		return jc_number(p);
	}
}

/* True if s[0..n) is exactly one JSON object, no whitespace around it,
 * followed by exactly one '\n' that ends the buffer. */
static bool json_object_line_ok(const char *s, size_t n)
{
	struct jc p = {s, 0, n - 1, 0};

	if (n < 3 || s[n - 1] != '\n' || s[0] != '{')
		return false;
	if (memchr(s, '\n', n - 1))
		return false;
	if (!jc_value(&p))
		return false;
	return p.i == n - 1;
}

#endif /* TCPDWELL_TEST_JSONCHECK_H */
