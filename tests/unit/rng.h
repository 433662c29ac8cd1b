/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A fixed-seed xorshift64 generator: the unit tests' random input is the
 * same on every run. */
#ifndef TCPDWELL_TEST_RNG_H
#define TCPDWELL_TEST_RNG_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

#endif /* TCPDWELL_TEST_RNG_H */
