// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * td_parse_args on an argv made of the input split at NUL and newline:
 * whatever a user (or a script building a command line) can type. The
 * parser must return, never exit, and leave *opts within its documented
 * bounds.
 */
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "commands.h"
#include "fuzz.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ports(const struct td_port_list *l, int max)
{
	FUZZ_CHECK(l->n >= 0 && l->n <= max);
	for (int i = 0; i < l->n; i++)
		FUZZ_CHECK(l->r[i].lo >= 1 && l->r[i].lo <= l->r[i].hi);
}

static void check_opts(const struct td_opts *o, int rc)
{
	FUZZ_CHECK(rc == 0 || rc == -1 || rc == TD_EXIT_USAGE);
	if (rc)
		return;
	FUZZ_CHECK(o->cmd >= TD_CMD_TRACE && o->cmd <= TD_CMD_RECORD);
	FUZZ_CHECK(o->command && o->command->id == (int)o->cmd);
	FUZZ_CHECK(!o->replay_path || o->command->replay);
	/* an option only where its command takes its group (commands.c) */
	if (!(o->command->groups & TD_OG_RETRANS))
		FUZZ_CHECK(!o->count && !o->resets);
	if (!(o->command->groups & TD_OG_CENSUS) || o->replay_path)
		FUZZ_CHECK(!o->once && !o->all_netns && !o->verify);
	if (!(o->command->groups & TD_OG_RUN))
		FUZZ_CHECK(!o->fail_on_leak && !o->report_path && !o->junit_path);
	if (!(o->command->groups & TD_OG_RECORD))
		FUZZ_CHECK(!o->write_path && !o->force && !o->rotate_bytes);
	if (!(o->command->groups & TD_OG_OWNER))
		FUZZ_CHECK(!o->filter.npids && !o->filter.ncgroups && !o->filter.container[0]);
	if (!(o->command->groups & TD_OG_OUTPUT))
		FUZZ_CHECK(o->format == TD_FMT_TEXT && !o->wide && !o->wall_time);
	if (!(o->command->groups & TD_OG_CONTAINERS))
		FUZZ_CHECK(!o->containers);
	FUZZ_CHECK(o->filter.ncgroups >= 0 && o->filter.ncgroups <= TD_MAX_CGROUPS);
	FUZZ_CHECK(o->label_containers.n >= 0 && o->label_containers.n <= TD_LABEL_MAX);
	if (!(o->command->groups & TD_OG_EXPORT))
		FUZZ_CHECK(!o->label_containers.n);
	FUZZ_CHECK(strlen(o->filter.container) < sizeof(o->filter.container));
	FUZZ_CHECK(o->filter.family == 0 || o->filter.family == AF_INET ||
		   o->filter.family == AF_INET6);
	check_ports(&o->filter.lports, TD_MAX_PORT_RANGES);
	check_ports(&o->filter.rports, TD_MAX_PORT_RANGES);
	check_ports(&o->label_ports, TD_LABEL_MAX);
	FUZZ_CHECK(o->filter.laddrs.n >= 0 && o->filter.laddrs.n <= TD_MAX_CIDRS);
	FUZZ_CHECK(o->filter.raddrs.n >= 0 && o->filter.raddrs.n <= TD_MAX_CIDRS);
	FUZZ_CHECK(o->label_peers.n >= 0 && o->label_peers.n <= TD_LABEL_MAX);
	for (int i = 0; i < o->label_peers.n; i++)
		FUZZ_CHECK(
		    memchr(o->label_peers.p[i].text, '\0', sizeof(o->label_peers.p[i].text)));
	FUZZ_CHECK(o->filter.npids >= 0 &&
		   o->filter.npids <= (int)(sizeof(o->filter.pids) / sizeof(o->filter.pids[0])));
	FUZZ_CHECK(memchr(o->filter.comm, '\0', sizeof(o->filter.comm)));
	FUZZ_CHECK(memchr(o->netns_path, '\0', sizeof(o->netns_path)));
	FUZZ_CHECK(memchr(o->listen, '\0', sizeof(o->listen)));
	FUZZ_CHECK(o->ringbuf_kb >= 4 && !(o->ringbuf_kb & (o->ringbuf_kb - 1)));
	FUZZ_CHECK(o->flush_ms >= 1 && o->flush_ms <= 10000);
	FUZZ_CHECK(o->max_sockets >= 16);
	FUZZ_CHECK(o->duration_s >= 0 && o->interval_s >= 0);
	if (o->cmd == TD_CMD_RUN)
		FUZZ_CHECK(o->run_argv && o->run_argv[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *buf;
	struct td_opts opts;
	int argc = 1, rc;

	fuzz_quiet();
	buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "tcpdwell";
	/* each argument its own allocation: a read past one is seen */
	for (size_t i = 0, start = 0; i <= size && argc <= MAX_ARGS; i++) {
		if (i < size && buf[i] != '\0' && buf[i] != '\n')
			continue;
		argv[argc] = malloc(i - start + 1);
		if (!argv[argc])
			abort();
		memcpy(argv[argc], buf + start, i - start);
		argv[argc][i - start] = '\0';
		argc++;
		start = i + 1;
	}
	argv[argc] = NULL;
	rc = td_parse_args(argc, argv, &opts);
	check_opts(&opts, rc);
	if (!rc)
		(void)td_filter_active(&opts.filter);
	for (int i = 1; i < argc; i++)
		free(argv[i]);
	free(buf);
	return 0;
}
