/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Validation of raw ring-buffer records before anything trusts them. */
#ifndef TCPDWELL_EVENT_H
#define TCPDWELL_EVENT_H

#include <stddef.h>
#include <linux/types.h>

#include "events.h"

/* Copy a raw record into *out if it is a well-formed td_event.
 * Returns 0, or -1 for a record of the wrong size or with out-of-range
 * fields (counted by the caller as a bad record). */
int td_event_decode(const void *data, size_t size, struct td_event *out);

#endif /* TCPDWELL_EVENT_H */
