/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Everything the tool could not see, counted: ring-buffer drops, BPF
 * recursion misses (the program never ran), socket-map evictions and
 * refusals, records the reader rejected.
 */
#ifndef TCPDWELL_LOSS_H
#define TCPDWELL_LOSS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

#include "events.h"

#define TD_MAX_PROGS 16

/* What a reader handed on, counted the same way live and in a replay. */
struct td_delivered {
	uint64_t events;		  /* records handed on */
	uint64_t by_type[TD_EV_TYPE_MAX]; /* per enum td_event_type */
	uint64_t tw_ends;		  /* transitions ending a timewait socket */
	uint64_t tw_switches;		  /* FIN_WAIT2(tw) -> TIME_WAIT substate switches */
};

struct td_loss {
	uint64_t events; /* records the kernel submitted */
	struct td_delivered delivered;
	uint64_t bad_records; /* records the reader rejected */
	uint64_t rb_drops;    /* ring buffer full */
	uint64_t recursion_misses;
	uint64_t sock_inserts;
	uint64_t sock_deletes;
	uint64_t sock_live;	 /* entries in the map when read */
	uint64_t evictions;	 /* LRU evictions: inserts - deletes - live */
	uint64_t insert_fail;	 /* socket map refused an entry */
	uint64_t listen_full;	 /* listener map refused an entry */
	uint64_t tw_inserts;	 /* timewait sockets tracked */
	uint64_t tw_deletes;	 /* timewait sockets ended */
	uint64_t tw_live;	 /* timewait sockets in the map when read */
	uint64_t tw_evictions;	 /* timewait LRU evictions */
	uint64_t tw_insert_fail; /* timewait map refused an entry */
	uint64_t tw_unseen_end;	 /* ended timewait sockets that began before us */
	uint64_t tw_rearm;	 /* timer re-arms without a substate change */
	uint64_t pid_full;	 /* --follow: children the pid map refused */
	uint64_t recording_cut;	 /* replay: the file ends here, before its final loss frame */
	bool exact;		 /* read after detaching: nothing in flight */
	bool no_recursion;	 /* the kernel counts no recursion misses (before 5.12): n/a */
	int nprogs;
	struct {
		const char *name;
		uint64_t misses;
		uint64_t run_cnt;
		uint64_t run_time_ns;
	} prog[TD_MAX_PROGS];
};

/* Count one record handed on; its type was validated by td_event_decode. */
void td_delivered_add(struct td_delivered *d, const struct td_event *e);

/* Events lost or state lost: non-zero means exit code TD_EXIT_LOST. */
uint64_t td_loss_total(const struct td_loss *l);

/* Derive evictions from the raw counters. */
void td_loss_derive(struct td_loss *l);

void td_loss_print_text(FILE *f, const struct td_loss *l, const char *degraded);
/* The summary for people on stderr; with json also as the last record of
 * the stream `out` (unless that stream already failed). */
void td_loss_report(FILE *out, bool json, const struct td_loss *l, const char *degraded);
void td_loss_print_json(FILE *f, const struct td_loss *l, const char *degraded);
struct td_json;
/* The same record as a value of an enclosing JSON writer (run's report). */
void td_loss_json(struct td_json *j, const char *key, const struct td_loss *l,
		  const char *degraded);

/* The recursion misses as text: the count, or "n/a" where the kernel
 * keeps none. */
void td_loss_recursion_str(const struct td_loss *l, char *buf, size_t sz);

#endif /* TCPDWELL_LOSS_H */
