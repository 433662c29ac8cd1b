/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The running kernel's BTF, for the names tcpdwell reads itself (enum
 * values, doctor's facts); libbpf loads its own copy for CO-RE.
 */
#ifndef TCPDWELL_KBTF_H
#define TCPDWELL_KBTF_H

struct btf;
struct bpf_insn;

#include <stdbool.h>
#include <stddef.h>

/* /sys/kernel/btf/vmlinux parsed once per process and shared (callers
 * never free it), or NULL with errno set. */
const struct btf *td_kbtf(void);

/* Drop the parsed BTF (the next td_kbtf() parses again), and with it
 * every pointer td_kbtf() returned: the tracer's, before libbpf parses its
 * own copy to load the programs, so that the two never add up in the peak
 * RSS. doctor, which holds it throughout, never calls this. */
void td_kbtf_release(void);

/*
 * Load the program `insns` as a tracing program of attach type `type` on
 * the kernel's BTF type `target` (of BTF kind `kind`: a tracepoint's
 * btf_trace_ typedef, a function), as the load-time probes do: its fd, or
 * -ENOENT when the kernel's BTF has no such type, or -errno from the load.
 */
int td_kbtf_probe_load(const char *target, int kind, int type, const struct bpf_insn *insns,
		       size_t n);

/* The kernel's struct `type` has a member `field` (false without btf):
 * how CO-RE's field-exists checks look from user space. */
bool td_kbtf_has_field(const struct btf *btf, const char *type, const char *field);

#endif /* TCPDWELL_KBTF_H */
