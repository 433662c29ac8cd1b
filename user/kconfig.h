/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The running kernel's build configuration (/boot/config-$(uname -r) or the
 * zlib-compressed /proc/config.gz). */
#ifndef TCPDWELL_KCONFIG_H
#define TCPDWELL_KCONFIG_H

/* The numeric value of a CONFIG_ symbol ("CONFIG_HZ"), or -1 when the
 * configuration or the symbol cannot be read. */
long td_kconfig_long(const char *name);

#endif /* TCPDWELL_KCONFIG_H */
