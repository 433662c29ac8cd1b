/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The commands, in one table: what each is called, which options it takes,
 * what capabilities it keeps, whether replay shows it, and how it sets up
 * the kernel side. Adding a command is one entry here (commands.c) and its
 * main; the parser, main(), the privilege drop, replay and the tracer read
 * the entry.
 */
#ifndef TCPDWELL_COMMANDS_H
#define TCPDWELL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct td_opts;

/* Option groups: cli.c files every option under one. A command takes the
 * groups its entry lists; an option of another group is refused, naming
 * the commands that take it. */
enum td_optgroup {
	TD_OG_FILTER = 1u << 0,	   /* -4/-6, --lport, --rport, --laddr, --raddr, --netns */
	TD_OG_OWNER = 1u << 1,	   /* --pid, --cgroup */
	TD_OG_FOLLOW = 1u << 2,	   /* --follow, --max-follow */
	TD_OG_COMM = 1u << 3,	   /* --comm */
	TD_OG_OUTPUT = 1u << 4,	   /* -o, -T, --wide */
	TD_OG_DURATION = 1u << 5,  /* -d */
	TD_OG_INTERVAL = 1u << 6,  /* -i */
	TD_OG_READER = 1u << 7,	   /* --flush-ms, --max-sockets */
	TD_OG_KERNEL = 1u << 8,	   /* --ringbuf-kb, --timewait-map, --wakeup-*, accept, socket id */
	TD_OG_CENSUS = 1u << 9,	   /* --once, --all-netns, --verify: the live census */
	TD_OG_TIMEWAIT = 1u << 10, /* --sockets, --warn-pct */
	TD_OG_TOP = 1u << 11,	   /* --top */
	TD_OG_RETRANS = 1u << 12,  /* -c, --resets */
	TD_OG_RUN = 1u << 13,	   /* --report, --junit, --max-*, --fail-on-leak */
	TD_OG_EXPORT = 1u << 14,   /* --listen, --label-ports, --label-peers */
	TD_OG_RECORD = 1u << 15,   /* -w FILE, --rotate, --force */
	TD_OG_CONTAINERS = 1u << 16, /* -C: a container column */
};

/* Why a command refuses a group another command takes: said with the
 * option, where "an option of X" alone would leave the user guessing. */
struct td_refusal {
	unsigned groups;
	const char *why;
};

struct td_tracer_cfg;

struct td_command {
	const char *name;
	int id; /* enum td_cmd */
	int (*main)(const struct td_opts *o);
	unsigned groups;		 /* TD_OG_* it takes */
	const struct td_refusal *refuse; /* NULL or ended by {0} */
	uint64_t caps;			 /* kept after start-up, beyond bpf() */
	bool replay;			 /* replay FILE NAME shows it */
	const char *shortopts;		 /* getopt's; NULL: the common set */
	bool takes_command;		 /* run: the first non-option is CMD */
	double interval_s;		 /* -i when none is given (0: none) */
	/* what the options must say together, once parsed: 0 or
	 * TD_EXIT_USAGE after one line */
	int (*check)(const struct td_opts *o);
	/* the command's own part of the tracer's configuration, after
	 * td_command_configure() set the shared part; NULL: no tracer */
	void (*configure)(const struct td_opts *o, struct td_tracer_cfg *c);
};

/* Groups replay takes for a command it shows: no kernel, no live census. */
#define TD_OG_REPLAY_NOT (TD_OG_KERNEL | TD_OG_FOLLOW | TD_OG_CENSUS)

/* The command called name, or NULL. */
const struct td_command *td_command_find(const char *name);

/* The default command (trace). */
const struct td_command *td_command_default(void);

/* "timewait and retrans": the commands taking every group in groups,
 * into buf. */
void td_command_takers(unsigned groups, char *buf, size_t sz);

/* "trace, timeline, dwell, timewait or retrans": what replay shows. */
void td_command_replayable(char *buf, size_t sz);

/* The tracer's configuration for o's command: the options every command
 * shares, then the command's own settings (its entry's configure). */
void td_command_configure(const struct td_opts *o, struct td_tracer_cfg *c);

#endif /* TCPDWELL_COMMANDS_H */
