/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's counters per port and queue, and their two printed forms:
 * a table for people (SIGUSR1) and one JSON object per line for programs.
 */
#ifndef SPLITVM_NET_STATS_H
#define SPLITVM_NET_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "net_vlan.h"

/*
 * Why a frame was dropped. Counted on the queue the frame came from, except
 * NET_DROP_RX_FULL, which is counted on the queue it could not be put on,
 * and NET_DROP_BAD_RX_BUF, which counts receive buffers (not frames) on
 * the queue they were posted to.
 */
enum net_drop_reason {
	NET_DROP_RUNT,		/* shorter than an Ethernet header */
	NET_DROP_BAD_SRC,	/* group (multicast) source address */
	NET_DROP_HAIRPIN,	/* destination learned on the source port */
	NET_DROP_NO_DEST,	/* destination port not connected */
	NET_DROP_RX_FULL,	/* destination had no free receive buffer (an
				 * uplink: its transmit queue was full) */
	NET_DROP_OVERSIZE,	/* longer than NET_FRAME_MAX (1518 bytes) */
	NET_DROP_SHORT_CHAIN,	/* chain no longer than the virtio-net header */
	NET_DROP_BAD_CHAIN,	/* malformed transmit chain, handed back */
	NET_DROP_BAD_RX_BUF,	/* malformed receive buffer, handed back */
	NET_DROP_BAD_OFFLOAD,	/* checksum or TSO request that does not fit
				 * the frame */
	NET_DROP_NO_MBUF,	/* no mbuf for a software checksum or segment
				 * (or a VLAN tag pushed or popped) */
	NET_DROP_VLAN,		/* not taken by its VLAN port: tagged on an
				 * access port, a VLAN a trunk does not
				 * carry, untagged on a trunk without native */
	NET_DROP_COUNT,
};

const char *net_drop_reason_name(enum net_drop_reason r);

/*
 * "rx" is what the switch received from the port's frontend (the guest
 * transmitted it), "tx" what the switch put on the frontend's receive
 * queue. Written by the forwarding thread only.
 */
struct net_queue_stats {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t flooded;	/* rx frames sent to every other port */
	/* rx frames with a partial checksum or TSO that splitvm-net
	 * completed (segmented) in software for some destination */
	uint64_t sw_offload;
	/* rx frames copied straight into the destination's buffers
	 * (--copy direct), no mbuf */
	uint64_t direct;
	uint64_t drops[NET_DROP_COUNT];
};

struct net_port_report {
	const char *name;
	const char *path;
	const char *devargs;	/* an uplink (role "uplink"); else NULL */
	bool client;		/* splitvm-net connects (else it listens) */
	bool connected;
	const struct net_vlan_config *vlan;	/* NULL: unaware */
	unsigned nqueues;
	const struct net_queue_stats *queues;
};

struct net_report {
	const char *mode;	/* "switch" or "xconnect" */
	unsigned mac_entries;	/* live MAC table entries (switch mode) */
	/*
	 * Forwarding cost, counted like testpmd --record-core-cycles: TSC
	 * cycles of the rounds that moved frames, and the frames they
	 * received, so busy_cycles / frames is cycles per packet.
	 */
	uint64_t fwd_frames;
	uint64_t fwd_busy_cycles;
	uint64_t tsc_hz;
	unsigned nports;
	const struct net_port_report *ports;
};

uint64_t net_queue_stats_drops(const struct net_queue_stats *q);

/* Both return 0 or a negative errno from writing to f. */
int net_report_print_text(FILE *f, const struct net_report *r)
	__attribute__((warn_unused_result));
int net_report_print_json(FILE *f, const struct net_report *r)
	__attribute__((warn_unused_result));

#endif
