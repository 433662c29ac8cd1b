// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Least privilege. Loading and attaching needs CAP_BPF and CAP_PERFMON
 * (CAP_SYS_ADMIN on older setups, and for mounting tracefs or entering
 * namespaces); once the links, maps and ring buffer are open, a command
 * needs little: reading its maps still takes CAP_BPF where the kernel
 * refuses bpf() to the unprivileged (6.1 with unprivileged_bpf_disabled).
 * Raw capget/capset: the binary is static and libcap is not needed for
 * three system calls.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "commands.h"
#include "err.h"
#include "privs.h"

#define BIT(cap) (1ull << (cap))

int td_caps_effective(uint64_t *eff)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return -errno;
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	return 0;
}

bool td_privileged(void)
{
	uint64_t eff;

	if (td_caps_effective(&eff))
		return geteuid() == 0;
	return (eff & BIT(CAP_SYS_ADMIN)) || ((eff & BIT(CAP_BPF)) && (eff & BIT(CAP_PERFMON)));
}

/* The highest capability this kernel knows. */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

uint64_t td_caps_needed(const struct td_opts *o)
{
	/* bpf() on the maps: CAP_BPF, or CAP_SYS_ADMIN before CAP_BPF existed */
	uint64_t keep = last_cap() >= CAP_BPF ? BIT(CAP_BPF) : BIT(CAP_SYS_ADMIN);

	/* a replay reads a file that may come from anywhere: nothing at all */
	if (o->replay_path)
		return 0;
	keep |= o->command->caps;
	/* --rotate creates the next file later, maybe in a directory root
	 * does not own */
	if (o->rotate_bytes)
		keep |= BIT(CAP_DAC_OVERRIDE);
	return keep;
}

int td_caps_limit(uint64_t keep)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};
	int last = last_cap(), err = 0;

	if (syscall(SYS_capget, &h, d))
		return -errno;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the rest below (best effort: a container may lack it) */
	for (int cap = 0; cap <= last; cap++)
		if (!(keep & BIT(cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && !err)
			err = -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		d[i].permitted &= (uint32_t)(keep >> (32 * i));
		d[i].effective &= (uint32_t)(keep >> (32 * i));
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return err == -EPERM ? 0 : err;
}

void td_caps_drop(uint64_t keep)
{
	int err = td_caps_limit(keep);

	if (err)
		td_msg("warning: cannot drop capabilities: %s", strerror(-err));
}
