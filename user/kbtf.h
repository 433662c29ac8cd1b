/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The running kernel's BTF, for the names tcpdwell reads itself (enum
 * values, doctor's facts); libbpf loads its own copy for CO-RE.
 */
#ifndef TCPDWELL_KBTF_H
#define TCPDWELL_KBTF_H

struct btf;

/* /sys/kernel/btf/vmlinux parsed, or NULL with errno set. */
struct btf *td_kbtf_load(void);

#endif /* TCPDWELL_KBTF_H */
