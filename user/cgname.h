/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What a cgroup v2 id names: its path below the cgroup2 mount, and the
 * container, pod or systemd unit that path derives, with no runtime API
 * (docs/design.md, "Containers").
 *
 * Live, ids are resolved by walking the cgroup2 hierarchy (world-readable:
 * no capability kept for it): once at start, again when an id not seen
 * before turns up. A cgroup removed before that walk is not found and
 * stays an id: never a guessed or stale path. A replay is told the names
 * the recording carries (td_cgnames_put) and never walks.
 */
#ifndef TCPDWELL_CGNAME_H
#define TCPDWELL_CGNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_CG_PATH_MAX 512
#define TD_CG_ID_MAX   128 /* a unit name is longer than any container id */
#define TD_CG_SHORT    12  /* hex digits of an id shown in text, as docker ps */

enum td_container_kind {
	TD_CT_NONE = 0,
	TD_CT_DOCKER,
	TD_CT_CONTAINERD,
	TD_CT_CRIO,
	TD_CT_PODMAN,
	TD_CT_POD,     /* a Kubernetes pod's own cgroup, no container below */
	TD_CT_KUBE,    /* a container of a pod (cgroupfs driver: runtime unnamed) */
	TD_CT_SYSTEMD, /* a systemd service unit */
};

struct td_container {
	enum td_container_kind kind;
	char id[TD_CG_ID_MAX]; /* the full id, the pod's uid or the unit */
	char pod[40];	       /* the pod uid (with '-') the container is in, or "" */
};

/* The container a cgroup path (below the mount, "/a/b") derives: the
 * innermost component that names one. False when none does. */
bool td_container_of(const char *path, struct td_container *c);

const char *td_container_kind_name(enum td_container_kind k);

/* Whether the container's id, or its pod's uid, starts with prefix. */
bool td_container_matches(const struct td_container *c, const char *prefix);

/* The cgroups (ids, at most max) whose paths derive a container whose id
 * starts with prefix, in the live hierarchy. Their number, or -1 when
 * there is no cgroup v2 hierarchy to walk. */
int td_container_cgroups(const char *prefix, uint64_t *ids, int max);

/* How text shows it: hex ids cut to TD_CG_SHORT digits, units whole. */
const char *td_container_short(const struct td_container *c, char *buf, size_t sz);

struct td_cgnames;

struct td_cgname {
	uint64_t id;
	char path[TD_CG_PATH_MAX]; /* below the cgroup2 mount; "/" its root */
	struct td_container c;	   /* kind TD_CT_NONE: none derived */
};

/* A live resolver (walks the cgroup2 mount found in /proc/self/mountinfo,
 * or `root` when given: tests), or with live false one that knows only
 * what it is told. NULL on allocation failure. */
struct td_cgnames *td_cgnames_new(bool live, const char *root);
void td_cgnames_free(struct td_cgnames *n);

/* The name of id, or NULL when it is unknown (removed before it was seen,
 * outside the hierarchy, or not in the recording). id 0: NULL. Valid until
 * the next call (a live table may be emptied to walk again). */
const struct td_cgname *td_cgnames_get(struct td_cgnames *n, uint64_t id);

/* Tell the resolver a name (a recording's). 0, or -1 when path is too long. */
int td_cgnames_put(struct td_cgnames *n, uint64_t id, const char *path);

/* Walks done so far (tests, and the cost of resolution). */
unsigned td_cgnames_walks(const struct td_cgnames *n);

/* The cgroup v2 mount point (/proc/self/mountinfo). 0, or -1 when none. */
int td_cgroup2_mount(char *out, size_t sz);

struct td_json;
struct td_line;

/* A text column's container: its short id, "-" when the cgroup names none
 * (or id is 0), the id itself when the cgroup is unknown. */
void td_line_container(struct td_line *l, struct td_cgnames *n, uint64_t id);

/* "cgroup", "cgroup_path", "container", "container_kind" and "pod" of one
 * record: null where the kernel's id names nothing known. */
void td_json_cgroup(struct td_json *j, struct td_cgnames *n, uint64_t id);

#endif /* TCPDWELL_CGNAME_H */
