/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static const char *const net_drop_names[NET_DROP_COUNT] = {
	[NET_DROP_RUNT] = "runt",
	[NET_DROP_BAD_SRC] = "bad_src",
	[NET_DROP_HAIRPIN] = "hairpin",
	[NET_DROP_NO_DEST] = "no_dest",
	[NET_DROP_RX_FULL] = "rx_full",
	[NET_DROP_OVERSIZE] = "oversize",
	[NET_DROP_SHORT_CHAIN] = "short_chain",
	[NET_DROP_BAD_CHAIN] = "bad_chain",
	[NET_DROP_BAD_RX_BUF] = "bad_rx_buf",
	[NET_DROP_BAD_OFFLOAD] = "bad_offload",
	[NET_DROP_NO_MBUF] = "no_mbuf",
	[NET_DROP_VLAN] = "vlan",
};

const char *net_drop_reason_name(enum net_drop_reason r)
{
	return (unsigned)r < NET_DROP_COUNT ? net_drop_names[r] : "?";
}

uint64_t net_queue_stats_drops(const struct net_queue_stats *q)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < NET_DROP_COUNT; i++)
		n += q->drops[i];
	return n;
}

static int net_report_flush(FILE *f)
{
	if (fflush(f) || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}

/* A trunk's list: every other VLAN id is about 9 KiB (and a few words). */
#define VLAN_LIST_MAX 12288

/* ", access vlan 10", ", trunk 10:20 native 5", or nothing. */
static void vlan_text(FILE *f, const struct net_vlan_config *v, char *buf)
{
	if (!v || v->mode == NET_VLAN_MODE_NONE)
		return;
	(void)net_vlan_describe(v, buf, VLAN_LIST_MAX);
	fprintf(f, ", %s", buf);
}

/* {"mode":"none"}, {"mode":"access","vlan":10} or
 * {"mode":"trunk","trunk":"10:20","native":5} (native only when set). */
static void vlan_json(FILE *f, const struct net_vlan_config *v, char *list)
{
	enum net_vlan_mode m = v ? v->mode : NET_VLAN_MODE_NONE;

	fprintf(f, ",\"vlan\":{\"mode\":\"%s\"", net_vlan_mode_name(m));
	if (m == NET_VLAN_MODE_ACCESS)
		fprintf(f, ",\"vlan\":%u", v->vid);
	if (m == NET_VLAN_MODE_TRUNK) {
		(void)net_vlan_format_list(v, list, VLAN_LIST_MAX);
		fprintf(f, ",\"trunk\":\"%s\"", list);
		if (v->vid)
			fprintf(f, ",\"native\":%u", v->vid);
	}
	fputc('}', f);
}

int net_report_print_text(FILE *f, const struct net_report *r)
{
	char *list = malloc(VLAN_LIST_MAX);

	if (!list)
		return -ENOMEM;
	fprintf(f, "splitvm-net stats: mode %s, %u ports, %u MAC entries\n",
		r->mode, r->nports, r->mac_entries);
	fprintf(f, "forwarding: %" PRIu64 " frames in %" PRIu64
		" busy cycles", r->fwd_frames, r->fwd_busy_cycles);
	if (r->fwd_frames)
		fprintf(f, " (%.1f cycles/frame)",
			(double)r->fwd_busy_cycles / (double)r->fwd_frames);
	fprintf(f, ", TSC %" PRIu64 " Hz\n", r->tsc_hz);
	for (unsigned p = 0; p < r->nports; p++) {
		const struct net_port_report *port = &r->ports[p];

		fprintf(f, "port %u %s (%s %s): %s", p, port->name,
			port->devargs ? "uplink" : port->client ? "client"
								 : "server",
			port->devargs ? port->devargs : port->path,
			port->connected ? "connected" : "not connected");
		vlan_text(f, port->vlan, list);
		fputc('\n', f);
		for (unsigned q = 0; q < port->nqueues; q++) {
			const struct net_queue_stats *s = &port->queues[q];

			fprintf(f, "  queue %u: rx %" PRIu64 " frames %" PRIu64
				" bytes, tx %" PRIu64 " frames %" PRIu64
				" bytes, flooded %" PRIu64 ", sw_offload %"
				PRIu64 ", direct %" PRIu64 ", drops %" PRIu64,
				q, s->rx_frames, s->rx_bytes, s->tx_frames,
				s->tx_bytes, s->flooded, s->sw_offload,
				s->direct, net_queue_stats_drops(s));
			for (unsigned d = 0; d < NET_DROP_COUNT; d++)
				if (s->drops[d])
					fprintf(f, " %s=%" PRIu64,
						net_drop_names[d], s->drops[d]);
			fputc('\n', f);
		}
	}
	free(list);
	return net_report_flush(f);
}

/* Socket paths and names come from the command line: escape them. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int net_report_print_json(FILE *f, const struct net_report *r)
{
	char *list = malloc(VLAN_LIST_MAX);

	if (!list)
		return -ENOMEM;
	fprintf(f, "{\"mode\":");
	json_string(f, r->mode);
	fprintf(f, ",\"mac_entries\":%u,\"fwd\":{\"frames\":%" PRIu64
		",\"busy_cycles\":%" PRIu64 ",\"tsc_hz\":%" PRIu64 "}"
		",\"ports\":[", r->mac_entries, r->fwd_frames,
		r->fwd_busy_cycles, r->tsc_hz);
	for (unsigned p = 0; p < r->nports; p++) {
		const struct net_port_report *port = &r->ports[p];

		fprintf(f, "%s{\"port\":%u,\"name\":", p ? "," : "", p);
		json_string(f, port->name);
		fprintf(f, port->devargs ? ",\"devargs\":" : ",\"socket\":");
		json_string(f, port->devargs ? port->devargs : port->path);
		fprintf(f, ",\"role\":\"%s\",\"connected\":%s",
			port->devargs ? "uplink" : port->client ? "client"
								: "server",
			port->connected ? "true" : "false");
		vlan_json(f, port->vlan, list);
		fprintf(f, ",\"queues\":[");
		for (unsigned q = 0; q < port->nqueues; q++) {
			const struct net_queue_stats *s = &port->queues[q];

			fprintf(f, "%s{\"queue\":%u,\"rx_frames\":%" PRIu64
				",\"rx_bytes\":%" PRIu64 ",\"tx_frames\":%" PRIu64
				",\"tx_bytes\":%" PRIu64 ",\"flooded\":%" PRIu64
				",\"sw_offload\":%" PRIu64 ",\"direct\":%" PRIu64
				",\"drops\":{",
				q ? "," : "", q, s->rx_frames, s->rx_bytes,
				s->tx_frames, s->tx_bytes, s->flooded,
				s->sw_offload, s->direct);
			for (unsigned d = 0; d < NET_DROP_COUNT; d++)
				fprintf(f, "%s\"%s\":%" PRIu64, d ? "," : "",
					net_drop_names[d], s->drops[d]);
			fprintf(f, "}}");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "]}\n");
	free(list);
	return net_report_flush(f);
}
