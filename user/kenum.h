/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Names of kernel enum values read from the running kernel's BTF, so that
 * numbers whose meaning changes between kernels (the RST reason) print as
 * this kernel means them.
 */
#ifndef TCPDWELL_KENUM_H
#define TCPDWELL_KENUM_H

struct td_kenum;

/* Load enum `name` from kernel BTF, dropping `prefix` from value names.
 * Returns NULL when BTF or the enum is missing (callers print numbers). */
struct td_kenum *td_kenum_load(const char *name, const char *prefix);
const char *td_kenum_name(const struct td_kenum *k, long long value);
void td_kenum_free(struct td_kenum *k);

#endif /* TCPDWELL_KENUM_H */
