// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Command-line parsing. Every rejection is one line on stderr and exit 2. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "cli.h"
#include "commands.h"
#include "err.h"
#include "version.h"

enum {
	OPT_LPORT = 0x100,
	OPT_NETNS,
	OPT_RPORT,
	OPT_FLUSH_MS,
	OPT_RINGBUF_KB,
	OPT_MAX_SOCKETS,
	OPT_MAX_TIMEWAIT,
	OPT_WAKEUP_PCT,
	OPT_WAKEUP_PER_EVENT,
	OPT_NO_ACCEPT,
	OPT_ACCEPT_HOOK,
	OPT_SOCKET_ID,
	OPT_ALL_NETNS,
	OPT_ONCE,
	OPT_VERIFY,
	OPT_SOCKETS,
	OPT_TOP,
	OPT_WARN_PCT,
	OPT_RESETS,
	OPT_PID,
	OPT_COMM,
	OPT_CGROUP,
	OPT_CONTAINER,
	OPT_TIMEWAIT_MAP,
	OPT_REPORT,
	OPT_JUNIT,
	OPT_MAX_RETRANS,
	OPT_MAX_RESETS,
	OPT_MAX_TW,
	OPT_MAX_LOST,
	OPT_MAX_CONNFAIL,
	OPT_FAIL_ON_LEAK,
	OPT_LADDR,
	OPT_RADDR,
	OPT_FOLLOW,
	OPT_MAX_FOLLOW,
	OPT_LISTEN,
	OPT_LABEL_PORTS,
	OPT_LABEL_PEERS,
	OPT_LABEL_CONTAINERS,
	OPT_WRITE,
	OPT_ROTATE,
	OPT_FORCE,
};

/* Every option, and the group a command must take for it (commands.h). */
static const struct optdef {
	struct option opt;
	unsigned group;
} optdefs[] = {
    {{"ipv4", no_argument, NULL, '4'}, TD_OG_FILTER},
    {{"ipv6", no_argument, NULL, '6'}, TD_OG_FILTER},
    {{"lport", required_argument, NULL, OPT_LPORT}, TD_OG_FILTER},
    {{"netns", required_argument, NULL, OPT_NETNS}, TD_OG_FILTER},
    {{"rport", required_argument, NULL, OPT_RPORT}, TD_OG_FILTER},
    {{"output", required_argument, NULL, 'o'}, TD_OG_OUTPUT},
    {{"timestamp", no_argument, NULL, 'T'}, TD_OG_OUTPUT},
    {{"wide", no_argument, NULL, 'w'}, TD_OG_OUTPUT},
    {{"containers", no_argument, NULL, 'C'}, TD_OG_CONTAINERS},
    {{"duration", required_argument, NULL, 'd'}, TD_OG_DURATION},
    {{"interval", required_argument, NULL, 'i'}, TD_OG_INTERVAL},
    {{"flush-ms", required_argument, NULL, OPT_FLUSH_MS}, TD_OG_READER},
    {{"ringbuf-kb", required_argument, NULL, OPT_RINGBUF_KB}, TD_OG_KERNEL},
    {{"max-sockets", required_argument, NULL, OPT_MAX_SOCKETS}, TD_OG_READER},
    {{"timewait-map", required_argument, NULL, OPT_TIMEWAIT_MAP}, TD_OG_KERNEL},
    {{"wakeup-pct", required_argument, NULL, OPT_WAKEUP_PCT}, TD_OG_KERNEL},
    {{"wakeup-per-event", no_argument, NULL, OPT_WAKEUP_PER_EVENT}, TD_OG_KERNEL},
    {{"no-accept-tracepoint", no_argument, NULL, OPT_NO_ACCEPT}, TD_OG_KERNEL},
    {{"accept-hook", required_argument, NULL, OPT_ACCEPT_HOOK}, TD_OG_KERNEL},
    {{"socket-id", required_argument, NULL, OPT_SOCKET_ID}, TD_OG_KERNEL},
    {{"all-netns", no_argument, NULL, OPT_ALL_NETNS}, TD_OG_CENSUS},
    {{"once", no_argument, NULL, OPT_ONCE}, TD_OG_CENSUS},
    {{"verify", no_argument, NULL, OPT_VERIFY}, TD_OG_CENSUS},
    {{"sockets", no_argument, NULL, OPT_SOCKETS}, TD_OG_TIMEWAIT},
    {{"top", required_argument, NULL, OPT_TOP}, TD_OG_TOP},
    {{"warn-pct", required_argument, NULL, OPT_WARN_PCT}, TD_OG_TIMEWAIT},
    {{"count", no_argument, NULL, 'c'}, TD_OG_RETRANS},
    {{"resets", no_argument, NULL, OPT_RESETS}, TD_OG_RETRANS},
    {{"pid", required_argument, NULL, OPT_PID}, TD_OG_OWNER},
    {{"comm", required_argument, NULL, OPT_COMM}, TD_OG_COMM},
    {{"cgroup", required_argument, NULL, OPT_CGROUP}, TD_OG_OWNER},
    {{"container", required_argument, NULL, OPT_CONTAINER}, TD_OG_OWNER},
    {{"report", required_argument, NULL, OPT_REPORT}, TD_OG_RUN},
    {{"junit", required_argument, NULL, OPT_JUNIT}, TD_OG_RUN},
    {{"max-retrans", required_argument, NULL, OPT_MAX_RETRANS}, TD_OG_RUN},
    {{"max-resets", required_argument, NULL, OPT_MAX_RESETS}, TD_OG_RUN},
    {{"max-timewait", required_argument, NULL, OPT_MAX_TW}, TD_OG_RUN},
    {{"max-lost", required_argument, NULL, OPT_MAX_LOST}, TD_OG_RUN},
    {{"max-connect-failures", required_argument, NULL, OPT_MAX_CONNFAIL}, TD_OG_RUN},
    {{"fail-on-leak", no_argument, NULL, OPT_FAIL_ON_LEAK}, TD_OG_RUN},
    {{"laddr", required_argument, NULL, OPT_LADDR}, TD_OG_FILTER},
    {{"raddr", required_argument, NULL, OPT_RADDR}, TD_OG_FILTER},
    {{"follow", no_argument, NULL, OPT_FOLLOW}, TD_OG_FOLLOW},
    {{"max-follow", required_argument, NULL, OPT_MAX_FOLLOW}, TD_OG_FOLLOW},
    {{"listen", required_argument, NULL, OPT_LISTEN}, TD_OG_EXPORT},
    {{"label-ports", required_argument, NULL, OPT_LABEL_PORTS}, TD_OG_EXPORT},
    {{"label-peers", required_argument, NULL, OPT_LABEL_PEERS}, TD_OG_EXPORT},
    {{"label-containers", required_argument, NULL, OPT_LABEL_CONTAINERS}, TD_OG_EXPORT},
    {{"write", required_argument, NULL, OPT_WRITE}, TD_OG_RECORD},
    {{"rotate", required_argument, NULL, OPT_ROTATE}, TD_OG_RECORD},
    {{"force", no_argument, NULL, OPT_FORCE}, TD_OG_RECORD},
    {{"help", no_argument, NULL, 'h'}, 0},
    {{"version", no_argument, NULL, 'V'}, 0},
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

void td_usage(FILE *f)
{
	fprintf(f,
		"Usage: tcpdwell [COMMAND] [OPTIONS]\n"
		"       tcpdwell run [OPTIONS] [--] CMD [ARGS...]\n"
		"       tcpdwell record -w FILE [OPTIONS]\n"
		"       tcpdwell replay FILE [trace|timeline|dwell|timewait|retrans] [OPTIONS]\n"
		"TCP connection states and the time spent in each, TIME_WAIT included.\n"
		"\n"
		"Commands:\n"
		"  trace       one line per transition, retransmit and reset (default)\n"
		"  timeline    one block per finished connection: every state and its dwell\n"
		"  dwell       per-state dwell histograms, aggregated in the kernel\n"
		"  timewait    TIME_WAIT census: count, entries/exits, top peers and ports,\n"
		"              ages, ephemeral-port pressure (current netns by default)\n"
		"  retrans     one line per retransmit (SYN, SYN-ACK, data, tail loss probe);\n"
		"              -c: counts per flow and remote endpoint\n"
		"  doctor      what this kernel and host let tcpdwell do, one line per check\n"
		"  run         run CMD in a cgroup of its own, trace only its connections,\n"
		"              report and judge them when it exits (for CI)\n"
		"  export      serve Prometheus metrics on --listen: transitions, dwell\n"
		"              histograms, TIME_WAIT census, retransmits, resets, losses\n"
		"  record      write every event (and the timewait census at start) to a\n"
		"              compressed, checksummed file: -w FILE\n"
		"  replay      FILE [COMMAND]: what COMMAND (default trace) would have shown\n"
		"              live, from a recording; filters and output options apply\n"
		"\n"
		"Filters (applied in the kernel):\n"
		"  -4, --ipv4            IPv4 only\n"
		"  -6, --ipv6            IPv6 only\n"
		"      --lport LIST      local ports, e.g. 80,443,8000-8100 (OR-ed)\n"
		"      --rport LIST      remote ports (OR-ed; AND-ed with --lport)\n"
		"      --laddr LIST      local addresses, CIDRs, e.g. 10.0.0.0/8,fd00::/64,::1\n"
		"                        (a bare address is /32 or /128; OR-ed; at most 64;\n"
		"                        an IPv4 CIDR also matches its ::ffff: mapped form)\n"
		"      --raddr LIST      remote addresses, as --laddr (AND-ed with --laddr)\n"
		"      --netns NS        one network namespace: a path (/run/netns/NAME,\n"
		"                        /proc/PID/ns/net) or its inode number\n"
		"      --pid LIST        connections created by these processes (PID,PID..)\n"
		"      --follow          with --pid: also the processes they fork from now on\n"
		"                        (and theirs)\n"
		"      --comm NAME       connections created by tasks with this name\n"
		"      --cgroup PATH     connections created in this cgroup v2 directory or\n"
		"                        below it (repeat for several)\n"
		"      --container ID    connections created in the container (or pod, or\n"
		"                        unit) whose id starts with ID, or below it\n"
		"  Every command but doctor and run takes every filter (run: its cgroup\n"
		"  stands for --pid/--cgroup). timewait: sockets already in\n"
		"  timewait at start have no known creator, so --pid, --comm and --cgroup\n"
		"  count only those that enter it later (not with --once); --verify takes\n"
		"  no filters (sockstat counts the whole namespace).\n"
		"Output:\n"
		"  -o, --output FMT      text (default) or json (one object per line)\n"
		"  -T, --timestamp       wall-clock time instead of seconds since start\n"
		"  -w, --wide            add family, cookie, netns, owner source, cgroup\n"
		"  -C, --containers      trace, timeline: add the owner's container (or pod,\n"
		"                        or systemd unit) from its cgroup path; timewait:\n"
		"                        TIME_WAIT by container (top --top, the rest as other)\n"
		"Run:\n"
		"  -d, --duration SEC    stop after SEC seconds (default: until signalled)\n"
		"  -i, --interval SEC    dwell: print every SEC seconds (default: at exit);\n"
		"                        timewait: every SEC seconds (default 1); retrans -c:\n"
		"                        every SEC seconds (default: at exit)\n"
		"      --flush-ms MS     drain the ring buffer every MS ms (default 100)\n"
		"      --ringbuf-kb KB   ring buffer memory, a power of 2, shared out to\n"
		"                        one ring per CPU (default 4096)\n"
		"      --max-sockets N   per-socket LRU map size (default 131072)\n"
		"      --timewait-map N  timewait-socket LRU map size (default 131072)\n"
		"      --max-follow N    --follow: processes it can hold, the listed ones\n"
		"                        included (default 8192; more are counted as lost)\n"
		"      --wakeup-pct P    wake the reader early at P%% fill (default 25)\n"
		"      --wakeup-per-event  wake the reader for every event (benchmarks)\n"
		"      --accept-hook H   how an accepted socket gets its owner: auto (the\n"
		"                        first this kernel takes of fentry, kprobe,\n"
		"                        tracepoint), fentry, kprobe, tracepoint (paid by\n"
		"                        every syscall on the host, ~50 ns), or none (it\n"
		"                        keeps its listener's owner); doctor says which\n"
		"      --no-accept-tracepoint  auto, but never the tracepoint\n"
		"      --socket-id S     how sockets are named: auto (the kernel's\n"
		"                        cookies, as `ss -e` prints them, where tracing\n"
		"                        programs may read them, else tcpdwell's own\n"
		"                        ids), cookie, or own; doctor says which\n"
		"timewait:\n"
		"      --once            print one snapshot and exit (no tracing)\n"
		"      --all-netns       every network namespace in /proc and /run/netns\n"
		"      --verify          print /proc/net/sockstat's tw next to the count\n"
		"      --sockets         list every timewait socket: tuple, substate, time\n"
		"                        left on its timer, age\n"
		"      --top N           rows per table: timewait peers, ports, port pressure;\n"
		"                        retrans -c flows and endpoints (default 10)\n"
		"      --warn-pct P      warn when a destination uses P%% of the\n"
		"                        ephemeral port range (default 50)\n"
		"retrans:\n"
		"  -c, --count           counts per flow and per remote endpoint, every -i\n"
		"                        SEC and at exit, instead of one line per event\n"
		"      --resets          resets sent and received too\n"
		"run (exit status: CMD's, or 3 when a threshold is crossed):\n"
		"      --report FILE     write the report as JSON\n"
		"      --junit FILE      write the thresholds as JUnit XML test cases\n"
		"      --max-retrans N   fail above N retransmitted segments\n"
		"      --max-resets N    fail above N resets (sent and received)\n"
		"      --max-timewait N  fail above N connections in TIME_WAIT at CMD's exit\n"
		"      --fail-on-leak    fail when connections are left in CLOSE_WAIT or\n"
		"                        FIN_WAIT2 when CMD exits (closed only by its exit)\n"
		"      --max-lost N      fail above N events tcpdwell could not see (default 0)\n"
		"      --max-connect-failures N  fail above N connect() calls that failed\n"
		"                        before their SYN (no free local port, 4-tuple in use)\n"
		"export (GET /metrics, /healthz):\n"
		"      --listen ADDR:PORT  where to serve (default 127.0.0.1:9466; [::1]:PORT)\n"
		"      --label-ports LIST  a port=\"...\" label for these ports (the --lport\n"
		"                        syntax, at most 15 entries; each entry one value),\n"
		"                        every other port counts as port=\"other\"\n"
		"      --label-peers LIST  a peer=\"...\" label for these remote addresses or\n"
		"                        CIDR prefixes (at most 15), the rest peer=\"other\"\n"
		"      --label-containers LIST  dwell histograms and TIME_WAIT counts also by\n"
		"                        the owner's container (ids or prefixes, pod uids,\n"
		"                        units; at most 15), the rest container=\"other\"\n"
		"record (filters apply in the kernel, as for any command):\n"
		"  -w, --write FILE      the recording (created 0600; never overwritten ...)\n"
		"      --force           ... unless --force)\n"
		"      --rotate SIZE     start FILE.1, FILE.2 ... before a file exceeds SIZE\n"
		"                        (k, M, G suffixes; at least 4k); each is a whole\n"
		"                        recording with its own header\n"
		"replay: --netns and --cgroup take numbers (inode, cgroup id): paths name\n"
		"  this machine's; -d SEC stops at SEC seconds into the recording.\n"
		"  -h, --help            this help\n"
		"  -V, --version         version, git revision, libbpf version\n"
		"\n"
		"SIGUSR1 prints the loss counters. Exit codes: 0 ok, 1 runtime error,\n"
		"2 bad usage or environment (or a corrupt recording), 3 run: a threshold was\n"
		"crossed, 4 events were lost (see the summary; replay: also a recording cut\n"
		"short).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	char what[512];

	snprintf(what, sizeof(what), fmt, arg);
	return td_err(TD_EXIT_USAGE, "%s (see tcpdwell --help)", what);
}

/* Strict unsigned parse: digits only, within [min, max]. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

/* A namespace file (its inode is the netns id, as in /proc/PID/ns/net) or
 * the inode number itself. */
static int parse_netns(const char *s, uint32_t *out)
{
	unsigned long v;
	struct stat st;

	if (!parse_uint(s, 1, UINT32_MAX, &v)) {
		*out = v;
		return 0;
	}
	if (stat(s, &st) || st.st_ino > UINT32_MAX || !st.st_ino)
		return -1;
	*out = st.st_ino;
	return 0;
}

static int parse_pids(const char *s, struct td_opts *o)
{
	char buf[1024], *tok, *save = NULL;
	unsigned long v;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->filter.npids == (int)(sizeof(o->filter.pids) / sizeof(o->filter.pids[0])) ||
		    parse_uint(tok, 1, INT32_MAX, &v))
			return -1;
		o->filter.pids[o->filter.npids++] = v;
	}
	return o->filter.npids ? 0 : -1;
}

_Static_assert(TD_MAX_CGROUPS == 64, "the --cgroup message says 64");

/* What a derived container id is made of (cgname.c): hex, a pod uid, a
 * unit name. */
static int parse_container(const char *s, char *out, size_t sz)
{
	size_t n = strlen(s);

	if (!n || n >= sz)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.@:", s[i]))
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

/* "ID,ID,...": --label-containers (each as --container takes it). */
static int parse_container_list(const char *s, struct td_cg_labels *l)
{
	char buf[4096], *save = NULL, *tok;

	l->n = 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		/* "other" is the rest's label; one label value, one series */
		if (l->n == TD_LABEL_MAX || !strcmp(tok, "other") ||
		    parse_container(tok, l->id[l->n], sizeof(l->id[0])))
			return -1;
		for (int i = 0; i < l->n; i++)
			if (!strcmp(l->id[i], tok))
				return -1;
		l->n++;
	}
	return l->n ? 0 : -1;
}

/* A cgroup v2 directory; its inode number is the id the kernel reports. */
static int parse_cgroup(const char *s, uint64_t *out)
{
	struct statfs fs;
	struct stat st;

	if (statfs(s, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC || stat(s, &st) ||
	    !S_ISDIR(st.st_mode))
		return -1;
	*out = st.st_ino;
	return 0;
}

int td_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end && !end[1]) {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			return -1;
		}
	} else if (*end) {
		return -1;
	}
	if (v > (UINT64_MAX >> 1) >> shift)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

bool td_filter_owner(const struct td_filter *f)
{
	return f->npids || f->comm[0] || f->ncgroups || f->container[0];
}

bool td_filter_active(const struct td_filter *f)
{
	return f->family || f->lports.n || f->rports.n || f->laddrs.n || f->raddrs.n ||
	       td_filter_owner(f);
}

/* getopt_long wants the options alone, ended by a zero entry. */
static const struct option *long_opts(void)
{
	static struct option opts[NOPTS + 1];

	if (!opts[0].name)
		for (size_t i = 0; i < NOPTS; i++)
			opts[i] = optdefs[i].opt;
	return opts;
}

static unsigned group_of(int val)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (optdefs[i].opt.val == val)
			return optdefs[i].group;
	return 0;
}

/* What replay refuses of the commands it shows (TD_OG_REPLAY_NOT). */
static const struct td_refusal replay_refuse[] = {
    {TD_OG_KERNEL | TD_OG_FOLLOW,
     "it is for live tracing, and a recording's own filters already apply"},
    {TD_OG_CENSUS, "it needs the live kernel; a replayed timewait starts from the recorded "
		   "census"},
    {0},
};

/* Whether o's command, live or replayed, takes the option `name` of group
 * g. Refused: why, or which commands take it. */
static int check_group(const struct td_opts *o, unsigned g, const char *name)
{
	const struct td_command *cmd = o->command;
	const struct td_refusal *r = cmd->refuse;
	const char *who = cmd->name;
	char takers[128];

	if (!g || ((cmd->groups & g) && !(o->replay_path && (g & TD_OG_REPLAY_NOT))))
		return 0;
	if (cmd->groups & g) {
		r = replay_refuse;
		who = "replay";
	}
	for (; r && r->groups; r++)
		if (r->groups & g)
			return td_err(TD_EXIT_USAGE,
				      "%s: %s does not apply: %s (see tcpdwell --help)", who, name,
				      r->why);
	td_command_takers(g, takers, sizeof(takers));
	return td_err(TD_EXIT_USAGE, "%s: %s is an option of %s (see tcpdwell --help)", who, name,
		      takers);
}

/* Options a command takes, but not together, or not alone. */
static int check_combinations(const struct td_opts *o, bool max_follow)
{
	bool owner = td_filter_owner(&o->filter);

	if (o->command->check && o->command->check(o))
		return TD_EXIT_USAGE;
	if (o->follow && !o->filter.npids)
		return usage_error("%s: follows the processes given with --pid; add --pid",
				   "--follow");
	if (max_follow && !o->follow)
		return usage_error("%s: sizes the pid map of --follow; add --follow",
				   "--max-follow");
	/* the snapshot walks the hash tables: who created a socket is unknown
	 * there, so an owner filter could only ever show nothing */
	if (owner && o->once)
		return usage_error("%s: the snapshot does not know which process created a "
				   "socket; --pid, --comm, --cgroup and --container need the "
				   "live census",
				   "--once");
	/* sockstat's tw is the whole namespace's: a filtered count never equals it */
	if (o->verify && td_filter_active(&o->filter))
		return usage_error("%s: compares the whole namespace with /proc/net/sockstat; "
				   "it takes no filters (-4/-6, ports, addresses, owners)",
				   "--verify");
	if (o->all_netns && o->filter.netns)
		return usage_error("%s: use --netns or --all-netns, not both", "--all-netns");
	if (o->once && o->duration_s)
		return usage_error("%s: --once takes no duration", "--once");
	if (o->no_accept && o->accept_hook != TD_ACCEPT_AUTO)
		return usage_error("--accept-hook %s and --no-accept-tracepoint: the latter "
				   "only narrows auto",
				   td_accept_hook_name(o->accept_hook));
	return 0;
}

/* COMMAND, or replay FILE [COMMAND]: sets o->command (trace when none is
 * named) and o->replay_path; returns how many arguments they took, or
 * -TD_EXIT_USAGE. */
static int parse_command(int argc, char **argv, struct td_opts *o)
{
	char names[128];
	int used = 0;

	o->command = td_command_default();
	if (argc > 1 && !strcmp(argv[1], "replay")) {
		if (argc < 3 || argv[2][0] == '-' || !argv[2][0])
			return -usage_error("%s: which recording? (tcpdwell replay FILE [COMMAND])",
					    "replay");
		o->replay_path = argv[2];
		used = 2;
	}
	if (argc > used + 1 && argv[used + 1][0] != '-') {
		o->command = td_command_find(argv[used + 1]);
		if (o->replay_path && (!o->command || !o->command->replay)) {
			td_command_replayable(names, sizeof(names));
			return -usage_error("replay: replays %s", names);
		}
		if (!o->command)
			return -usage_error("unknown command '%s'", argv[used + 1]);
		used++;
	}
	o->cmd = o->command->id;
	return used;
}

/* What a comma-separated list option says when it is malformed as a list. */
struct list_errs {
	const char *too_long, *empty;
};

/* Split s at commas into buf (bufsz, which bounds the list) and hand each
 * item to fn; an empty item anywhere is refused. Returns 0 or -1 with *err
 * set (fn's own reason, or the list's). */
static int each_item(const char *s, char *buf, size_t bufsz, const struct list_errs *le,
		     int (*fn)(char *item, void *ctx, const char **err), void *ctx,
		     const char **err)
{
	char *tok, *save = NULL;

	if (strlen(s) >= bufsz) {
		*err = le->too_long;
		return -1;
	}
	strcpy(buf, s);
	if (!*buf || buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")) {
		*err = le->empty;
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (fn(tok, ctx, err))
			return -1;
	return 0;
}

static int port_item(char *tok, void *ctx, const char **err)
{
	struct td_port_list *out = ctx;
	unsigned long lo, hi;
	char *dash;

	dash = strchr(tok, '-');
	if (dash)
		*dash = '\0';
	if (parse_uint(tok, 1, 65535, &lo)) {
		*err = "ports are numbers from 1 to 65535";
		return -1;
	}
	hi = lo;
	if (dash && parse_uint(dash + 1, 1, 65535, &hi)) {
		*err = "ports are numbers from 1 to 65535";
		return -1;
	}
	if (hi < lo) {
		*err = "port range runs backwards";
		return -1;
	}
	if (out->n == TD_MAX_PORT_RANGES) {
		*err = "too many port ranges (max 64)";
		return -1;
	}
	out->r[out->n].lo = lo;
	out->r[out->n].hi = hi;
	out->n++;
	return 0;
}

int td_parse_ports(const char *s, struct td_port_list *out, const char **err)
{
	static const struct list_errs le = {"port list too long", "empty port in list"};
	char buf[1024];

	return each_item(s, buf, sizeof(buf), &le, port_item, out, err);
}

/* ADDR or ADDR/LEN into the tries' form (IPv4 as ::ffff:a.b.c.d/LEN+96).
 * Host bits are cleared (a filter:
 * 10.1.2.3/8 means 10.0.0.0/8) or, when strict, refused (a label value
 * that names another network than it says is a typo). */
static int parse_cidr(char *tok, struct td_cidr *c, bool strict, const char **err)
{
	char *slash = strchr(tok, '/');
	bool v4 = !strchr(tok, ':');
	unsigned long len;

	if (slash)
		*slash = '\0';
	memset(c, 0, sizeof(*c));
	if (v4) {
		c->addr[10] = c->addr[11] = 0xff;
		if (inet_pton(AF_INET, tok, &c->addr[12]) != 1) {
			*err = "not an IPv4 or IPv6 address (ADDR or ADDR/LEN)";
			return -1;
		}
	} else if (inet_pton(AF_INET6, tok, c->addr) != 1) {
		*err = "not an IPv4 or IPv6 address (ADDR or ADDR/LEN)";
		return -1;
	}
	len = v4 ? 32 : 128;
	if (slash && parse_uint(slash + 1, 0, len, &len)) {
		*err =
		    v4 ? "an IPv4 prefix length is 0 to 32" : "an IPv6 prefix length is 0 to 128";
		return -1;
	}
	c->prefix = len + (v4 ? 96 : 0);
	for (int i = 0; i < 16; i++) {
		int bits = c->prefix - 8 * i;
		uint8_t host = bits <= 0 ? 0xff : bits < 8 ? (uint8_t)(0xff >> bits) : 0;

		if (strict && (c->addr[i] & host)) {
			*err = "address has bits set beyond the prefix length";
			return -1;
		}
		c->addr[i] &= (uint8_t)~host;
	}
	return 0;
}

static int cidr_item(char *tok, void *ctx, const char **err)
{
	struct td_cidr_list *out = ctx;

	if (out->n == TD_MAX_CIDRS) {
		*err = "too many CIDRs (max 64 per --laddr/--raddr side)";
		return -1;
	}
	if (parse_cidr(tok, &out->c[out->n], false, err))
		return -1;
	out->n++;
	return 0;
}

int td_parse_cidrs(const char *s, struct td_cidr_list *out, const char **err)
{
	static const struct list_errs le = {"address list too long", "empty address in list"};
	char buf[4096];

	return each_item(s, buf, sizeof(buf), &le, cidr_item, out, err);
}

bool td_port_in(const struct td_port_list *l, uint16_t port)
{
	for (int i = 0; i < l->n; i++)
		if (port >= l->r[i].lo && port <= l->r[i].hi)
			return true;
	return false;
}

/* One address or prefix: "10.0.0.0/8", "192.168.1.5", "fd00::/8", "::1". */
static int parse_peer(char *tok, struct td_peer *p, const char **err)
{
	bool v4 = !strchr(tok, ':'), slash = strchr(tok, '/');
	struct td_cidr c;
	unsigned len;

	if (parse_cidr(tok, &c, true, err))
		return -1;
	memset(p, 0, sizeof(*p));
	memcpy(p->addr, c.addr, sizeof(p->addr));
	p->prefix = c.prefix;
	len = c.prefix - (v4 ? 96 : 0);
	/* the label value in canonical form: 0:0::1 and ::1 are one peer */
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? (void *)&p->addr[12] : (void *)p->addr, p->text,
		  sizeof(p->text));
	if (slash)
		snprintf(p->text + strlen(p->text), sizeof(p->text) - strlen(p->text), "/%u", len);
	return 0;
}

static int peer_item(char *tok, void *ctx, const char **err)
{
	struct td_peer_list *out = ctx;

	if (out->n == TD_LABEL_MAX) {
		*err = "at most 15 entries";
		return -1;
	}
	if (parse_peer(tok, &out->p[out->n], err))
		return -1;
	out->n++;
	return 0;
}

int td_parse_peers(const char *s, struct td_peer_list *out, const char **err)
{
	static const struct list_errs le = {"list too long", "empty entry in list"};
	char buf[1024];

	return each_item(s, buf, sizeof(buf), &le, peer_item, out, err);
}

int td_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;
	size_t hl;

	if (!colon || parse_uint(colon + 1, 1, 65535, &port))
		return -1;
	hl = colon - s;
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return 0;
}

static void defaults(struct td_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->format = TD_FMT_TEXT;
	o->flush_ms = 100;
	o->ringbuf_kb = 4096;
	o->max_sockets = 131072;
	o->timewait_map = 131072;
	o->max_retrans = o->max_resets = o->max_tw = o->max_connfail = -1;
	o->max_follow = TD_MAX_PIDS_FOLLOW;
	o->wakeup_pct = 25;
	o->top = 10;
	o->warn_pct = 50;
	strcpy(o->listen, "127.0.0.1:9466");
}

int td_parse_args(int argc, char **argv, struct td_opts *o)
{
	const char *err = NULL;
	bool max_follow = false;
	struct sockaddr_storage ss;
	char name[64];
	unsigned sslen;
	unsigned long v;
	int c, li;

	defaults(o);
	o->argc = argc;
	o->argv = argv;
	c = parse_command(argc, argv, o);
	if (c < 0)
		return -c;
	argv += c;
	argc -= c;
	optind = 0; /* 0, not 1: also resets glibc's state inside a -xyz cluster */
	opterr = 0;
	/* a command's own short options: run's CMD keeps its options,
	 * record's -w is -w FILE */
	while (li = -1,
	       (c = getopt_long(argc, argv,
				o->command->shortopts ? o->command->shortopts : ":46o:TwCd:i:chV",
				long_opts(), &li)) != -1) {
		if (c == 'w' && optarg)
			c = OPT_WRITE; /* record's -w FILE (its shortopts) */
		if (li >= 0)
			snprintf(name, sizeof(name), "--%s", optdefs[li].opt.name);
		else
			snprintf(name, sizeof(name), "-%c", c == OPT_WRITE ? 'w' : c);
		if (c != ':' && c != '?' && check_group(o, group_of(c), name))
			return TD_EXIT_USAGE;
		switch (c) {
		case '4':
		case '6':
			if (o->filter.family)
				return usage_error("%s: use -4 or -6, not both", "-4/-6");
			o->filter.family = c == '4' ? AF_INET : AF_INET6;
			break;
		case OPT_LPORT:
		case OPT_RPORT:
			if (td_parse_ports(optarg,
					   c == OPT_LPORT ? &o->filter.lports : &o->filter.rports,
					   &err)) {
				td_msg("bad port list '%s': %s", optarg, err);
				return TD_EXIT_USAGE;
			}
			break;
		case OPT_LADDR:
		case OPT_RADDR:
			if (td_parse_cidrs(optarg,
					   c == OPT_LADDR ? &o->filter.laddrs : &o->filter.raddrs,
					   &err)) {
				td_msg("bad %s '%s': %s", c == OPT_LADDR ? "--laddr" : "--raddr",
				       optarg, err);
				return TD_EXIT_USAGE;
			}
			break;
		case OPT_FOLLOW:
			o->follow = true;
			break;
		case OPT_MAX_FOLLOW:
			/* at least the 64 --pid can list; at most pid_max's ceiling */
			if (parse_uint(optarg, TD_MAX_PIDS, 4194304, &v))
				return usage_error("bad --max-follow '%s' (64..4194304)", optarg);
			o->max_follow = v;
			max_follow = true;
			break;
		case OPT_NETNS:
			/* a recording is replayed anywhere: a path names this machine's */
			if (o->replay_path && parse_uint(optarg, 1, UINT32_MAX, &v))
				return usage_error(
				    "bad --netns '%s' (replay: the namespace's inode "
				    "number, as the recording shows it)",
				    optarg);
			if (parse_netns(optarg, &o->filter.netns))
				return usage_error(
				    "bad --netns '%s' (a netns path or inode number)", optarg);
			if (strlen(optarg) < sizeof(o->netns_path) && !strchr(optarg, '\n') &&
			    optarg[0] == '/')
				strcpy(o->netns_path, optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "text"))
				o->format = TD_FMT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->format = TD_FMT_JSON;
			else
				return usage_error("unknown output format '%s' (text, json)",
						   optarg);
			break;
		case 'T':
			o->wall_time = true;
			break;
		case 'w':
			o->wide = true;
			break;
		case 'C':
			o->containers = true;
			break;
		case OPT_WRITE:
			if (!*optarg)
				return usage_error("%s needs a file name", "-w");
			o->write_path = optarg;
			break;
		case OPT_ROTATE:
			if (td_parse_size(optarg, &o->rotate_bytes) || o->rotate_bytes < 4096)
				return usage_error(
				    "bad --rotate '%s' (a size of at least 4k: 4096, "
				    "64k, 10M, 1G)",
				    optarg);
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration_s))
				return usage_error("bad duration '%s' (seconds > 0)", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_s))
				return usage_error("bad interval '%s' (seconds > 0)", optarg);
			break;
		case OPT_FLUSH_MS:
			if (parse_uint(optarg, 1, 10000, &v))
				return usage_error("bad --flush-ms '%s' (1..10000)", optarg);
			o->flush_ms = v;
			break;
		case OPT_RINGBUF_KB:
			if (parse_uint(optarg, 4, 1 << 20, &v) || (v & (v - 1)))
				return usage_error("bad --ringbuf-kb '%s' (power of 2, 4..1048576)",
						   optarg);
			o->ringbuf_kb = v;
			break;
		case OPT_MAX_SOCKETS:
			if (parse_uint(optarg, 16, 1 << 24, &v))
				return usage_error("bad --max-sockets '%s' (16..16777216)", optarg);
			o->max_sockets = v;
			break;
		case OPT_TIMEWAIT_MAP:
			if (parse_uint(optarg, 16, 1 << 24, &v))
				return usage_error("bad --timewait-map '%s' (16..16777216)",
						   optarg);
			o->timewait_map = v;
			break;
		case OPT_REPORT:
		case OPT_JUNIT:
			if (!*optarg)
				return usage_error("%s needs a file name",
						   c == OPT_REPORT ? "--report" : "--junit");
			*(c == OPT_REPORT ? &o->report_path : &o->junit_path) = optarg;
			break;
		case OPT_MAX_RETRANS:
		case OPT_MAX_RESETS:
		case OPT_MAX_TW:
		case OPT_MAX_LOST:
		case OPT_MAX_CONNFAIL: {
			int64_t *limit = c == OPT_MAX_RETRANS	 ? &o->max_retrans
					 : c == OPT_MAX_RESETS	 ? &o->max_resets
					 : c == OPT_MAX_TW	 ? &o->max_tw
					 : c == OPT_MAX_CONNFAIL ? &o->max_connfail
								 : &o->max_lost;

			if (parse_uint(optarg, 0, UINT32_MAX, &v)) {
				td_msg("bad %s '%s' (a count, 0..4294967295)", name, optarg);
				return TD_EXIT_USAGE;
			}
			*limit = v;
			break;
		}
		case OPT_LISTEN:
			if (strlen(optarg) >= sizeof(o->listen) ||
			    td_parse_listen(optarg, &ss, &sslen))
				return usage_error(
				    "bad --listen '%s' (ADDR:PORT, e.g. 127.0.0.1:9466 "
				    "or [::1]:9466)",
				    optarg);
			strcpy(o->listen, optarg);
			break;
		case OPT_LABEL_PORTS:
			o->label_ports.n = 0;
			if (td_parse_ports(optarg, &o->label_ports, &err) ||
			    (o->label_ports.n > TD_LABEL_MAX && (err = "at most 15 entries"))) {
				td_msg("bad --label-ports '%s': %s", optarg, err);
				return TD_EXIT_USAGE;
			}
			break;
		case OPT_LABEL_PEERS:
			o->label_peers.n = 0;
			if (td_parse_peers(optarg, &o->label_peers, &err)) {
				td_msg("bad --label-peers '%s': %s", optarg, err);
				return TD_EXIT_USAGE;
			}
			break;
		case OPT_LABEL_CONTAINERS:
			if (parse_container_list(optarg, &o->label_containers))
				return usage_error(
				    "bad --label-containers '%s' (up to 15 container "
				    "ids or prefixes, pod uids, unit names, comma-separated, each "
				    "once, not 'other')",
				    optarg);
			break;
		case OPT_FAIL_ON_LEAK:
			o->fail_on_leak = true;
			break;
		case OPT_WAKEUP_PCT:
			if (parse_uint(optarg, 1, 100, &v))
				return usage_error("bad --wakeup-pct '%s' (1..100)", optarg);
			o->wakeup_pct = v;
			break;
		case OPT_WAKEUP_PER_EVENT:
			o->wakeup_per_event = true;
			break;
		case OPT_NO_ACCEPT:
			o->no_accept = true;
			break;
		case OPT_ACCEPT_HOOK:
			if (td_accept_hook_parse(optarg, &o->accept_hook))
				return usage_error("bad --accept-hook '%s' (auto, fentry, kprobe, "
						   "tracepoint, none)",
						   optarg);
			break;
		case OPT_SOCKET_ID:
			if (td_sockid_parse(optarg, &o->socket_id))
				return usage_error("bad --socket-id '%s' (auto, cookie, own)",
						   optarg);
			break;
		case OPT_ALL_NETNS:
			o->all_netns = true;
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case OPT_VERIFY:
			o->verify = true;
			break;
		case OPT_SOCKETS:
			o->sockets = true;
			break;
		case OPT_TOP:
			if (parse_uint(optarg, 1, 1000, &v))
				return usage_error("bad --top '%s' (1..1000)", optarg);
			o->top = v;
			break;
		case 'c':
			o->count = true;
			break;
		case OPT_RESETS:
			o->resets = true;
			break;
		case OPT_PID:
			if (parse_pids(optarg, o))
				return usage_error("bad --pid '%s' (PID[,PID...], at most 64)",
						   optarg);
			break;
		case OPT_COMM:
			if (!*optarg || strlen(optarg) >= sizeof(o->filter.comm))
				return usage_error("bad --comm '%s' (a task name, 1-15 characters)",
						   optarg);
			strcpy(o->filter.comm, optarg);
			break;
		case OPT_CGROUP:
			if (o->filter.ncgroups == TD_MAX_CGROUPS)
				return usage_error("%s: at most 64 directories", "--cgroup");
			if (o->replay_path) {
				unsigned long long id;
				char *end;

				errno = 0;
				id = strtoull(optarg, &end, 10);
				if (errno || *end || !id || optarg[0] < '0' || optarg[0] > '9')
					return usage_error(
					    "bad --cgroup '%s' (replay: the cgroup id, "
					    "as the recording shows it)",
					    optarg);
				o->filter.cgroup_ids[o->filter.ncgroups++] = id;
				break;
			}
			if (parse_cgroup(optarg, &o->filter.cgroup_ids[o->filter.ncgroups++]))
				return usage_error("bad --cgroup '%s' (a cgroup v2 directory)",
						   optarg);
			break;
		case OPT_CONTAINER:
			if (parse_container(optarg, o->filter.container,
					    sizeof(o->filter.container)))
				return usage_error("bad --container '%s' (a container id or its "
						   "prefix, a pod uid, a unit name)",
						   optarg);
			break;
		case OPT_WARN_PCT:
			if (parse_uint(optarg, 1, 100, &v))
				return usage_error("bad --warn-pct '%s' (1..100)", optarg);
			o->warn_pct = v;
			break;
		case 'h':
			td_usage(stdout);
			return -1;
		case 'V':
			td_version_print(stdout);
			return -1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt) { /* a short option, maybe inside a cluster like -x4 */
				char opt[3] = {'-', (char)optopt, '\0'};

				return usage_error("unknown option '%s'", opt);
			}
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->command->takes_command) {
		if (optind >= argc)
			return usage_error("%s: no command to run (tcpdwell run [OPTIONS] -- CMD)",
					   "run");
		o->run_argv = argv + optind;
	} else if (optind < argc) {
		return usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (!o->interval_s)
		o->interval_s = o->command->interval_s;
	return check_combinations(o, max_follow);
}
