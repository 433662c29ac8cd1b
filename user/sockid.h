/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Socket identity: the kernel's socket cookies where tracing programs may
 * read them, else ids tcpdwell gives (bpf/common.bpf.h), decided by a
 * load-time probe, never by version (docs/design.md §3.5).
 */
#ifndef TCPDWELL_SOCKID_H
#define TCPDWELL_SOCKID_H

#include <stdbool.h>
#include <stddef.h>

enum td_sockid {
	TD_SOCKID_AUTO,	  /* cookies where the kernel allows, else own */
	TD_SOCKID_COOKIE, /* the kernel's socket cookies (`ss -e`) */
	TD_SOCKID_OWN,	  /* ids tcpdwell gives at first sight */
};

/* The choice named s ("auto", "cookie", "own": the --socket-id names);
 * -1 when s names none. */
int td_sockid_parse(const char *s, enum td_sockid *out);

/* What `want` comes to on this kernel: cookies when asked for and the
 * kernel lets tracing programs read them (else -1, with why), own ids when
 * asked for, and for TD_SOCKID_AUTO the first of the two that works (why
 * then says why cookies were passed over). */
int td_sockid_choose(enum td_sockid want, enum td_sockid *out, char *why, size_t sz);

#endif /* TCPDWELL_SOCKID_H */
