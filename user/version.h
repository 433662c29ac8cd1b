/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef TCPDWELL_VERSION_H
#define TCPDWELL_VERSION_H
#define TD_VERSION "0.1.0"
#endif
