// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* cgroup v2 ids to paths and the containers they derive (cgname.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgname.h"
#include "format.h"
#include "json.h"

/* ---- containers from paths ---------------------------------------------- */

/* The runtimes' scope names (systemd cgroup driver): prefix, then the
 * 64-hex id, then ".scope". The conmon scopes beside them hold the
 * runtime's monitor, not the container: their ids are not hex. */
static const struct {
	const char *prefix;
	enum td_container_kind kind;
} scopes[] = {
    {"docker-", TD_CT_DOCKER},
    {"cri-containerd-", TD_CT_CONTAINERD},
    {"crio-", TD_CT_CRIO},
    {"libpod-", TD_CT_PODMAN},
};

#define HEX_ID_LEN 64

static bool is_hex_id(const char *s, size_t n)
{
	if (n != HEX_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && !memcmp(s + n - m, suf, m);
}

static void set_id(struct td_container *c, enum td_container_kind kind, const char *s, size_t n)
{
	c->kind = kind;
	if (n >= sizeof(c->id))
		n = sizeof(c->id) - 1;
	memcpy(c->id, s, n);
	c->id[n] = '\0';
}

/* A pod's uid from "kubepods[-qos]-pod<uid, '_' for '-'>.slice" (systemd
 * driver) or "pod<uid>" (cgroupfs driver, below a "kubepods" directory). */
static bool pod_uid(const char *s, size_t n, bool under_kubepods, char out[40])
{
	const char *p;
	char uid[40];
	size_t len;

	if (n > 8 && !memcmp(s, "kubepods", 8) && has_suffix(s, n, ".slice")) {
		p = memmem(s, n, "-pod", 4);
		if (!p)
			return false;
		p += 4;
		len = (size_t)(s + n - strlen(".slice") - p);
	} else if (under_kubepods && n > 3 && !memcmp(s, "pod", 3)) {
		p = s + 3;
		len = n - 3;
	} else {
		return false;
	}
	if (len != 36) /* 8-4-4-4-12 */
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i] == '_' ? '-' : p[i];

		if (!(ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false; /* out untouched: no half a uid */
		uid[i] = ch;
	}
	uid[len] = '\0';
	memcpy(out, uid, len + 1);
	return true;
}

/* One path component s[0..n): a container, or nothing. `parent` is the
 * component before it ("" at the top). */
static bool component_container(const char *s, size_t n, const char *parent, size_t pn, bool in_pod,
				struct td_container *c)
{
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		size_t m = strlen(scopes[i].prefix);

		if (n > m && !memcmp(s, scopes[i].prefix, m) && has_suffix(s, n, ".scope") &&
		    is_hex_id(s + m, n - m - strlen(".scope"))) {
			set_id(c, scopes[i].kind, s + m, HEX_ID_LEN);
			return true;
		}
	}
	/* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
	if (is_hex_id(s, n)) {
		if (pn == 6 && !memcmp(parent, "docker", 6)) {
			set_id(c, TD_CT_DOCKER, s, n);
			return true;
		}
		if (in_pod) {
			set_id(c, TD_CT_KUBE, s, n);
			return true;
		}
	}
	return false;
}

bool td_container_of(const char *path, struct td_container *c)
{
	const char *s = path, *parent = "";
	struct td_container unit = {0};
	bool kubepods = false;
	size_t pn = 0;

	memset(c, 0, sizeof(*c));
	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (!n)
			break;
		if (n >= 8 && !memcmp(s, "kubepods", 8))
			kubepods = true;
		if (pod_uid(s, n, kubepods, c->pod)) {
			/* the pod until a container below it says otherwise */
			c->kind = TD_CT_POD;
			memcpy(c->id, c->pod, sizeof(c->pod));
		} else if (!component_container(s, n, parent, pn, c->pod[0], c) &&
			   has_suffix(s, n, ".service") && n > strlen(".service")) {
			set_id(&unit, TD_CT_SYSTEMD, s, n); /* the innermost unit */
		}
		parent = s;
		pn = n;
		s += n;
	}
	/* a container (or pod) outranks the units around or inside it: the
	 * question is which container, and a unit inside one is its process */
	if (c->kind == TD_CT_NONE && unit.kind == TD_CT_SYSTEMD) {
		c->kind = unit.kind;
		memcpy(c->id, unit.id, sizeof(c->id));
	}
	return c->kind != TD_CT_NONE;
}

const char *td_container_kind_name(enum td_container_kind k)
{
	static const char *const names[] = {
	    [TD_CT_NONE] = "none",
	    [TD_CT_DOCKER] = "docker",
	    [TD_CT_CONTAINERD] = "containerd",
	    [TD_CT_CRIO] = "cri-o",
	    [TD_CT_PODMAN] = "podman",
	    [TD_CT_POD] = "pod",
	    [TD_CT_KUBE] = "kubernetes",
	    [TD_CT_SYSTEMD] = "systemd",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "none";
}

const char *td_container_short(const struct td_container *c, char *buf, size_t sz)
{
	size_t n = strlen(c->id);

	if (c->kind != TD_CT_SYSTEMD && n > TD_CG_SHORT)
		n = TD_CG_SHORT;
	snprintf(buf, sz, "%.*s", (int)n, c->id);
	return buf;
}

/* ---- the resolver -------------------------------------------------------- */

/* A bounded table: live, when full it is emptied and walked again on the
 * next miss (hosts with more cgroups than this keep resolving, just walk
 * more). A replay's holds every name a recording can carry (recwrite.c's
 * CG_IDS_MAX): it cannot walk again. */
#define LIVE_SLOTS 8192u
#define TOLD_SLOTS 131072u
#define WALK_DEPTH 32

struct slot {
	uint64_t id;		/* 0: empty */
	struct td_cgname *name; /* NULL: looked for and not there */
};

struct td_cgnames {
	bool live;
	unsigned nslots; /* a power of 2; at most half of them used */
	char root[TD_CG_PATH_MAX];
	size_t root_len;
	struct slot *slots;
	unsigned used;
	unsigned walks;
};

int td_cgroup2_mount(char *out, size_t sz)
{
	char line[4096], mnt[512];
	int ret = -1;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		/* fields: id parent major:minor root mount-point ... - fstype */
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 || strlen(mnt) >= sz)
			continue;
		strcpy(out, mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

struct td_cgnames *td_cgnames_new(bool live, const char *root)
{
	struct td_cgnames *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->nslots = live ? LIVE_SLOTS : TOLD_SLOTS;
	n->slots = calloc(n->nslots, sizeof(*n->slots));
	if (!n->slots) {
		free(n);
		return NULL;
	}
	n->live = live;
	if (live && root && strlen(root) < sizeof(n->root))
		strcpy(n->root, root);
	else if (live && td_cgroup2_mount(n->root, sizeof(n->root)))
		n->live = false; /* no cgroup v2: every id stays an id */
	n->root_len = strlen(n->root);
	return n;
}

static void clear(struct td_cgnames *n)
{
	for (unsigned i = 0; i < n->nslots; i++) {
		free(n->slots[i].name);
		n->slots[i] = (struct slot){0};
	}
	n->used = 0;
}

void td_cgnames_free(struct td_cgnames *n)
{
	if (!n)
		return;
	clear(n);
	free(n->slots);
	free(n);
}

static struct slot *find(struct td_cgnames *n, uint64_t id, bool *found)
{
	unsigned i = (unsigned)((id * 0x9e3779b97f4a7c15ull) >> 40) & (n->nslots - 1);

	for (;; i = (i + 1) & (n->nslots - 1)) {
		if (n->slots[i].id == id || !n->slots[i].id) {
			*found = n->slots[i].id == id;
			return &n->slots[i];
		}
	}
}

/* Enter id (a name, or NULL for "not there"); `must` makes room. */
static void enter(struct td_cgnames *n, uint64_t id, const char *path, bool must)
{
	struct td_cgname *name = NULL;
	struct slot *s;
	bool found;

	s = find(n, id, &found);
	if (found && (s->name || !path))
		return;
	if (!found && n->used >= n->nslots / 2) {
		if (!must || !n->live) /* a replay's names are never thrown away */
			return;
		clear(n);
		s = find(n, id, &found);
	}
	if (path) {
		name = calloc(1, sizeof(*name));
		if (!name)
			return;
		name->id = id;
		snprintf(name->path, sizeof(name->path), "%s", path);
		td_container_of(name->path, &name->c);
	}
	if (!found)
		n->used++;
	s->id = id;
	s->name = name;
}

typedef void (*visit_fn)(void *ctx, uint64_t id, const char *rel);

/* Depth-first through the directories below dirfd (whose path below the
 * mount is rel[0..len)): fn for each, "/" for the mount itself. */
static void walk(int dirfd, char *rel, size_t len, int depth, visit_fn fn, void *ctx)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;

	if (fstat(dirfd, &st)) {
		close(dirfd);
		return;
	}
	fn(ctx, st.st_ino, len ? rel : "/");
	dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return;
	}
	while (depth < WALK_DEPTH && (d = readdir(dir))) {
		size_t dn = strlen(d->d_name);
		int fd;

		if (d->d_type != DT_DIR || d->d_name[0] == '.' || len + 1 + dn >= TD_CG_PATH_MAX)
			continue;
		fd = openat(dirfd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* removed meanwhile */
		rel[len] = '/';
		memcpy(rel + len + 1, d->d_name, dn + 1);
		walk(fd, rel, len + 1 + dn, depth + 1, fn, ctx);
		rel[len] = '\0';
	}
	closedir(dir);
}

static int walk_root(const char *root, visit_fn fn, void *ctx)
{
	char rel[TD_CG_PATH_MAX] = "";
	int fd;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	walk(fd, rel, 0, 0, fn, ctx);
	return 0;
}

struct want {
	struct td_cgnames *n;
	uint64_t id;
};

/* Every cgroup entered while there is room, and always the one wanted. */
static void enter_found(void *ctx, uint64_t id, const char *rel)
{
	struct want *w = ctx;

	enter(w->n, id, rel, id == w->id);
}

static void walk_all(struct td_cgnames *n, uint64_t want)
{
	struct want w = {n, want};

	if (!walk_root(n->root, enter_found, &w))
		n->walks++;
}

const struct td_cgname *td_cgnames_get(struct td_cgnames *n, uint64_t id)
{
	struct slot *s;
	bool found;

	if (!n || !id)
		return NULL;
	s = find(n, id, &found);
	if (found)
		return s->name;
	if (!n->live)
		return NULL;
	/* Not seen before: a cgroup created since the last walk, or one gone
	 * (then it is remembered as not there, so each costs one walk). */
	walk_all(n, id);
	s = find(n, id, &found);
	if (!found)
		enter(n, id, NULL, true);
	return found ? s->name : NULL;
}

int td_cgnames_put(struct td_cgnames *n, uint64_t id, const char *path)
{
	if (!id || strlen(path) >= TD_CG_PATH_MAX)
		return -1;
	enter(n, id, path, true);
	return 0;
}

unsigned td_cgnames_walks(const struct td_cgnames *n)
{
	return n->walks;
}

void td_json_cgroup(struct td_json *j, struct td_cgnames *n, uint64_t id)
{
	const struct td_cgname *name = td_cgnames_get(n, id);

	td_json_u64(j, "cgroup", id);
	if (!name) {
		td_json_null(j, "cgroup_path");
		td_json_null(j, "container");
		td_json_null(j, "container_kind");
		td_json_null(j, "pod");
		return;
	}
	td_json_str(j, "cgroup_path", name->path);
	if (name->c.kind == TD_CT_NONE) {
		td_json_null(j, "container");
		td_json_null(j, "container_kind");
	} else {
		td_json_str(j, "container", name->c.id);
		td_json_str(j, "container_kind", td_container_kind_name(name->c.kind));
	}
	if (name->c.pod[0])
		td_json_str(j, "pod", name->c.pod);
	else
		td_json_null(j, "pod");
}

void td_line_container(struct td_line *l, struct td_cgnames *n, uint64_t id)
{
	const struct td_cgname *name = td_cgnames_get(n, id);
	char buf[TD_CG_ID_MAX];

	if (!id || (name && name->c.kind == TD_CT_NONE))
		td_line_str(l, "-");
	else if (name)
		td_line_str(l, td_container_short(&name->c, buf, sizeof(buf)));
	else
		td_line_u64(l, id);
}

static bool starts_with(const char *s, const char *prefix)
{
	return prefix[0] && !strncmp(s, prefix, strlen(prefix));
}

bool td_container_matches(const struct td_container *c, const char *prefix)
{
	return c->kind != TD_CT_NONE && (starts_with(c->id, prefix) || starts_with(c->pod, prefix));
}

struct matching {
	const char *prefix;
	uint64_t *ids;
	int n, max;
};

static void add_matching(void *ctx, uint64_t id, const char *rel)
{
	struct matching *m = ctx;
	struct td_container c;

	/* the container's own cgroup: the ones below it derive it too, and
	 * the programs take them as below a selected one */
	if (m->n < m->max && td_container_of(rel, &c) && starts_with(c.id, m->prefix))
		m->ids[m->n++] = id;
}

int td_container_cgroups(const char *prefix, uint64_t *ids, int max)
{
	struct matching m = {prefix, ids, 0, max};
	char root[TD_CG_PATH_MAX];

	if (td_cgroup2_mount(root, sizeof(root)) || walk_root(root, add_matching, &m))
		return -1;
	return m.n;
}
