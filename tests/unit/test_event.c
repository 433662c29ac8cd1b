// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests for user/event.c: validation of raw ring-buffer records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"
#include "rng.h"

#define POISON 0x5a

static struct td_event valid_event(void)
{
	struct td_event e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 123456789012345ull;
	e.cookie = 0x1122334455667788ull;
	e.dwell_ns = 1234567;
	e.cgroup_id = 4242;
	e.pid = 31337;
	e.netns = 4026531840u;
	e.type = TD_EV_STATE;
	e.family = AF_INET;
	e.old_state = TD_TCP_SYN_SENT;
	e.new_state = TD_TCP_ESTABLISHED;
	e.owner = TD_OWNER_CONNECT;
	e.flags = 0;
	e.lport = 40000;
	e.rport = 443;
	e.kind = 0;
	e.arg = -11;
	e.laddr[0] = 127;
	e.laddr[3] = 1;
	e.raddr[0] = 10;
	e.raddr[3] = 2;
	memcpy(e.comm, "curl", 5);
	return e;
}

/* Decode e; on rejection *out must be left untouched. */
static int decode(const struct td_event *e, struct td_event *out)
{
	struct td_event poison;
	int rc;

	memset(out, POISON, sizeof(*out));
	memset(&poison, POISON, sizeof(poison));
	rc = td_event_decode(e, sizeof(*e), out);
	if (rc)
		assert_memory_equal(out, &poison, sizeof(poison));
	else
		assert_memory_equal(out, e, sizeof(*e));
	return rc;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct td_event), 104);
	assert_int_equal(offsetof(struct td_event, type), 40);
	assert_int_equal(offsetof(struct td_event, laddr), 56);
	assert_int_equal(offsetof(struct td_event, comm), 88);
}

static void test_valid_copied(void **state)
{
	struct td_event e = valid_event(), out;
	unsigned char raw[sizeof(e) + 1];

	(void)state;
	assert_int_equal(decode(&e, &out), 0);
	assert_int_equal(out.ts_ns, 123456789012345ull);
	assert_int_equal(out.cookie, 0x1122334455667788ull);
	assert_int_equal(out.pid, 31337);
	assert_string_equal(out.comm, "curl");

	/* unaligned source: the ring buffer gives no alignment promise here */
	memcpy(raw + 1, &e, sizeof(e));
	memset(&out, 0, sizeof(out));
	assert_int_equal(td_event_decode(raw + 1, sizeof(e), &out), 0);
	assert_memory_equal(&out, &e, sizeof(e));

	e.family = AF_INET6;
	assert_int_equal(decode(&e, &out), 0);

	/* every event type with valid fields is accepted */
	for (unsigned t = TD_EV_STATE; t < TD_EV_TYPE_MAX; t++) {
		e = valid_event();
		e.type = t;
		assert_int_equal(decode(&e, &out), 0);
	}
	/* the limits themselves */
	e = valid_event();
	e.old_state = TD_TCP_MAX_STATES - 1;
	e.new_state = TD_TCP_MAX_STATES - 1;
	e.owner = TD_OWNER_MAX - 1;
	assert_int_equal(decode(&e, &out), 0);
	e.old_state = 0; /* "no socket" */
	e.new_state = 0;
	e.owner = TD_OWNER_NONE;
	assert_int_equal(decode(&e, &out), 0);
}

static void test_wrong_size(void **state)
{
	struct td_event e = valid_event(), out, poison;
	unsigned char big[2 * sizeof(e)];

	(void)state;
	memset(&poison, POISON, sizeof(poison));
	memset(big, 0, sizeof(big));
	memcpy(big, &e, sizeof(e));
	static const size_t sizes[] = {0, 1, 8, 103, 105, 208};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&out, POISON, sizeof(out));
		assert_int_equal(td_event_decode(big, sizes[i], &out), -1);
		assert_memory_equal(&out, &poison, sizeof(out));
	}
	memset(&out, POISON, sizeof(out));
	assert_int_equal(td_event_decode(NULL, sizeof(e), &out), -1);
	assert_int_equal(td_event_decode(NULL, 0, &out), -1);
	assert_memory_equal(&out, &poison, sizeof(out));
	assert_int_equal(td_event_decode(big, sizeof(e), &out), 0);
}

static void test_bad_type(void **state)
{
	struct td_event e = valid_event(), out;

	(void)state;
	e.type = 0;
	assert_int_equal(decode(&e, &out), -1);
	e.type = TD_EV_TYPE_MAX;
	assert_int_equal(decode(&e, &out), -1);
	e.type = 255;
	assert_int_equal(decode(&e, &out), -1);
}

static void test_family(void **state)
{
	struct td_event e = valid_event(), out;

	(void)state;
	static const unsigned bad[] = {1, 3, 9, 11, 17, 255};
	for (unsigned t = TD_EV_STATE; t < TD_EV_TYPE_MAX; t++) {
		e = valid_event();
		e.type = t;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			e.family = bad[i];
			assert_int_equal(decode(&e, &out), -1);
		}
		e.family = AF_INET;
		assert_int_equal(decode(&e, &out), 0);
		e.family = AF_INET6;
		assert_int_equal(decode(&e, &out), 0);
		/* no family: only a RST sent without a socket */
		e.family = 0;
		assert_int_equal(decode(&e, &out), t == TD_EV_RESET_SENT ? 0 : -1);
	}
}

static void test_bad_states(void **state)
{
	struct td_event e, out;

	(void)state;
	for (unsigned t = TD_EV_STATE; t < TD_EV_TYPE_MAX; t++) {
		static const unsigned bad[] = {TD_TCP_MAX_STATES, 14, 128, 255};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			e = valid_event();
			e.type = t;
			e.old_state = bad[i];
			assert_int_equal(decode(&e, &out), -1);
			e = valid_event();
			e.type = t;
			e.new_state = bad[i];
			assert_int_equal(decode(&e, &out), -1);
		}
	}
}

static void test_bad_owner(void **state)
{
	struct td_event e = valid_event(), out;

	(void)state;
	e.owner = TD_OWNER_MAX;
	assert_int_equal(decode(&e, &out), -1);
	e.owner = 255;
	assert_int_equal(decode(&e, &out), -1);
	e.type = TD_EV_RESET_SENT;
	e.owner = TD_OWNER_MAX;
	assert_int_equal(decode(&e, &out), -1);
}

static void test_retrans_kind(void **state)
{
	struct td_event e = valid_event(), out;

	(void)state;
	e.type = TD_EV_RETRANS;
	for (unsigned k = 0; k < TD_RETRANS_KIND_MAX; k++) {
		e.kind = k;
		assert_int_equal(decode(&e, &out), 0);
	}
	e.kind = TD_RETRANS_KIND_MAX;
	assert_int_equal(decode(&e, &out), -1);
	e.kind = 255;
	assert_int_equal(decode(&e, &out), -1);
	/* the congestion state of a data retransmit: the kernel's five */
	e.kind = TD_RETRANS_DATA;
	for (unsigned s = 0; s < TD_CA_MAX; s++) {
		e.ca_state = s;
		assert_int_equal(decode(&e, &out), 0);
	}
	e.ca_state = TD_CA_MAX;
	assert_int_equal(decode(&e, &out), -1);
	e.ca_state = 255;
	assert_int_equal(decode(&e, &out), -1);
}

/* For a state event kind is how a timewait socket ended. */
static void test_state_tw_end(void **state)
{
	struct td_event e = valid_event(), out;

	(void)state;
	for (unsigned k = 0; k < TD_TW_END_MAX; k++) {
		e.kind = k;
		assert_int_equal(decode(&e, &out), 0);
	}
	e.kind = TD_TW_END_MAX;
	assert_int_equal(decode(&e, &out), -1);
	e.kind = 255;
	assert_int_equal(decode(&e, &out), -1);

	/* the substate that is not a kernel state is a valid state */
	e = valid_event();
	e.old_state = TD_TCP_FIN_WAIT2_TW;
	e.new_state = TD_TCP_TIME_WAIT;
	e.flags = TD_F_TW;
	assert_int_equal(decode(&e, &out), 0);

	/* kind means nothing for resets: any value passes */
	e = valid_event();
	e.kind = 255;
	e.type = TD_EV_RESET_SENT;
	assert_int_equal(decode(&e, &out), 0);
	e.type = TD_EV_RESET_RECV;
	assert_int_equal(decode(&e, &out), 0);
}

/* ---- fuzz -------------------------------------------------------------- */

/* What a well-formed record is, written independently of event.c. */
static bool well_formed(const struct td_event *e)
{
	bool fam_ok = e->family == AF_INET || e->family == AF_INET6 ||
		      (e->family == 0 && e->type == TD_EV_RESET_SENT);

	return e->type >= 1 && e->type <= 5 && fam_ok && e->old_state < TD_TCP_MAX_STATES &&
	       e->new_state < TD_TCP_MAX_STATES && e->owner <= TD_OWNER_PROC &&
	       (e->type != TD_EV_RETRANS || (e->kind <= 3 && e->ca_state <= 4)) &&
	       (e->type != TD_EV_STATE || e->kind < TD_TW_END_MAX);
}

static void test_fuzz(void **state)
{
	static const unsigned char families[] = {0, AF_INET, AF_INET6, 1, 3, 28};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned long accepted = 0, rejected = 0, by_type[TD_EV_TYPE_MAX] = {0};
	unsigned char raw[2 * sizeof(struct td_event)];

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		struct td_event out, e;
		size_t size = sizeof(struct td_event);
		int rc;

		for (size_t i = 0; i < sizeof(raw); i += 8) {
			uint64_t r = xorshift64(&seed);

			memcpy(raw + i, &r, 8);
		}
		/* three in four records get plausible small values so that both
		 * verdicts are common; the rest are raw noise */
		if (iter % 4) {
			uint64_t r = xorshift64(&seed);

			memcpy(&e, raw, sizeof(e));
			e.type = r % 6;
			e.family = families[(r >> 8) % sizeof(families)];
			e.old_state = (r >> 16) % (TD_TCP_MAX_STATES + 1);
			e.new_state = (r >> 24) % (TD_TCP_MAX_STATES + 1);
			e.owner = (r >> 32) % 7;
			e.kind = (r >> 40) % (TD_TW_END_MAX + 1);
			e.ca_state = (r >> 48) % (TD_CA_MAX + 1);
			memcpy(raw, &e, sizeof(e));
		}
		/* one in 64 records has a wrong size */
		if (iter % 64 == 63)
			size = xorshift64(&seed) % sizeof(raw);

		memset(&out, POISON, sizeof(out));
		rc = td_event_decode(raw, size, &out);
		memcpy(&e, raw, sizeof(e));
		if (rc == 0) {
			accepted++;
			by_type[out.type % TD_EV_TYPE_MAX]++;
			assert_int_equal(size, sizeof(struct td_event));
			assert_true(well_formed(&out));
			assert_memory_equal(&out, raw, sizeof(out));
			assert_true(out.type > 0 && out.type < TD_EV_TYPE_MAX);
			assert_true(out.old_state < TD_TCP_MAX_STATES);
			assert_true(out.new_state < TD_TCP_MAX_STATES);
			assert_true(out.owner < TD_OWNER_MAX);
			assert_true(out.family == AF_INET || out.family == AF_INET6 ||
				    (out.family == 0 && out.type == TD_EV_RESET_SENT));
			if (out.type == TD_EV_RETRANS)
				assert_true(out.kind < TD_RETRANS_KIND_MAX);
			if (out.type == TD_EV_STATE)
				assert_true(out.kind < TD_TW_END_MAX);
		} else {
			assert_int_equal(rc, -1);
			rejected++;
			/* the decoder rejects exactly the malformed records */
			assert_true(size != sizeof(struct td_event) || !well_formed(&e));
		}
	}
	/* the generator really exercised both sides and every type */
	assert_true(accepted > 1000);
	assert_true(rejected > 1000);
	for (unsigned t = TD_EV_STATE; t < TD_EV_TYPE_MAX; t++)
		assert_true(by_type[t] > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),	 cmocka_unit_test(test_valid_copied),
	    cmocka_unit_test(test_wrong_size),	 cmocka_unit_test(test_bad_type),
	    cmocka_unit_test(test_family),	 cmocka_unit_test(test_bad_states),
	    cmocka_unit_test(test_bad_owner),	 cmocka_unit_test(test_retrans_kind),
	    cmocka_unit_test(test_state_tw_end), cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
