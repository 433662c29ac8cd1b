// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Counts grouped by container or top-level unit (cgtally.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgtally.h"
#include "json.h"

int td_cg_tally_add(struct td_cg_tally *t, uint64_t id, uint64_t n)
{
	/* few distinct cgroups against many sockets: the last one found is
	 * most often the next one asked for */
	for (size_t i = t->nids; i-- > 0;)
		if (t->ids[i].id == id) {
			t->ids[i].count += n;
			return 0;
		}
	if (t->nids == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		void *v = realloc(t->ids, cap * sizeof(*t->ids));

		if (!v)
			return -ENOMEM;
		t->ids = v;
		t->cap = cap;
	}
	t->ids[t->nids].id = id;
	t->ids[t->nids].count = n;
	t->nids++;
	return 0;
}

void td_cg_group_of(const struct td_cgname *nm, struct td_cg_group *g)
{
	const char *p = nm->path + (nm->path[0] == '/'), *slash;
	size_t len;

	g->kind = nm->c.kind;
	if (nm->c.kind != TD_CT_NONE) {
		snprintf(g->key, sizeof(g->key), "%s", nm->c.id);
		return;
	}
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (!len)
		snprintf(g->key, sizeof(g->key), "/");
	else
		snprintf(g->key, sizeof(g->key), "%.*s", (int)len, p);
}

static int by_key(const void *a, const void *b)
{
	const struct td_cg_group *x = a, *y = b;

	return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->key, y->key);
}

static int by_count(const void *a, const void *b)
{
	const struct td_cg_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_key(a, b);
}

int td_cg_tally_group(struct td_cg_tally *t, struct td_cgnames *n, unsigned top)
{
	size_t ng = 0, out = 0;
	struct td_cg_group *g;

	free(t->groups);
	t->groups = NULL;
	t->ngroups = t->groups_total = 0;
	t->other = t->unknown = 0;
	if (!t->nids)
		return 0;
	g = calloc(t->nids, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < t->nids; i++) {
		const struct td_cgname *nm = t->ids[i].id ? td_cgnames_get(n, t->ids[i].id) : NULL;

		if (!nm) {
			t->unknown += t->ids[i].count;
			continue;
		}
		td_cg_group_of(nm, &g[ng]);
		g[ng++].count = t->ids[i].count;
	}
	/* cgroups of one container (its scope and those below) are one row */
	qsort(g, ng, sizeof(*g), by_key);
	for (size_t i = 0; i < ng; i++) {
		if (out && !by_key(&g[out - 1], &g[i]))
			g[out - 1].count += g[i].count;
		else
			g[out++] = g[i];
	}
	qsort(g, out, sizeof(*g), by_count);
	t->groups_total = out;
	t->ngroups = out < top ? out : top;
	for (size_t i = t->ngroups; i < out; i++)
		t->other += g[i].count;
	t->groups = g;
	return 0;
}

void td_cg_tally_reset(struct td_cg_tally *t)
{
	t->nids = 0;
}

void td_cg_tally_free(struct td_cg_tally *t)
{
	free(t->ids);
	free(t->groups);
	memset(t, 0, sizeof(*t));
}

void td_cg_tally_json(struct td_json *j, const struct td_cg_tally *t)
{
	td_json_u64(j, "containers_total", t->groups_total);
	td_json_array(j, "by_container");
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct td_cg_group *g = &t->groups[i];

		td_json_object(j, NULL);
		if (g->kind == TD_CT_NONE) {
			td_json_null(j, "container");
			td_json_null(j, "kind");
			td_json_str(j, "unit", g->key);
		} else {
			td_json_str(j, "container", g->key);
			td_json_str(j, "kind", td_container_kind_name(g->kind));
			td_json_null(j, "unit");
		}
		td_json_u64(j, "count", g->count);
		td_json_close(j);
	}
	td_json_close(j);
	td_json_u64(j, "containers_other", t->other);
	td_json_u64(j, "containers_unknown", t->unknown);
}

void td_cg_tally_text(FILE *f, const struct td_cg_tally *t)
{
	char buf[TD_CG_ID_MAX];

	fprintf(f, "  by container (%zu):", t->groups_total);
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct td_cg_group *g = &t->groups[i];
		struct td_container c = {.kind = g->kind};

		snprintf(c.id, sizeof(c.id), "%s", g->key);
		if (g->kind == TD_CT_NONE)
			fprintf(f, "%s %s %lu", i ? "," : "", g->key, (unsigned long)g->count);
		else
			fprintf(f, "%s %s %s %lu", i ? "," : "",
				td_container_short(&c, buf, sizeof(buf)),
				td_container_kind_name(g->kind), (unsigned long)g->count);
	}
	if (t->other)
		fprintf(f, "%s other %lu", t->ngroups ? "," : "", (unsigned long)t->other);
	if (t->unknown)
		fprintf(f, "%s unknown %lu", t->ngroups || t->other ? "," : "",
			(unsigned long)t->unknown);
	fputc('\n', f);
}
