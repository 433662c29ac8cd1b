// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Owners of pre-existing TCP sockets from /proc (procscan.h). */
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgname.h"
#include "procscan.h"

#define TCP_LISTEN 0x0a /* include/net/tcp_states.h, as /proc/net/tcp prints it */

/* A TCP socket of one namespace: its inode, port and whether it listens. */
struct lsock {
	uint64_t inode;
	uint16_t port;
	bool listen;
	bool done; /* its owner was handed on */
};

/* A namespace's TCP sockets, read once from the first process in it,
 * sorted by inode. */
struct ns_table {
	uint32_t netns;
	struct lsock *v;
	size_t n, cap;
};

struct scan {
	const char *proc;
	char cg_root[TD_CG_PATH_MAX];
	struct ns_table *ns;
	size_t nns, nscap;
	int found;
};

static int add_lsock(struct ns_table *t, uint64_t inode, uint16_t port, bool listen)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct lsock *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct lsock){inode, port, listen, false};
	return 0;
}

/* /proc/PID/net/tcp or tcp6: "sl local rem st tx:rx tr:when retr uid
 * timeout inode ...", addresses as hex "ADDR:PORT". */
static int read_table(const char *path, struct ns_table *t)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -ENOENT;		     /* the process is gone, or no IPv6 in this kernel */
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return 0;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned st, port;
		unsigned long long inode;
		const char *colon;

		/* inode 0: a timewait or request socket, no file to hold */
		if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %llu", local, &st, &inode) !=
			3 ||
		    !inode)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &port) != 1 || port > 65535)
			continue;
		err = add_lsock(t, inode, (uint16_t)port, st == TCP_LISTEN);
	}
	fclose(f);
	return err;
}

static int by_inode(const void *a, const void *b)
{
	const struct lsock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* The namespace's table, read through pid when not yet read. NULL with
 * *err: -ENOMEM, or 0 when pid went away first (the next process in the
 * namespace reads it: never an empty table kept for a namespace). */
static struct ns_table *ns_table(struct scan *s, uint32_t netns, const char *pid, int *err)
{
	char path[PATH_MAX];
	struct ns_table *t;
	int rc;

	for (size_t i = 0; i < s->nns; i++)
		if (s->ns[i].netns == netns)
			return &s->ns[i];
	if (s->nns == s->nscap) {
		size_t cap = s->nscap ? 2 * s->nscap : 16;
		struct ns_table *v = realloc(s->ns, cap * sizeof(*v));

		if (!v) {
			*err = -ENOMEM;
			return NULL;
		}
		s->ns = v;
		s->nscap = cap;
	}
	t = &s->ns[s->nns];
	*t = (struct ns_table){.netns = netns};
	snprintf(path, sizeof(path), "%s/%s/net/tcp", s->proc, pid);
	rc = read_table(path, t);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/%s/net/tcp6", s->proc, pid);
		rc = read_table(path, t);
		if (rc == -ENOENT)
			rc = 0; /* no IPv6 */
	}
	if (rc) {
		free(t->v);
		*err = rc == -ENOENT ? 0 : rc;
		return NULL;
	}
	s->nns++;
	qsort(t->v, t->n, sizeof(*t->v), by_inode);
	return t;
}

/* The process's cgroup v2 id: its "0::" path under the mount. */
static uint64_t proc_cgroup(const struct scan *s, const char *pid)
{
	char path[2 * TD_CG_PATH_MAX + 16], line[TD_CG_PATH_MAX + 8];
	uint64_t id = 0;
	struct stat st;
	FILE *f;

	if (!s->cg_root[0])
		return 0;
	snprintf(path, sizeof(path), "%s/%s/cgroup", s->proc, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s%s", s->cg_root, line + 3);
		if (!stat(path, &st))
			id = st.st_ino;
		break;
	}
	fclose(f);
	return id;
}

static void proc_comm(const struct scan *s, const char *pid, char comm[16])
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	memset(comm, 0, 16);
	snprintf(path, sizeof(path), "%s/%s/comm", s->proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, 15);
	close(fd);
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

/* One process: its socket descriptors against its namespace's table. */
static int scan_pid(struct scan *s, const char *pid, uint32_t want_netns, td_proc_sock_fn fn,
		    void *ctx)
{
	char path[PATH_MAX], link[64], comm[16] = "";
	struct ns_table *t;
	int err = 0;
	struct dirent *d;
	uint64_t cg = 0;
	struct stat st;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s/ns/net", s->proc, pid);
	if (stat(path, &st) || (want_netns && st.st_ino != want_netns))
		return 0;
	t = ns_table(s, (uint32_t)st.st_ino, pid, &err);
	if (!t)
		return err;
	if (!t->n)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/fd", s->proc, pid);
	dir = opendir(path);
	if (!dir)
		return 0; /* gone, or not ours to read */
	while ((d = readdir(dir))) {
		struct lsock key = {0}, *ls;
		unsigned long long inode;
		struct td_proc_sock l;
		ssize_t n;

		n = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &inode) != 1)
			continue;
		key.inode = inode;
		ls = bsearch(&key, t->v, t->n, sizeof(*t->v), by_inode);
		if (!ls || ls->done)
			continue; /* not TCP, or a holder of lower pid was handed on */
		ls->done = true;
		l = (struct td_proc_sock){
		    .netns = t->netns, .port = ls->port, .inode = ls->inode, .listen = ls->listen};
		l.pid = (uint32_t)strtoul(pid, NULL, 10);
		if (!comm[0]) {
			proc_comm(s, pid, comm);
			cg = proc_cgroup(s, pid);
		}
		memcpy(l.comm, comm, sizeof(l.comm));
		l.cgroup_id = cg;
		fn(ctx, &l);
		s->found++;
	}
	closedir(dir);
	return 0;
}

static int by_pid(const struct dirent **a, const struct dirent **b)
{
	return strtoul((*a)->d_name, NULL, 10) < strtoul((*b)->d_name, NULL, 10) ? -1 : 1;
}

static int is_pid(const struct dirent *d)
{
	return isdigit((unsigned char)d->d_name[0]);
}

int td_proc_sockets(const char *proc, uint32_t netns, td_proc_sock_fn fn, void *ctx)
{
	struct scan s = {.proc = proc};
	struct dirent **pids = NULL;
	int n, err = 0;

	if (td_cgroup2_mount(s.cg_root, sizeof(s.cg_root)))
		s.cg_root[0] = '\0';
	/* in pid order: a prefork server's master before its workers */
	n = scandir(proc, &pids, is_pid, by_pid);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (!err)
			err = scan_pid(&s, pids[i]->d_name, netns, fn, ctx);
		free(pids[i]);
	}
	free(pids);
	for (size_t i = 0; i < s.nns; i++)
		free(s.ns[i].v);
	free(s.ns);
	return err ? err : s.found;
}
