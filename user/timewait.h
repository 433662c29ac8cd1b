/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell timewait`: the TIME_WAIT census. */
#ifndef TCPDWELL_TIMEWAIT_H
#define TCPDWELL_TIMEWAIT_H

#include "cli.h"

int td_timewait_main(const struct td_opts *o);

#endif /* TCPDWELL_TIMEWAIT_H */
