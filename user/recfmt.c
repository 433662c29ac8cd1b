// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The recording format: frame headers, checksums, payload codecs, the JSON
 * header and the loss record. Pure functions over buffers (see recfmt.h);
 * every length read from a buffer is checked against the buffer before it
 * is used, because the buffer may be anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cgname.h"
#include "event.h"
#include "format.h"
#include "json.h"
#include "recfmt.h"

_Static_assert(sizeof(struct td_rec_loss) == 19 * 8 + TD_MAX_PROGS * (TD_REC_PROG_NAMELEN + 24),
	       "td_rec_loss must have no padding: it is stored as is");

static void seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* Little-endian on disk whatever the host (x86 and arm64 are already). */
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const void *p, size_t n)
{
	return crc32(crc32(0, Z_NULL, 0), p, n);
}

void td_rec_put_file_header(uint8_t out[TD_REC_FILE_HDR])
{
	memcpy(out, TD_REC_MAGIC, 8);
	put32(out + 8, TD_REC_VERSION);
	put32(out + 12, 0);
}

int td_rec_check_file_header(const uint8_t *buf, size_t len, char *err, size_t errsz)
{
	size_t n = len < 8 ? len : 8;

	/* a prefix of the magic may be a recording cut at once: say SHORT */
	if (memcmp(buf, TD_REC_MAGIC, n)) {
		seterr(err, errsz, "not a tcpdwell recording (bad magic at byte 0)");
		return TD_REC_BAD;
	}
	if (len < TD_REC_FILE_HDR) {
		seterr(err, errsz, "cut inside the file header at byte %zu", len);
		return TD_REC_SHORT;
	}
	if (get32(buf + 8) != TD_REC_VERSION) {
		seterr(err, errsz,
		       "unsupported format version %" PRIu32 " at byte 8 (this reads %d)",
		       get32(buf + 8), TD_REC_VERSION);
		return TD_REC_BAD;
	}
	if (get32(buf + 12)) {
		seterr(err, errsz, "bad file header at byte 12 (reserved field set)");
		return TD_REC_BAD;
	}
	return TD_REC_OK;
}

void td_rec_put_frame_header(uint8_t out[TD_REC_FRAME_HDR], uint8_t kind, uint8_t codec,
			     uint32_t raw_len, const void *stored, uint32_t stored_len)
{
	memcpy(out, TD_REC_FRAME_MAGIC, 4);
	out[4] = kind;
	out[5] = codec;
	out[6] = out[7] = 0;
	put32(out + 8, raw_len);
	put32(out + 12, stored_len);
	put32(out + 16, crc(stored, stored_len));
	put32(out + 20, crc(out, 20));
}

size_t td_rec_bound(size_t raw_len)
{
	return compressBound(raw_len);
}

/* Refuse a frame whose lengths cannot be: too large, an events frame not
 * whole records, a loss frame of the wrong size, stored vs. raw length
 * wrong for its codec. TD_REC_OK, or TD_REC_BAD with err. */
static int check_lengths(const struct td_frame *f, char *err, size_t errsz)
{
	uint64_t at = f->off;

	if (f->raw_len > TD_REC_MAX_RAW ||
	    (f->kind == TD_FR_HEADER && (f->raw_len > TD_REC_HEADER_MAX || !f->raw_len))) {
		seterr(err, errsz, "frame too large (%" PRIu32 " bytes) at byte %" PRIu64,
		       f->raw_len, at);
		return TD_REC_BAD;
	}
	if (f->kind == TD_FR_EVENTS && (f->raw_len % sizeof(struct td_event) || !f->raw_len)) {
		seterr(err, errsz,
		       "events frame of %" PRIu32 " bytes is not whole records at byte %" PRIu64,
		       f->raw_len, at);
		return TD_REC_BAD;
	}
	if (f->kind == TD_FR_CGROUPS && !f->raw_len) {
		seterr(err, errsz, "empty cgroups frame at byte %" PRIu64, at);
		return TD_REC_BAD;
	}
	if (f->kind == TD_FR_LOSS && f->raw_len != sizeof(struct td_rec_loss)) {
		seterr(err, errsz, "loss frame of %" PRIu32 " bytes at byte %" PRIu64, f->raw_len,
		       at);
		return TD_REC_BAD;
	}
	if (f->codec == TD_CODEC_NONE ? f->stored_len != f->raw_len
				      : f->stored_len > td_rec_bound(f->raw_len)) {
		seterr(err, errsz, "frame lengths disagree at byte %" PRIu64, at);
		return TD_REC_BAD;
	}
	return TD_REC_OK;
}

int td_rec_parse_frame(const uint8_t *buf, size_t len, uint64_t off, struct td_frame *f, char *err,
		       size_t errsz)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->off = off;
	f->payload_off = off + TD_REC_FRAME_HDR;
	if (len < TD_REC_FRAME_HDR) {
		/* what there is must still look like a frame's start */
		if (memcmp(buf, TD_REC_FRAME_MAGIC, len < 4 ? len : 4)) {
			seterr(err, errsz, "no frame at byte %" PRIu64 " (bad frame magic)", off);
			return TD_REC_BAD;
		}
		seterr(err, errsz, "cut inside the frame header at byte %" PRIu64, off);
		return TD_REC_SHORT;
	}
	if (memcmp(buf, TD_REC_FRAME_MAGIC, 4)) {
		seterr(err, errsz, "no frame at byte %" PRIu64 " (bad frame magic)", off);
		return TD_REC_BAD;
	}
	if (get32(buf + 20) != crc(buf, 20)) {
		seterr(err, errsz, "bad frame header checksum at byte %" PRIu64, off);
		return TD_REC_BAD;
	}
	f->kind = buf[4];
	f->codec = buf[5];
	f->raw_len = get32(buf + 8);
	f->stored_len = get32(buf + 12);
	f->crc = get32(buf + 16);
	if (f->kind < TD_FR_HEADER || f->kind > TD_FR_CGROUPS || f->codec > TD_CODEC_ZLIB ||
	    buf[6] || buf[7]) {
		seterr(err, errsz, "unknown frame kind %u or codec %u at byte %" PRIu64, f->kind,
		       f->codec, off);
		return TD_REC_BAD;
	}
	rc = check_lengths(f, err, errsz);
	if (rc)
		return rc;
	if (len - TD_REC_FRAME_HDR < f->stored_len) {
		seterr(err, errsz, "cut inside the frame at byte %" PRIu64, off);
		return TD_REC_SHORT;
	}
	if (crc(buf + TD_REC_FRAME_HDR, f->stored_len) != f->crc) {
		seterr(err, errsz, "bad frame checksum at byte %" PRIu64, off);
		return TD_REC_BAD;
	}
	return TD_REC_OK;
}

int td_rec_decode_payload(const struct td_frame *f, const uint8_t *stored, uint8_t *out, char *err,
			  size_t errsz)
{
	uLongf n = f->raw_len;

	if (f->codec == TD_CODEC_NONE) {
		memcpy(out, stored, f->raw_len);
		return TD_REC_OK;
	}
	/* zlib checks its own stream (and its adler32) on the way */
	if (uncompress(out, &n, stored, f->stored_len) != Z_OK || n != f->raw_len) {
		seterr(err, errsz, "bad compressed data in the frame at byte %" PRIu64, f->off);
		return TD_REC_BAD;
	}
	return TD_REC_OK;
}

size_t td_rec_compress(const void *raw, size_t raw_len, uint8_t *out, size_t outsz, int level)
{
	uLongf n = outsz;

	if (compress2(out, &n, raw, raw_len, level) != Z_OK)
		return 0;
	return n;
}

/* ---- the header, as JSON ---- */

size_t td_rec_header_json(const struct td_rec_header *h, char *out, size_t sz)
{
	struct td_line line = {out, sz, 0};
	struct td_json j;

	td_json_init(&j, &line, NULL);
	td_json_object(&j, NULL);
	td_json_u64(&j, "format", h->format);
	td_json_u64(&j, "event_version", h->event_version);
	td_json_u64(&j, "event_size", h->event_size);
	td_json_u64(&j, "boot_time", h->boot_time);
	td_json_i64(&j, "hz", h->hz);
	td_json_u64(&j, "start_ns", h->start_ns);
	td_json_i64(&j, "wall_offset_ns", h->wall_offset_ns);
	td_json_u64(&j, "part", h->part);
	td_json_u64(&j, "snapshot_netns", h->snap_netns);
	td_json_u64(&j, "port_range_lo", h->snap_sys.range_lo);
	td_json_u64(&j, "port_range_hi", h->snap_sys.range_hi);
	td_json_i64(&j, "tcp_tw_reuse", h->snap_sys.tw_reuse);
	td_json_u64(&j, "tcp_fin_timeout", h->snap_sys.fin_timeout);
	td_json_str(&j, "host", h->host);
	td_json_str(&j, "kernel", h->kernel);
	td_json_str(&j, "argv", h->argv);
	td_json_str(&j, "degraded", h->degraded);
	td_json_str(&j, "snapshot_netns_name", h->snap_netns_name);
	td_json_close(&j);
	/* a line that filled up was cut: say so as snprintf would, with sz */
	return sz && line.len + 1 < sz ? line.len : sz;
}

struct jp {
	const char *p, *end;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string literal into out (truncated to outsz - 1; \u00XX as its byte,
 * other \u as '?'). */
static int jstring(struct jp *j, char *out, size_t outsz)
{
	size_t o = 0;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		int c = (unsigned char)*j->p++;

		if ((unsigned)c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->p >= j->end)
				return -1;
			c = *j->p++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			case 'u': {
				int v = 0;

				if (j->end - j->p < 4)
					return -1;
				for (int i = 0; i < 4; i++) {
					int h = hexval(j->p[i]);

					if (h < 0)
						return -1;
					v = v << 4 | h;
				}
				j->p += 4;
				c = v && v < 0x100 ? v : '?';
				break;
			}
			default:
				return -1;
			}
		}
		if (out && o + 1 < outsz)
			out[o++] = c;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	if (out && outsz)
		out[o] = '\0';
	return 0;
}

/* A number token (or true/false/null) as text, for strto*. */
static int jscalar(struct jp *j, char *out, size_t outsz)
{
	size_t o = 0;

	while (j->p < j->end && (strchr("+-.eE", *j->p) || (*j->p >= '0' && *j->p <= '9') ||
				 (*j->p >= 'a' && *j->p <= 'z'))) {
		if (o + 1 >= outsz)
			return -1;
		out[o++] = *j->p++;
	}
	out[o] = '\0';
	return o ? 0 : -1;
}

static int num_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int num_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Store key's value into h. Unknown keys are skipped. */
static int header_field(struct td_rec_header *h, const char *key, struct jp *j, unsigned *seen)
{
	static const struct {
		const char *key;
		size_t off, sz;
	} strs[] = {
	    {"host", offsetof(struct td_rec_header, host), sizeof(h->host)},
	    {"kernel", offsetof(struct td_rec_header, kernel), sizeof(h->kernel)},
	    {"argv", offsetof(struct td_rec_header, argv), sizeof(h->argv)},
	    {"degraded", offsetof(struct td_rec_header, degraded), sizeof(h->degraded)},
	    {"snapshot_netns_name", offsetof(struct td_rec_header, snap_netns_name),
	     sizeof(h->snap_netns_name)},
	};
	char tok[32];
	int64_t i = 0;
	uint64_t u = 0;

	if (j->p < j->end && *j->p == '"') {
		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (!strcmp(key, strs[k].key))
				return jstring(j, (char *)h + strs[k].off, strs[k].sz);
		return jstring(j, NULL, 0);
	}
	if (jscalar(j, tok, sizeof(tok)))
		return -1;
	if (!strcmp(tok, "null") || !strcmp(tok, "true") || !strcmp(tok, "false"))
		return 0;
	/* signed or unsigned 64-bit: each field takes the reading it needs */
	if (num_i64(tok, &i) & num_u64(tok, &u))
		return -1;
	if (!strcmp(key, "format"))
		h->format = i, *seen |= 1;
	else if (!strcmp(key, "event_version"))
		h->event_version = i, *seen |= 2;
	else if (!strcmp(key, "event_size"))
		h->event_size = i, *seen |= 4;
	else if (!strcmp(key, "start_ns"))
		h->start_ns = u, *seen |= 8;
	else if (!strcmp(key, "wall_offset_ns"))
		h->wall_offset_ns = i;
	else if (!strcmp(key, "boot_time"))
		h->boot_time = u;
	else if (!strcmp(key, "hz"))
		h->hz = i;
	else if (!strcmp(key, "part"))
		h->part = i;
	else if (!strcmp(key, "snapshot_netns"))
		h->snap_netns = i;
	else if (!strcmp(key, "port_range_lo"))
		h->snap_sys.range_lo = i;
	else if (!strcmp(key, "port_range_hi"))
		h->snap_sys.range_hi = i;
	else if (!strcmp(key, "tcp_tw_reuse"))
		h->snap_sys.tw_reuse = i;
	else if (!strcmp(key, "tcp_fin_timeout"))
		h->snap_sys.fin_timeout = i;
	return 0;
}

int td_rec_header_parse(const char *json, size_t len, struct td_rec_header *h, char *err,
			size_t errsz)
{
	struct jp j = {json, json + len};
	unsigned seen = 0;
	char key[64];

	memset(h, 0, sizeof(*h));
	h->hz = -1;
	h->snap_sys.tw_reuse = -1;
	ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		goto bad;
	ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto done;
	}
	for (;;) {
		ws(&j);
		if (jstring(&j, key, sizeof(key)))
			goto bad;
		ws(&j);
		if (j.p >= j.end || *j.p++ != ':')
			goto bad;
		ws(&j);
		if (header_field(h, key, &j, &seen))
			goto bad;
		ws(&j);
		if (j.p >= j.end)
			goto bad;
		if (*j.p == '}') {
			j.p++;
			break;
		}
		if (*j.p++ != ',')
			goto bad;
	}
done:
	ws(&j);
	if (j.p != j.end)
		goto bad;
	if (seen != 15) {
		seterr(err, errsz, "header lacks format, event_version, event_size or start_ns");
		return TD_REC_BAD;
	}
	return TD_REC_OK;
bad:
	seterr(err, errsz, "header is not valid JSON (at its byte %td)", j.p - json);
	return TD_REC_BAD;
}

/* ---- loss ---- */

void td_rec_loss_from(struct td_rec_loss *r, const struct td_loss *l, uint64_t at_ns,
		      uint64_t flags)
{
	memset(r, 0, sizeof(*r));
	r->flags = flags | (l->no_recursion ? TD_REC_LOSS_NO_RECURSION : 0);
	r->at_ns = at_ns;
	r->events = l->events;
	r->rb_drops = l->rb_drops;
	r->recursion_misses = l->recursion_misses;
	r->sock_inserts = l->sock_inserts;
	r->sock_deletes = l->sock_deletes;
	r->sock_live = l->sock_live;
	r->insert_fail = l->insert_fail;
	r->listen_full = l->listen_full;
	r->tw_inserts = l->tw_inserts;
	r->tw_deletes = l->tw_deletes;
	r->tw_live = l->tw_live;
	r->tw_insert_fail = l->tw_insert_fail;
	r->tw_unseen_end = l->tw_unseen_end;
	r->tw_rearm = l->tw_rearm;
	r->pid_full = l->pid_full;
	r->bad_records = l->bad_records;
	r->nprogs = l->nprogs;
	for (int i = 0; i < l->nprogs && i < TD_MAX_PROGS; i++) {
		snprintf(r->prog[i].name, sizeof(r->prog[i].name), "%s",
			 l->prog[i].name ? l->prog[i].name : "");
		r->prog[i].misses = l->prog[i].misses;
		r->prog[i].run_cnt = l->prog[i].run_cnt;
		r->prog[i].run_time_ns = l->prog[i].run_time_ns;
	}
}

int td_rec_loss_parse(const uint8_t *buf, size_t len, struct td_rec_loss *r)
{
	if (len != sizeof(*r))
		return -1;
	memcpy(r, buf, sizeof(*r));
	if (r->nprogs > TD_MAX_PROGS ||
	    r->flags & ~(uint64_t)(TD_REC_LOSS_FINAL | TD_REC_LOSS_PART | TD_REC_LOSS_NO_RECURSION))
		return -1;
	for (int i = 0; i < TD_MAX_PROGS; i++)
		r->prog[i].name[TD_REC_PROG_NAMELEN - 1] = '\0';
	return 0;
}

void td_rec_loss_to(const struct td_rec_loss *r, struct td_loss *l)
{
	memset(l, 0, sizeof(*l));
	l->events = r->events;
	l->rb_drops = r->rb_drops;
	l->recursion_misses = r->recursion_misses;
	l->no_recursion = r->flags & TD_REC_LOSS_NO_RECURSION;
	l->sock_inserts = r->sock_inserts;
	l->sock_deletes = r->sock_deletes;
	l->sock_live = r->sock_live;
	l->insert_fail = r->insert_fail;
	l->listen_full = r->listen_full;
	l->tw_inserts = r->tw_inserts;
	l->tw_deletes = r->tw_deletes;
	l->tw_live = r->tw_live;
	l->tw_insert_fail = r->tw_insert_fail;
	l->tw_unseen_end = r->tw_unseen_end;
	l->tw_rearm = r->tw_rearm;
	l->pid_full = r->pid_full;
	l->bad_records = r->bad_records;
	l->nprogs = r->nprogs;
	for (int i = 0; i < l->nprogs; i++) {
		l->prog[i].name = r->prog[i].name;
		l->prog[i].misses = r->prog[i].misses;
		l->prog[i].run_cnt = r->prog[i].run_cnt;
		l->prog[i].run_time_ns = r->prog[i].run_time_ns;
	}
	l->exact = r->flags & TD_REC_LOSS_FINAL;
	td_loss_derive(l);
}

#define CG_ENTRY_HDR 10 /* u64 id, u16 length */

size_t td_rec_cgroup_put(uint8_t *out, size_t room, uint64_t id, const char *path)
{
	size_t n = strlen(path);

	if (!n || n >= TD_CG_PATH_MAX || CG_ENTRY_HDR + n > room)
		return 0;
	put32(out, (uint32_t)id);
	put32(out + 4, (uint32_t)(id >> 32));
	out[8] = n & 0xff;
	out[9] = n >> 8;
	memcpy(out + CG_ENTRY_HDR, path, n);
	return CG_ENTRY_HDR + n;
}

int td_rec_cgroups_parse(const uint8_t *buf, size_t len, td_rec_cgroup_fn fn, void *ctx, char *err,
			 size_t errsz)
{
	char path[TD_CG_PATH_MAX];
	size_t off = 0;

	while (off < len) {
		uint64_t id;
		size_t n;

		if (len - off < CG_ENTRY_HDR) {
			seterr(err, errsz, "cgroups frame cut inside an entry at offset %zu", off);
			return TD_REC_BAD;
		}
		id = get32(buf + off) | (uint64_t)get32(buf + off + 4) << 32;
		n = buf[off + 8] | (size_t)buf[off + 9] << 8;
		off += CG_ENTRY_HDR;
		if (!id || !n || n >= sizeof(path) || n > len - off || buf[off] != '/' ||
		    memchr(buf + off, '\0', n)) {
			seterr(err, errsz, "bad cgroups frame entry at offset %zu",
			       off - CG_ENTRY_HDR);
			return TD_REC_BAD;
		}
		memcpy(path, buf + off, n);
		path[n] = '\0';
		off += n;
		fn(ctx, id, path);
	}
	return TD_REC_OK;
}
