/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What every libFuzzer harness here shares. A harness is one file,
 * tests/fuzz/<name>.c, defining LLVMFuzzerTestOneInput, with its seed corpus
 * in tests/fuzz/corpus/<name>/; the Makefile finds both by name, so adding
 * one (the recording reader's, say) needs no other change.
 */
#ifndef TCPDWELL_FUZZ_H
#define TCPDWELL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken invariant is a crash: libFuzzer saves the input that broke it. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(fuzz_stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,  \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static FILE *fuzz_stderr;

/* The code under test prints a line per rejected input; at tens of thousands
 * of inputs a second that is most of the time spent, so stdio goes to
 * /dev/null. The sanitizers write to fd 2 directly and are still seen. */
static inline void fuzz_quiet(void)
{
	FILE *null;

	if (fuzz_stderr)
		return;
	fuzz_stderr = stderr;
	null = fopen("/dev/null", "w");
	if (!null)
		return;
	stdout = null;
	stderr = null;
}

/* The input as a NUL-terminated string in an allocation of exactly its size
 * (+1), so that ASan sees a read past the end. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = data[i] ? (char)data[i] : ' ';
	s[size] = '\0';
	return s;
}

#endif /* TCPDWELL_FUZZ_H */
