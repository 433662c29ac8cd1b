// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell doctor`: one line per check, ok / degraded / missing, and what
 * to do. The kernel differences the BPF side handles with CO-RE (the
 * fields of a tracepoint, the types it needs) are looked up here the same
 * way, in the kernel's own BTF, and shown as facts: never a version check.
 * Exit 0 when the main job can run (privileges, BTF, the programs load).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "doctor.h"
#include "json.h"
#include "format.h"
#include "fastread.h"
#include "kbtf.h"
#include "kconfig.h"
#include "ksym.h"
#include "privs.h"
#include "sockid.h"
#include "tracefs.h"
#include "tracer.h"

enum verdict { OK, INFO, DEGRADED, MISSING };
static const char *const verdict_names[] = {"ok", "info", "degraded", "missing"};

struct doc {
	bool json;
	int missing; /* checks the main job cannot run without */
	struct td_json j;
	struct td_line line;
	char buf[4096];
};

static void line(struct doc *d, enum verdict v, const char *check, bool essential, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

static void line(struct doc *d, enum verdict v, const char *check, bool essential, const char *fmt,
		 ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (essential && v == MISSING)
		d->missing++;
	if (!d->json) {
		printf("%-9s %-38s %s\n", verdict_names[v], check, msg);
		return;
	}
	td_json_object(&d->j, NULL);
	td_json_str(&d->j, "check", check);
	td_json_str(&d->j, "status", verdict_names[v]);
	td_json_bool(&d->j, "essential", essential);
	td_json_str(&d->j, "detail", msg);
	td_json_close(&d->j);
}

static bool has_type(const struct btf *btf, const char *name, int kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) > 0;
}

/* A tp_btf tracepoint exists when the kernel has its btf_trace_ typedef. */
static void tracepoint(struct doc *d, const struct btf *btf, const char *tp, const char *what,
		       bool essential)
{
	char name[96], check[96];

	snprintf(name, sizeof(name), "btf_trace_%s", strchr(tp, ':') + 1);
	snprintf(check, sizeof(check), "tracepoint %s", tp);
	if (has_type(btf, name, BTF_KIND_TYPEDEF))
		line(d, OK, check, essential, "%s", what);
	else
		line(d, essential ? MISSING : DEGRADED, check, essential,
		     "not in this kernel: no %s", what);
}

/* A kernel fact that changes what tcpdwell can show: ok, or degraded. */
static void fact(struct doc *d, bool holds, const char *check, const char *yes, const char *no)
{
	line(d, holds ? OK : DEGRADED, check, false, "%s", holds ? yes : no);
}

/* How sockets are named here: the kernel's cookies, or ids of our own. */
static void socket_ids(struct doc *d, bool can)
{
	enum td_sockid ids;
	char why[256];

	if (!can) {
		line(d, MISSING, "socket ids", false, "not probed (privileges or BTF missing)");
		return;
	}
	td_sockid_choose(TD_SOCKID_AUTO, &ids, why, sizeof(why));
	if (ids == TD_SOCKID_COOKIE)
		line(d, OK, "socket ids", false,
		     "the kernel's socket cookies, as `ss -e` prints them");
	else
		line(d, DEGRADED, "socket ids", false,
		     "tcpdwell's own ids, not the cookies `ss -e` prints (%s)", why);
}

/* How the timer programs read a timewait socket: direct loads, or a
 * probe read per field (fastread.h). Both see the same; one costs more. */
static void timewait_reads(struct doc *d, bool can)
{
	char why[256];

	if (!can)
		line(d, MISSING, "timewait reads", false, "not probed (privileges or BTF missing)");
	else if (td_fastread_works(why, sizeof(why)))
		line(d, OK, "timewait reads", false, "direct loads (bpf_rdonly_cast)");
	else
		line(d, OK, "timewait reads", false, "a probe read per field, slower (%s)", why);
}

/* The accept() hook tcpdwell will use here, and why not a cheaper one. */
static void accept_hook(struct doc *d, bool can)
{
	enum td_accept_hook h;
	char why[512];

	if (!can) {
		line(d, MISSING, "accept() attribution", false,
		     "not probed (privileges or BTF missing)");
		return;
	}
	td_accept_hook_choose(TD_ACCEPT_AUTO, false, &h, why, sizeof(why));
	switch (h) {
	case TD_ACCEPT_FENTRY:
	case TD_ACCEPT_KPROBE:
		line(d, OK, "accept() attribution", false, "%s: runs on accept() only%s%s",
		     td_accept_hook_target(h), *why ? "; " : "", why);
		break;
	case TD_ACCEPT_TRACEPOINT:
		line(d, DEGRADED, "accept() attribution", false,
		     "%s: every syscall on the host pays ~50 ns (%s); --no-accept-tracepoint "
		     "leaves it out, accepted sockets then keep their listener's owner",
		     td_accept_hook_target(h), why);
		break;
	default:
		line(d, DEGRADED, "accept() attribution", false,
		     "none: accepted sockets keep their listener's owner (%s)", why);
	}
}

/* The effective capabilities that matter to tcpdwell, listed. */
static void capabilities(struct doc *d)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {{CAP_BPF, "CAP_BPF"},
		    {CAP_PERFMON, "CAP_PERFMON"},
		    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
		    {CAP_NET_ADMIN, "CAP_NET_ADMIN"},
		    {CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE"}};
	char have[160] = "", lack[160] = "";
	uint64_t eff;
	int err = td_caps_effective(&eff);

	if (err) {
		line(d, INFO, "capabilities", false, "unreadable (%s)", strerror(-err));
		return;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char *to = eff & 1ull << caps[i].cap ? have : lack;

		snprintf(to + strlen(to), 160 - strlen(to), "%s%s", *to ? " " : "", caps[i].name);
	}
	line(d, INFO, "capabilities", false,
	     "effective: %s; not: %s (CAP_NET_ADMIN: setns for "
	     "--netns paths; CAP_SYS_ADMIN implies CAP_BPF and CAP_PERFMON)",
	     *have ? have : "none", *lack ? lack : "none");
}

/* The program and map types tcpdwell loads. A tracing program (tp_btf,
 * iter/tcp) cannot be probed without a target: the load of tcpdwell's own
 * programs (`loaded`) is the probe for those. */
static void bpf_features(struct doc *d, bool can, bool loaded)
{
	int rb = can ? libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) : -1;
	int tp = can ? libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) : -1;
	int tr = loaded ? 1 : -1;

	if (!can) {
		line(d, MISSING, "ring buffer", true, "not probed (privileges or BTF missing)");
		return;
	}
	line(d, rb == 1 ? OK : MISSING, "ring buffer", true, "%s",
	     rb == 1 ? "BPF_MAP_TYPE_RINGBUF (5.8+): every event crosses it"
		     : "no BPF_MAP_TYPE_RINGBUF: needs Linux 5.8 or newer");
	line(d, tp == 1 ? OK : DEGRADED, "program type tracepoint", false, "%s",
	     tp == 1 ? "loads (the accept() fallback)"
		     : "refused: no accept() attribution by syscall tracepoint");
	line(d, tr == 1 ? OK : MISSING, "program type tracing", true, "%s",
	     tr == 1 ? "tp_btf (every tracepoint program) and iter/tcp (the census)"
		     : "refused: tp_btf and iter/tcp programs cannot load");
}

/* A filesystem mounted at path, by its magic. */
static bool mounted(const char *path, long magic)
{
	struct statfs fs;

	return !statfs(path, &fs) && fs.f_type == magic;
}

int td_doctor_main(const struct td_opts *o)
{
	struct doc d = {.json = o->format == TD_FMT_JSON};
	const struct btf *btf = NULL;
	struct utsname u;
	struct rlimit rl;
	struct stat st;
	char why[256];
	uint64_t addr;
	char src[300];
	bool loaded = false;
	bool proc_cfg = !access("/proc/config.gz", R_OK);
	long hz;

	d.line = (struct td_line){d.buf, sizeof(d.buf), 0};
	td_json_init(&d.j, &d.line, stdout);
	if (d.json) {
		td_json_record(&d.j, NULL, "doctor");
		td_json_array(&d.j, "checks");
	}
	uname(&u);
	line(&d, INFO, "kernel", false, "%s %s", u.release, u.machine);
	line(&d, td_privileged() ? OK : MISSING, "privileges", true,
	     td_privileged() ? "root, or CAP_BPF and CAP_PERFMON"
			     : "needs root, or CAP_BPF and CAP_PERFMON (try: sudo tcpdwell ...)");
	capabilities(&d);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		line(&d, MISSING, "btf", true,
		     "/sys/kernel/btf/vmlinux missing: needs a kernel built with "
		     "CONFIG_DEBUG_INFO_BTF=y");
	} else {
		btf = td_kbtf();
		line(&d, btf ? OK : MISSING, "btf", true, "%s",
		     btf ? "/sys/kernel/btf/vmlinux" : "kernel BTF unreadable");
	}
	hz = td_kconfig_long_src("CONFIG_HZ", src, sizeof(src));
	if (hz > 0)
		line(&d, OK, "kernel config", false,
		     "CONFIG_HZ=%ld from %s%s (timewait: remaining time and age of older sockets)",
		     hz, src, proc_cfg ? "" : " (no /proc/config.gz: CONFIG_IKCONFIG_PROC is off)");
	else
		line(&d, DEGRADED, "kernel config", false,
		     "no /proc/config.gz or /boot/config-%s: timewait cannot date sockets older "
		     "than tcpdwell",
		     u.release);

	/* the programs this kernel will take: the final word */
	if (!td_privileged() || !btf)
		line(&d, MISSING, "bpf programs", true, "not tried (privileges or BTF missing)");
	else if (td_tracer_probe(why, sizeof(why)))
		line(&d, MISSING, "bpf programs", true, "%s (TCPDWELL_DEBUG=1 for the log)", why);
	else
		loaded = true;
	if (loaded)
		line(&d, OK, "bpf programs", true,
		     "tp_btf, tracepoint and iter/tcp programs and the ring buffer load");
	bpf_features(&d, td_privileged() && btf, loaded);

	tracepoint(&d, btf, "sock:inet_sock_set_state", "state transitions", true);
	tracepoint(&d, btf, "tcp:tcp_retransmit_skb", "retransmits", false);
	fact(&d, td_kbtf_has_field(btf, "trace_event_raw_tcp_retransmit_skb", "err"),
	     "tcp_retransmit_skb err", "failed retransmit attempts are reported, shown apart",
	     "no err field (6.1 shape): failed attempts are not traced");
	tracepoint(&d, btf, "tcp:tcp_retransmit_synack", "SYN-ACK retransmits", false);
	tracepoint(&d, btf, "tcp:tcp_send_reset", "resets sent", false);
	fact(&d, td_kbtf_has_field(btf, "trace_event_raw_tcp_send_reset", "reason"),
	     "tcp_send_reset reason", "the kernel's reason, and RSTs sent without a socket",
	     "no reason, and RSTs sent without a socket are not traced (before 6.10)");
	tracepoint(&d, btf, "tcp:tcp_receive_reset", "resets received", false);
	tracepoint(&d, btf, "timer:timer_start", "TIME_WAIT entry", false);
	tracepoint(&d, btf, "timer:timer_cancel", "TIME_WAIT end", false);
	tracepoint(&d, btf, "timer:timer_expire_entry", "TIME_WAIT expiry", false);
	if (td_ksym_lookup("tw_timer_handler", &addr))
		line(&d, DEGRADED, "ksym tw_timer_handler", false,
		     "not in /proc/kallsyms: no TIME_WAIT tracking");
	else if (!addr)
		line(&d, DEGRADED, "ksym tw_timer_handler", false,
		     "address hidden (kernel.kptr_restrict): no TIME_WAIT tracking without "
		     "CAP_SYSLOG or root");
	else
		line(&d, OK, "ksym tw_timer_handler", false, "timewait timers recognised");
	/* what the loss summary shows as n/a without it (user/tracer.c reads
	 * bpf_prog_info as long as this kernel's) */
	fact(&d, td_kbtf_has_field(btf, "bpf_prog_info", "recursion_misses"), "recursion misses",
	     "counted per program (bpf_prog_info.recursion_misses)",
	     "not counted by this kernel (before 5.12): n/a in the loss summary");
	/* the programs read either (bpf/state.bpf.c, td_tw_overflow) */
	if (td_kbtf_has_field(btf, "inet_timewait_death_row", "tw_refcount"))
		line(&d, OK, "netns timewait count", false,
		     "tcp_death_row.tw_refcount: TIME_WAIT overflow told apart");
	else
		fact(&d, td_kbtf_has_field(btf, "inet_timewait_death_row", "tw_count"),
		     "netns timewait count",
		     "tcp_death_row.tw_count: TIME_WAIT overflow told apart",
		     "neither tw_refcount nor tw_count: a TIME_WAIT overflow looks like a reset");
	if (td_tracefs_mounted())
		line(&d, OK, "tracefs", false, "mounted (the accept() tracepoint fallback)");
	else
		line(&d, INFO, "tracefs", false, "not mounted: tcpdwell mounts it at start");
	if (mounted("/sys/fs/bpf", BPF_FS_MAGIC))
		line(&d, INFO, "bpffs", false,
		     "mounted at /sys/fs/bpf; not needed (nothing is "
		     "pinned)");
	else
		line(&d, INFO, "bpffs", false, "%s; not needed (nothing is pinned)",
		     stat("/sys/fs/bpf", &st) ? "no /sys/fs/bpf" : "not mounted at /sys/fs/bpf");
	if (!getrlimit(RLIMIT_MEMLOCK, &rl))
		line(&d, INFO, "memlock", false,
		     "%s (BPF memory is charged to the cgroup since 5.11)",
		     rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "limited");
	accept_hook(&d, td_privileged() && btf);
	socket_ids(&d, td_privileged() && btf);
	timewait_reads(&d, td_privileged() && btf);

	if (d.json) {
		td_json_close(&d.j);
		td_json_bool(&d.j, "can_run", !d.missing);
		td_json_end(&d.j);
	} else
		printf("%s\n", d.missing ? "tcpdwell cannot run here: see the missing checks above"
					 : "tcpdwell can run here");
	return d.missing ? TD_EXIT_USAGE : TD_EXIT_OK;
}
