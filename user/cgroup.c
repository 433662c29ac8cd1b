// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgname.h"
#include "cgroup.h"

int td_cgroup_create(struct td_cgroup *cg, char *why, size_t sz)
{
	char mnt[400];
	struct stat st;

	if (td_cgroup2_mount(mnt, sizeof(mnt))) {
		snprintf(why, sz, "no cgroup v2 hierarchy is mounted");
		return -1;
	}
	snprintf(cg->path, sizeof(cg->path), "%s/tcpdwell-run.%d", mnt, (int)getpid());
	if (mkdir(cg->path, 0755) && errno != EEXIST) {
		snprintf(why, sz, "cannot create %s: %s", cg->path, strerror(errno));
		return -1;
	}
	if (stat(cg->path, &st)) {
		snprintf(why, sz, "%s: %s", cg->path, strerror(errno));
		rmdir(cg->path);
		return -1;
	}
	cg->id = st.st_ino;
	return 0;
}

static int write_pid(const char *dir, pid_t pid)
{
	char path[600];
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	/* the kernel answers the write itself: check both the write and the flush */
	if (fprintf(f, "%d\n", (int)pid) < 0 || fflush(f))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

int td_cgroup_enter(const struct td_cgroup *cg, pid_t pid)
{
	return write_pid(cg->path, pid);
}

/* Move dir's tasks to `to`; how many moved. */
static int move_tasks(const char *dir, const char *to)
{
	char path[600];
	int moved = 0, pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (int round = 0; round < 10; round++) {
		int n = 0;

		f = fopen(path, "re");
		if (!f)
			break;
		while (fscanf(f, "%d", &pid) == 1) {
			if (!write_pid(to, pid))
				moved++;
			n++;
		}
		fclose(f);
		if (!n)
			break;
	}
	return moved;
}

/* dir and the cgroups the command made below it, deepest first; their
 * tasks go to `to`. The number of tasks moved, or -errno. */
static int remove_tree(const char *dir, const char *to, int depth)
{
	struct dirent *d;
	int moved = 0, n;
	DIR *dh;

	dh = depth < 16 ? opendir(dir) : NULL;
	while (dh && (d = readdir(dh))) {
		char sub[600];

		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name) >= sizeof(sub))
			continue;
		n = remove_tree(sub, to, depth + 1);
		if (n < 0) {
			closedir(dh);
			return n;
		}
		moved += n;
	}
	if (dh)
		closedir(dh);
	moved += move_tasks(dir, to);
	/* a task that just exited may keep the cgroup busy for a moment */
	for (int i = 0; i < 50; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return moved;
		if (errno != EBUSY)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

int td_cgroup_remove(const struct td_cgroup *cg)
{
	char parent[512], *slash;

	/* Children the command left running keep running, above it: a
	 * cgroup with tasks cannot be removed, and killing them is not ours. */
	snprintf(parent, sizeof(parent), "%s", cg->path);
	slash = strrchr(parent, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return remove_tree(cg->path, parent, 0);
}
