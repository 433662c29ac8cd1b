// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `tcpdwell run -- CMD`: the tracer is attached and filtering on a cgroup
 * of the command's own (without cgroup v2: on its process tree) before
 * the command starts (it waits at a gate), the
 * command's connections are assembled until it exits, and what they did is
 * judged against the thresholds. The command's exit status is forwarded
 * unless a threshold is crossed (exit 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "commands.h"
#include "err.h"
#include "cgname.h"
#include "cgroup.h"
#include "conn.h"
#include "netns.h"
#include "run.h"
#include "privs.h"
#include "tracer.h"

struct run {
	const struct td_opts *o;
	struct td_tracer *t;
	struct td_conns *conns;
	struct td_run_report *rep;
	pid_t child;
	bool exited;
	int wstatus;
	uint64_t exit_ns; /* when the command was seen gone */
	/* the census's view of timewait sockets, per namespace asked */
	uint32_t asked[8];
	int nasked;
	struct tw_now {
		uint64_t cookie;
		uint8_t state;
	} * tw;
	size_t ntw, captw;
	/* connections settled at the end, and the ends the exit closed */
	struct td_run_conn *fw2, *by_exit;
	size_t nfw2, capfw2, nby_exit, capby_exit;
	uint64_t judge_ns; /* the moment states are judged at; UINT64_MAX before */
	uint64_t last_cg;  /* the cgroup of the last event (named as it comes) */
};

/*
 * Segments in flight when the command exits (the peer's FIN that turns a
 * FIN_WAIT2 into TIME_WAIT, queued in a softirq backlog on a slow machine)
 * get this long to arrive before states are judged.
 */
#define GRACE_NS (200 * 1000 * 1000ull)

/* FIN_WAIT2, of a full socket or the timewait substate. */
static bool fin_wait2(uint8_t st)
{
	return st == TD_TCP_FIN_WAIT2 || st == TD_TCP_FIN_WAIT2_TW;
}

/*
 * The state a connection was in when the command exited. A close done by
 * the exit itself (the kernel closing the files of a dying process) does
 * not count: a CLOSE_WAIT socket closed that way was left open by the
 * program, which is the leak CI wants to hear about.
 */
static void state_at_exit(const struct td_conn *c, uint64_t judge_ns, struct td_run_conn *rc)
{
	rc->state = TD_TCP_MAX_STATES;
	rc->by_exit = false;
	rc->fw2_state = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct td_conn_ev *e = &c->ev[i];

		if (e->type != TD_EV_STATE)
			continue;
		if (e->task_flags & TD_TASK_EXITING) {
			rc->by_exit = true;
			rc->exit_close_ns = e->ts_ns;
			rc->state = e->old_state;
			return;
		}
		if (e->ts_ns > judge_ns)
			break;
		if (fin_wait2(e->old_state) && !fin_wait2(e->new_state)) {
			rc->fw2_state = e->old_state;
			rc->fw2_left_ns = e->ts_ns;
		}
		rc->state = e->new_state;
	}
}

static int on_snapshot(void *ctx, const struct td_event *e)
{
	struct run *r = ctx;

	if (e->new_state != TD_TCP_TIME_WAIT && e->new_state != TD_TCP_FIN_WAIT2_TW)
		return 0;
	if (r->ntw == r->captw) {
		size_t cap = r->captw ? 2 * r->captw : 256;
		struct tw_now *grown = realloc(r->tw, cap * sizeof(*grown));

		if (!grown)
			return -1;
		r->tw = grown;
		r->captw = cap;
	}
	r->tw[r->ntw++] = (struct tw_now){e->cookie, e->new_state};
	return 0;
}

/*
 * A FIN_WAIT2(tw) socket's substate now, from the census iterator: the
 * peer's FIN turns it into TIME_WAIT by re-arming its timer, which the
 * kernel does silently when the new expiry lands in the same timer-wheel
 * bucket (tcp_fin_timeout = 60 s = TIME_WAIT). The events alone would call
 * a closed connection a leak. A socket the census no longer has has ended.
 */
static uint8_t tw_substate(struct run *r, const struct td_event *id, uint8_t st)
{
	struct td_iter_cfg cfg = {0};
	struct td_netns ns;
	int i;

	if (st != TD_TCP_FIN_WAIT2_TW)
		return st;
	for (i = 0; i < r->nasked && r->asked[i] != id->netns; i++)
		;
	if (i == r->nasked) {
		if (r->nasked == (int)(sizeof(r->asked) / sizeof(r->asked[0])) ||
		    td_netns_find(id->netns, &ns) ||
		    td_tracer_snapshot(r->t, &ns, &cfg, on_snapshot, r))
			return st; /* cannot ask: the events' word stands */
		r->asked[r->nasked++] = id->netns;
	}
	for (size_t j = 0; j < r->ntw; j++)
		if (r->tw[j].cookie == id->cookie)
			return r->tw[j].state;
	return TD_TCP_CLOSE;
}

/* b is a's other end: the same namespace, the tuple reversed. */
static bool peers(const struct td_event *a, const struct td_event *b)
{
	return a->netns == b->netns && a->family == b->family && a->lport == b->rport &&
	       a->rport == b->lport && !memcmp(a->laddr, b->raddr, sizeof(a->laddr)) &&
	       !memcmp(a->raddr, b->laddr, sizeof(a->raddr));
}

/* Keep a connection for later: grows v (of n, cap), silently bounded. */
static void keep(struct td_run_conn **v, size_t *n, size_t *cap, const struct td_run_conn *c)
{
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct td_run_conn *grown;

		if (ncap > (1u << 20) || !(grown = realloc(*v, ncap * sizeof(*grown))))
			return;
		*v = grown;
		*cap = ncap;
	}
	(*v)[(*n)++] = *c;
}

static void count_outcome(struct td_run_report *rep, const char *name)
{
	int i;

	for (i = 0; i < rep->noutcomes; i++)
		if (!strcmp(rep->outcome[i].name, name))
			break;
	if (i == rep->noutcomes) {
		if (i == TD_RUN_OUTCOMES)
			return; /* cannot happen: the names are a fixed small set */
		rep->outcome[rep->noutcomes++].name = name;
	}
	rep->outcome[i].n++;
}

/* Keep c in a list: the first TD_RUN_LISTED, or for retransmits the most. */
static void list_add(struct td_run_report *rep, int l, const struct td_run_conn *c)
{
	typeof(rep->list[0]) *list = &rep->list[l];
	int min = 0;

	list->total++;
	if (list->n < TD_RUN_LISTED) {
		list->v[list->n++] = *c;
		return;
	}
	if (l != TD_RL_RETRANS)
		return;
	for (int i = 1; i < list->n; i++)
		if (list->v[i].retrans < list->v[min].retrans)
			min = i;
	if (c->retrans > list->v[min].retrans)
		list->v[min] = *c;
}

static int by_retrans(const void *a, const void *b)
{
	const struct td_run_conn *x = a, *y = b;

	return x->retrans < y->retrans ? 1 : x->retrans > y->retrans ? -1 : 0;
}

/* The row of a cgroup (the rest's once the rows are taken). */
static struct td_run_cg *cg_row(struct td_run_report *rep, uint64_t id)
{
	for (int i = 0; i < rep->ncg; i++)
		if (rep->cg[i].id == id)
			return &rep->cg[i];
	if (rep->ncg == TD_RUN_CGROUPS)
		return &rep->cg_rest;
	rep->cg[rep->ncg].id = id;
	return &rep->cg[rep->ncg++];
}

/* One connection into the report. */
static void tally(struct run *r, const struct td_run_conn *c)
{
	struct td_run_report *rep = r->rep;
	struct td_run_conn rc = *c;
	struct td_run_cg *cg = cg_row(rep, c->id.cgroup_id);

	rep->conns++;
	cg->conns++;
	cg->retrans += rc.retrans;
	cg->resets += rc.resets;
	rep->retrans += rc.retrans;
	rep->retrans_failed += rc.retrans_failed;
	rep->rst_sent += rc.rst_sent;
	rep->rst_recv += rc.rst_recv;
	if (rc.end != TD_END_OPEN)
		count_outcome(rep, td_end_name(rc.end));
	else
		count_outcome(rep, rc.state == TD_TCP_TIME_WAIT ? "timewait" : "open");

	switch (rc.state) {
	case TD_TCP_CLOSE_WAIT:
		rep->close_wait_left++;
		cg->leaks++;
		list_add(rep, TD_RL_LEAK, &rc);
		break;
	case TD_TCP_FIN_WAIT2:
	case TD_TCP_FIN_WAIT2_TW:
		rep->fin_wait2_left++;
		cg->leaks++;
		list_add(rep, TD_RL_LEAK, &rc);
		break;
	case TD_TCP_TIME_WAIT:
		rep->timewait_left++;
		cg->timewait++;
		list_add(rep, TD_RL_TIMEWAIT, &rc);
		break;
	case TD_TCP_CLOSE:
	case TD_TCP_MAX_STATES:
		break;
	default:
		rep->open_at_exit++;
	}
	if (rc.retrans)
		list_add(rep, TD_RL_RETRANS, &rc);
	if (rc.resets)
		list_add(rep, TD_RL_RESET, &rc);
	if (rc.end >= TD_END_NO_PORT && rc.end <= TD_END_NO_SYN) {
		rep->connect_failures++;
		cg->connect_failures++;
		list_add(rep, TD_RL_CONNFAIL, &rc);
	}
}

static void account(void *ctx, const struct td_conn *c)
{
	struct run *r = ctx;
	struct td_run_conn rc = {.id = c->id};
	struct td_conn_summary s;

	td_conn_summarize(c, &s);
	state_at_exit(c, r->judge_ns, &rc);
	rc.end = s.end;
	rc.retrans = s.retrans;
	rc.retrans_failed = s.retrans_failed;
	rc.rst_sent = s.rst_sent;
	rc.rst_recv = s.rst_recv;
	rc.resets = s.rst_sent + s.rst_recv;
	/* a FIN_WAIT2(tw), or a FIN_WAIT2 that the peer's FIN turned into
	 * TIME_WAIT, is settled at the end (see settle()); the ends closed by
	 * the exit are what it is settled against */
	if (rc.state == TD_TCP_FIN_WAIT2_TW || (rc.state == TD_TCP_TIME_WAIT && rc.fw2_state)) {
		keep(&r->fw2, &r->nfw2, &r->capfw2, &rc);
		return;
	}
	if (rc.by_exit)
		keep(&r->by_exit, &r->nby_exit, &r->capby_exit, &rc);
	tally(r, &rc);
}

/*
 * The FIN_WAIT2 connections, once everything is in. A FIN sent by the exit
 * itself, closing a peer end the command had left in CLOSE_WAIT, does not
 * end FIN_WAIT2: that connection was still waiting on the command when it
 * exited (the TIME_WAIT it then entered is marked as the exit's only when
 * the FIN was processed in the exiting task's context, which a slow
 * machine's softirq backlog does not keep to). Otherwise a FIN_WAIT2(tw)
 * is what the census says now: the peer's FIN may have made it TIME_WAIT
 * silently (or it has gone).
 */
static void settle(struct run *r)
{
	for (size_t i = 0; i < r->nfw2; i++) {
		struct td_run_conn *c = &r->fw2[i];
		bool exit_fin = false;

		for (size_t j = 0; j < r->nby_exit && !exit_fin; j++)
			exit_fin = peers(&c->id, &r->by_exit[j].id) &&
				   (c->state == TD_TCP_FIN_WAIT2_TW ||
				    r->by_exit[j].exit_close_ns <= c->fw2_left_ns);
		if (exit_fin && c->state == TD_TCP_TIME_WAIT)
			c->state = c->fw2_state;
		else if (!exit_fin)
			c->state = tw_substate(r, &c->id, c->state);
		tally(r, c);
	}
	r->nfw2 = 0;
}

static int on_event(void *ctx, const struct td_event *e)
{
	struct run *r = ctx;

	/* named while it exists: the command may remove a cgroup it made */
	if (e->cgroup_id != r->last_cg) {
		r->last_cg = e->cgroup_id;
		td_cgnames_get(r->rep->names, e->cgroup_id);
	}
	td_conns_add(r->conns, e);
	return 0;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct run *r = ctx;

	if (!r->exited && waitpid(r->child, &r->wstatus, WNOHANG) == r->child) {
		r->exited = true;
		r->exit_ns = now;
		r->judge_ns = now + GRACE_NS;
	}
	if (r->exited && now >= r->judge_ns) {
		/* everything up to now is in the ring: take it in, then judge */
		r->judge_ns = now;
		td_tracer_drain(r->t);
	}
	td_conns_flush(r->conns, account, r, now);
	return r->exited && now >= r->judge_ns;
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	(void)ctx;
	td_loss_report(stderr, false, loss, NULL);
}

/* tcpdwell was told to stop before the command ended: pass it on, give the
 * command 10 s to go, then kill it. */
static void stop_child(struct run *r)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	kill(r->child, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(r->child, &r->wstatus, WNOHANG) == r->child)
			goto gone;
		nanosleep(&ts, NULL);
	}
	kill(r->child, SIGKILL);
	waitpid(r->child, &r->wstatus, 0);
gone:
	r->exited = true;
	r->exit_ns = r->judge_ns = td_tracer_now_ns(r->t);
}

/*
 * Fork the command, held at a gate (a pipe) until it is in the cgroup and
 * the tracer is attached. A failed exec reports its errno on a close-on-
 * exec pipe: EOF there means the command is running.
 */
static pid_t spawn(char *const argv[], const sigset_t *mask, int *gate_w, int *err_r)
{
	int gate[2], ep[2];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC))
		return -1;
	if (pipe2(ep, O_CLOEXEC)) {
		close(gate[0]);
		close(gate[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		char c;
		int e;

		/* the command gets the signal state tcpdwell started with */
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, mask, NULL);
		close(gate[1]);
		close(ep[0]);
		if (read(gate[0], &c, 1) != 1)
			_exit(127); /* tcpdwell gave up before the start */
		execvp(argv[0], argv);
		e = errno;
		if (write(ep[1], &e, sizeof(e)) != sizeof(e))
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(ep[1]);
	if (pid < 0) {
		close(gate[1]);
		close(ep[0]);
		return -1;
	}
	*gate_w = gate[1];
	*err_r = ep[0];
	return pid;
}

/* Open the report files before anything runs: a bad path is bad input. */
static int open_out(const char *path, FILE **f)
{
	*f = NULL;
	if (!path)
		return 0;
	*f = fopen(path, "we");
	if (*f)
		return 0;
	td_msg("cannot write '%s': %s", path, strerror(errno));
	return TD_EXIT_USAGE;
}

static int close_out(FILE *f, const char *path)
{
	if (!f)
		return 0;
	if (ferror(f) | fclose(f)) {
		td_msg("writing '%s' failed", path);
		return -1;
	}
	return 0;
}

static int exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return TD_EXIT_ERROR;
}

int td_run_main(const struct td_opts *o)
{
	struct td_opts to = *o;
	struct td_run_report *rep = calloc(1, sizeof(*rep));
	struct run r = {.o = o, .rep = rep, .judge_ns = UINT64_MAX, .child = -1};
	struct td_consumer c = {on_event, on_tick, on_report, &r};
	struct td_tracer_cfg tc;
	struct td_cgroup cg = {0};
	FILE *json = NULL, *junit = NULL;
	int err, gate = -1, errfd = -1, exec_errno = 0, moved;
	uint64_t start_ns;
	char why[600];
	sigset_t mask;

	if (!rep)
		return TD_EXIT_ERROR;
	err = open_out(o->report_path, &json);
	if (!err)
		err = open_out(o->junit_path, &junit);
	if (err)
		goto cleanup;
	r.conns = td_conns_new(o->max_sockets);
	if (!r.conns) {
		err = TD_EXIT_ERROR;
		goto cleanup;
	}
	if (!td_privileged()) {
		/* before the cgroup: its mkdir would fail less clearly */
		td_msg("needs root (or CAP_BPF and CAP_PERFMON)");
		err = TD_EXIT_USAGE;
		goto cleanup;
	}
	sigprocmask(SIG_BLOCK, NULL, &mask); /* before the tracer blocks its signals */
	r.child = spawn(o->run_argv, &mask, &gate, &errfd);
	if (r.child < 0) {
		td_msg("cannot start the command: %s", strerror(errno));
		err = TD_EXIT_ERROR;
		goto cleanup;
	}
	if (!td_cgroup_create(&cg, why, sizeof(why))) {
		err = td_cgroup_enter(&cg, r.child);
		if (err) {
			td_msg("cannot move the command into %s: %s", cg.path, strerror(-err));
			err = TD_EXIT_ERROR;
			goto cleanup;
		}
		rep->isolation = "cgroup";
		to.filter.cgroup_ids[0] = cg.id;
		to.filter.ncgroups = 1;
	} else {
		/* The process tree instead: the command and every process it
		 * forks from its start on (--pid CMD --follow). */
		td_msg("run: %s; following the command's process tree instead", why);
		rep->isolation = "process-tree";
		to.filter.pids[0] = r.child;
		to.filter.npids = 1;
		to.follow = true;
	}
	td_command_configure(&to, &tc);
	err = td_tracer_open(&r.t, &tc);
	if (err)
		goto cleanup;
	start_ns = td_tracer_now_ns(r.t);
	/* named now: the report is written after the cgroup is gone */
	rep->names = td_tracer_cgnames(r.t);
	td_cgnames_get(rep->names, cg.id);
	if (write(gate, "g", 1) != 1 ||
	    read(errfd, &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno)) {
		td_msg("cannot run '%s': %s", o->run_argv[0],
		       strerror(exec_errno ? exec_errno : errno));
		waitpid(r.child, NULL, 0);
		r.child = -1;
		err = TD_EXIT_USAGE;
		goto cleanup;
	}

	err = td_tracer_run(r.t, &c);
	if (!r.exited)
		stop_child(&r);
	td_tracer_finish(r.t, &rep->loss);
	td_conns_flush(r.conns, account, &r, TD_CONNS_ALL);
	settle(&r);
	qsort(rep->list[TD_RL_RETRANS].v, rep->list[TD_RL_RETRANS].n,
	      sizeof(rep->list[TD_RL_RETRANS].v[0]), by_retrans);
	rep->conns_not_kept = td_conns_overflowed(r.conns);
	if (td_tracer_read_hist(r.t, rep->hist, NULL) && !err)
		err = TD_EXIT_ERROR;
	rep->argv = o->run_argv;
	rep->status = exit_code(r.wstatus);
	rep->duration_s = (double)(r.exit_ns - start_ns) / 1e9;
	td_run_judge(rep, o);

	td_run_write_summary(stderr, rep);
	if (json)
		td_run_write_json(json, rep);
	if (junit)
		td_run_write_junit(junit, rep);
	if (!err)
		err = rep->crossed ? TD_EXIT_THRESHOLD : rep->status;
	r.child = -1;
cleanup:
	if (r.child > 0) { /* started but never ran: it is waiting at the gate */
		kill(r.child, SIGKILL);
		waitpid(r.child, NULL, 0);
	}
	if (gate >= 0)
		close(gate);
	if (errfd >= 0)
		close(errfd);
	if (cg.id) {
		moved = td_cgroup_remove(&cg);
		if (moved > 0)
			td_msg("%d processes the command left running were moved out of "
			       "its cgroup",
			       moved);
		else if (moved < 0)
			td_msg("cannot remove %s: %s", cg.path, strerror(-moved));
	}
	if ((close_out(json, o->report_path) | close_out(junit, o->junit_path)) && !err)
		err = TD_EXIT_ERROR;
	td_tracer_close(r.t);
	td_conns_free(r.conns);
	free(r.tw);
	free(r.fw2);
	free(r.by_exit);
	free(rep);
	return err;
}
