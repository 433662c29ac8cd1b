/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The running kernel's build configuration (the zlib-compressed
 * /proc/config.gz, or /boot/config-$(uname -r) when that is absent). */
#ifndef TCPDWELL_KCONFIG_H
#define TCPDWELL_KCONFIG_H

/* The numeric value of a CONFIG_ symbol ("CONFIG_HZ"), or -1 when the
 * configuration or the symbol cannot be read. */
long td_kconfig_long(const char *name);

/* The same, and which file it came from in src ("/proc/config.gz" first,
 * else "/boot/config-RELEASE"). */
long td_kconfig_long_src(const char *name, char *src, size_t srcsz);

#endif /* TCPDWELL_KCONFIG_H */
