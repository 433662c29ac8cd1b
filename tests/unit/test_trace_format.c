// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for td_trace_format (user/trace.c): the text and JSON lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include "cgname.h"
#include "event.h"
#include "trace.h"
#include "jsoncheck.h"
#include "rng.h"

#define START_NS  1000000000000ull  /* monotonic time the trace started */
#define LINE_SZ	  TD_TRACE_LINE_MAX /* what trace.c's reader uses */
#define CANARY	  0xa5
#define REL(s_ns) (START_NS + (s_ns))

/* ---- fixtures ---------------------------------------------------------- */

struct fx {
	struct td_opts opts;
	struct td_trace tr;
	char line[LINE_SZ];
	size_t len;
};

static void fx_init(struct fx *f, enum td_format fmt)
{
	memset(f, 0, sizeof(*f));
	f->opts.format = fmt;
	f->tr.opts = &f->opts;
	f->tr.out = NULL;
	f->tr.start_ns = START_NS;
	f->tr.rst = NULL;
}

static const char *fmt_event(struct fx *f, const struct td_event *e)
{
	memset(f->line, CANARY, sizeof(f->line));
	f->len = td_trace_format(&f->tr, e, f->line, sizeof(f->line));
	assert_true(f->len < sizeof(f->line));
	assert_int_equal(f->line[f->len], '\0');
	assert_int_equal(strlen(f->line), f->len);
	return f->line;
}

/* A connect() from curl: 127.0.0.1:40000 -> 10.0.0.2:80, 1.5 s in. */
static struct td_event ev_state(unsigned old, unsigned new, unsigned flags, uint64_t dwell)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = REL(1500000000ull);
	e.cookie = 4242;
	e.dwell_ns = dwell;
	e.cgroup_id = 77;
	e.pid = 1234;
	e.netns = 4026531840u;
	e.type = TD_EV_STATE;
	e.family = AF_INET;
	e.old_state = old;
	e.new_state = new;
	e.owner = TD_OWNER_CONNECT;
	e.flags = flags;
	e.lport = 40000;
	e.rport = 80;
	e.laddr[0] = 127;
	e.laddr[3] = 1;
	e.raddr[0] = 10;
	e.raddr[3] = 2;
	memcpy(e.comm, "curl", 5);
	return e;
}

static struct td_event ev_retrans(unsigned kind, unsigned flags, int err)
{
	struct td_event e = ev_state(TD_TCP_SYN_SENT, TD_TCP_SYN_SENT, flags, 0);

	e.type = TD_EV_RETRANS;
	e.kind = kind;
	e.arg = err;
	return e;
}

static struct td_event ev_reset_sent(unsigned state, unsigned flags, int reason)
{
	struct td_event e = ev_state(state, state, flags, 0);

	e.type = TD_EV_RESET_SENT;
	e.arg = reason;
	if (!state) {
		e.owner = TD_OWNER_NONE;
		e.pid = 0;
		e.cgroup_id = 0;
		memset(e.comm, 0, sizeof(e.comm));
	}
	return e;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int count_char(const char *s, size_t n, char c)
{
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fprintf(stderr, "missing <<%s>> in <<%s>>\n", (needle), (hay));            \
		assert_non_null(strstr((hay), (needle)));                                          \
	} while (0)

#define assert_ends_with(s, suffix)                                                                \
	do {                                                                                       \
		if (!ends_with((s), (suffix)))                                                     \
			fprintf(stderr, "<<%s>> does not end with <<%s>>\n", (s), (suffix));       \
		assert_true(ends_with((s), (suffix)));                                             \
	} while (0)

static void assert_json_line(const struct fx *f)
{
	if (!json_object_line_ok(f->line, f->len))
		fprintf(stderr, "not one JSON object line: <<%s>>\n", f->line);
	assert_true(json_object_line_ok(f->line, f->len));
	assert_int_equal(strncmp(f->line, "{\"schema\":1,", 12), 0);
	assert_ends_with(f->line, "}\n");
	assert_int_equal(count_char(f->line, f->len, '\n'), 1);
}

/* Text columns of the fixture event up to the EVENT column. */
#define TEXT_PREFIX "1.500000 1234    curl            127.0.0.1:40000       10.0.0.2:80           "
/* JSON fields of the fixture event common to every type, after "time". */
#define JSON_COMMON                                                                                \
	"\"ts_ns\":1001500000000,\"cookie\":4242,\"pid\":1234,\"comm\":\"curl\","                  \
	"\"owner\":\"connect\",\"cgroup\":77,\"cgroup_path\":null,\"container\":null,"             \
	"\"container_kind\":null,\"pod\":null,\"netns\":4026531840,\"family\":4,"                  \
	"\"laddr\":\"127.0.0.1\",\"lport\":40000,\"raddr\":\"10.0.0.2\",\"rport\":80,"

/* A text line is exactly prefix, then the event description, padding, the
 * MS column (may be empty) and a newline. The EVENT column's width is not
 * part of the contract. */
static bool text_line_is(const char *line, const char *prefix, const char *what, const char *ms)
{
	size_t p = strlen(prefix), w = strlen(what), spaces = 0;
	const char *s = line;

	if (strncmp(s, prefix, p))
		return false;
	s += p;
	if (strncmp(s, what, w))
		return false;
	s += w;
	while (*s == ' ') {
		s++;
		spaces++;
	}
	if (*ms && !spaces)
		return false;
	if (strncmp(s, ms, strlen(ms)))
		return false;
	return !strcmp(s + strlen(ms), "\n");
}

#define assert_text_line(line, prefix, what, ms)                                                   \
	do {                                                                                       \
		if (!text_line_is((line), (prefix), (what), (ms)))                                 \
			fprintf(stderr, "want <<%s%s ... %s>> got <<%s>>\n", (prefix), (what),     \
				(ms), (line));                                                     \
		assert_true(text_line_is((line), (prefix), (what), (ms)));                         \
	} while (0)

#define assert_starts_with(s, prefix)                                                              \
	do {                                                                                       \
		if (strncmp((s), (prefix), strlen(prefix)))                                        \
			fprintf(stderr, "<<%s>> does not start with <<%s>>\n", (s), (prefix));     \
		assert_int_equal(strncmp((s), (prefix), strlen(prefix)), 0);                       \
	} while (0)

/* ---- the JSON checker itself must be able to fail ----------------------- */

static void test_json_checker(void **state)
{
	static const char *const bad[] = {
	    "{\"a\":1\n",
	    "{\"a\":1}}\n",
	    "{\"a\":1,}\n",
	    "{\"a\":\"x\x1by\"}\n",
	    "{\"a\":\"x\"y\"}\n",
	    "{\"a\":\"\\x1b\"}\n",
	    "{\"a\":1}\n\n",
	    "{\"a\":1} \n",
	    "{\"a\":01}\n",
	    "{\"a\":1.}\n",
	    "{\"a\":tru}\n",
	    "{\"a\":[1,2}\n",
	    "{\"a\":1}",
	    "{a:1}\n",
	    "{\"a\" 1}\n",
	    "[1]\n",
	    "{\"a\":\"\\u00g1\"}\n",
	    "{\"a\":\"unterminated}\n",
	};
	static const char *const good[] = {
	    "{}\n",
	    "{\"a\":1}\n",
	    "{\"a\":-0.5,\"b\":[1,{\"c\":null}],\"d\":\"\\u001b\\\"\\\\\",\"e\":true}\n",
	    "{\"a\":1e-3,\"b\":false}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (json_object_line_ok(bad[i], strlen(bad[i])))
			fprintf(stderr, "checker accepted <<%s>>\n", bad[i]);
		assert_false(json_object_line_ok(bad[i], strlen(bad[i])));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(json_object_line_ok(good[i], strlen(good[i])));
}

/* ---- state events ------------------------------------------------------ */

static void test_state_new_text(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);

	(void)state;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "CLOSE -> SYN_SENT", "new");
	assert_int_equal(count_char(f.line, f.len, '\n'), 1);
	/* the check itself is strict: another MS column is not accepted */
	assert_false(text_line_is(f.line, TEXT_PREFIX, "CLOSE -> SYN_SENT", "0.000"));
	assert_false(text_line_is(f.line, TEXT_PREFIX, "CLOSE -> SYN_RECV", "new"));
}

static void test_state_new_json(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);

	(void)state;
	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_starts_with(f.line, "{\"schema\":1,\"type\":\"state\",\"time\":1.500000," JSON_COMMON
				   "\"old\":\"CLOSE\",\"new\":\"SYN_SENT\",");
	assert_contains(f.line, ",\"dwell_ns\":null,\"created\":true,");
	assert_contains(f.line, ",\"first_seen\":false,");
	assert_contains(f.line, ",\"deferred\":false");

	/* a creation transition has no dwell even if the field is not zero */
	e.dwell_ns = 999;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"dwell_ns\":null,\"created\":true,");
	assert_null(strstr(f.line, "999"));
}

static void test_state_dwell(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 1234567);

	(void)state;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "SYN_SENT -> ESTABLISHED", "1.234");

	e.dwell_ns = 0;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "SYN_SENT -> ESTABLISHED", "0.000");
	e.dwell_ns = 60000000000ull;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "SYN_SENT -> ESTABLISHED", "60000.000");

	fx_init(&f, TD_FMT_JSON);
	e.dwell_ns = 1234567;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_starts_with(f.line,
			   "{\"schema\":1,\"type\":\"state\",\"time\":1.500000," JSON_COMMON
			   "\"old\":\"SYN_SENT\",\"new\":\"ESTABLISHED\",\"dwell_ns\":1234567,"
			   "\"created\":false,\"first_seen\":false,\"deferred\":false");
}

static void test_state_first_and_deferred(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1, TD_F_FIRST, 0);

	(void)state;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "ESTABLISHED -> FIN_WAIT1", "first");

	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"dwell_ns\":null,\"created\":false,\"first_seen\":true,"
				"\"deferred\":false");

	e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW | TD_F_DEFERRED, 0);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"dwell_ns\":null,\"created\":true,\"first_seen\":false,"
				"\"deferred\":true");
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "CLOSE -> SYN_SENT", "new");
}

/* The timewait part of a connection (TD_F_TW): its end is named. */
static void test_state_timewait(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, 60000000000ull);

	(void)state;
	e.kind = TD_TW_END_EXPIRED;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "TIME_WAIT -> CLOSED expired", "60000.000");

	e.kind = TD_TW_END_REUSED;
	e.flags |= TD_F_LATE;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "TIME_WAIT -> CLOSED reused (was FIN_WAIT2(tw))",
			 "60000.000");

	/* the orphan substate has a name of its own */
	e = ev_state(TD_TCP_FIN_WAIT2_TW, TD_TCP_TIME_WAIT, TD_F_TW, 2000000);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "FIN_WAIT2(tw) -> TIME_WAIT", "2.000");

	/* a connection that could not get a timewait socket */
	e = ev_state(TD_TCP_FIN_WAIT1, TD_TCP_CLOSE, 0, 1000000);
	e.kind = TD_TW_END_OVERFLOW;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "FIN_WAIT1 -> CLOSE (no TIME_WAIT: overflow)",
			 "1.000");

	fx_init(&f, TD_FMT_JSON);
	e = ev_state(TD_TCP_TIME_WAIT, TD_TCP_CLOSE, TD_F_TW, 60000000000ull);
	e.kind = TD_TW_END_EXPIRED;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line,
			"\"old\":\"TIME_WAIT\",\"new\":\"CLOSE\",\"dwell_ns\":60000000000,");
	assert_contains(f.line, ",\"timewait\":true,");
	assert_contains(f.line, ",\"end\":\"expired\",");

	/* the substate switch was not seen: no dwell, only the time in timewait */
	e.flags |= TD_F_LATE;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"dwell_ns\":null,\"timewait_ns\":60000000000,");

	/* an ordinary transition */
	e = ev_state(TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 5);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"timewait\":false,");
	assert_contains(f.line, ",\"end\":null,");
}

/* A connect() that failed before its SYN: why, and the port range. */
static void test_state_connect_failed(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_SYN_SENT, TD_TCP_CLOSE, 0, 1000);

	(void)state;
	e.kind = TD_CONNECT_NO_PORT;
	e.arg = (int32_t)(40000u | 40003u << 16);
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_contains(f.line, "SYN_SENT -> CLOSE connect failed: no free local port "
				"(ip_local_port_range 40000-40003)");
	e.kind = TD_CONNECT_IN_USE;
	e.arg = (int32_t)(32768u | 60999u << 16); /* hi above 32767: the top bit */
	fmt_event(&f, &e);
	assert_contains(f.line, "connect failed: 4-tuple in use (ip_local_port_range 32768-60999)");

	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line,
			",\"end\":null,\"substate_switch_unseen\":false,"
			"\"connect_failed\":\"tuple_in_use\",\"port_range\":[32768,60999]}");
	e.arg = 0; /* the range unknown */
	e.kind = TD_CONNECT_NO_SYN;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "\"connect_failed\":\"before_syn\",\"port_range\":null}");
	/* a refused connect(): its SYN left */
	e.kind = TD_CONNECT_OK;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, ",\"end\":null,");
	assert_contains(f.line, "\"connect_failed\":null}");
	/* the same kind value elsewhere is a timewait end, not a failure */
	e = ev_state(TD_TCP_FIN_WAIT1, TD_TCP_CLOSE, 0, 1000);
	e.kind = TD_TW_END_OVERFLOW;
	fmt_event(&f, &e);
	assert_contains(f.line, "\"end\":\"overflow\"");
	assert_contains(f.line, "\"connect_failed\":null}");
}

static void test_owner_column(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_SYN_RECV, TD_TCP_ESTABLISHED, 0, 1000);

	(void)state;
	e.owner = TD_OWNER_INFERRED;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_starts_with(f.line, "1.500000 1234*   curl            127.0.0.1:40000 ");

	e.pid = 4294967295u;
	fmt_event(&f, &e);
	assert_starts_with(f.line, "1.500000 4294967295* curl ");

	e.pid = 1234;
	e.owner = TD_OWNER_ACCEPT;
	fmt_event(&f, &e);
	assert_starts_with(f.line, TEXT_PREFIX);
	assert_null(strchr(f.line, '*'));

	/* nothing known: dashes, whatever the comm bytes say */
	e.owner = TD_OWNER_NONE;
	fmt_event(&f, &e);
	assert_starts_with(f.line, "1.500000 -       -               127.0.0.1:40000 ");

	fx_init(&f, TD_FMT_JSON);
	e.owner = TD_OWNER_INFERRED;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "\"pid\":1234,\"comm\":\"curl\",\"owner\":\"inferred\",");
	e.owner = TD_OWNER_LISTENER;
	fmt_event(&f, &e);
	assert_contains(f.line, "\"owner\":\"listener\",");
}

/* ---- hostile comm ------------------------------------------------------ */

static void test_comm_escaped(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 1000);

	(void)state;
	memset(e.comm, 0, sizeof(e.comm));
	memcpy(e.comm, "\x1b[31mevil\\\"", 11);

	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_contains(f.line, " \\x1b[31mevil\\x5c\" ");
	assert_null(memchr(f.line, 0x1b, f.len));

	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "\"comm\":\"\\u001b[31mevil\\\\\\\"\",");
	assert_null(memchr(f.line, 0x1b, f.len));

	/* a comm without NUL is 16 bytes, no more */
	memset(e.comm, 'A', sizeof(e.comm));
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "\"comm\":\"AAAAAAAAAAAAAAAA\",");
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_contains(f.line, " AAAAAAAAAAAAAAAA ");
	assert_null(strstr(f.line, "AAAAAAAAAAAAAAAAA"));

	/* every control and high byte */
	for (int c = 1; c < 256; c++) {
		if (c >= 0x20 && c < 0x7f)
			continue;
		memset(e.comm, 0, sizeof(e.comm));
		e.comm[0] = 'x';
		e.comm[1] = (char)c;
		fx_init(&f, TD_FMT_TEXT);
		fmt_event(&f, &e);
		assert_int_equal(count_char(f.line, f.len, '\n'), 1);
		for (size_t i = 0; i < f.len; i++)
			assert_true((unsigned char)f.line[i] >= 0x20 || f.line[i] == '\n');
		for (size_t i = 0; i < f.len; i++)
			assert_true((unsigned char)f.line[i] < 0x7f);
		fx_init(&f, TD_FMT_JSON);
		fmt_event(&f, &e);
		assert_json_line(&f);
		for (size_t i = 0; i < f.len; i++)
			assert_true((unsigned char)f.line[i] < 0x7f);
	}
}

/* ---- retransmits ------------------------------------------------------- */

static void test_retrans(void **state)
{
	struct fx f;
	struct td_event e = ev_retrans(TD_RETRANS_SYN, 0, 0);

	(void)state;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS syn in SYN_SENT", "");

	e = ev_retrans(TD_RETRANS_SYN, TD_F_FAILED | TD_F_HAS_ERR, -11);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS syn in SYN_SENT FAILED err=-11", "");

	/* the text shows the error of a failed attempt whatever HAS_ERR says */
	e = ev_retrans(TD_RETRANS_SYN, TD_F_FAILED, -11);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS syn in SYN_SENT FAILED err=-11", "");

	e = ev_retrans(TD_RETRANS_SYNACK, 0, 0);
	e.old_state = TD_TCP_NEW_SYN_RECV;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS synack in NEW_SYN_RECV", "");
	e = ev_retrans(TD_RETRANS_DATA, 0, 0);
	e.old_state = TD_TCP_ESTABLISHED;
	e.ca_state = TD_CA_LOSS;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS data in ESTABLISHED (loss)", "");
	e.kind = TD_RETRANS_TLP;
	e.ca_state = TD_CA_OPEN;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS tlp in ESTABLISHED (open)", "");

	fx_init(&f, TD_FMT_JSON);
	e = ev_retrans(TD_RETRANS_SYN, 0, 0);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_starts_with(f.line, "{\"schema\":1,\"type\":\"retrans\",");
	assert_ends_with(f.line, ",\"state\":\"SYN_SENT\",\"kind\":\"syn\",\"ca_state\":null,"
				 "\"err\":null,\"failed\":false,\"segs\":1}\n");

	/* err only when the kernel reports it */
	e = ev_retrans(TD_RETRANS_SYN, TD_F_FAILED, -11);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(
	    f.line,
	    ",\"kind\":\"syn\",\"ca_state\":null,\"err\":null,\"failed\":true,\"segs\":1}\n");

	e = ev_retrans(TD_RETRANS_SYN, TD_F_FAILED | TD_F_HAS_ERR, -11);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(
	    f.line,
	    ",\"kind\":\"syn\",\"ca_state\":null,\"err\":-11,\"failed\":true,\"segs\":1}\n");

	e = ev_retrans(TD_RETRANS_DATA, TD_F_HAS_ERR, 0);
	e.ca_state = TD_CA_RECOVERY;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(f.line, ",\"kind\":\"data\",\"ca_state\":\"recovery\",\"err\":0,"
				 "\"failed\":false,\"segs\":1}\n");

	/* an skb of several segments: the kernel's counters count each */
	e.segs = 3;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(f.line, "\"failed\":false,\"segs\":3}\n");
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RETRANS data in SYN_SENT (recovery) 3 segs", "");
}

/* ---- resets ------------------------------------------------------------ */

static void test_reset_sent(void **state)
{
	const char *nosock = "1.500000 -       -               127.0.0.1:40000       10.0.0.2:80"
			     "           ";
	struct fx f;
	struct td_event e = ev_reset_sent(0, 0, 0);

	(void)state;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, nosock, "RST sent, no socket", "");

	/* no kernel names loaded (rst == NULL): the reason as a number */
	e = ev_reset_sent(0, TD_F_HAS_REASON, 7);
	fmt_event(&f, &e);
	assert_text_line(f.line, nosock, "RST sent, no socket (7)", "");
	e.arg = -1;
	fmt_event(&f, &e);
	assert_text_line(f.line, nosock, "RST sent, no socket (-1)", "");
	e.arg = INT_MIN;
	fmt_event(&f, &e);
	assert_text_line(f.line, nosock, "RST sent, no socket (-2147483648)", "");

	e = ev_reset_sent(TD_TCP_ESTABLISHED, TD_F_HAS_REASON, 2);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RST sent in ESTABLISHED (2)", "");
	e.flags = 0;
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RST sent in ESTABLISHED", "");

	/* RST answering a segment with no family at all */
	e = ev_reset_sent(0, 0, 0);
	e.family = 0;
	memset(e.laddr, 0, sizeof(e.laddr));
	memset(e.raddr, 0, sizeof(e.raddr));
	e.lport = 0;
	e.rport = 0;
	fmt_event(&f, &e);
	assert_text_line(f.line,
			 "1.500000 -       -               0.0.0.0:0             0.0.0.0:0"
			 "             ",
			 "RST sent, no socket", "");

	fx_init(&f, TD_FMT_JSON);
	e = ev_reset_sent(0, 0, 0);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_starts_with(f.line, "{\"schema\":1,\"type\":\"reset_sent\",");
	assert_contains(f.line, "\"pid\":0,\"comm\":\"\",\"owner\":\"none\",");
	assert_ends_with(f.line, ",\"state\":\"NO_SOCKET\",\"reason\":null}\n");

	e = ev_reset_sent(0, TD_F_HAS_REASON, 7);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(f.line, ",\"state\":\"NO_SOCKET\",\"reason\":\"7\"}\n");

	e = ev_reset_sent(TD_TCP_CLOSE_WAIT, TD_F_HAS_REASON, -3);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_ends_with(f.line, ",\"state\":\"CLOSE_WAIT\",\"reason\":\"-3\"}\n");
}

static void test_reset_recv(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_ESTABLISHED, TD_TCP_ESTABLISHED, 0, 0);

	(void)state;
	e.type = TD_EV_RESET_RECV;
	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line, TEXT_PREFIX, "RST recv in ESTABLISHED", "");

	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_starts_with(f.line, "{\"schema\":1,\"type\":\"reset_recv\",");
	assert_ends_with(f.line, ",\"state\":\"ESTABLISHED\",\"reason\":null}\n");
}

/* ---- time and addresses ------------------------------------------------ */

static void test_relative_time(void **state)
{
	static const struct {
		int64_t off;
		const char *text, *json;
	} cases[] = {
	    {1500000000, "1.500000 ", "\"time\":1.500000,"},
	    {0, "0.000000 ", "\"time\":0.000000,"},
	    {999, "0.000000 ", "\"time\":0.000000,"},
	    {1000, "0.000001 ", "\"time\":0.000001,"},
	    {3723000001000ll, "3723.000001 ", "\"time\":3723.000001,"},
	    {-500000000, "-0.500000 ", "\"time\":-0.500000,"},
	    {-2000001000, "-2.000001 ", "\"time\":-2.000001,"},
	};
	struct fx f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);

		e.ts_ns = START_NS + cases[i].off;
		fx_init(&f, TD_FMT_TEXT);
		fmt_event(&f, &e);
		assert_starts_with(f.line, cases[i].text);

		fx_init(&f, TD_FMT_JSON);
		fmt_event(&f, &e);
		assert_json_line(&f);
		assert_contains(f.line, cases[i].json);
	}
}

static void test_wall_time(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	/* realtime 1700000000 s (2023-11-14T22:13:20Z) when monotonic read START_NS */
	fx_init(&f, TD_FMT_TEXT);
	f.opts.wall_time = true;
	f.tr.wall_off_ns = (int64_t)(1700000000ull * 1000000000ull - START_NS);
	fmt_event(&f, &e);
	assert_starts_with(f.line, "22:13:21.500000 1234    curl ");

	fx_init(&f, TD_FMT_JSON);
	f.opts.wall_time = true;
	f.tr.wall_off_ns = (int64_t)(1700000000ull * 1000000000ull - START_NS);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "{\"schema\":1,\"type\":\"state\",\"wall\":\"2023-11-14T22:13:21."
				"500000\",\"time\":1.500000,\"ts_ns\":");
}

static void test_ipv6_and_wide(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 1234567);
	const __u8 lo6[TD_ADDR_LEN] = {[15] = 1};
	const __u8 doc[TD_ADDR_LEN] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

	(void)state;
	e.family = AF_INET6;
	memcpy(e.laddr, lo6, sizeof(lo6));
	memcpy(e.raddr, doc, sizeof(doc));
	e.rport = 443;

	fx_init(&f, TD_FMT_TEXT);
	fmt_event(&f, &e);
	assert_text_line(f.line,
			 "1.500000 1234    curl            [::1]:40000           [2001:db8::2]:443"
			 "     ",
			 "SYN_SENT -> ESTABLISHED", "1.234");

	f.opts.wide = true;
	fmt_event(&f, &e);
	assert_text_line(f.line,
			 "1.500000 1234    curl            6 4026531840 4242                 "
			 "connect  77           [::1]:40000                                     "
			 "[2001:db8::2]:443                               ",
			 "SYN_SENT -> ESTABLISHED", "1.234");

	/* IPv4 in the wide view */
	e = ev_state(TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED, 0, 1234567);
	e.owner = TD_OWNER_LISTENER;
	fmt_event(&f, &e);
	assert_starts_with(f.line, "1.500000 1234    curl            4 4026531840 4242        "
				   "         listener 77           127.0.0.1:40000 ");
	e.family = AF_INET6;
	memcpy(e.laddr, lo6, sizeof(lo6));
	memcpy(e.raddr, doc, sizeof(doc));
	e.rport = 443;

	fx_init(&f, TD_FMT_JSON);
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line, "\"family\":6,\"laddr\":\"::1\",\"lport\":40000,"
				"\"raddr\":\"2001:db8::2\",\"rport\":443,");
	/* -w changes nothing in JSON */
	{
		char plain[LINE_SZ];

		strcpy(plain, f.line);
		f.opts.wide = true;
		fmt_event(&f, &e);
		assert_string_equal(f.line, plain);
	}
}

/* ---- buffer limits ----------------------------------------------------- */

static void test_truncation(void **state)
{
	struct fx f;
	struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);
	char full[LINE_SZ], buf[LINE_SZ + 16];

	(void)state;
	for (int fmt = TD_FMT_TEXT; fmt <= TD_FMT_JSON; fmt++) {
		size_t full_len;

		fx_init(&f, fmt);
		fmt_event(&f, &e);
		strcpy(full, f.line);
		full_len = f.len;

		memset(buf, CANARY, sizeof(buf));
		assert_int_equal(td_trace_format(&f.tr, &e, buf, 0), 0);
		assert_int_equal((unsigned char)buf[0], CANARY);

		for (size_t sz = 1; sz <= full_len + 2; sz++) {
			size_t n;

			memset(buf, CANARY, sizeof(buf));
			n = td_trace_format(&f.tr, &e, buf, sz);
			assert_true(n < sz);
			assert_int_equal(buf[n], '\0');
			assert_int_equal(strlen(buf), n);
			assert_memory_equal(buf, full, n);
			assert_int_equal(n, sz > full_len ? full_len : sz - 1);
			for (size_t k = sz; k < sizeof(buf); k++)
				assert_int_equal((unsigned char)buf[k], CANARY);
		}
	}
}

/* The biggest record of each type still fits the reader's 1024-byte line
 * whole: a cut line would lose its closing brace and newline. */
static void test_worst_case_fits(void **state)
{
	struct td_cgnames *names = td_cgnames_new(false, NULL);
	char path[TD_CG_PATH_MAX];
	struct fx f;

	(void)state;
	/* the longest path, every byte one that JSON escapes as \u00XX */
	memset(path, 0x01, sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(td_cgnames_put(names, UINT64_MAX, path), 0);
	setenv("TZ", "UTC", 1);
	tzset();
	for (unsigned t = TD_EV_STATE; t < TD_EV_TYPE_MAX; t++) {
		for (int fmt = TD_FMT_TEXT; fmt <= TD_FMT_JSON; fmt++) {
			struct td_event e;

			memset(&e, 0, sizeof(e));
			e.ts_ns = 0; /* before the start: the longest relative time */
			e.cookie = UINT64_MAX;
			e.dwell_ns = UINT64_MAX;
			e.cgroup_id = UINT64_MAX;
			e.pid = UINT32_MAX;
			e.netns = UINT32_MAX;
			e.type = t;
			e.family = AF_INET6;
			e.old_state = TD_TCP_NEW_SYN_RECV;
			e.new_state = TD_TCP_NEW_SYN_RECV;
			e.owner = TD_OWNER_INFERRED;
			e.flags = TD_F_FAILED | TD_F_HAS_ERR | TD_F_HAS_REASON | TD_F_DEFERRED;
			e.lport = 65535;
			e.rport = 65535;
			e.kind = TD_RETRANS_SYNACK;
			e.arg = INT_MIN;
			memset(e.laddr, 0xff, sizeof(e.laddr));
			memset(e.raddr, 0xfe, sizeof(e.raddr));
			memset(e.comm, 0xff, sizeof(e.comm));

			fx_init(&f, fmt);
			f.tr.start_ns = UINT64_MAX / 2;
			f.opts.wall_time = true;
			f.opts.wide = true;
			f.opts.containers = true;
			f.tr.wall_off_ns = INT64_MAX / 4;
			f.tr.names = names;
			fmt_event(&f, &e);
			assert_true(f.len < LINE_SZ - 1);
			assert_ends_with(f.line, "\n");
			if (fmt == TD_FMT_JSON)
				assert_json_line(&f);
		}
	}
	td_cgnames_free(names);
}

/* ---- the owner's cgroup: its path and container ------------------------ */

#define DOCKER_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_container(void **state)
{
	struct td_cgnames *names = td_cgnames_new(false, NULL);
	struct td_event e = ev_state(TD_TCP_CLOSE, TD_TCP_SYN_SENT, TD_F_NEW, 0);
	struct fx f;

	(void)state;
	td_cgnames_put(names, 77, "/system.slice/docker-" DOCKER_ID ".scope");
	fx_init(&f, TD_FMT_JSON);
	f.tr.names = names;
	fmt_event(&f, &e);
	assert_json_line(&f);
	assert_contains(f.line,
			",\"cgroup\":77,\"cgroup_path\":\"/system.slice/docker-" DOCKER_ID
			".scope\",\"container\":\"" DOCKER_ID "\",\"container_kind\":\"docker\","
			"\"pod\":null,");
	/* -C: the short id after COMM; "-" where no owner or no container; the
	 * id where the cgroup is unknown */
	fx_init(&f, TD_FMT_TEXT);
	f.opts.containers = true;
	f.tr.names = names;
	fmt_event(&f, &e);
	assert_contains(f.line, " curl            0123456789ab 127.0.0.1:40000 ");
	e.cgroup_id = 78;
	fmt_event(&f, &e);
	assert_contains(f.line, " curl            78           127.0.0.1:40000 ");
	td_cgnames_put(names, 78, "/user.slice");
	fmt_event(&f, &e);
	assert_contains(f.line, " curl            -            127.0.0.1:40000 ");
	e.owner = TD_OWNER_NONE;
	fmt_event(&f, &e);
	assert_contains(f.line, "-               -            127.0.0.1:40000 ");
	td_cgnames_free(names);
}

/* ---- property: every record the decoder accepts formats cleanly -------- */

static void test_random_events_valid_json(void **state)
{
	static const unsigned char families[] = {0, AF_INET, AF_INET6};
	uint64_t seed = 0x243f6a8885a308d3ull;
	unsigned long formatted = 0;
	struct fx fj, ft;

	(void)state;
	fx_init(&fj, TD_FMT_JSON);
	fx_init(&ft, TD_FMT_TEXT);
	for (int iter = 0; iter < 20000; iter++) {
		unsigned char raw[sizeof(struct td_event)];
		struct td_event e, ok;
		uint64_t r;

		for (size_t i = 0; i < sizeof(raw); i += 8) {
			r = xorshift64(&seed);
			memcpy(raw + i, &r, 8);
		}
		memcpy(&e, raw, sizeof(e));
		r = xorshift64(&seed);
		e.type = 1 + r % 4;
		e.family = families[(r >> 8) % 3];
		e.old_state = (r >> 16) % TD_TCP_MAX_STATES;
		e.new_state = (r >> 24) % TD_TCP_MAX_STATES;
		e.owner = (r >> 32) % TD_OWNER_MAX;
		e.kind = (r >> 40) % TD_RETRANS_KIND_MAX;
		if (td_event_decode(&e, sizeof(e), &ok))
			continue;
		fj.opts.wall_time = ft.opts.wall_time = iter & 1;
		ft.opts.wide = iter & 2;
		fj.tr.start_ns = ft.tr.start_ns = xorshift64(&seed) >> (iter % 64);
		fmt_event(&fj, &ok);
		assert_json_line(&fj);
		assert_null(memchr(fj.line, 0x1b, fj.len));
		fmt_event(&ft, &ok);
		assert_ends_with(ft.line, "\n");
		assert_int_equal(count_char(ft.line, ft.len, '\n'), 1);
		assert_null(memchr(ft.line, 0x1b, ft.len));
		formatted++;
	}
	assert_true(formatted > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_checker),
	    cmocka_unit_test(test_state_new_text),
	    cmocka_unit_test(test_state_new_json),
	    cmocka_unit_test(test_state_dwell),
	    cmocka_unit_test(test_state_first_and_deferred),
	    cmocka_unit_test(test_state_timewait),
	    cmocka_unit_test(test_state_connect_failed),
	    cmocka_unit_test(test_owner_column),
	    cmocka_unit_test(test_comm_escaped),
	    cmocka_unit_test(test_retrans),
	    cmocka_unit_test(test_reset_sent),
	    cmocka_unit_test(test_reset_recv),
	    cmocka_unit_test(test_relative_time),
	    cmocka_unit_test(test_wall_time),
	    cmocka_unit_test(test_ipv6_and_wide),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_worst_case_fits),
	    cmocka_unit_test(test_container),
	    cmocka_unit_test(test_random_events_valid_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
