/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef TCPDWELL_RECORD_H
#define TCPDWELL_RECORD_H

#include "cli.h"

/* `tcpdwell record -w FILE`: every event, unfiltered by type, and the
 * census at start, into a recording (recfmt.h) for `tcpdwell replay`. */
int td_record_main(const struct td_opts *o);

#endif /* TCPDWELL_RECORD_H */
