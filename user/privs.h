/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Capabilities: whether tcpdwell may load its programs, and giving up the
 * ones it no longer needs once they are attached.
 */
#ifndef TCPDWELL_PRIVS_H
#define TCPDWELL_PRIVS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/capability.h>

#include "cli.h"

#ifndef CAP_PERFMON /* older headers */
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* This process's effective capabilities, bit per CAP_*. Returns 0 or -errno. */
int td_caps_effective(uint64_t *eff);

/* root, or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN). */
bool td_privileged(void);

/* The capabilities (bit per CAP_*) a command still needs after its
 * programs are attached and its maps and ring buffer are open. */
uint64_t td_caps_needed(const struct td_opts *o);

/*
 * Keep only `keep`: effective and permitted sets reduced, the bounding set
 * and ambient set cleared of the rest (so nothing tcpdwell runs later can
 * regain them), inheritable emptied. Returns 0 or -errno.
 */
int td_caps_limit(uint64_t keep);

/* td_caps_limit(td_caps_needed(o)) once attached; a failure is a warning
 * on stderr (tcpdwell works on, with more privilege than it needs). */
void td_caps_drop(uint64_t keep);

#endif /* TCPDWELL_PRIVS_H */
