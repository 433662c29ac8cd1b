/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Command line: the options every subcommand shares, parsed once. */
#ifndef TCPDWELL_CLI_H
#define TCPDWELL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "accept.h"
#include "events.h"
#include "sockid.h"

/* Exit codes, documented in docs/flags.md (and tcpdwell(8)). */
enum td_exit {
	TD_EXIT_OK = 0,
	TD_EXIT_ERROR = 1,     /* runtime failure after start-up */
	TD_EXIT_USAGE = 2,     /* bad input or an environment that cannot work */
	TD_EXIT_THRESHOLD = 3, /* run: a threshold was crossed */
	TD_EXIT_LOST = 4,      /* ran, but the kernel lost events: see the summary */
};

enum td_cmd {
	TD_CMD_TRACE,
	TD_CMD_DWELL,
	TD_CMD_TIMELINE,
	TD_CMD_TIMEWAIT,
	TD_CMD_RETRANS,
	TD_CMD_DOCTOR,
	TD_CMD_RUN,
	TD_CMD_EXPORT,
	TD_CMD_RECORD, /* the last: tests/fuzz/cli_args.c checks the range */
};

enum td_format {
	TD_FMT_TEXT,
	TD_FMT_JSON,
};

#define TD_MAX_PORT_RANGES 64

struct td_port_range {
	uint16_t lo, hi;
};

struct td_port_list {
	int n;
	struct td_port_range r[TD_MAX_PORT_RANGES];
};

/* A CIDR as the kernel's address tries take it: IPv6 byte order, IPv4 as
 * ::ffff:a.b.c.d with prefix + 96 (see struct td_lpm_key). */
struct td_cidr {
	uint8_t addr[16]; /* host bits cleared */
	uint8_t prefix;	  /* 0..128 */
};

struct td_cidr_list {
	int n;
	struct td_cidr c[TD_MAX_CIDRS];
};

/* A --label-peers entry: an address or a CIDR prefix. IPv4 is kept as an
 * IPv4-mapped IPv6 address (prefix + 96), the way the kernel side matches. */
struct td_peer {
	uint8_t addr[16];
	uint8_t prefix; /* 0..128 over the mapped form */
	char text[56];	/* the label value: "10.0.0.0/8", "::1" */
};

struct td_peer_list {
	int n;
	struct td_peer p[TD_LABEL_MAX];
};

/* What the kernel filters on (filter.c), and a replay in userspace
 * (match.c): the filter options, parsed. */
struct td_filter {
	int family;	/* 0, AF_INET or AF_INET6 */
	uint32_t netns; /* --netns: inode number, 0 for all */
	struct td_port_list lports;
	struct td_port_list rports;
	struct td_cidr_list laddrs; /* --laddr */
	struct td_cidr_list raddrs; /* --raddr */
	/* owner filters: who created the connection */
	uint32_t pids[TD_MAX_PIDS]; /* --pid */
	int npids;
	char comm[16]; /* --comm */
	/* --cgroup: the cgroup v2 directories' inodes (live: and below) */
	uint64_t cgroup_ids[TD_MAX_CGROUPS];
	int ncgroups;
	char container[128]; /* --container: a derived id's prefix (cgname.h) */
};

/* Whether any owner filter (--pid, --comm, --cgroup, --container) is set. */
bool td_filter_owner(const struct td_filter *f);

struct td_command;

struct td_opts {
	enum td_cmd cmd;
	const struct td_command *command; /* commands.h: cmd's entry */
	struct td_filter filter;
	enum td_format format;

	bool wall_time;			 /* -T */
	bool wide;			 /* -w */
	bool containers;		 /* -C */
	double duration_s;		 /* -d: stop after this long (0: run until signalled) */
	double interval_s;		 /* -i: dwell prints every SEC (0: at exit only) */
	unsigned flush_ms;		 /* --flush-ms: how often the reader drains the ring */
	unsigned ringbuf_kb;		 /* --ringbuf-kb */
	unsigned max_sockets;		 /* --max-sockets: size of the per-socket LRU map */
	unsigned timewait_map;		 /* --timewait-map: size of the timewait LRU map */
	unsigned wakeup_pct;		 /* --wakeup-pct: early wakeup fill threshold */
	bool wakeup_per_event;		 /* --wakeup-per-event: for the benchmark only */
	bool no_accept;			 /* --no-accept-tracepoint */
	enum td_accept_hook accept_hook; /* --accept-hook */
	enum td_sockid socket_id;	 /* --socket-id */
	/* timewait */
	char netns_path[256]; /* --netns as given when it was a path */
	bool all_netns;	      /* --all-netns */
	bool once;	      /* --once: one snapshot, no tracing */
	bool verify;	      /* --verify: compare with /proc/net/sockstat */
	bool sockets;	      /* --sockets: list every timewait socket */
	unsigned top;	      /* --top N */
	unsigned warn_pct;    /* --warn-pct: port pressure warning threshold */
	bool follow;	      /* --follow: and the children they fork from now on */
	unsigned max_follow;  /* --max-follow: pids --follow can hold */
	/* retrans */
	bool count;  /* -c: counts per flow and remote endpoint */
	bool resets; /* --resets: resets too */
	/* run */
	char **run_argv;	 /* the command and its arguments (NULL-terminated) */
	const char *report_path; /* --report FILE: JSON */
	const char *junit_path;	 /* --junit FILE: JUnit XML */
	int64_t max_retrans;	 /* thresholds; -1: not set */
	int64_t max_resets;
	int64_t max_tw; /* --max-timewait */
	int64_t max_lost;
	int64_t max_connfail; /* --max-connect-failures */
	bool fail_on_leak;
	/* export */
	char listen[64];		 /* --listen ADDR:PORT as given */
	struct td_port_list label_ports; /* --label-ports: each entry a label value */
	struct td_peer_list label_peers; /* --label-peers */
	struct td_cg_labels {		 /* --label-containers: derived ids' prefixes */
		int n;
		char id[TD_LABEL_MAX][128];
	} label_containers;
	/* record */
	const char *write_path; /* -w FILE */
	uint64_t rotate_bytes;	/* --rotate SIZE: 0 for one file */
	bool force;		/* --force: overwrite FILE */
	/* replay: cmd is the command replayed */
	const char *replay_path; /* tcpdwell replay FILE ... */
	int argc;		 /* the command line, for a recording's header */
	char **argv;
};

/* Parse argv into *o. Returns 0, or TD_EXIT_USAGE after printing one line
 * to stderr; -1 when help or the version was printed (exit 0). */
int td_parse_args(int argc, char **argv, struct td_opts *o);

/* "80,443,8000-8100" -> ranges. Returns 0 or -1 with *err set to why. */
int td_parse_ports(const char *s, struct td_port_list *out, const char **err);

bool td_port_in(const struct td_port_list *l, uint16_t port);

/* "10.0.0.0/8,::1" -> CIDRs appended to *out (a bare address is /32 or
 * /128). Returns 0 or -1 with *err set to why. */
int td_parse_cidrs(const char *s, struct td_cidr_list *out, const char **err);

/* "64k", "10M", "1G", "4096" -> bytes. Returns 0 or -1. */
int td_parse_size(const char *s, uint64_t *out);

/* Whether any kernel-side filter other than --netns is set. */
bool td_filter_active(const struct td_filter *f);

/* "10.0.0.0/8,192.168.1.5,::1" -> prefixes. Returns 0 or -1 with *err set. */
int td_parse_peers(const char *s, struct td_peer_list *out, const char **err);

/* "127.0.0.1:9466", "[::1]:9466" -> a socket address for bind(). Returns 0
 * or -1. */
struct sockaddr_storage;
int td_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned *len);

void td_usage(FILE *f);

#endif /* TCPDWELL_CLI_H */
