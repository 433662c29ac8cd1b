// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "accept.h"
#include "cgname.h"
#include "err.h"
#include "event.h"
#include "fastread.h"
#include "filter.h"
#include "hist.h"
#include "kbtf.h"
#include "loss.h"
#include "ksym.h"
#include "netns.h"
#include "order.h"
#include "owners.h"
#include "privs.h"
#include "replay.h"
#include "sockid.h"
#include "tracefs.h"
#include "census.skel.h"
#include "tcpdwell.skel.h"
#include "tracer.h"

#define BTF_PATH  "/sys/kernel/btf/vmlinux"
#define BATCH_MAX 16384
/* How long a record can take from its program's clock read to its ring:
 * a periodic drain holds back what is younger, so that a record of
 * another CPU's ring, reserved just after that ring was read, still comes
 * before it (see deliver_batch). */
#define TD_REORDER_NS (10 * 1000000ull)

struct td_tracer;

/* What on_sample is told of the ring a record comes from. */
struct td_ring_ctx {
	struct td_tracer *t;
	int ring;
};

struct td_tracer;

/* Where the events come from: the kernel (live_*) or a recording (replay_*,
 * answered by replay.c). The td_tracer_* calls that differ go through it;
 * the commands see one tracer. */
struct td_source {
	int (*run)(struct td_tracer *t, const struct td_consumer *c);
	void (*finish)(struct td_tracer *t, struct td_loss *loss);
	int (*read_hist)(struct td_tracer *t, struct td_hist *h, uint64_t *imax);
	void (*next_interval)(struct td_tracer *t);
	uint64_t (*now_ns)(const struct td_tracer *t);
	const struct td_rec_header *(*recording)(const struct td_tracer *t);
	int (*snapshot)(struct td_tracer *t, const struct td_netns *ns,
			const struct td_iter_cfg *cfg, td_event_fn fn, void *ctx);
};

struct td_tracer {
	const struct td_tracer_cfg *cfg; /* what the command asks */
	const struct td_source *src;	 /* the kernel, or a recording */
	struct td_replay *replay;	 /* replaying a recording: no BPF at all */
	struct td_cgnames *names;	 /* cgroup ids to paths: walked, or recorded */
	struct tcpdwell_bpf *skel;
	struct ring_buffer *rb;
	int *ring_fds;	   /* one ring buffer per possible CPU (bpf/common.bpf.h) */
	bool *ring_online; /* its CPU was online at start: a full share */
	int nrings;
	uint32_t ring_bytes;
	struct bpf_link *links[TD_MAX_PROGS];
	struct census_bpf *census; /* timewait only */
	struct bpf_link *iter;
	int nlinks;
	int sigfd;
	int epfd;
	uint64_t start_ns;
	int64_t wall_off_ns;
	const struct td_consumer *c;
	struct td_event *batch; /* records in arrival order */
	struct td_event *carry; /* those held back for the next drain */
	size_t batch_cap;
	uint32_t *order; /* batch indices in timestamp order */
	uint32_t *order_tmp;
	size_t nbatch;
	/* the batch's runs (user/order.h): where each ring's records start */
	struct td_ring_ctx *ring_ctx;
	size_t *runs;
	size_t nruns;
	int run_ring; /* the ring the last record came from, -1: none yet */
	struct td_delivered delivered;
	uint64_t bad_records;
	uint64_t last_sweep_ns;	    /* sweep_timewait() */
	bool stop;		    /* signal, duration or consumer: leave the loop */
	bool consumer_done;	    /* the consumer wants no more events */
	enum td_accept_hook accept; /* the accept() hook in use */
	bool own_ids;		    /* socket ids of tcpdwell's own (sockid.h) */
	char degraded[1024];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	/* libbpf's own chatter only on request: our errors are one line */
	if (!getenv("TCPDWELL_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_sample(void *ctx, void *data, size_t size);

/* Whether kfree_skb names the socket of a dropped segment (rx_sk, 6.11+):
 * then the timewait programs need no 4-tuple index of the FIN_WAIT2(tw)
 * sockets (timewait.bpf.c). Asked of the kernel's BTF, as the programs'
 * CO-RE check does. */
static bool kfree_skb_has_rx_sk(void)
{
	return td_kbtf_has_field(td_kbtf(), "trace_event_raw_kfree_skb", "rx_sk");
}

static void note_degraded(struct td_tracer *t, const char *what)
{
	size_t len = strlen(t->degraded);

	if (strstr(t->degraded, what))
		return;
	snprintf(t->degraded + len, sizeof(t->degraded) - len, "%s%s", len ? "; " : "", what);
}

/* The timewait programs tell timers apart by their function's address.
 * A kernel hiding addresses from us (kptr_restrict without CAP_SYSLOG)
 * lists them as 0: every TIME_WAIT would go unseen, so say so. */
static void resolve_timer_fns(struct td_tracer *t)
{
	static const char *const names[] = {"tw_timer_handler", "reqsk_timer_handler",
					    "tcp_write_timer"};
	struct td_config *cfg = &t->skel->rodata->td_cfg;
	uint64_t addrs[3];
	unsigned found;

	if (td_ksyms_resolve(names, 3, addrs, &found) || !(found & 1)) {
		note_degraded(t, "tw_timer_handler not in /proc/kallsyms: TIME_WAIT entries and "
				 "ends are not seen");
		return;
	}
	if (!addrs[0])
		note_degraded(t, "kernel addresses hidden (kptr_restrict): TIME_WAIT entries and "
				 "ends are not seen; run as root or with CAP_SYSLOG");
	cfg->fn_tw_timer = addrs[0];
	cfg->fn_reqsk_timer = addrs[1];
	cfg->fn_write_timer = addrs[2];
}

/* Load only the accept() hook that was picked (the others start unloaded,
 * see bpf/owner.bpf.c). */
static void accept_autoload(struct tcpdwell_bpf *skel, enum td_accept_hook h)
{
	bpf_program__set_autoload(skel->progs.td_accept_fentry, h == TD_ACCEPT_FENTRY);
	bpf_program__set_autoload(skel->progs.td_accept_kprobe, h == TD_ACCEPT_KPROBE);
	bpf_program__set_autoload(skel->progs.td_exit_accept, h == TD_ACCEPT_TRACEPOINT);
	bpf_program__set_autoload(skel->progs.td_exit_accept4, h == TD_ACCEPT_TRACEPOINT);
}

/* The programs that follow timewait sockets: the timer programs in the
 * flavour this kernel takes (fastread.h), kfree_skb and the sweep; or none
 * (a command that follows no timewait socket). */
static void timewait_autoload(struct tcpdwell_bpf *skel, bool on)
{
	char why[256];
	bool direct = on && td_fastread_works(why, sizeof(why));

	bpf_program__set_autoload(skel->progs.td_timer_start, direct);
	bpf_program__set_autoload(skel->progs.td_timer_cancel, direct);
	bpf_program__set_autoload(skel->progs.td_timer_expire, direct);
	bpf_program__set_autoload(skel->progs.td_start_probe, on && !direct);
	bpf_program__set_autoload(skel->progs.td_cancel_probe, on && !direct);
	bpf_program__set_autoload(skel->progs.td_expire_probe, on && !direct);
	bpf_program__set_autoload(skel->progs.td_kfree_skb, on);
	bpf_program__set_autoload(skel->progs.td_tw_sweep, on);
}

/* Each program loaded has a link and a line in the loss report, TD_MAX_PROGS
 * of each at most (loss.h; the recording format has as many): one more is
 * an error, never a program silently left out. */
static int check_prog_count(struct tcpdwell_bpf *skel)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program (prog, skel->obj)
		n += bpf_program__autoload(prog);
	if (n > TD_MAX_PROGS)
		return td_err(TD_EXIT_ERROR, "%d BPF programs to load, more than TD_MAX_PROGS (%d)",
			      n, TD_MAX_PROGS);
	return 0;
}

static bool is_accept_prog(const struct tcpdwell_bpf *skel, const struct bpf_program *prog)
{
	return prog == skel->progs.td_accept_fentry || prog == skel->progs.td_accept_kprobe ||
	       prog == skel->progs.td_exit_accept || prog == skel->progs.td_exit_accept4;
}

/* accept() attribution through the cheapest hook this kernel takes
 * (accept.c). export labels nothing by owner and takes no owner filter:
 * it needs none, and spares the host every hook's cost. */
static int select_accept(struct td_tracer *t)
{
	const struct td_tracer_cfg *cfg = t->cfg;
	enum td_accept_hook want = t->cfg->no_accept_hook ? TD_ACCEPT_NONE : cfg->accept_hook;
	char why[512], what[640];

	if (td_accept_hook_choose(want, cfg->no_accept, &t->accept, why, sizeof(why)))
		return td_err(TD_EXIT_USAGE, "--accept-hook %s: not available here (%s)",
			      td_accept_hook_name(want), why);
	/* the fallback attaches through tracefs: mounted now if nobody did */
	if (t->accept == TD_ACCEPT_TRACEPOINT && !td_tracefs_ready()) {
		if (want != TD_ACCEPT_AUTO)
			return td_err(TD_EXIT_USAGE, "--accept-hook tracepoint: tracefs is not "
						     "mounted and cannot be");
		snprintf(why, sizeof(why), "tracefs is not mounted and cannot be");
		t->accept = TD_ACCEPT_NONE;
	}
	if (t->accept == TD_ACCEPT_NONE && want == TD_ACCEPT_AUTO && !cfg->no_accept) {
		snprintf(what, sizeof(what),
			 "no accept() hook attaches (%s): accepted sockets keep their "
			 "listener's owner",
			 why);
		note_degraded(t, what);
	}
	accept_autoload(t->skel, t->accept);
	return 0;
}

/* Socket cookies where tracing programs may read them, else ids of our
 * own (sockid.c). Said once, where every degraded fact is. */
static int select_sockid(struct td_tracer *t)
{
	const struct td_tracer_cfg *cfg = t->cfg;
	enum td_sockid got;
	char why[256], what[400];

	if (td_sockid_choose(cfg->socket_id, &got, why, sizeof(why)))
		return td_err(TD_EXIT_USAGE, "--socket-id cookie: not available here (%s)", why);
	t->own_ids = got == TD_SOCKID_OWN;
	if (t->own_ids && cfg->socket_id == TD_SOCKID_AUTO) {
		snprintf(what, sizeof(what),
			 "socket ids are tcpdwell's own, not the cookies `ss -e` prints (%s)", why);
		note_degraded(t, what);
	}
	return 0;
}

/* The online CPUs, from "0-3,6" (sysfs): one flag per possible CPU. A
 * CPU that comes online later gets the smallest ring. */
static int online_cpus(bool *online, int n)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int a, b, count = 0;
	char sep;

	for (int i = 0; i < n; i++)
		online[i] = !f; /* unreadable: take them all as online */
	if (!f)
		return n;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-' && fscanf(f, "%d%c", &b, &sep) < 1)
			break;
		for (int i = a; i <= b && i < n; i++)
			if (i >= 0 && !online[i]) {
				online[i] = true;
				count++;
			}
		if (sep != ',')
			break;
	}
	fclose(f);
	return count ? count : (online[0] = true, 1);
}

/* --ringbuf-kb is the total: each online CPU's ring gets its share, a
 * power of two of at least a page; the batch holds all the rings can and
 * as much again for the records a drain keeps. */
static int alloc_batch(struct td_tracer *t, unsigned total_kb)
{
	uint64_t share, size = getpagesize();
	int online;

	t->ring_online = calloc(t->nrings, sizeof(*t->ring_online));
	if (!t->ring_online)
		return -ENOMEM;
	online = online_cpus(t->ring_online, t->nrings);
	share = (uint64_t)total_kb * 1024 / online;
	while (size * 2 <= share)
		size *= 2;
	t->ring_bytes = size;
	/* a record: the ring's 8-byte header and the event */
	t->batch_cap = (uint64_t)online * size / (8 + sizeof(struct td_event)) +
		       (t->nrings - online) * 40 + BATCH_MAX;
	t->batch = calloc(t->batch_cap, sizeof(*t->batch));
	t->carry = calloc(t->batch_cap, sizeof(*t->carry));
	t->order = calloc(t->batch_cap, sizeof(*t->order));
	t->order_tmp = calloc(t->batch_cap, sizeof(*t->order_tmp));
	t->ring_ctx = calloc(t->nrings, sizeof(*t->ring_ctx));
	t->runs = calloc(t->nrings + 1, sizeof(*t->runs));
	t->run_ring = -1;
	for (int i = 0; t->ring_ctx && i < t->nrings; i++)
		t->ring_ctx[i] = (struct td_ring_ctx){.t = t, .ring = i};
	if (!t->batch || !t->carry || !t->order || !t->order_tmp || !t->ring_ctx || !t->runs)
		return -ENOMEM;
	return 0;
}

/* A ring buffer per possible CPU, in td_rings at the CPU's number: made
 * before the programs attach (kernel memory, nothing mapped yet). */
static int make_rings(struct td_tracer *t)
{
	int outer = bpf_map__fd(t->skel->maps.td_rings);

	t->ring_fds = malloc(t->nrings * sizeof(*t->ring_fds));
	if (!t->ring_fds)
		return td_err(TD_EXIT_ERROR, "out of memory");
	for (int i = 0; i < t->nrings; i++)
		t->ring_fds[i] = -1;
	for (int i = 0; i < t->nrings; i++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "td_ring", 0, 0,
					t->ring_online[i] ? t->ring_bytes : (uint32_t)getpagesize(),
					NULL);

		if (fd < 0)
			return td_err(TD_EXIT_ERROR, "cannot create a %u-byte ring buffer: %s",
				      t->ring_bytes, strerror(errno));
		t->ring_fds[i] = fd;
		if (bpf_map_update_elem(outer, &i, &fd, BPF_ANY))
			return td_err(TD_EXIT_ERROR, "cannot install ring buffer %d: %s", i,
				      strerror(errno));
	}
	return 0;
}

/* All rings read through one ring_buffer (one epoll). Mapped last: a
 * ring's pages are all resident once mapped, and the census, loaded after
 * the programs attach, parses the kernel's BTF; one after the other keeps
 * timewait's peak RSS where it was with a single ring (13.6 MiB, 22 MiB
 * the other way round). */
static int read_rings(struct td_tracer *t)
{
	for (int i = 0; i < t->nrings; i++) {
		if (!t->rb)
			t->rb = ring_buffer__new(t->ring_fds[i], on_sample, &t->ring_ctx[i], NULL);
		else if (ring_buffer__add(t->rb, t->ring_fds[i], on_sample, &t->ring_ctx[i]))
			return td_err(TD_EXIT_ERROR, "cannot read ring buffer %d: %s", i,
				      strerror(errno));
		if (!t->rb)
			return td_err(TD_EXIT_ERROR, "cannot set up the ring buffer reader: %s",
				      strerror(errno));
	}
	return 0;
}

static int attach(struct td_tracer *t, struct bpf_program *prog, bool required)
{
	struct bpf_link *link = bpf_program__attach(prog);

	if (!link) {
		if (required)
			return td_err(TD_EXIT_USAGE, "cannot attach %s: %s",
				      bpf_program__name(prog), strerror(errno));
		return -1;
	}
	t->links[t->nlinks++] = link;
	return 0;
}

/* export: the label class of every allow-listed port and peer (0 stays
 * "other"). A port in two entries belongs to the first. */
static int setup_labels(struct td_tracer *t)
{
	const struct td_tracer_cfg *cfg = t->cfg;
	int pfd = bpf_map__fd(t->skel->maps.td_label_ports);
	int qfd = bpf_map__fd(t->skel->maps.td_label_peers);

	for (int i = cfg->label_ports.n - 1; i >= 0; i--) {
		__u8 cls = i + 1;

		for (__u32 port = cfg->label_ports.r[i].lo; port <= cfg->label_ports.r[i].hi;
		     port++)
			if (bpf_map_update_elem(pfd, &port, &cls, BPF_ANY))
				return td_err(TD_EXIT_ERROR, "cannot set the port labels: %s",
					      strerror(errno));
	}
	for (int i = 0; i < cfg->label_peers.n; i++) {
		struct td_lpm_key k = {.prefixlen = cfg->label_peers.p[i].prefix};
		__u8 cls = i + 1;

		memcpy(k.addr, cfg->label_peers.p[i].addr, sizeof(k.addr));
		if (bpf_map_update_elem(qfd, &k, &cls, BPF_ANY))
			return td_err(TD_EXIT_ERROR, "cannot set the peer labels: %s",
				      strerror(errno));
	}
	return 0;
}

static int setup_signals(struct td_tracer *t)
{
	struct epoll_event ev = {.events = EPOLLIN};
	sigset_t set;

	/* SIGPIPE: writes fail with EPIPE and the consumer stops cleanly. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	t->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->sigfd < 0 || t->epfd < 0)
		return -1;
	ev.data.fd = t->sigfd;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->sigfd, &ev))
		return -1;
	ev.data.fd = ring_buffer__epoll_fd(t->rb);
	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev);
}

/* The tracer's maps the census shares: the timewait map its snapshot
 * seeds, the counters, and the filters' maps (one source of truth, and
 * --follow's children are seen by both). */
static int share_census_maps(struct td_tracer *t)
{
	struct census_bpf *c = t->census;
	struct tcpdwell_bpf *s = t->skel;

	if (bpf_map__reuse_fd(c->maps.td_tws, bpf_map__fd(s->maps.td_tws)) ||
	    bpf_map__reuse_fd(c->maps.td_counters, bpf_map__fd(s->maps.td_counters)) ||
	    bpf_map__reuse_fd(c->maps.td_ports, bpf_map__fd(s->maps.td_ports)) ||
	    bpf_map__reuse_fd(c->maps.td_pids, bpf_map__fd(s->maps.td_pids)) ||
	    bpf_map__reuse_fd(c->maps.td_laddrs, bpf_map__fd(s->maps.td_laddrs)) ||
	    bpf_map__reuse_fd(c->maps.td_raddrs, bpf_map__fd(s->maps.td_raddrs)) ||
	    bpf_map__reuse_fd(c->maps.td_cgsel, bpf_map__fd(s->maps.td_cgsel)))
		return td_err(TD_EXIT_ERROR, "cannot share maps with the census: %s",
			      strerror(errno));
	return 0;
}

/* The census iterator, in its own object. Live, it shares the tracer's
 * maps; --once loads it alone and fills its own filter maps. Its records
 * pass the same filters as the ring's (td_filter_pass). */
static int open_census(struct td_tracer *t)
{
	int err;

	t->census = census_bpf__open();
	if (!t->census)
		return td_err(TD_EXIT_ERROR, "cannot open the census object: %s", strerror(errno));
	td_filter_config(&t->cfg->filter, &t->census->rodata->td_cfg);
	t->census->rodata->td_cfg.own_ids = t->own_ids;
	if (t->cfg->census_by_cookie) {
		/* run asks the census about its own sockets by cookie: a
		 * snapshot knows no owners, so no owner filter there */
		t->census->rodata->td_cfg.cgroup_filter = 0;
		t->census->rodata->td_cfg.pid_filter = 0;
		t->census->rodata->td_cfg.known_owner = 0;
	}
	if (t->skel) {
		err = share_census_maps(t);
		if (err)
			return err;
	} else { /* nothing to seed: the smallest maps there can be */
		bpf_map__set_max_entries(t->census->maps.td_tws, 1);
		bpf_map__set_max_entries(t->census->maps.td_cgsel, 1);
	}
	err = census_bpf__load(t->census);
	if (err)
		return td_err(TD_EXIT_USAGE,
			      "the kernel refused the iter/tcp program (%s); run with "
			      "TCPDWELL_DEBUG=1 for the verifier log",
			      strerror(-err));
	if (!t->skel) {
		err =
		    td_filter_fill(&t->cfg->filter,
				   &(struct td_filter_maps){bpf_map__fd(t->census->maps.td_ports),
							    bpf_map__fd(t->census->maps.td_pids),
							    bpf_map__fd(t->census->maps.td_laddrs),
							    bpf_map__fd(t->census->maps.td_raddrs),
							    bpf_map__fd(t->census->maps.td_cgsel)});
		if (err)
			return td_err(TD_EXIT_ERROR, "cannot set the filters: %s", strerror(-err));
	}
	t->iter = bpf_program__attach_iter(t->census->progs.td_census, NULL);
	if (!t->iter)
		return td_err(TD_EXIT_USAGE, "cannot attach the iter/tcp program: %s",
			      strerror(errno));
	return 0;
}

static const struct td_source live_source, replay_source;

/* ---- the live source's phases, in order ----------------------------------
 * Each leaves what it made in the tracer, for td_tracer_close() to undo when
 * a later one fails. */

/* the object, and the reader's batch sized to the rings */
static int phase_open(struct td_tracer *t)
{
	int err = 0;

	t->skel = tcpdwell_bpf__open();
	t->nrings = libbpf_num_possible_cpus();
	if (t->nrings > 0)
		err = alloc_batch(t, t->cfg->ringbuf_kb);
	if (!t->skel || t->nrings <= 0 || err)
		return td_err(TD_EXIT_ERROR, "cannot open the BPF object: %s", strerror(errno));
	return 0;
}

/* what the programs read before load, the map sizes, which programs load */
static int phase_configure(struct td_tracer *t)
{
	const struct td_tracer_cfg *cfg = t->cfg;
	struct tcpdwell_bpf *skel = t->skel;
	int err;

	/* the command's part first: the filters and sizes fill in the rest */
	skel->rodata->td_cfg = cfg->k;
	td_filter_config(&cfg->filter, &skel->rodata->td_cfg);
	skel->rodata->td_cfg.own_ids = t->own_ids;
	skel->rodata->td_cfg.wakeup_bytes =
	    cfg->wakeup_per_event ? 0 : (uint64_t)t->ring_bytes * cfg->wakeup_pct / 100;
	if (cfg->follow) /* children join the listed pids (follow.bpf.c) */
		bpf_map__set_max_entries(skel->maps.td_pids, cfg->max_follow);
	else
		bpf_program__set_autoload(skel->progs.td_fork, false);
	if (cfg->k.agg) { /* export */
		skel->rodata->td_cfg.label_ports = cfg->label_ports.n > 0;
		skel->rodata->td_cfg.label_peers = cfg->label_peers.n > 0;
		skel->rodata->td_cfg.agg_peer_classes = cfg->label_peers.n + 1;
		bpf_map__set_max_entries(skel->maps.td_agg, td_agg_entries(cfg));
		if (!cfg->label_ports.n)
			bpf_map__set_max_entries(skel->maps.td_label_ports, 1);
	} else {
		bpf_map__set_max_entries(skel->maps.td_agg, 1);
		bpf_map__set_max_entries(skel->maps.td_label_ports, 1);
	}
	err = select_accept(t);
	if (err)
		return err;
	bpf_map__set_max_entries(skel->maps.td_rings, t->nrings);
	bpf_map__set_max_entries(skel->maps.td_socks, cfg->max_sockets);
	bpf_map__set_max_entries(skel->maps.td_cg_hist, cfg->k.cg_hist ? TD_MAX_CG_HIST : 1);
	if (!cfg->filter.ncgroups && !cfg->filter.container[0])
		bpf_map__set_max_entries(skel->maps.td_cgsel, 1);
	bpf_map__set_max_entries(skel->maps.td_closing, t->own_ids ? cfg->max_sockets : 1);
	bpf_map__set_max_entries(skel->maps.td_tws, cfg->timewait_map);
	bpf_map__set_max_entries(skel->maps.td_tw_fins, kfree_skb_has_rx_sk() ? 1
							: cfg->timewait_map < 65536
							    ? cfg->timewait_map
							    : 65536);
	timewait_autoload(skel, cfg->timewait);
	if (bpf_program__autoload(skel->progs.td_tw_sweep))
		resolve_timer_fns(t);
	return check_prog_count(skel);
}

/* into the kernel, then what only exists after load: filter maps, labels,
 * the rings */
static int phase_load(struct td_tracer *t)
{
	struct tcpdwell_bpf *skel = t->skel;
	int err;

	td_kbtf_release(); /* the probes are done: libbpf parses its own */
	err = tcpdwell_bpf__load(skel);
	if (err)
		return td_err(TD_EXIT_USAGE,
			      "the kernel refused the BPF programs (%s); run with "
			      "TCPDWELL_DEBUG=1 for the verifier log",
			      strerror(-err));
	err = td_filter_fill(&t->cfg->filter,
			     &(struct td_filter_maps){bpf_map__fd(skel->maps.td_ports),
						      bpf_map__fd(skel->maps.td_pids),
						      bpf_map__fd(skel->maps.td_laddrs),
						      bpf_map__fd(skel->maps.td_raddrs),
						      bpf_map__fd(skel->maps.td_cgsel)});
	if (err == -ENOENT)
		return td_err(TD_EXIT_USAGE, "--container %s: no cgroup derives such a container",
			      t->cfg->filter.container);
	if (err)
		return td_err(TD_EXIT_ERROR, "cannot set the filters: %s", strerror(-err));
	if (t->cfg->k.agg) {
		err = setup_labels(t);
		if (err)
			return err;
	}
	return make_rings(t);
}

static int phase_attach(struct td_tracer *t)
{
	struct bpf_program *prog;
	int err;

	/* The clock starts before the first program can fire. */
	t->start_ns = clock_ns(CLOCK_MONOTONIC);
	t->wall_off_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	bpf_object__for_each_program (prog, t->skel->obj) {
		/* a hook auto picked may still fail to attach: then say so; one
		 * the user named is an error like any other */
		bool optional =
		    is_accept_prog(t->skel, prog) && t->cfg->accept_hook == TD_ACCEPT_AUTO;

		if (!bpf_program__autoload(prog))
			continue; /* an accept() hook not picked, a command's extra */
		if (prog == t->skel->progs.td_tw_sweep)
			continue; /* run by the reader, never attached */
		err = attach(t, prog, !optional);
		if (err > 0)
			return err;
		if (err < 0) {
			char what[160];

			snprintf(what, sizeof(what),
				 "accept() hook %s did not attach: accepted sockets keep their "
				 "listener's owner",
				 td_accept_hook_target(t->accept));
			note_degraded(t, what);
		}
	}
	return 0;
}

/* Attached first, so that a listener made from now on is seen made, and
 * one made before is found in /proc: none falls between. */
static int phase_owners(struct td_tracer *t)
{
	int n;

	/* export: no owners, unless its metrics are by container */
	if (t->cfg->no_accept_hook && !t->cfg->k.cg_hist)
		return 0;
	n = td_owners_seed(bpf_map__fd(t->skel->maps.td_listeners),
			   bpf_map__fd(t->skel->maps.td_old_socks),
			   bpf_map__fd(t->skel->maps.td_cgsel), &t->cfg->filter, t->names);
	if (n < 0)
		note_degraded(t, "/proc unreadable: listeners older than tcpdwell have no owner");
	return 0;
}

static int phase_census(struct td_tracer *t)
{
	return t->cfg->census ? open_census(t) : 0;
}

/* the ring buffer reader and the signals it waits on */
static int phase_reader(struct td_tracer *t)
{
	int err = read_rings(t);

	if (err)
		return err;
	if (setup_signals(t))
		return td_err(TD_EXIT_ERROR, "cannot set up the ring buffer reader: %s",
			      strerror(errno));
	return 0;
}

/* timewait --once: the census alone, no programs */
static int phase_snapshot_only(struct td_tracer *t)
{
	t->start_ns = clock_ns(CLOCK_MONOTONIC);
	t->wall_off_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - t->start_ns);
	td_kbtf_release();
	return open_census(t);
}

typedef int (*td_phase_fn)(struct td_tracer *t);

static const td_phase_fn live_phases[] = {
    phase_open,	  phase_configure, phase_load,	 phase_attach,
    phase_owners, phase_census,	   phase_reader, NULL,
};

static const td_phase_fn once_phases[] = {phase_snapshot_only, NULL};

static int open_live(struct td_tracer *t)
{
	const struct td_tracer_cfg *cfg = t->cfg;
	int err;

	if (!td_privileged())
		return td_err(TD_EXIT_USAGE, "needs root, or CAP_BPF and CAP_PERFMON "
					     "(try: sudo tcpdwell ...)");
	if (access(BTF_PATH, R_OK))
		return td_err(TD_EXIT_USAGE,
			      "kernel BTF not found at " BTF_PATH
			      " (needs Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y)");
	libbpf_set_print(libbpf_print);
	err = select_sockid(t);
	for (const td_phase_fn *ph = cfg->once ? once_phases : live_phases; !err && *ph; ph++)
		err = (*ph)(t);
	if (err)
		return err;
	if (!cfg->keep_caps)
		td_caps_drop(cfg->caps);
	/* Attached: anything that happens from now on is seen (tests wait for
	 * this). */
	if (!cfg->once && !cfg->quiet)
		td_msg("tracing, Ctrl-C or SIGTERM to stop, SIGUSR1 for loss counters");
	return 0;
}

static int open_replay(struct td_tracer *t)
{
	int err = td_replay_open(&t->replay, t->cfg, t->names);

	if (err)
		return err;
	t->start_ns = td_replay_header(t->replay)->start_ns;
	t->wall_off_ns = td_replay_header(t->replay)->wall_offset_ns;
	td_caps_drop(t->cfg->caps); /* the frames are parsed from here on: with no privilege */
	return 0;
}

int td_tracer_open(struct td_tracer **out, const struct td_tracer_cfg *cfg)
{
	struct td_tracer *t = calloc(1, sizeof(*t));
	int err;

	*out = NULL;
	if (!t)
		return td_err(TD_EXIT_ERROR, "out of memory");
	t->cfg = cfg;
	t->sigfd = t->epfd = -1;
	t->src = cfg->replay_path ? &replay_source : &live_source;
	t->names = td_cgnames_new(!cfg->replay_path, NULL);
	if (!t->names) {
		free(t);
		return td_err(TD_EXIT_ERROR, "out of memory");
	}
	err = cfg->replay_path ? open_replay(t) : open_live(t);
	if (err) {
		td_tracer_close(t);
		return err;
	}
	*out = t;
	return 0;
}

/*
 * Hand the batch on in timestamp order, up to `upto`; keep the younger
 * records for the next drain. Each CPU has its ring and they are read one
 * after the other: a record another CPU reserves in a ring already read
 * shows only at the next drain, however old its timestamp. A program
 * reaches its ring within microseconds of reading its clock, so what is
 * older than TD_REORDER_NS at the start of a drain is all in (records
 * deferred on purpose, with their original time, come when they come).
 * The kept records are copied once, in order, and become the next batch's
 * first run.
 */
static void deliver_batch(struct td_tracer *t, uint64_t upto)
{
	struct td_event *swap;
	size_t i, kept;

	td_order_runs(t->batch, t->nbatch, t->runs, t->nruns, t->order, t->order_tmp);
	for (i = 0; i < t->nbatch && !t->consumer_done; i++) {
		const struct td_event *e = &t->batch[t->order[i]];

		if (e->ts_ns > upto)
			break;
		td_delivered_add(&t->delivered, e);
		if (t->c->on_event(t->c->ctx, e))
			t->consumer_done = t->stop = true;
	}
	kept = t->consumer_done ? 0 : t->nbatch - i;
	for (size_t j = 0; j < kept; j++)
		t->carry[j] = t->batch[t->order[i + j]];
	swap = t->batch;
	t->batch = t->carry;
	t->carry = swap;
	t->nbatch = kept;
	t->nruns = 0;
	t->run_ring = -1;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct td_ring_ctx *rc = ctx;
	struct td_tracer *t = rc->t;

	if (rc->ring != t->run_ring) { /* a ring's records: a run of their own */
		if (t->nruns < (size_t)t->nrings + 1)
			t->runs[t->nruns++] = t->nbatch;
		t->run_ring = rc->ring;
	}
	/* snapshot records come from the census iterator, never the ring */
	if (td_event_decode(data, size, &t->batch[t->nbatch]) ||
	    t->batch[t->nbatch].type == TD_EV_SNAPSHOT) {
		t->bad_records++;
		return 0;
	}
	if (++t->nbatch == t->batch_cap) /* all the rings and more: cannot happen */
		deliver_batch(t, UINT64_MAX);
	return t->consumer_done ? -1 : 0;
}

/* End the timewait socket waiting under k (td_tw_sweep) for `reason`. */
static int end_waiting(struct td_tracer *t, const struct td_tuple *k, unsigned reason)
{
	__u64 args[7] = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	memcpy(args, k, sizeof(*k));
	args[6] = reason;
	return bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.td_tw_sweep), &opts);
}

/*
 * Cancelled timewait timers still waiting for their cause (timewait.bpf.c):
 * those older than TD_TW_CLAIM_NS end as killed; with `all` (stopping) the
 * rest too, as unknown, since their cause could still have come. The keys
 * are read first and ended after: deleting while walking a hash restarts
 * the walk.
 */
static void sweep_timewait(struct td_tracer *t, uint64_t now, bool all)
{
	enum { CHUNK = 256 };
	int fd = bpf_map__fd(t->skel->maps.td_tw_ends);
	struct td_tuple due[CHUNK], key, next, *prev;
	struct td_tw_end_wait w;
	unsigned reason[CHUNK];
	size_t n;

	do {
		if (!__atomic_load_n(&t->skel->bss->td_tw_nends, __ATOMIC_RELAXED))
			return;
		n = 0;
		prev = NULL;
		while (n < CHUNK && !bpf_map_get_next_key(fd, prev, &next)) {
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(fd, &key, &w))
				continue;
			if (now >= w.ev.ts_ns && now - w.ev.ts_ns >= TD_TW_CLAIM_NS)
				reason[n] = TD_TW_END_KILLED;
			else if (all)
				reason[n] = TD_TW_END_UNKNOWN;
			else
				continue;
			due[n++] = key;
		}
		for (size_t i = 0; i < n; i++)
			if (end_waiting(t, &due[i], reason[i])) {
				note_degraded(t,
					      "the kernel refused to run td_tw_sweep: killed "
					      "TIME_WAITs whose cause never showed are not ended");
				return;
			}
	} while (n == CHUNK);
}

/* Everything in the rings; all of it handed on (a consumer that must be
 * current, the end), or what is older than TD_REORDER_NS (the loop). */
static void drain(struct td_tracer *t, bool all)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	ring_buffer__consume(t->rb);
	deliver_batch(t, all ? UINT64_MAX : now - TD_REORDER_NS);
}

void td_tracer_drain(struct td_tracer *t)
{
	/* a replay is always current: it hands on records as it reads them */
	if (t->rb && !t->consumer_done)
		drain(t, true);
}

/* Entries in a hash map keyed by a u64 (socket cookies): in batches of
 * 4096 (a key at a time took 70 ms for 35 000 timewait sockets, on every
 * export scrape); a key at a time where batches are refused. */
static uint64_t count_entries(int fd, size_t value_size)
{
	const __u32 chunk = 4096;
	__u64 key, next, *keys = calloc(chunk, sizeof(*keys)), batch = 0;
	void *vals = calloc(chunk, value_size), *prev = NULL;
	uint64_t n = 0;
	bool first = true;
	__u32 count;
	int err;

	while (keys && vals) {
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					   NULL);
		if (err && errno != ENOENT)
			break; /* e.g. ENOSPC, EINVAL: count the slow way */
		n += count;
		if (err) {
			free(keys);
			free(vals);
			return n;
		}
		first = false;
	}
	free(keys);
	free(vals);
	n = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

static void read_loss(struct td_tracer *t, struct td_loss *l, bool exact)
{
	int ncpu = libbpf_num_possible_cpus();
	int cfd = bpf_map__fd(t->skel->maps.td_counters);
	int sfd = bpf_map__fd(t->skel->maps.td_socks);
	uint64_t sum[TD_CNT_MAX] = {}, *vals;
	struct bpf_program *prog;

	memset(l, 0, sizeof(*l));
	vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;
	for (__u32 i = 0; vals && i < TD_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(cfd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum[i] += vals[c];
	}
	free(vals);
	l->events = sum[TD_CNT_EVENTS];
	l->rb_drops = sum[TD_CNT_RB_DROPS];
	l->sock_inserts = sum[TD_CNT_SOCK_INSERTS];
	l->sock_deletes = sum[TD_CNT_SOCK_DELETES];
	l->insert_fail = sum[TD_CNT_SOCK_INSERT_FAIL];
	l->listen_full = sum[TD_CNT_LISTEN_FULL];
	l->tw_inserts = sum[TD_CNT_TW_INSERTS];
	l->tw_deletes = sum[TD_CNT_TW_DELETES];
	l->tw_insert_fail = sum[TD_CNT_TW_INSERT_FAIL];
	l->tw_unseen_end = sum[TD_CNT_TW_UNSEEN_END];
	l->tw_rearm = sum[TD_CNT_TW_REARM];
	l->pid_full = sum[TD_CNT_PID_FULL];
	l->sock_live = count_entries(sfd, sizeof(struct td_sock));
	l->tw_live = count_entries(bpf_map__fd(t->skel->maps.td_tws), sizeof(struct td_tw));
	bpf_object__for_each_program (prog, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (l->nprogs == TD_MAX_PROGS)
			break; /* cannot happen: check_prog_count() at load */
		if (!bpf_program__autoload(prog))
			continue;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		/* the kernel fills what its own bpf_prog_info has (len) */
		if (len < offsetof(struct bpf_prog_info, recursion_misses) +
			      sizeof(info.recursion_misses))
			l->no_recursion = true;
		l->prog[l->nprogs].name = bpf_program__name(prog);
		l->prog[l->nprogs].misses = info.recursion_misses;
		l->prog[l->nprogs].run_cnt = info.run_cnt;
		l->prog[l->nprogs].run_time_ns = info.run_time_ns;
		l->recursion_misses += info.recursion_misses;
		l->nprogs++;
	}
	l->delivered = t->delivered;
	l->bad_records = t->bad_records;
	l->exact = exact;
	td_loss_derive(l);
}

static void handle_signals(struct td_tracer *t)
{
	struct signalfd_siginfo si;
	struct td_loss loss;

	while (read(t->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			if (t->c->on_report) {
				read_loss(t, &loss, false);
				t->c->on_report(t->c->ctx, &loss);
			}
		} else {
			t->stop = true;
		}
	}
}

static int live_run(struct td_tracer *t, const struct td_consumer *c)
{
	uint64_t deadline = 0, now;
	struct epoll_event evs[2];
	int timeout, n;

	if (t->cfg->duration_s > 0)
		deadline = t->start_ns + (uint64_t)(t->cfg->duration_s * 1e9);
	while (!t->stop) {
		timeout = t->cfg->flush_ms;
		now = clock_ns(CLOCK_MONOTONIC);
		if (deadline) {
			if (now >= deadline)
				break;
			if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (deadline - now) / 1000000 + 1;
		}
		n = epoll_wait(t->epfd, evs, 2, timeout);
		if (n < 0 && errno != EINTR)
			return td_err(TD_EXIT_ERROR, "epoll_wait: %s", strerror(errno));
		handle_signals(t);
		/* Timer-driven drain: the kernel only wakes us past the fill mark. */
		now = clock_ns(CLOCK_MONOTONIC);
		if (now - t->last_sweep_ns >= TD_TW_CLAIM_NS / 8) {
			sweep_timewait(t, now, false);
			t->last_sweep_ns = now;
		}
		drain(t, false);
		if (c->on_tick && c->on_tick(c->ctx, clock_ns(CLOCK_MONOTONIC)))
			t->stop = true;
	}
	return 0;
}

static void live_finish(struct td_tracer *t, struct td_loss *loss)
{
	/* Detach first: after this no program runs and the counters are final;
	 * then end what still waits for a cause that can no longer come. */
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
	if (t->skel && bpf_program__autoload(t->skel->progs.td_tw_sweep))
		sweep_timewait(t, clock_ns(CLOCK_MONOTONIC), true);
	if (t->c && !t->consumer_done)
		drain(t, true);
	read_loss(t, loss, true);
}

int td_tracer_conclude(const struct td_tracer *t, FILE *out, bool json, const struct td_loss *loss,
		       int err, bool lost_more)
{
	fflush(out); /* the command's own lines first */
	td_loss_report(out, json, loss, td_tracer_degraded(t));
	if (err)
		return err;
	return td_loss_total(loss) || lost_more ? TD_EXIT_LOST : TD_EXIT_OK;
}

void td_tracer_close(struct td_tracer *t)
{
	if (!t)
		return;
	td_replay_close(t->replay);
	td_cgnames_free(t->names);
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	bpf_link__destroy(t->iter);
	census_bpf__destroy(t->census);
	ring_buffer__free(t->rb);
	for (int i = 0; t->ring_fds && i < t->nrings; i++)
		if (t->ring_fds[i] >= 0)
			close(t->ring_fds[i]);
	free(t->ring_fds);
	free(t->ring_online);
	tcpdwell_bpf__destroy(t->skel);
	if (t->sigfd >= 0)
		close(t->sigfd);
	if (t->epfd >= 0)
		close(t->epfd);
	free(t->batch);
	free(t->carry);
	free(t->order);
	free(t->order_tmp);
	free(t->ring_ctx);
	free(t->runs);
	free(t);
}

static int read_percpu_sum(int fd, uint64_t *out, size_t n);

static int live_read_hist(struct td_tracer *t, struct td_hist *h, uint64_t *imax)
{
	int ncpu = libbpf_num_possible_cpus();
	int hfd, sfd;
	uint64_t gen;
	struct td_hist_stat *st = NULL;
	uint64_t *vals = NULL;
	int err = -1;
	const size_t nb = (size_t)TD_TCP_MAX_STATES * TD_HIST_BUCKETS;

	hfd = bpf_map__fd(t->skel->maps.td_hist);
	sfd = bpf_map__fd(t->skel->maps.td_hist_stats);
	gen = t->skel->bss->td_hist_gen;

	memset(h, 0, sizeof(*h) * TD_TCP_MAX_STATES);
	if (imax)
		memset(imax, 0, sizeof(*imax) * TD_TCP_MAX_STATES);
	if (ncpu <= 0)
		return -1;
	vals = calloc(nb, sizeof(*vals));
	st = calloc(ncpu, sizeof(*st));
	if (!vals || !st)
		goto cleanup;
	/* every bucket of every state in a few batch reads (a lookup per
	 * bucket took ~15 ms with all states in use) */
	if (read_percpu_sum(hfd, vals, nb))
		goto cleanup;
	for (__u32 s = 0; s < TD_TCP_MAX_STATES; s++) {
		if (bpf_map_lookup_elem(sfd, &s, st))
			goto cleanup;
		for (int c = 0; c < ncpu; c++) {
			h[s].count += st[c].count;
			h[s].sum_ns += st[c].sum_ns;
			if (st[c].max_ns > h[s].max_ns)
				h[s].max_ns = st[c].max_ns;
			if (imax && st[c].gen == gen && st[c].imax_ns > imax[s])
				imax[s] = st[c].imax_ns;
		}
		memcpy(h[s].b, &vals[(size_t)s * TD_HIST_BUCKETS], sizeof(h[s].b));
	}
	err = 0;
cleanup:
	free(vals);
	free(st);
	return err;
}

size_t td_agg_entries(const struct td_tracer_cfg *cfg)
{
	return (size_t)(cfg->label_ports.n + 1) * (cfg->label_peers.n + 1) * TD_AGG_SLOTS;
}

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's own, seen by user space */
#endif

/* read_percpu_sum one key at a time; vals holds a value of every CPU. */
static int read_percpu_keys(int fd, uint64_t *out, size_t n, uint64_t *vals)
{
	int ncpu = libbpf_num_possible_cpus();

	for (__u32 k = 0; k < n; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			return -1;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	return 0;
}

/* A per-CPU array of u64 (n entries), summed over the CPUs into out[n]:
 * one syscall per 4096 entries of every CPU, not one per entry. */
static int read_percpu_sum(int fd, uint64_t *out, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	const __u32 chunk = 4096;
	__u32 *keys = NULL, next = 0, count;
	uint64_t *vals = NULL;
	bool first = true;
	int err = -1;

	memset(out, 0, n * sizeof(*out));
	if (ncpu <= 0)
		return -1;
	keys = calloc(chunk, sizeof(*keys));
	vals = calloc((size_t)chunk * ncpu, sizeof(*vals));
	if (!keys || !vals)
		goto cleanup;
	for (;;) {
		count = chunk;
		err =
		    bpf_map_lookup_batch(fd, first ? NULL : &next, &next, keys, vals, &count, NULL);
		if (err && first && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP)) {
			/* no batch ops for per-CPU arrays (5.10): a lookup per key */
			err = read_percpu_keys(fd, out, n, vals);
			goto cleanup;
		}
		if (err && errno != ENOENT)
			goto cleanup;
		for (__u32 i = 0; i < count; i++)
			for (int c = 0; c < ncpu && keys[i] < n; c++)
				out[keys[i]] += vals[(size_t)i * ncpu + c];
		if (err) /* ENOENT: that was the last batch */
			break;
		first = false;
	}
	err = 0;
cleanup:
	free(keys);
	free(vals);
	return err;
}

int td_tracer_read_cg_hist(struct td_tracer *t, td_cg_hist_fn fn, void *ctx, uint64_t *full)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct td_cg_hist_key k, next, *prev = NULL;
	uint64_t *vals;
	__u32 zero = 0;

	*full = 0;
	if (!t->skel || !t->cfg->k.cg_hist || ncpu <= 0)
		return -1;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -1;
	fd = bpf_map__fd(t->skel->maps.td_cg_hist);
	/* keys are only ever added while tcpdwell runs: a walk sees each once */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t sum = 0;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		fn(ctx, &k, sum);
	}
	if (!bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.td_cg_hist_full), &zero, vals))
		for (int c = 0; c < ncpu; c++)
			*full += vals[c];
	else
		err = -1;
	free(vals);
	return err;
}

int td_tracer_read_agg(struct td_tracer *t, uint64_t *out, size_t n)
{
	if (n != bpf_map__max_entries(t->skel->maps.td_agg))
		return -1;
	return read_percpu_sum(bpf_map__fd(t->skel->maps.td_agg), out, n);
}

void td_tracer_read_loss(struct td_tracer *t, struct td_loss *loss)
{
	read_loss(t, loss, false);
}

int td_tracer_watch_fd(struct td_tracer *t, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void live_next_interval(struct td_tracer *t)
{
	/* .bss is memory-mapped: the programs see the new value at once */
	__atomic_add_fetch(&t->skel->bss->td_hist_gen, 1, __ATOMIC_RELAXED);
}

static uint64_t live_now_ns(const struct td_tracer *t)
{
	(void)t;
	return clock_ns(CLOCK_MONOTONIC);
}

static const struct td_rec_header *live_recording(const struct td_tracer *t)
{
	(void)t;
	return NULL;
}

uint64_t td_tracer_start_ns(const struct td_tracer *t)
{
	return t->start_ns;
}

int64_t td_tracer_wall_offset_ns(const struct td_tracer *t)
{
	return t->wall_off_ns;
}

const char *td_tracer_degraded(const struct td_tracer *t)
{
	return t->degraded[0] ? t->degraded : NULL;
}

static int live_snapshot(struct td_tracer *t, const struct td_netns *ns,
			 const struct td_iter_cfg *cfg, td_event_fn fn, void *ctx)
{
	char buf[sizeof(struct td_event) * 512];
	size_t have = 0;
	int fd, old = -1, err = 0;
	uint64_t now;
	ssize_t n;

	if (!t->iter)
		return -ENOTSUP;
	t->census->bss->td_iter = *cfg;
	t->census->bss->td_iter.family = t->cfg->filter.family;
	/* the iterator walks the namespace of the task that opens it */
	if (ns && ns->inum != td_netns_self()) {
		old = td_netns_enter(ns->path, ns->inum);
		if (old < 0)
			return old;
	}
	fd = bpf_iter_create(bpf_link__fd(t->iter));
	if (fd < 0)
		err = -errno;
	td_netns_leave(old);
	if (err)
		return err;
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0 || (n < 0 && errno == EINTR)) {
		size_t off = 0;
		struct td_event e;

		if (n < 0)
			continue;
		have += n;
		now = clock_ns(CLOCK_MONOTONIC);
		for (; have - off >= sizeof(e); off += sizeof(e)) {
			if (td_event_decode(buf + off, sizeof(e), &e) || e.type != TD_EV_SNAPSHOT) {
				t->bad_records++;
				continue;
			}
			e.ts_ns = now; /* when this buffer was read: within its timer tick */
			if (fn(ctx, &e))
				goto out;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	if (n < 0)
		err = -errno;
out:
	close(fd);
	return err;
}

int td_tracer_probe(char *why, size_t sz)
{
	struct tcpdwell_bpf *skel = tcpdwell_bpf__open();
	struct census_bpf *census = NULL;
	enum td_accept_hook hook;
	enum td_sockid ids;
	char hook_why[512];
	int err;

	libbpf_set_print(libbpf_print);
	if (!skel) {
		snprintf(why, sz, "cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	if (!td_accept_hook_choose(TD_ACCEPT_AUTO, false, &hook, hook_why, sizeof(hook_why)))
		accept_autoload(skel, hook);
	td_sockid_choose(TD_SOCKID_AUTO, &ids, hook_why, sizeof(hook_why));
	skel->rodata->td_cfg.own_ids = ids == TD_SOCKID_OWN;
	timewait_autoload(skel, true);
	/* the smallest maps: this is a load test, not a run */
	bpf_map__set_max_entries(skel->maps.td_socks, 16);
	bpf_map__set_max_entries(skel->maps.td_closing, 16);
	bpf_map__set_max_entries(skel->maps.td_tws, 16);
	err = tcpdwell_bpf__load(skel);
	if (err) {
		snprintf(why, sz, "the kernel refused the tracing programs: %s", strerror(-err));
		goto out;
	}
	census = census_bpf__open();
	if (census)
		census->rodata->td_cfg.own_ids = ids == TD_SOCKID_OWN;
	if (!census || census_bpf__load(census)) {
		snprintf(why, sz, "the kernel refused the iter/tcp program");
		err = -1;
	}
out:
	census_bpf__destroy(census);
	tcpdwell_bpf__destroy(skel);
	return err;
}

/* ---- the two sources ----------------------------------------------------- */

static const struct td_source live_source = {
    .run = live_run,
    .finish = live_finish,
    .read_hist = live_read_hist,
    .next_interval = live_next_interval,
    .now_ns = live_now_ns,
    .recording = live_recording,
    .snapshot = live_snapshot,
};

static int replay_run(struct td_tracer *t, const struct td_consumer *c)
{
	return td_replay_run(t->replay, c);
}

static void replay_finish(struct td_tracer *t, struct td_loss *loss)
{
	td_replay_finish(t->replay, loss);
}

static int replay_read_hist(struct td_tracer *t, struct td_hist *h, uint64_t *imax)
{
	return td_replay_read_hist(t->replay, h, imax);
}

static void replay_next_interval(struct td_tracer *t)
{
	td_replay_next_interval(t->replay);
}

static uint64_t replay_now_ns(const struct td_tracer *t)
{
	return td_replay_now_ns(t->replay);
}

static const struct td_rec_header *replay_recording(const struct td_tracer *t)
{
	return td_replay_header(t->replay);
}

/* the census recorded at start, of the recorded namespace by default */
static int replay_snapshot(struct td_tracer *t, const struct td_netns *ns,
			   const struct td_iter_cfg *cfg, td_event_fn fn, void *ctx)
{
	return td_replay_snapshot(
	    t->replay, ns ? ns->inum : td_replay_header(t->replay)->snap_netns, cfg, fn, ctx);
}

static const struct td_source replay_source = {
    .run = replay_run,
    .finish = replay_finish,
    .read_hist = replay_read_hist,
    .next_interval = replay_next_interval,
    .now_ns = replay_now_ns,
    .recording = replay_recording,
    .snapshot = replay_snapshot,
};

/* ---- the interface: one tracer, whichever the source --------------------- */

int td_tracer_run(struct td_tracer *t, const struct td_consumer *c)
{
	t->c = c;
	return t->src->run(t, c);
}

void td_tracer_finish(struct td_tracer *t, struct td_loss *loss)
{
	t->src->finish(t, loss);
}

int td_tracer_read_hist(struct td_tracer *t, struct td_hist *h, uint64_t *imax)
{
	return t->src->read_hist(t, h, imax);
}

void td_tracer_next_interval(struct td_tracer *t)
{
	t->src->next_interval(t);
}

uint64_t td_tracer_now_ns(const struct td_tracer *t)
{
	return t ? t->src->now_ns(t) : clock_ns(CLOCK_MONOTONIC);
}

struct td_cgnames *td_tracer_cgnames(struct td_tracer *t)
{
	return t->names;
}

const struct td_rec_header *td_tracer_recording(const struct td_tracer *t)
{
	return t->src->recording(t);
}

int td_tracer_snapshot(struct td_tracer *t, const struct td_netns *ns,
		       const struct td_iter_cfg *cfg, td_event_fn fn, void *ctx)
{
	return t->src->snapshot(t, ns, cfg, fn, ctx);
}
