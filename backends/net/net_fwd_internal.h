/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A forwarding worker's private state, shared by its loop (net_fwd.c)
 * and its idle side (net_fwd_idle.c: asking for kicks, sleeping).
 */
#ifndef SPLITVM_NET_FWD_INTERNAL_H
#define SPLITVM_NET_FWD_INTERNAL_H

#include <poll.h>

#include "net_backend_internal.h"

/* A queue pair a worker polls. */
struct net_item {
	uint16_t port;
	uint16_t queue;
};

/*
 * Frames headed for one port in this burst: at most one per frame
 * received, and the segments of a TSO frame completed in software, which
 * leave room for a burst behind them (out_put_fixed flushes first).
 */
#define NET_OUT_MAX (NET_BURST + NET_OL_MAX_SEGS)
struct net_out {
	uint16_t n;
	struct rte_mbuf *pkts[NET_OUT_MAX];
};

struct net_direct_work;

#define NET_MAX_ITEMS (NET_SWITCH_MAX_PORTS * NET_MAX_QUEUES)

struct net_fwd {
	struct net_worker *w;
	struct net_backend *be;
	uint64_t now;
	uint64_t seen_events;
	unsigned guard_work;	/* chains and buffers handed back this round */
	uint16_t k;		/* the transmit queue being forwarded */
	struct net_fix fix;	/* frames completed in software */
	/* This burst's VLAN variants (net_vlan_mbuf_retag), at most one per
	 * frame: var is the one of var_of (NULL: none could be made). */
	const struct rte_mbuf *var_of;
	struct rte_mbuf *var;
	unsigned nvars;
	struct rte_mbuf *vars[NET_BURST];
	/* The frame whose software completion sw_offload counted last. */
	const struct rte_mbuf *ol_counted;
	struct net_direct_work *direct;	/* --copy direct, else NULL */
	unsigned nitems;
	struct net_item items[NET_MAX_ITEMS];
	/* Each port's enabled receive queues, as of the last port event. */
	uint8_t nrxq[NET_SWITCH_MAX_PORTS];
	uint8_t rxq[NET_SWITCH_MAX_PORTS][NET_MAX_QUEUES];
	struct net_out out[NET_SWITCH_MAX_PORTS];
	struct pollfd pfds[NET_MAX_ITEMS + 1];
};

/*
 * Only the store that opens a round needs to be sequentially consistent
 * (against destroy_device's clear of ready, Dekker style); closing it is
 * a release, and the worker is its round_gen's only writer.
 */
static inline void net_round_begin(struct net_worker *w)
{
	atomic_store(&w->in_round, true);
}

static inline void net_round_end(struct net_worker *w)
{
	atomic_store_explicit(&w->in_round, false, memory_order_release);
	atomic_store_explicit(&w->round_gen,
			      atomic_load_explicit(&w->round_gen,
						   memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Ask (or stop asking) this worker's frontends to kick their TX rings. */
void net_fwd_set_notify(struct net_fwd *f, bool on);
/*
 * Sleep until a frontend kicks or a port or signal event arrives; uplinks
 * without an interrupt are looked at after a nap.
 */
void net_fwd_sleep(struct net_fwd *f);

/*
 * net_fwd_direct.c: frames from transmit queue k of split port src copied
 * straight into their destination's receive buffers, before the dequeue
 * (up to a burst). Returns how many; *rest is false when no chain is left
 * for the mbuf path this round (the ring is empty, or a burst was moved);
 * *short_head is true when it stopped at once, at a frame under
 * --copy-min (the caller then leaves the ring to the mbuf path a while).
 */
int net_fwd_direct_create(struct net_fwd *f)
	__attribute__((warn_unused_result));
void net_fwd_direct_destroy(struct net_fwd *f);
unsigned net_fwd_direct(struct net_fwd *f, struct net_port *src, uint16_t k,
			struct net_queue_stats *st, int vid, bool *rest,
			bool *short_head);

#endif
