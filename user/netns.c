// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "netns.h"

static uint32_t inode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) || st.st_ino > UINT32_MAX)
		return 0;
	return st.st_ino;
}

uint32_t td_netns_self(void)
{
	return inode_of("/proc/self/ns/net");
}

struct list {
	struct td_netns *v;
	size_t n, cap;
};

/* Keep the first path seen per inode: /run/netns names come first and
 * outlive the processes that happen to be inside. */
static int add(struct list *l, uint32_t inum, const char *path, const char *name)
{
	struct td_netns *grown;

	if (!inum)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].inum == inum)
			return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		grown = realloc(l->v, l->cap * sizeof(*l->v));
		if (!grown)
			return -ENOMEM;
		l->v = grown;
	}
	l->v[l->n].inum = inum;
	snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%s", path);
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->n++;
	return 0;
}

static int by_inum(const void *a, const void *b)
{
	const struct td_netns *x = a, *y = b;

	return x->inum < y->inum ? -1 : x->inum > y->inum;
}

static int scan(struct list *l, uint32_t want)
{
	char path[sizeof(((struct td_netns *)0)->path)];
	char name[sizeof(((struct td_netns *)0)->name)];
	uint32_t self = td_netns_self();
	struct dirent *d;
	DIR *dir;
	int err = 0;

	err = add(l, want && want != self ? 0 : self, "/proc/self/ns/net", "self");
	dir = opendir("/run/netns");
	while (!err && dir && (d = readdir(dir))) {
		uint32_t inum;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		inum = inode_of(path);
		if (!want || inum == want)
			err = add(l, inum, path, d->d_name);
	}
	if (dir)
		closedir(dir);
	dir = opendir("/proc");
	while (!err && dir && (d = readdir(dir))) {
		uint32_t inum;

		if (d->d_name[0] < '1' || d->d_name[0] > '9' || strlen(d->d_name) > 12)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", d->d_name);
		inum = inode_of(path); /* fails for kernel threads' peers, exited tasks */
		snprintf(name, sizeof(name), "pid %s", d->d_name);
		if (inum && (!want || inum == want))
			err = add(l, inum, path, name);
		if (want && l->n)
			break;
	}
	if (dir)
		closedir(dir);
	return err;
}

int td_netns_list(struct td_netns **out, size_t *n)
{
	struct list l = {};
	int err = scan(&l, 0);

	if (err) {
		free(l.v);
		return err;
	}
	qsort(l.v, l.n, sizeof(*l.v), by_inum);
	*out = l.v;
	*n = l.n;
	return 0;
}

int td_netns_find(uint32_t inum, struct td_netns *out)
{
	struct list l = {};
	int err = scan(&l, inum);

	if (!err && !l.n)
		err = -ENOENT;
	if (!err)
		*out = l.v[0];
	free(l.v);
	return err;
}

int td_netns_enter(const char *path, uint32_t inum)
{
	int fd, old;
	struct stat st;

	old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (old < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_ino != inum) {
		int err = fd < 0 ? -errno : -ESTALE;

		if (fd >= 0)
			close(fd);
		close(old);
		return err;
	}
	if (setns(fd, CLONE_NEWNET)) {
		int err = -errno;

		close(fd);
		close(old);
		return err;
	}
	close(fd);
	return old;
}

void td_netns_leave(int oldfd)
{
	if (oldfd < 0)
		return;
	/* cannot fail for the namespace we came from while we hold its fd */
	if (setns(oldfd, CLONE_NEWNET))
		td_msg("setns back: %s", strerror(errno));
	close(oldfd);
}

/* The first one or two numbers of a /proc/sys file; -1 where missing. */
static long read_longs(const char *path, long *second)
{
	char buf[128];
	long a = -1, b = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld %ld", &a, &b) < 1)
		a = -1;
	fclose(f);
	if (second)
		*second = b;
	return a;
}

void td_netns_tcp_sysctls(struct td_tcp_sysctls *s)
{
	long lo, hi = -1, v;

	lo = read_longs("/proc/sys/net/ipv4/ip_local_port_range", &hi);
	s->range_lo = s->range_hi = 0;
	if (lo > 0 && hi >= lo && hi <= 65535) {
		s->range_lo = (unsigned)lo;
		s->range_hi = (unsigned)hi;
	}
	v = read_longs("/proc/sys/net/ipv4/tcp_tw_reuse", NULL);
	s->tw_reuse = v >= 0 && v <= 2 ? (int)v : -1;
	v = read_longs("/proc/sys/net/ipv4/tcp_fin_timeout", NULL);
	s->fin_timeout = v > 0 ? (unsigned)v : 0;
	s->max_tw_buckets = read_longs("/proc/sys/net/ipv4/tcp_max_tw_buckets", NULL);
}
