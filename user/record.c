// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell record -w FILE`: the tracer with every event type on the ring
 * (the kernel-side filters still apply), the census iterator's snapshot of
 * one namespace first (so a replayed timewait starts from the same set),
 * then the records as they are drained, in frames of up to 4096 records
 * written at least every second, a loss frame every 10 s and a final one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "cgname.h"
#include "commands.h"
#include "err.h"
#include "kconfig.h"
#include "loss.h"
#include "netns.h"
#include "record.h"
#include "recwrite.h"
#include "privs.h"
#include "tracer.h"

#define FLUSH_NS   1000000000ull  /* a SIGKILL loses at most this much */
#define LOSS_NS	   10000000000ull /* periodic loss frames */
#define ZLIB_LEVEL 1		  /* docs/record.md: ratio vs. speed */

struct rec {
	const struct td_opts *o;
	struct td_tracer *t;
	struct td_rec_writer *w;
	uint64_t last_flush, last_loss;
	int err; /* the writer's, -errno */
};

/* btime: the boot time in seconds since the epoch. */
static uint64_t boot_time(void)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The snapshot namespace's sysctls, as timewait reads them live. */
static void ns_sysctls(const struct td_netns *ns, struct td_rec_header *h)
{
	int old = -1;

	if (ns->inum != td_netns_self()) {
		old = td_netns_enter(ns->path, ns->inum);
		if (old < 0)
			return;
	}
	td_netns_tcp_sysctls(&h->snap_sys);
	td_netns_leave(old);
}

static void fill_header(const struct rec *r, const struct td_netns *ns, struct td_rec_header *h)
{
	const char *deg = td_tracer_degraded(r->t);
	struct utsname u;
	size_t len = 0;

	memset(h, 0, sizeof(*h));
	h->format = TD_REC_VERSION;
	h->event_version = TD_EVENT_VERSION;
	h->event_size = sizeof(struct td_event);
	if (gethostname(h->host, sizeof(h->host) - 1))
		h->host[0] = '\0';
	if (!uname(&u))
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	for (int i = 0; i < r->o->argc && len + 1 < sizeof(h->argv); i++)
		len += snprintf(h->argv + len, sizeof(h->argv) - len, "%s%s", i ? " " : "",
				r->o->argv[i]);
	snprintf(h->degraded, sizeof(h->degraded), "%s", deg ? deg : "");
	h->boot_time = boot_time();
	h->hz = td_kconfig_long("CONFIG_HZ");
	h->start_ns = td_tracer_start_ns(r->t);
	h->wall_offset_ns = td_tracer_wall_offset_ns(r->t);
	h->snap_netns = ns->inum;
	snprintf(h->snap_netns_name, sizeof(h->snap_netns_name), "%s", ns->name);
	h->snap_sys.tw_reuse = -1;
	ns_sysctls(ns, h);
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct rec *r = ctx;
	const struct td_cgname *name;

	/* the names of the owners' cgroups, for a replay on any host later */
	if (e->cgroup_id && !td_recw_told(r->w, e->cgroup_id)) {
		name = td_cgnames_get(td_tracer_cgnames(r->t), e->cgroup_id);
		if (name)
			r->err = td_recw_cgroup(r->w, e->cgroup_id, name->path);
	}
	if (!r->err)
		r->err = td_recw_event(r->w, e);
	return r->err ? -1 : 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct rec *r = ctx;
	struct td_loss l;

	if (now - r->last_flush >= FLUSH_NS) {
		r->last_flush = now;
		r->err = td_recw_flush(r->w);
	}
	if (!r->err && now - r->last_loss >= LOSS_NS) {
		r->last_loss = now;
		td_tracer_read_loss(r->t, &l);
		r->err = td_recw_loss(r->w, &l, now, 0);
	}
	return r->err ? -1 : 0;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	(void)ctx;
	td_loss_print_text(stderr, loss, NULL);
}

/* For the loss frame that closes a --rotate part. */
static void part_loss(void *ctx, struct td_loss *l, uint64_t *now)
{
	struct rec *r = ctx;

	td_tracer_read_loss(r->t, l);
	*now = td_tracer_now_ns(r->t);
}

static int snapshot_ns(const struct td_opts *o, struct td_netns *ns)
{
	if (o->filter.netns && o->filter.netns != td_netns_self())
		return td_netns_find(o->filter.netns, ns);
	memset(ns, 0, sizeof(*ns));
	ns->inum = td_netns_self();
	strcpy(ns->path, "/proc/self/ns/net");
	strcpy(ns->name, "self");
	return 0;
}

static int write_failed(const struct rec *r)
{
	const char *path;
	uint64_t at;
	int err = td_recw_error(r->w, &path, &at);

	return td_err(TD_EXIT_ERROR,
		      "%s: %s: the recording ends at byte %" PRIu64
		      " with the whole frames written before it",
		      path, strerror(-err), at);
}

static void summary(const struct rec *r)
{
	struct td_recw_stats s;

	td_recw_stats(r->w, &s);
	td_msg("recorded %" PRIu64 " events in %" PRIu64 " frames, %" PRIu64
	       " file%s ending with %s, %" PRIu64 " bytes (%.1fx smaller than the records)",
	       s.events, s.frames, s.files, s.files == 1 ? "" : "s", td_recw_path(r->w),
	       s.stored_bytes, s.stored_bytes ? (double)s.raw_bytes / s.stored_bytes : 0.0);
}

int td_record_main(const struct td_opts *o)
{
	struct rec r = {.o = o};
	struct td_consumer c = {on_event, on_tick, on_report, &r};
	struct td_tracer_cfg tc;
	struct td_iter_cfg cfg = {.seed = 1, .in_use = 1};
	struct td_rec_header h;
	struct td_netns ns;
	struct td_loss loss;
	int err;

	if (snapshot_ns(o, &ns)) {
		td_msg("network namespace %u not found", o->filter.netns);
		return TD_EXIT_USAGE;
	}
	err = td_recw_create(&r.w, o->write_path, o->force, o->rotate_bytes, ZLIB_LEVEL);
	if (err) {
		td_msg("%s: %s%s", o->write_path, strerror(-err),
		       err == -EEXIST ? " (--force overwrites it)" : "");
		return TD_EXIT_USAGE;
	}
	td_command_configure(o, &tc);
	err = td_tracer_open(&r.t, &tc);
	if (err) {
		td_recw_close(r.w, true); /* nothing recorded: leave nothing behind */
		return err;
	}
	fill_header(&r, &ns, &h);
	r.err = td_recw_start(r.w, &h, part_loss, &r);
	/* the census leads: a replayed timewait starts from the same set */
	if (!r.err) {
		err = td_tracer_snapshot(r.t, &ns, &cfg, on_event, &r);
		if (err && !r.err)
			td_msg("the census snapshot failed (%s): replayed "
			       "timewait will not know the sockets older than the "
			       "recording",
			       strerror(-err));
		if (!r.err)
			r.err = td_recw_flush(r.w);
	}
	td_caps_drop(tc.caps); /* the census done: only what recording needs from here */
	r.last_flush = r.last_loss = td_tracer_now_ns(r.t);
	err = r.err ? 0 : td_tracer_run(r.t, &c);
	td_tracer_finish(r.t, &loss);
	if (!r.err)
		r.err = td_recw_flush(r.w);
	if (!r.err)
		r.err = td_recw_loss(r.w, &loss, td_tracer_now_ns(r.t), TD_REC_LOSS_FINAL);
	summary(&r);
	td_loss_print_text(stderr, &loss, td_tracer_degraded(r.t));
	if (r.err)
		err = write_failed(&r);
	if (!err)
		err = td_loss_total(&loss) ? TD_EXIT_LOST : TD_EXIT_OK;
	td_tracer_close(r.t);
	td_recw_close(r.w, false);
	return err;
}
