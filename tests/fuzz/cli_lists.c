// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The list parsers behind the options: the first byte picks one of
 * td_parse_ports, td_parse_cidrs, td_parse_peers and td_parse_listen, the
 * rest is its argument. What they accept must be within the bounds the
 * kernel-side maps and the label code rely on.
 */
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ports(const char *s)
{
	struct td_port_list l = {0};
	const char *err = NULL;

	if (td_parse_ports(s, &l, &err)) {
		FUZZ_CHECK(err);
		return;
	}
	FUZZ_CHECK(l.n >= 1 && l.n <= TD_MAX_PORT_RANGES);
	for (int i = 0; i < l.n; i++) {
		FUZZ_CHECK(l.r[i].lo >= 1 && l.r[i].lo <= l.r[i].hi);
		FUZZ_CHECK(td_port_in(&l, l.r[i].lo) && td_port_in(&l, l.r[i].hi));
	}
	FUZZ_CHECK(!td_port_in(&l, 0));
}

static void cidrs(const char *s)
{
	struct td_cidr_list l = {0};
	const char *err = NULL;

	if (td_parse_cidrs(s, &l, &err)) {
		FUZZ_CHECK(err);
		return;
	}
	FUZZ_CHECK(l.n >= 1 && l.n <= TD_MAX_CIDRS);
	for (int i = 0; i < l.n; i++) {
		const struct td_cidr *c = &l.c[i];

		FUZZ_CHECK(c->prefix <= 128);
		/* host bits cleared: the LPM trie key must be canonical */
		for (unsigned bit = c->prefix; bit < 128; bit++)
			FUZZ_CHECK(!(c->addr[bit / 8] & (0x80 >> (bit % 8))));
	}
}

static void peers(const char *s)
{
	struct td_peer_list l = {0};
	const char *err = NULL;

	if (td_parse_peers(s, &l, &err)) {
		FUZZ_CHECK(err);
		return;
	}
	FUZZ_CHECK(l.n >= 1 && l.n <= TD_LABEL_MAX);
	for (int i = 0; i < l.n; i++) {
		FUZZ_CHECK(l.p[i].prefix <= 128);
		FUZZ_CHECK(memchr(l.p[i].text, '\0', sizeof(l.p[i].text)));
		FUZZ_CHECK(l.p[i].text[0]); /* the label value is never empty */
	}
}

static void listen_addr(const char *s)
{
	struct sockaddr_storage ss;
	unsigned len = 0;

	if (td_parse_listen(s, &ss, &len))
		return;
	if (ss.ss_family == AF_INET)
		FUZZ_CHECK(len == sizeof(struct sockaddr_in) &&
			   ((struct sockaddr_in *)&ss)->sin_port != 0);
	else
		FUZZ_CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6) &&
			   ((struct sockaddr_in6 *)&ss)->sin6_port != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	fuzz_quiet();
	if (size < 1)
		return 0;
	s = fuzz_strndup(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		ports(s);
		break;
	case 1:
		cidrs(s);
		break;
	case 2:
		peers(s);
		break;
	default:
		listen_addr(s);
		break;
	}
	free(s);
	return 0;
}
