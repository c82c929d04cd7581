/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-drive --net: set up the device, run the net job, report. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "net_job.h"

static void net_print_human(const struct net_job_opts *o,
			    const struct net_stats *st, bool event_wait)
{
	double t = st->elapsed > 0 ? st->elapsed : 1e-9;
	const struct lat_hist *h = &st->rtt;

	printf("net: frame %u B, tx depth %u, wait=%s: %.3f s%s\n",
	       o->frame_size, o->tx_depth, event_wait ? "event" : "poll",
	       st->elapsed, st->interrupted ? " (interrupted)" : "");
	printf("  sent    : %" PRIu64 " frames, %.0f fps, %.2f Mbit/s\n",
	       st->sent, (double)st->sent / t,
	       (double)st->bytes_sent * 8 / t / 1e6);
	printf("  received: %" PRIu64 " frames, %.0f fps, %.2f Mbit/s\n",
	       st->received, (double)st->received / t,
	       (double)st->bytes_received * 8 / t / 1e6);
	printf("  lost %" PRIu64 ", damaged %" PRIu64 ", reordered %" PRIu64
	       ", foreign %" PRIu64 "\n",
	       st->sent - (st->received < st->sent ? st->received : st->sent),
	       st->bad, st->reordered, st->foreign);
	if (h->count)
		printf("  rtt us: min %.1f mean %.1f p50 %.1f p99 %.1f p99.9 "
		       "%.1f max %.1f\n", (double)h->min / 1e3,
		       lat_hist_mean(h) / 1e3,
		       (double)lat_hist_percentile(h, 50) / 1e3,
		       (double)lat_hist_percentile(h, 99) / 1e3,
		       (double)lat_hist_percentile(h, 99.9) / 1e3,
		       (double)h->max / 1e3);
}

static void net_print_json(const char *socket, const struct net_job_opts *o,
			   const struct drive_dev *d,
			   const struct net_stats *st, bool ran,
			   const char *error)
{
	double t = st->elapsed > 0 ? st->elapsed : 1e-9;
	const struct lat_hist *h = &st->rtt;

	printf("{\"mode\": \"net\", \"socket\": \"");
	for (const char *s = socket; *s; s++)
		printf((*s == '"' || *s == '\\') ? "\\%c" :
		       (unsigned char)*s < 0x20 ? "?" : "%c", *s);
	printf("\", \"frame_size\": %u, \"tx_depth\": %u, \"seed\": %" PRIu64,
	       o->frame_size, o->tx_depth, o->seed);
	if (d)
		printf(", \"features\": \"0x%" PRIx64 "\"", d->features);
	if (ran)
		printf(", \"elapsed_s\": %.6f, \"interrupted\": %s, "
		       "\"sent\": %" PRIu64 ", \"received\": %" PRIu64 ", "
		       "\"lost\": %" PRIu64 ", \"damaged\": %" PRIu64 ", "
		       "\"reordered\": %" PRIu64 ", \"foreign\": %" PRIu64
		       ", \"tx_fps\": %.1f, \"rx_fps\": %.1f, \"rtt_ns\": "
		       "{\"count\": %" PRIu64 ", \"min\": %" PRIu64 ", \"mean\": "
		       "%.1f, \"p50\": %" PRIu64 ", \"p99\": %" PRIu64
		       ", \"p99.9\": %" PRIu64 ", \"max\": %" PRIu64 "}",
		       st->elapsed, st->interrupted ? "true" : "false",
		       st->sent, st->received,
		       st->sent - (st->received < st->sent ? st->received :
				   st->sent), st->bad, st->reordered,
		       st->foreign, (double)st->sent / t,
		       (double)st->received / t, h->count,
		       h->count ? h->min : 0, lat_hist_mean(h),
		       lat_hist_percentile(h, 50), lat_hist_percentile(h, 99),
		       lat_hist_percentile(h, 99.9), h->max);
	printf(", \"error\": ");
	if (error)
		printf("\"%s\"", error);
	else
		printf("null");
	printf("}\n");
}

int drive_net_main(const struct drive_dev_opts *dopts,
		   const struct net_job_opts *o, bool json)
{
	struct drive_dev *dev = NULL;
	struct net_stats st;
	const char *error = NULL;
	bool ran = false;
	int ret, status = 0;

	memset(&st, 0, sizeof(st));
	ret = drive_dev_open(dopts, &dev);
	if (ret) {
		error = "cannot set up the device";
		status = 1;
		goto out;
	}
	ret = net_job_run(dev, o, &st);
	ran = true;
	if (ret) {
		error = ret == -ETIMEDOUT ? "the back-end stopped taking frames" :
			ret == -EPROTO ? "the back-end broke the virtqueue "
			"protocol" : ret == -ECONNRESET ? "the back-end hung up" :
			"the job failed";
		status = 1;
	} else if (st.bad) {
		error = "frames came back damaged";
		status = 3;
	}
	if (!json)
		net_print_human(o, &st, o->event_wait);
out:
	if (json)
		net_print_json(dopts->socket, o, dev, &st, ran, error);
	else
		printf("seed %" PRIu64 ": %s%s\n", o->seed,
		       error ? "FAILED: " : "ok", error ? error : "");
	fflush(stdout);
	drive_dev_close(dev);
	return status;
}
