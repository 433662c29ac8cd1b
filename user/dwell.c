// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The programs record every dwell time into per-CPU histograms and put
 * nothing on the ring buffer (td_cfg.no_events); this reads them every -i
 * seconds (printing the interval's share) and at exit (the totals).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dwell.h"
#include "format.h"
#include "hist.h"
#include "json.h"
#include "loss.h"
#include "tracer.h"

/* The states worth a histogram, in the order a connection meets them. */
static const unsigned dwell_states[] = {
    TD_TCP_SYN_SENT,   TD_TCP_SYN_RECV,	    TD_TCP_ESTABLISHED, TD_TCP_FIN_WAIT1,
    TD_TCP_FIN_WAIT2,  TD_TCP_FIN_WAIT2_TW, TD_TCP_CLOSING,	TD_TCP_TIME_WAIT,
    TD_TCP_CLOSE_WAIT, TD_TCP_LAST_ACK,	    TD_TCP_LISTEN,
};

struct td_dwell {
	const struct td_opts *opts;
	struct td_tracer *t;
	struct td_hist now[TD_TCP_MAX_STATES];
	struct td_hist prev[TD_TCP_MAX_STATES];
	struct td_hist iv[TD_TCP_MAX_STATES]; /* the interval's share */
	uint64_t imax[TD_TCP_MAX_STATES];
	uint64_t next_ns;
	uint64_t interval_ns;
	uint64_t start_ns;
	unsigned seq;
};

static void print_state_text(unsigned state, const struct td_hist *h)
{
	char p50[24], p90[24], p99[24], max[24], avg[24];

	printf("%s: count %" PRIu64 ", avg %s, p50 %s, p90 %s, p99 %s, max %s\n",
	       td_state_name(state), h->count,
	       td_dur_str(h->count ? h->sum_ns / h->count : 0, avg, sizeof(avg)),
	       td_dur_str(td_hist_quantile(h, 0.5), p50, sizeof(p50)),
	       td_dur_str(td_hist_quantile(h, 0.9), p90, sizeof(p90)),
	       td_dur_str(td_hist_quantile(h, 0.99), p99, sizeof(p99)),
	       td_dur_str(h->max_ns, max, sizeof(max)));
	td_hist_print_log2(stdout, h);
}

/* Print one report; `span` names it ("interval" or "total"). */
static void report(struct td_dwell *d, const struct td_hist *hs, const char *span, double from,
		   double to)
{
	bool json = d->opts->format == TD_FMT_JSON, any = false;
	char buf[4096];
	struct td_line line = {buf, sizeof(buf), 0};
	struct td_json j;

	td_json_init(&j, &line, stdout);
	if (json) {
		td_json_record(&j, NULL, "dwell");
		td_json_str(&j, "span", span);
		td_json_u64(&j, "seq", d->seq);
		td_json_f64(&j, "from", from, 6);
		td_json_f64(&j, "to", to, 6);
		td_json_object(&j, "states");
	} else {
		printf("--- dwell %s %.3f s .. %.3f s ---\n", span, from, to);
	}
	for (size_t i = 0; i < sizeof(dwell_states) / sizeof(dwell_states[0]); i++) {
		unsigned s = dwell_states[i];

		if (!hs[s].count)
			continue;
		if (json) {
			td_hist_json(&j, td_state_name(s), &hs[s]);
		} else {
			print_state_text(s, &hs[s]);
		}
		any = true;
	}
	if (json)
		td_json_end(&j);
	else if (!any)
		printf("(no state was left in this span)\n");
	fflush(stdout);
}

static double rel_s(const struct td_dwell *d, uint64_t ns)
{
	return (double)(ns - d->start_ns) / 1e9;
}

static int on_tick(void *ctx, uint64_t now)
{
	struct td_dwell *d = ctx;
	struct td_hist *iv = d->iv;

	if (!d->interval_ns || now < d->next_ns)
		return 0;
	if (td_tracer_read_hist(d->t, d->now, d->imax))
		return -1;
	td_tracer_next_interval(d->t);
	for (unsigned s = 0; s < TD_TCP_MAX_STATES; s++) {
		td_hist_delta(&iv[s], &d->now[s], &d->prev[s]);
		iv[s].max_ns = d->imax[s]; /* the interval's own maximum */
	}
	memcpy(d->prev, d->now, sizeof(d->prev));
	report(d, iv, "interval", rel_s(d, d->next_ns - d->interval_ns), rel_s(d, now));
	d->seq++;
	d->next_ns += d->interval_ns;
	return 0;
}

static int on_event(void *ctx, const struct td_event *e)
{
	(void)ctx;
	(void)e;
	return 0; /* nothing reaches the ring buffer in this mode */
}

static void on_report(void *ctx, const struct td_loss *loss)
{
	const struct td_dwell *d = ctx;

	td_loss_report(stdout, d->opts->format == TD_FMT_JSON, loss, NULL);
}

int td_dwell_main(const struct td_opts *o)
{
	struct td_dwell *d = calloc(1, sizeof(*d));
	struct td_consumer c = {on_event, on_tick, on_report, d};
	struct td_tracer_cfg tc;
	struct td_loss loss;
	int err;

	if (!d)
		return TD_EXIT_ERROR;
	d->opts = o;
	td_command_configure(o, &tc);
	err = td_tracer_open(&d->t, &tc);
	if (err)
		goto cleanup;
	d->start_ns = td_tracer_start_ns(d->t);
	d->interval_ns = (uint64_t)(o->interval_s * 1e9);
	d->next_ns = d->start_ns + d->interval_ns;

	err = td_tracer_run(d->t, &c);
	td_tracer_finish(d->t, &loss);
	if (!td_tracer_read_hist(d->t, d->now, NULL))
		report(d, d->now, "total", 0.0, rel_s(d, td_tracer_now_ns(d->t)));
	err = td_tracer_conclude(d->t, stdout, o->format == TD_FMT_JSON, &loss, err, false);
cleanup:
	td_tracer_close(d->t);
	free(d);
	return err;
}
