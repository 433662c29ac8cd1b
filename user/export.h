/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef TCPDWELL_EXPORT_H
#define TCPDWELL_EXPORT_H

#include "cli.h"

/* `tcpdwell export`: Prometheus metrics on --listen. */
int td_export_main(const struct td_opts *o);

#endif /* TCPDWELL_EXPORT_H */
