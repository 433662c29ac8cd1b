/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The running kernel's BTF, for the names tcpdwell reads itself (enum
 * values, doctor's facts); libbpf loads its own copy for CO-RE.
 */
#ifndef TCPDWELL_KBTF_H
#define TCPDWELL_KBTF_H

struct btf;

#include <stdbool.h>

/* /sys/kernel/btf/vmlinux parsed, or NULL with errno set. */
struct btf *td_kbtf_load(void);

/* The kernel's struct `type` has a member `field` (false without btf):
 * how CO-RE's field-exists checks look from user space. */
bool td_kbtf_has_field(const struct btf *btf, const char *type, const char *field);

#endif /* TCPDWELL_KBTF_H */
