/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Recordings built in memory with recfmt.c's own functions, for the
 * format's unit tests: synthetic records that look like a busy host's. */
#ifndef TCPDWELL_TEST_RECBUILD_H
#define TCPDWELL_TEST_RECBUILD_H

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "recfmt.h"
#include "rng.h"

/* Record i of a synthetic stream: a connection per 8 records, its
 * transitions a few microseconds apart, on a few ports and owners. */
static inline struct td_event synth_event(uint64_t i, uint64_t *rng)
{
	static const unsigned char seq[][2] = {
	    {TD_TCP_CLOSE, TD_TCP_SYN_SENT},	    {TD_TCP_SYN_SENT, TD_TCP_ESTABLISHED},
	    {TD_TCP_LISTEN, TD_TCP_SYN_RECV},	    {TD_TCP_SYN_RECV, TD_TCP_ESTABLISHED},
	    {TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1}, {TD_TCP_ESTABLISHED, TD_TCP_CLOSE_WAIT},
	    {TD_TCP_FIN_WAIT1, TD_TCP_FIN_WAIT2},   {TD_TCP_FIN_WAIT2, TD_TCP_TIME_WAIT},
	};
	struct td_event e;
	uint64_t conn = i / 8;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 1000000000000ull + i * 12000 + xorshift64(rng) % 4000;
	e.cookie = 4096 + conn * 2 + (i % 8 == 2 || i % 8 == 3 || i % 8 == 5);
	e.dwell_ns = i % 8 == 0 ? 0 : 1000 + xorshift64(rng) % 200000;
	e.cgroup_id = 1 + conn % 4;
	e.pid = 1000 + conn % 50;
	e.netns = 4026531840u;
	e.type = TD_EV_STATE;
	e.family = AF_INET;
	e.old_state = seq[i % 8][0];
	e.new_state = seq[i % 8][1];
	e.owner = TD_OWNER_CONNECT;
	e.flags = i % 8 == 0 ? TD_F_NEW : 0;
	e.lport = 32768 + conn % 28000;
	e.rport = 8080;
	e.laddr[0] = e.raddr[0] = 127;
	e.laddr[3] = e.raddr[3] = 1;
	memcpy(e.comm, "loadgen", 8);
	return e;
}

struct built {
	uint8_t *buf;
	size_t len, cap;
	size_t bounds[256]; /* where each frame ends */
	int nframes;
	uint64_t events;
};

static inline void put(struct built *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->buf = realloc(b->buf, b->cap);
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static inline void put_frame(struct built *b, uint8_t kind, bool z, const void *raw, size_t n)
{
	uint8_t hdr[TD_REC_FRAME_HDR], *stored = malloc(td_rec_bound(n));
	size_t sn = n;

	if (z)
		sn = td_rec_compress(raw, n, stored, td_rec_bound(n), 1);
	else
		memcpy(stored, raw, n);
	td_rec_put_frame_header(hdr, kind, z ? TD_CODEC_ZLIB : TD_CODEC_NONE, n, stored, sn);
	put(b, hdr, sizeof(hdr));
	put(b, stored, sn);
	b->bounds[b->nframes++] = b->len;
	free(stored);
}

static inline void test_header(struct td_rec_header *h)
{
	memset(h, 0, sizeof(*h));
	h->format = TD_REC_VERSION;
	h->event_version = TD_EVENT_VERSION;
	h->event_size = sizeof(struct td_event);
	strcpy(h->host, "host \"quoted\" \\ \x01 caf\xc3\xa9");
	strcpy(h->kernel, "6.18.0-test");
	strcpy(h->argv, "tcpdwell record -w /tmp/x");
	h->boot_time = 1764000000;
	h->hz = 250;
	h->start_ns = 999999999999ull;
	h->wall_offset_ns = -5;
	h->snap_netns = 4026531840u;
	strcpy(h->snap_netns_name, "self");
	h->snap_sys.range_lo = 32768;
	h->snap_sys.range_hi = 60999;
	h->snap_sys.tw_reuse = 2;
	h->snap_sys.fin_timeout = 60;
}

/* A file header, the header frame, nframes event frames of per records
 * each, and a final loss frame. */
static inline struct built build(int nframes, int per)
{
	struct built b = {0};
	struct td_rec_header h;
	struct td_rec_loss l;
	struct td_loss loss;
	char json[4096];
	uint8_t fh[TD_REC_FILE_HDR];
	struct td_event *ev = calloc(per, sizeof(*ev));
	uint64_t rng = 42, i = 0;

	td_rec_put_file_header(fh);
	put(&b, fh, sizeof(fh));
	test_header(&h);
	put_frame(&b, TD_FR_HEADER, false, json, td_rec_header_json(&h, json, sizeof(json)));
	for (int f = 0; f < nframes; f++) {
		for (int k = 0; k < per; k++)
			ev[k] = synth_event(i++, &rng);
		put_frame(&b, TD_FR_EVENTS, true, ev, per * sizeof(*ev));
	}
	memset(&loss, 0, sizeof(loss));
	loss.events = i;
	loss.nprogs = 1;
	loss.prog[0].name = "td_set_state";
	loss.prog[0].run_cnt = i;
	td_rec_loss_from(&l, &loss, 2000000000000ull, TD_REC_LOSS_FINAL);
	put_frame(&b, TD_FR_LOSS, false, &l, sizeof(l));
	b.events = i;
	free(ev);
	return b;
}

#endif /* TCPDWELL_TEST_RECBUILD_H */
