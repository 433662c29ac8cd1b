// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ksym.h"

/* One line of /proc/kallsyms: "ffffffff81000000 T name\t[module]\n".
 * Parsed by hand: the file has ~100 000 lines and only a few names are
 * wanted, so the address is converted only for a name that matches
 * (sscanf on every line was most of tcpdwell's start-up under valgrind). */
int td_ksym_match_line(const char *line, const char *const *names, int n, uint64_t *addrs)
{
	const char *sp = strchr(line, ' '), *name, *end;
	uint64_t a = 0;
	size_t len;
	int i;

	if (!sp || !sp[1] || sp[2] != ' ')
		return -1;
	name = sp + 3;
	len = strcspn(name, "\t\n");
	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], name, len))
			break;
	if (i == n)
		return -1;
	for (end = line; end < sp; end++) {
		char c = *end;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (end - line >= 16)
			return -1;
		a = a << 4 | d;
	}
	if (end == line)
		return -1;
	addrs[i] = a;
	return i;
}

int td_ksyms_resolve(const char *const *names, int n, uint64_t *addrs, unsigned *found)
{
	char line[512];
	FILE *f = fopen("/proc/kallsyms", "re");
	unsigned all = n >= 32 ? ~0u : (1u << n) - 1;
	int i;

	*found = 0;
	for (i = 0; i < n; i++)
		addrs[i] = 0;
	if (!f)
		return -errno;
	while (*found != all && fgets(line, sizeof(line), f)) {
		i = td_ksym_match_line(line, names, n, addrs);
		if (i >= 0 && i < 32)
			*found |= 1u << i;
	}
	fclose(f);
	return 0;
}

int td_ksym_lookup(const char *name, uint64_t *addr)
{
	unsigned found;
	int err = td_ksyms_resolve(&name, 1, addr, &found);

	if (err)
		return err;
	return found ? 0 : -ENOENT;
}
