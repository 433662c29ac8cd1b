/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* `tcpdwell doctor`: what this kernel and host let tcpdwell do. */
#ifndef TCPDWELL_DOCTOR_H
#define TCPDWELL_DOCTOR_H

#include "cli.h"

int td_doctor_main(const struct td_opts *o);

#endif /* TCPDWELL_DOCTOR_H */
