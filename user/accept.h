/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * accept() attribution: which of bpf/owner.bpf.c's hooks this kernel
 * takes, decided by load-time probes, never by version (docs/design.md §4).
 */
#ifndef TCPDWELL_ACCEPT_H
#define TCPDWELL_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

enum td_accept_hook {
	TD_ACCEPT_AUTO,	      /* the cheapest this kernel takes */
	TD_ACCEPT_FENTRY,     /* fentry/security_sock_graft: on accept only */
	TD_ACCEPT_KPROBE,     /* kprobe/security_sock_graft: on accept only */
	TD_ACCEPT_TRACEPOINT, /* syscalls:sys_exit_accept*: every syscall pays */
	TD_ACCEPT_NONE,	      /* children keep their listener's owner */
};

/* "fentry", "kprobe", ...: the --accept-hook names. */
const char *td_accept_hook_name(enum td_accept_hook h);

/* The hook named s; -1 when s names none. */
int td_accept_hook_parse(const char *s, enum td_accept_hook *h);

/* What the hook attaches to, for messages ("fentry/security_sock_graft"). */
const char *td_accept_hook_target(enum td_accept_hook h);

/* Whether this kernel takes hook h (a probe of that very attachment,
 * then dropped); when not, why (one phrase). */
bool td_accept_hook_works(enum td_accept_hook h, char *why, size_t sz);

/* The hook to use for `want`: itself when it works (else -1, with why),
 * or for TD_ACCEPT_AUTO the first that works of fentry, kprobe and, unless
 * no_tracepoint, the tracepoints; TD_ACCEPT_NONE when none does, with why
 * the better ones were passed over. */
int td_accept_hook_choose(enum td_accept_hook want, bool no_tracepoint, enum td_accept_hook *out,
			  char *why, size_t sz);

#endif /* TCPDWELL_ACCEPT_H */
