// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "kbtf.h"

#define KBTF_PATH  "/sys/kernel/btf/vmlinux"
#define KBTF_CHUNK (64 * 1024)

/*
 * Read in bounded chunks rather than one read of the whole size (what
 * btf__load_vmlinux_btf's fread does): sysfs hands out a page per read, and
 * valgrind checks the whole requested range on every call, which made each
 * load of the ~6 MB file cost seconds under memcheck. Natively the same.
 */
static struct btf *load(void)
{
	size_t len = 0, cap = 0;
	struct btf *btf = NULL;
	char *buf = NULL;
	int fd, err = 0;

	fd = open(KBTF_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;

		if (cap - len < KBTF_CHUNK) {
			char *p = realloc(buf, cap ? cap * 2 : 8 << 20);

			if (!p) {
				err = ENOMEM;
				goto cleanup;
			}
			buf = p;
			cap = cap ? cap * 2 : 8 << 20;
		}
		n = read(fd, buf + len, KBTF_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	btf = btf__new(buf, (__u32)len); /* copies the data */
	if (!btf)
		err = errno;
cleanup:
	free(buf);
	close(fd);
	errno = err;
	return btf;
}

/* Parsed once: every load-time probe and name lookup of a start asks it,
 * and a parse costs tens of ms (seconds under valgrind). A failure is
 * kept too: the file does not appear later. */
static struct btf *cached;
static bool tried;
static int cached_err;

const struct btf *td_kbtf(void)
{
	if (!tried) {
		cached = load();
		cached_err = cached ? 0 : errno;
		tried = true;
	}
	errno = cached_err;
	return cached;
}

void td_kbtf_release(void)
{
	btf__free(cached);
	cached = NULL;
	tried = false;
}

int td_kbtf_probe_load(const char *target, int kind, int type, const struct bpf_insn *insns,
		       size_t n)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	const struct btf *btf = td_kbtf();
	int id = btf ? btf__find_by_name_kind(btf, target, kind) : -1;
	int fd;

	if (id <= 0)
		return -ENOENT;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "td_probe", "GPL", insns, n, &opts);
	return fd < 0 ? -errno : fd;
}

bool td_kbtf_has_field(const struct btf *btf, const char *type, const char *field)
{
	int id = btf ? btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT) : -1;
	const struct btf_member *m;
	const struct btf_type *t;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), field))
			return true;
	return false;
}
