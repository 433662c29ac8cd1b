// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The command table (commands.h). */
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>

#include "cli.h"
#include "commands.h"
#include "doctor.h"
#include "dwell.h"
#include "err.h"
#include "export.h"
#include "privs.h"
#include "record.h"
#include "retrans.h"
#include "run.h"
#include "timeline.h"
#include "timewait.h"
#include "trace.h"
#include "tracer.h"

#define CAP(c) (1ull << (c))

/* What every tracing command takes. */
#define LIVE                                                                                       \
	(TD_OG_FILTER | TD_OG_OWNER | TD_OG_FOLLOW | TD_OG_COMM | TD_OG_OUTPUT | TD_OG_DURATION |  \
	 TD_OG_READER | TD_OG_KERNEL)

/* every interval (scrape): a census iterator, and setns into other
 * namespaces (opening /proc/PID/ns/net of other users' tasks) */
#define CENSUS_CAPS (CAP(CAP_PERFMON) | CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE))

static void cfg_trace(const struct td_opts *o, struct td_tracer_cfg *c)
{
	(void)o;
	c->timewait = true;
}

static void cfg_dwell(const struct td_opts *o, struct td_tracer_cfg *c)
{
	(void)o;
	c->timewait = true;
	c->k.no_events = 1; /* histograms only */
	c->k.hist = 1;
}

static void cfg_timewait(const struct td_opts *o, struct td_tracer_cfg *c)
{
	(void)o;
	c->timewait = c->census = true;
	c->k.tw_only = 1;
}

/* retransmits (and resets) only: no timewait socket to follow */
static void cfg_retrans(const struct td_opts *o, struct td_tracer_cfg *c)
{
	c->k.type_mask =
	    1 << TD_EV_RETRANS | (o->resets ? 1 << TD_EV_RESET_SENT | 1 << TD_EV_RESET_RECV : 0);
}

static void cfg_run(const struct td_opts *o, struct td_tracer_cfg *c)
{
	(void)o;
	c->timewait = c->census = c->census_by_cookie = c->quiet = true;
	c->k.hist = c->k.mark_exit = c->k.known_owner = 1;
}

/* the census needs the timewait transitions on the ring; the rest is
 * counted in the kernel (td_agg) and read at scrape time */
static void cfg_export(const struct td_opts *o, struct td_tracer_cfg *c)
{
	c->timewait = c->census = c->no_accept_hook = true;
	c->k.tw_only = c->k.hist = c->k.agg = 1;
	c->k.cg_hist = o->label_containers.n > 0;
}

/* the census at start leads the recording (timewait replays) */
static void cfg_record(const struct td_opts *o, struct td_tracer_cfg *c)
{
	(void)o;
	c->timewait = c->census = c->keep_caps = true;
}

static int check_run(const struct td_opts *o)
{
	if (o->format == TD_FMT_JSON)
		return td_err(TD_EXIT_USAGE, "run: stdout is the command's; --report FILE writes "
					     "JSON (see tcpdwell --help)");
	return 0;
}

static int check_record(const struct td_opts *o)
{
	if (!o->write_path)
		return td_err(TD_EXIT_USAGE,
			      "record: -w FILE names the recording (see tcpdwell --help)");
	return 0;
}

static const struct td_refusal run_refuse[] = {
    {TD_OG_OWNER | TD_OG_FOLLOW, "the command's own cgroup selects its connections"},
    {TD_OG_DURATION | TD_OG_INTERVAL, "the command's lifetime is the duration"},
    {0},
};

static const struct td_refusal export_refuse[] = {
    {TD_OG_OWNER | TD_OG_FOLLOW | TD_OG_COMM,
     "it selects connections by owner, and the TIME_WAIT census counts a whole namespace"},
    {0},
};

static const struct td_refusal doctor_refuse[] = {
    {TD_OG_FILTER | TD_OG_OWNER | TD_OG_FOLLOW | TD_OG_COMM,
     "doctor checks the kernel and host, it takes no filters"},
    {0},
};

static const struct td_refusal record_refuse[] = {
    {TD_OG_OUTPUT | TD_OG_INTERVAL | TD_OG_TOP | TD_OG_TIMEWAIT | TD_OG_CENSUS | TD_OG_RETRANS,
     "record writes every event to FILE; output options belong to replay"},
    {0},
};

/* The order of `tcpdwell --help`. */
static const struct td_command commands[] = {
    {
	.name = "trace",
	.id = TD_CMD_TRACE,
	.main = td_trace_main,
	.groups = LIVE | TD_OG_CONTAINERS,
	.replay = true,
	.configure = cfg_trace,
    },
    {
	.name = "timeline",
	.id = TD_CMD_TIMELINE,
	.main = td_timeline_main,
	.groups = LIVE | TD_OG_CONTAINERS,
	.replay = true,
	.configure = cfg_trace, /* what trace sees, assembled per connection */
    },
    {
	.name = "dwell",
	.id = TD_CMD_DWELL,
	.main = td_dwell_main,
	.groups = LIVE | TD_OG_INTERVAL,
	.replay = true,
	.configure = cfg_dwell,
    },
    {
	.name = "timewait",
	.id = TD_CMD_TIMEWAIT,
	.main = td_timewait_main,
	.groups =
	    LIVE | TD_OG_INTERVAL | TD_OG_CENSUS | TD_OG_TIMEWAIT | TD_OG_TOP | TD_OG_CONTAINERS,
	.caps = CENSUS_CAPS,
	.interval_s = 1,
	.replay = true,
	.configure = cfg_timewait,
    },
    {
	.name = "retrans",
	.id = TD_CMD_RETRANS,
	.main = td_retrans_main,
	.groups = LIVE | TD_OG_INTERVAL | TD_OG_TOP | TD_OG_RETRANS,
	.replay = true,
	.configure = cfg_retrans,
    },
    {
	.name = "doctor",
	.id = TD_CMD_DOCTOR,
	.main = td_doctor_main,
	.groups = TD_OG_OUTPUT,
	.refuse = doctor_refuse,
    },
    {
	.name = "run",
	.id = TD_CMD_RUN,
	.main = td_run_main,
	.groups =
	    TD_OG_FILTER | TD_OG_COMM | TD_OG_OUTPUT | TD_OG_READER | TD_OG_KERNEL | TD_OG_RUN,
	.refuse = run_refuse,
	.shortopts = "+:46o:TwCd:i:chV", /* + : CMD's options are its own */
	.takes_command = true,
	.check = check_run,
	/* the command may change its uid: stopping it takes CAP_KILL;
	 * removing its cgroup, CAP_DAC_OVERRIDE (the cgroup v2 root directory
	 * is mode 0555); asking the census about its timewait sockets in
	 * their namespaces, what timewait keeps */
	.caps = CAP(CAP_KILL) | CAP(CAP_DAC_OVERRIDE) | CENSUS_CAPS,
	.configure = cfg_run,
    },
    {
	.name = "export",
	.id = TD_CMD_EXPORT,
	.main = td_export_main,
	.groups = TD_OG_FILTER | TD_OG_OUTPUT | TD_OG_DURATION | TD_OG_READER | TD_OG_KERNEL |
		  TD_OG_EXPORT,
	.refuse = export_refuse,
	.caps = CENSUS_CAPS,
	.configure = cfg_export,
    },
    {
	.name = "record",
	.id = TD_CMD_RECORD,
	.main = td_record_main,
	.groups = (LIVE & ~TD_OG_OUTPUT) | TD_OG_RECORD,
	.refuse = record_refuse,
	.shortopts = ":46o:TCw:d:i:chV", /* -w FILE */
	.check = check_record,
	.configure = cfg_record,
    },
};

#define NCMDS (sizeof(commands) / sizeof(commands[0]))

const struct td_command *td_command_find(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

const struct td_command *td_command_default(void)
{
	return &commands[0];
}

/* "a", "a and b", "a, b or c": names joined, the last with `last` */
static void join(char *buf, size_t sz, const char **names, int n, const char *last)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && len < sz; i++)
		len += snprintf(buf + len, sz - len, "%s%s",
				i == 0	     ? ""
				: i == n - 1 ? last
					     : ", ",
				names[i]);
}

void td_command_takers(unsigned groups, char *buf, size_t sz)
{
	const char *names[NCMDS];
	int n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		if ((commands[i].groups & groups) == groups)
			names[n++] = commands[i].name;
	join(buf, sz, names, n, " and ");
}

void td_command_replayable(char *buf, size_t sz)
{
	const char *names[NCMDS];
	int n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		if (commands[i].replay)
			names[n++] = commands[i].name;
	join(buf, sz, names, n, " or ");
}

void td_command_configure(const struct td_opts *o, struct td_tracer_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->filter = o->filter;
	c->once = o->once;
	c->follow = o->follow;
	c->max_follow = o->max_follow;
	c->ringbuf_kb = o->ringbuf_kb;
	c->max_sockets = o->max_sockets;
	c->timewait_map = o->timewait_map;
	c->wakeup_pct = o->wakeup_pct;
	c->wakeup_per_event = o->wakeup_per_event;
	c->flush_ms = o->flush_ms;
	c->duration_s = o->duration_s;
	c->accept_hook = o->accept_hook;
	c->no_accept = o->no_accept;
	c->socket_id = o->socket_id;
	c->label_ports = o->label_ports;
	c->label_peers = o->label_peers;
	c->caps = td_caps_needed(o);
	c->replay_path = o->replay_path;
	if (o->command->configure)
		o->command->configure(o, c);
}
