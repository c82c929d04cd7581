/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * State shared by the control side (net_backend.c, librte_vhost's event
 * thread) and the forwarding loop (net_fwd.c, the main lcore).
 */
#ifndef SPLITVM_NET_BACKEND_INTERNAL_H
#define SPLITVM_NET_BACKEND_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net_backend.h"
#include "net_guard.h"
#include "net_stats.h"
#include "net_switch.h"

struct rte_mempool;
struct rte_vhost_memory;

/* librte_vhost's vring numbering for one queue pair. */
#define NET_VRING_RX 0	/* the frontend receives: splitvm-net enqueues */
#define NET_VRING_TX 1	/* the frontend transmits: splitvm-net dequeues */

#define NET_BURST 32

/*
 * The largest frame forwarded: no MTU, TSO or UFO feature is offered, so
 * a frontend sends at most a 1514-byte frame, 1518 with an 802.1Q tag.
 */
#define NET_FRAME_MAX 1518

struct net_port {
	struct net_port_config cfg;
	uint16_t index;
	char tag[40];
	bool registered;
	/* Written by the vhost event thread, read by the forwarder. */
	_Atomic int vid;		/* -1: no device */
	_Atomic bool ready;		/* new_device done, not destroyed */
	_Atomic bool vring_enabled[2];
	/* Set by new_device before ready, freed after destroy_device. */
	struct rte_vhost_memory *mem;	/* guest memory, for net_guard */
	uint32_t hdr_len;		/* virtio-net header the frontend uses */
	bool mergeable;			/* VIRTIO_NET_F_MRG_RXBUF */
	bool packed;			/* VIRTIO_F_RING_PACKED: no guard */
	/* Forwarder only. */
	struct net_queue_stats stats;	/* one queue pair */
	struct net_vring_guard guard[2];
};

struct net_backend {
	const struct net_options *opts;
	struct net_port ports[NET_SWITCH_MAX_PORTS];
	unsigned nports;
	struct rte_mempool *pool;
	struct net_switch *sw;		/* forwarder only */
	uint64_t mac_age_ns;
	int wake_fd;			/* eventfd: port change, signal */

	/*
	 * Quiescence: the forwarder sets in_round while it may touch any
	 * port's vrings and bumps round_gen after each round; destroy_device
	 * clears ready, then waits until no round that could have seen it
	 * set is still running (seq_cst on both sides, Dekker style).
	 */
	_Atomic bool in_round;
	_Atomic uint64_t round_gen;
	_Atomic uint64_t port_events;	/* bumped on every port change */

	/* Forwarder only: see struct net_report. */
	uint64_t fwd_frames;
	uint64_t fwd_busy_cycles;

	_Atomic bool stop;
	_Atomic bool stats_wanted;
};

/* net_fwd.c */
void net_fwd_wake(struct net_backend *be);

#endif
