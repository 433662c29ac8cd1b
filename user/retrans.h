/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell retrans`: retransmits (and with --resets, resets). */
#ifndef TCPDWELL_RETRANS_H
#define TCPDWELL_RETRANS_H

#include "cli.h"

int td_retrans_main(const struct td_opts *o);

#endif /* TCPDWELL_RETRANS_H */
