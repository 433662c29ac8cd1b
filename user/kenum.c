// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "kbtf.h"
#include "kenum.h"

#define KENUM_MAX 256

struct td_kenum {
	int n;
	long long val[KENUM_MAX];
	char *name[KENUM_MAX];
};

struct td_kenum *td_kenum_load(const char *name, const char *prefix)
{
	const struct btf *btf = td_kbtf();
	const struct btf_type *t;
	const struct btf_enum *e;
	struct td_kenum *k = NULL;
	size_t plen = strlen(prefix);
	int id;

	if (!btf)
		return NULL;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);
	if (id < 0)
		goto cleanup;
	t = btf__type_by_id(btf, id);
	k = calloc(1, sizeof(*k));
	if (!k)
		goto cleanup;
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t) && k->n < KENUM_MAX; i++, e++) {
		const char *s = btf__name_by_offset(btf, e->name_off);

		if (!s)
			continue;
		if (!strncmp(s, prefix, plen))
			s += plen;
		k->name[k->n] = strdup(s);
		if (!k->name[k->n])
			break;
		k->val[k->n++] = e->val;
	}
cleanup:
	return k;
}

const char *td_kenum_name(const struct td_kenum *k, long long value)
{
	for (int i = 0; k && i < k->n; i++)
		if (k->val[i] == value)
			return k->name[i];
	return NULL;
}

void td_kenum_free(struct td_kenum *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->n; i++)
		free(k->name[i]);
	free(k);
}
