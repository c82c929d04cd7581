/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_report.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const op_names[DRIVE_OP_NR] = { "read", "write", "flush" };

void blk_report_phase(const struct blk_report *a, enum drive_phase p,
		      const struct drive_stats *st)
{
	printf("%s: %s bs=%u iodepth=%u queues=%u wait=%s: %.3f s%s\n",
	       drive_phase_name(p),
	       p == DRIVE_PHASE_MAIN ? drive_rw_name(a->job->rw) :
	       p == DRIVE_PHASE_FILL ? "write" : "read",
	       a->job->bs, a->iodepth, a->queues,
	       a->job->event_wait ? "event" : "poll", st->elapsed,
	       st->interrupted ? " (interrupted)" : "");
	for (int op = 0; op < DRIVE_OP_NR; op++) {
		const struct lat_hist *h = &st->lat[op];
		double t = st->elapsed > 0 ? st->elapsed : 1e-9;

		if (!h->count)
			continue;
		if (op == DRIVE_OP_FLUSH)
			printf("  %-5s: %.0f per s, %" PRIu64 " requests\n",
			       op_names[op], (double)st->ios[op] / t,
			       st->ios[op]);
		else
			printf("  %-5s: %.0f IOPS, %.2f MiB/s, %" PRIu64
			       " requests, %" PRIu64 " bytes\n", op_names[op],
			       (double)st->ios[op] / t,
			       (double)st->bytes[op] / t / (1024.0 * 1024.0),
			       st->ios[op], st->bytes[op]);
		printf("         lat us: min %.1f mean %.1f p50 %.1f p99 %.1f "
		       "p99.9 %.1f max %.1f\n", (double)h->min / 1e3,
		       lat_hist_mean(h) / 1e3,
		       (double)lat_hist_percentile(h, 50) / 1e3,
		       (double)lat_hist_percentile(h, 99) / 1e3,
		       (double)lat_hist_percentile(h, 99.9) / 1e3,
		       (double)h->max / 1e3);
	}
	printf("  errors: %" PRIu64 " I/O, %" PRIu64 " unsupported",
	       st->io_errors, st->unsupported);
	if (a->job->verify)
		printf(", %" PRIu64 " verify mismatches in %" PRIu64
		       " blocks checked", st->verify_errors, st->verified);
	printf("\n");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_phase(const struct drive_stats *st)
{
	double t = st->elapsed > 0 ? st->elapsed : 1e-9;

	printf("{\"elapsed_s\": %.6f, \"interrupted\": %s", st->elapsed,
	       st->interrupted ? "true" : "false");
	for (int op = 0; op < DRIVE_OP_NR; op++) {
		const struct lat_hist *h = &st->lat[op];

		printf(", \"%s\": {\"ios\": %" PRIu64 ", \"bytes\": %" PRIu64
		       ", \"iops\": %.1f, \"bw_bytes_per_s\": %.1f, "
		       "\"lat_ns\": {\"count\": %" PRIu64 ", \"min\": %" PRIu64
		       ", \"mean\": %.1f, \"p50\": %" PRIu64 ", \"p99\": %"
		       PRIu64 ", \"p99.9\": %" PRIu64 ", \"max\": %" PRIu64
		       "}}", op_names[op], st->ios[op], st->bytes[op],
		       (double)st->ios[op] / t, (double)st->bytes[op] / t,
		       h->count, h->count ? h->min : 0, lat_hist_mean(h),
		       lat_hist_percentile(h, 50), lat_hist_percentile(h, 99),
		       lat_hist_percentile(h, 99.9), h->max);
	}
	printf(", \"queue_ios\": [");
	for (unsigned q = 0; q < st->nq; q++)
		printf("%s%" PRIu64, q ? ", " : "", st->queue_ios[q]);
	printf("]");
	printf(", \"io_errors\": %" PRIu64 ", \"unsupported\": %" PRIu64
	       ", \"verified\": %" PRIu64 ", \"verify_errors\": %" PRIu64 "}",
	       st->io_errors, st->unsupported, st->verified,
	       st->verify_errors);
}

void blk_report_json(const struct blk_report *a, const struct drive_dev *d,
		     const struct drive_stats *st, const bool *ran,
		     const char *error)
{
	bool first = true;

	printf("{\"socket\": ");
	json_string(a->socket);
	printf(", \"rw\": \"%s\", \"rwmixread\": %u, \"bs\": %u, "
	       "\"iodepth\": %u, \"queues\": %u, \"queue_size\": %u, "
	       "\"wait\": \"%s\", \"fsync\": %" PRIu64 ", \"verify\": %s, "
	       "\"seed\": %" PRIu64
	       ", \"offset\": %" PRIu64 ", \"size\": %" PRIu64,
	       drive_rw_name(a->job->rw), a->job->rwmixread, a->job->bs,
	       a->iodepth, a->queues, a->queue_size,
	       a->job->event_wait ? "event" : "poll", a->job->fsync,
	       a->job->verify ? "true" : "false", a->job->seed, a->job->offset,
	       a->job->size);
	if (d)
		printf(", \"capacity_bytes\": %" PRIu64 ", \"blk_size\": %u, "
		       "\"features\": \"0x%" PRIx64 "\", \"event_idx\": %s, "
		       "\"reconnects\": %u",
		       d->capacity * 512, d->blk_size, d->features,
		       (d->features & (1ull << VIRTIO_RING_F_EVENT_IDX)) ?
		       "true" : "false", d->reconnects);
	printf(", \"phases\": {");
	for (int p = DRIVE_PHASE_FILL; p <= DRIVE_PHASE_READBACK; p++) {
		if (!ran[p])
			continue;
		printf("%s\"%s\": ", first ? "" : ", ",
		       drive_phase_name((enum drive_phase)p));
		json_phase(&st[p]);
		first = false;
	}
	printf("}, \"error\": ");
	if (error)
		json_string(error);
	else
		printf("null");
	printf("}\n");
}

