// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Picks the accept() hook (accept.h). Each probe makes the very
 * attachment the hook needs and drops it: a kernel can have BTF and BPF
 * trampolines in its config and still refuse them (this project's 6.18
 * development host answers EPERM to every fentry/fexit load), or lack
 * kprobes altogether. No probe changes the system: tracefs, which only the
 * tracepoint fallback needs, is mounted by the tracer when it attaches.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "accept.h"
#include "kbtf.h"
#include "tracefs.h"

#define KPROBE_PMU "/sys/bus/event_source/devices/kprobe"

static const struct {
	const char *name;
	const char *target;
} hooks[] = {
    [TD_ACCEPT_AUTO] = {"auto", "auto"},
    [TD_ACCEPT_FENTRY] = {"fentry", "fentry/security_sock_graft"},
    [TD_ACCEPT_KPROBE] = {"kprobe", "kprobe/security_sock_graft"},
    [TD_ACCEPT_TRACEPOINT] = {"tracepoint", "syscalls:sys_exit_accept*"},
    [TD_ACCEPT_NONE] = {"none", "none"},
};

const char *td_accept_hook_name(enum td_accept_hook h)
{
	return h <= TD_ACCEPT_NONE ? hooks[h].name : "?";
}

const char *td_accept_hook_target(enum td_accept_hook h)
{
	return h <= TD_ACCEPT_NONE ? hooks[h].target : "?";
}

int td_accept_hook_parse(const char *s, enum td_accept_hook *h)
{
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(s, hooks[i].name)) {
			*h = (enum td_accept_hook)i;
			return 0;
		}
	return -1;
}

#define GRAFT "security_sock_graft"

/* An empty fentry program on security_sock_graft, loaded and attached. */
static bool fentry_works(char *why, size_t sz)
{
	struct bpf_insn prog[] = {
	    {.code = 0xb7, .dst_reg = 0, .imm = 0}, /* r0 = 0 */
	    {.code = 0x95},			    /* exit */
	};
	int fd = td_kbtf_probe_load(GRAFT, BTF_KIND_FUNC, BPF_TRACE_FENTRY, prog, 2), link = -1;

	if (fd == -ENOENT) {
		snprintf(why, sz, GRAFT " not in the kernel's BTF");
		return false;
	}
	if (fd < 0)
		snprintf(why, sz, "the kernel refused an fentry program (%s)", strerror(-fd));
	else if ((link = bpf_link_create(fd, 0, BPF_TRACE_FENTRY, NULL)) < 0)
		snprintf(why, sz, "the kernel refused to attach fentry (%s)", strerror(errno));
	if (link >= 0)
		close(link);
	if (fd >= 0)
		close(fd);
	return link >= 0;
}

/* An unsigned number from a sysfs file, after prefix ("config:"). */
static int read_sysfs_uint(const char *path, const char *prefix, unsigned *out)
{
	char buf[64];
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, sizeof(buf), f) && !strncmp(buf, prefix, strlen(prefix)) &&
	     sscanf(buf + strlen(prefix), "%u", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* A kprobe on security_sock_graft through the kprobe PMU (what libbpf
 * attaches with), opened and closed. */
static bool kprobe_works(char *why, size_t sz)
{
	struct perf_event_attr a = {.size = sizeof(a)};
	unsigned type;
	int fd;

	if (read_sysfs_uint(KPROBE_PMU "/type", "", &type)) {
		snprintf(why, sz, "no kprobes in this kernel (%s)", KPROBE_PMU);
		return false;
	}
	a.type = type;
	a.config1 = (uint64_t)(uintptr_t)GRAFT; /* kprobe_func */
	fd = syscall(__NR_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sz, "a kprobe on " GRAFT " was refused (%s)", strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/* The syscall tracepoints exist (CONFIG_FTRACE_SYSCALLS): in tracefs when
 * it is mounted, else by their record type in the kernel's BTF. */
static bool tracepoint_works(char *why, size_t sz)
{
	FILE *f = td_tracefs_open("events/syscalls/sys_exit_accept4/id");
	const struct btf *btf;
	bool found;

	if (f) {
		fclose(f);
		return true;
	}
	if (td_tracefs_mounted()) {
		snprintf(why, sz, "no syscall tracepoints in this kernel");
		return false;
	}
	btf = td_kbtf();
	found = btf && btf__find_by_name_kind(btf, "trace_event_raw_sys_exit", BTF_KIND_STRUCT) > 0;
	if (!found)
		snprintf(why, sz, "no syscall tracepoints in this kernel");
	return found;
}

bool td_accept_hook_works(enum td_accept_hook h, char *why, size_t sz)
{
	switch (h) {
	case TD_ACCEPT_FENTRY:
		return fentry_works(why, sz);
	case TD_ACCEPT_KPROBE:
		return kprobe_works(why, sz);
	case TD_ACCEPT_TRACEPOINT:
		return tracepoint_works(why, sz);
	case TD_ACCEPT_NONE:
		return true;
	default:
		snprintf(why, sz, "not a hook");
		return false;
	}
}

int td_accept_hook_choose(enum td_accept_hook want, bool no_tracepoint, enum td_accept_hook *out,
			  char *why, size_t sz)
{
	static const enum td_accept_hook order[] = {TD_ACCEPT_FENTRY, TD_ACCEPT_KPROBE,
						    TD_ACCEPT_TRACEPOINT};
	char one[160];
	size_t len = 0;

	*why = '\0';
	if (want != TD_ACCEPT_AUTO) {
		*out = want;
		if (td_accept_hook_works(want, one, sizeof(one)))
			return 0;
		snprintf(why, sz, "%s: %s", td_accept_hook_target(want), one);
		return -1;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		*out = order[i];
		if (order[i] == TD_ACCEPT_TRACEPOINT && no_tracepoint) {
			snprintf(one, sizeof(one), "left out (--no-accept-tracepoint)");
		} else if (td_accept_hook_works(order[i], one, sizeof(one))) {
			return 0;
		}
		if (len < sz)
			len += snprintf(why + len, sz - len, "%s%s: %s", len ? "; " : "",
					td_accept_hook_target(order[i]), one);
	}
	*out = TD_ACCEPT_NONE;
	return 0;
}
