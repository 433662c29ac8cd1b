/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The recording file format (`tcpdwell record -w FILE`), as pure functions
 * over buffers: no I/O, no allocation beyond what the caller hands in, so
 * that any byte string can be fed to them (fuzzing, the unit test's
 * truncation and byte-flip sweeps).
 *
 * A file is the 16-byte file header, then frames. Little-endian:
 *
 *   file header  "TCPDWREC" | u32 format version (1) | u32 0
 *   frame        "TDFR" | u8 kind | u8 codec | u16 0 | u32 raw_len |
 *                u32 stored_len | u32 crc32(payload as stored) |
 *                u32 crc32(the 20 header bytes before it) | payload
 *
 * The first frame is TD_FR_HEADER (JSON, uncompressed); TD_FR_EVENTS frames
 * hold whole struct td_event records (zlib), the census snapshot
 * (TD_EV_SNAPSHOT records) first; TD_FR_LOSS frames hold the loss counters
 * (periodically, and a final one with TD_REC_LOSS_FINAL as the last frame).
 * TD_FR_CGROUPS frames name the cgroup ids of the events after them:
 * entries of u64 id | u16 length | the path below the cgroup2 mount (no
 * NUL), uncompressed; each part of a rotated recording repeats the names
 * before it, after its header.
 */
#ifndef TCPDWELL_RECFMT_H
#define TCPDWELL_RECFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns.h"

#include "loss.h"

#define TD_REC_MAGIC		 "TCPDWREC"
#define TD_REC_VERSION		 1
#define TD_REC_FILE_HDR		 16
#define TD_REC_FRAME_MAGIC	 "TDFR"
#define TD_REC_FRAME_HDR	 24
#define TD_REC_MAX_RAW		 (64u << 20) /* largest payload a reader accepts */
#define TD_REC_HEADER_MAX	 65536	     /* largest header frame */
#define TD_REC_LOSS_FINAL	 1u	     /* td_rec_loss.flags: the recording ended cleanly */
#define TD_REC_LOSS_PART	 2u /* ... this part ended, FILE.n+1 continues (--rotate) */
#define TD_REC_LOSS_NO_RECURSION 4u /* ... the kernel counted no recursion misses: n/a */
#define TD_REC_PROG_NAMELEN	 32

enum td_frame_kind {
	TD_FR_HEADER = 1,
	TD_FR_EVENTS = 2,
	TD_FR_LOSS = 3,
	TD_FR_CGROUPS = 4,
};

enum td_codec {
	TD_CODEC_NONE = 0,
	TD_CODEC_ZLIB = 1,
};

/* A frame header as parsed; payload_off is from the start of the buffer. */
struct td_frame {
	uint8_t kind;
	uint8_t codec;
	uint32_t raw_len;
	uint32_t stored_len;
	uint32_t crc;
	uint64_t off;	      /* where the frame starts */
	uint64_t payload_off; /* off + TD_REC_FRAME_HDR */
};

enum td_rec_status {
	TD_REC_OK = 0,
	TD_REC_SHORT = 1, /* the buffer ends inside it: a cut recording, or read more */
	TD_REC_BAD = 2,	  /* corrupt or foreign: err names what and where */
};

/* The recording's loss counters as stored (fixed layout, little-endian). */
struct td_rec_loss {
	uint64_t flags; /* TD_REC_LOSS_* */
	uint64_t at_ns; /* CLOCK_MONOTONIC when they were read */
	uint64_t events, rb_drops, recursion_misses, sock_inserts, sock_deletes, sock_live,
	    insert_fail, listen_full, tw_inserts, tw_deletes, tw_live, tw_insert_fail,
	    tw_unseen_end, tw_rearm, pid_full, bad_records;
	uint64_t nprogs;
	struct {
		char name[TD_REC_PROG_NAMELEN];
		uint64_t misses, run_cnt, run_time_ns;
	} prog[TD_MAX_PROGS];
};

/* What the header frame says (JSON on disk). Strings are NUL-terminated. */
struct td_rec_header {
	unsigned format;
	unsigned event_version;
	unsigned event_size;
	char host[256];
	char kernel[256];
	char argv[1024]; /* the command line that recorded, words joined by spaces */
	char degraded[256];
	uint64_t boot_time; /* btime from /proc/stat, seconds since the epoch */
	long hz;	    /* CONFIG_HZ, -1 unknown */
	uint64_t start_ns;  /* the recorder's CLOCK_MONOTONIC start */
	int64_t wall_offset_ns;
	unsigned part; /* --rotate: 0 for FILE, n for FILE.n */
	/* the namespace the census snapshot walked, and its sysctls */
	uint32_t snap_netns;
	char snap_netns_name[260]; /* as struct td_netns.name */
	struct td_tcp_sysctls snap_sys;
};

/* The 16-byte file header. */
void td_rec_put_file_header(uint8_t out[TD_REC_FILE_HDR]);
int td_rec_check_file_header(const uint8_t *buf, size_t len, char *err, size_t errsz);

/* A frame header for a payload already stored (compressed or not). */
void td_rec_put_frame_header(uint8_t out[TD_REC_FRAME_HDR], uint8_t kind, uint8_t codec,
			     uint32_t raw_len, const void *stored, uint32_t stored_len);

/* Parse the frame at buf[0..len) (which starts at file offset `off`):
 * header fields, header checksum, limits; with the payload present also
 * its checksum. TD_REC_SHORT when len is too short for it. */
int td_rec_parse_frame(const uint8_t *buf, size_t len, uint64_t off, struct td_frame *f, char *err,
		       size_t errsz);

/* The payload of a checked frame into out (raw_len bytes). */
int td_rec_decode_payload(const struct td_frame *f, const uint8_t *stored, uint8_t *out, char *err,
			  size_t errsz);

/* Compress raw into out (room: td_rec_bound(raw_len)); returns the stored
 * length, 0 on failure. level: zlib's 1..9. */
size_t td_rec_bound(size_t raw_len);
size_t td_rec_compress(const void *raw, size_t raw_len, uint8_t *out, size_t outsz, int level);

/* Header as JSON, and back. Parsing takes only a flat object of strings,
 * numbers, null and booleans; unknown keys are skipped. */
size_t td_rec_header_json(const struct td_rec_header *h, char *out, size_t sz);
int td_rec_header_parse(const char *json, size_t len, struct td_rec_header *h, char *err,
			size_t errsz);

/* The loss counters to and from their stored form. Names point into *r. */
void td_rec_loss_from(struct td_rec_loss *r, const struct td_loss *l, uint64_t at_ns,
		      uint64_t flags);
int td_rec_loss_parse(const uint8_t *buf, size_t len, struct td_rec_loss *r);

/* One cgroups frame entry into out[0..room). Returns its size, or 0 when
 * it does not fit or the path cannot be stored (empty, too long). */
size_t td_rec_cgroup_put(uint8_t *out, size_t room, uint64_t id, const char *path);

/* Each entry of a cgroups frame's payload to fn (path NUL-terminated).
 * TD_REC_OK, or TD_REC_BAD with err when an entry is cut or not a path. */
typedef void (*td_rec_cgroup_fn)(void *ctx, uint64_t id, const char *path);
int td_rec_cgroups_parse(const uint8_t *buf, size_t len, td_rec_cgroup_fn fn, void *ctx, char *err,
			 size_t errsz);
void td_rec_loss_to(const struct td_rec_loss *r, struct td_loss *l);

#endif /* TCPDWELL_RECFMT_H */
