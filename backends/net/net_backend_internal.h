/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * State shared by the control side (net_backend.c, librte_vhost's event
 * thread) and the forwarding loops (net_fwd.c, one per worker lcore).
 */
#ifndef SPLITVM_NET_BACKEND_INTERNAL_H
#define SPLITVM_NET_BACKEND_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "net_backend.h"
#include "net_guard.h"
#include "net_offload.h"
#include "net_stats.h"
#include "net_switch.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_vhost_memory;

/* librte_vhost's vring numbering: queue pair q has rings 2q and 2q + 1. */
#define NET_VRING_RX 0	/* the frontend receives: splitvm-net enqueues */
#define NET_VRING_TX 1	/* the frontend transmits: splitvm-net dequeues */
#define NET_RXQ(q) ((uint16_t)(2 * (q) + NET_VRING_RX))
#define NET_TXQ(q) ((uint16_t)(2 * (q) + NET_VRING_TX))
#define NET_MAX_VRINGS (2 * NET_MAX_QUEUES)

#define NET_BURST 32

/*
 * The largest frame forwarded: no MTU feature is offered, so a frontend
 * sends at most a 1514-byte frame, 1518 with an 802.1Q tag; only a TSO
 * frame (net_fixup.c) may be longer, up to the 64 KiB an IP header can
 * say.
 */
#define NET_FRAME_MAX 1518
#define NET_MTU 1500		/* the IP datagram of a TSO segment, at most */
#define NET_TSO_FRAME_MAX (65535 + 18)
/* Mbufs a worker may hold for frames completed in software. */
#define NET_FIX_POOL (2 * NET_OL_MAX_SEGS)

struct net_port {
	struct net_backend *be;
	struct net_port_config cfg;
	uint16_t index;
	uint16_t nq;			/* queue pairs served */
	char tag[40];
	/* Under be->ports_lock: registered with librte_vhost; busy: the
	 * control thread is adding or removing it. */
	bool registered;
	bool busy;
	/* Written by the vhost event thread, read by the forwarders. */
	_Atomic int vid;		/* -1: no device */
	_Atomic bool ready;		/* new_device done, not destroyed */
	_Atomic bool vring_enabled[NET_MAX_VRINGS];
	/* Set by new_device before ready, freed after destroy_device. */
	struct rte_vhost_memory *mem;	/* guest memory, for net_guard */
	uint32_t hdr_len;		/* virtio-net header the frontend uses */
	bool mergeable;			/* VIRTIO_NET_F_MRG_RXBUF */
	bool packed;			/* VIRTIO_F_RING_PACKED: no guard */
	/*
	 * NET_OL_* a frame may carry to this port as it is (its frontend's
	 * GUEST_CSUM/GUEST_TSO4/6, an uplink's enabled TX offloads); set
	 * before ready, read by the forwarders.
	 */
	uint8_t ol_caps;
	/*
	 * With several threads two may put frames on one receive ring (an
	 * uplink: its one transmit queue): the guard's hand-back must not
	 * run beside another's enqueue, nor an uplink's restart beside a
	 * transmit.
	 */
	rte_spinlock_t rx_lock[NET_MAX_QUEUES];
	/* The forwarder polling transmit queue q owns guard[NET_TXQ(q)]. */
	struct net_vring_guard guard[NET_MAX_VRINGS];
	/*
	 * The guard reads rings and guest memory without librte_vhost's
	 * locks: it only tries guard_lock[vring], which the vhost event
	 * thread holds from before to after every vhost-user message
	 * (extern ops), so no message remaps memory or moves a ring under
	 * it. guard_held is the event thread's own. A slot --control adds
	 * a port to gets all of these afresh (net_port_reset).
	 */
	rte_spinlock_t guard_lock[NET_MAX_VRINGS];
	bool guard_held;
	/*
	 * An uplink (cfg.kind NET_PORT_UPLINK): set up before forwarding
	 * starts, torn down after it ends; never touched by librte_vhost's
	 * thread. Its one queue pair is dealt to a worker like any other:
	 * that worker alone receives from it, arms its interrupt and checks
	 * and restarts its link; every worker may transmit to it, under
	 * rx_lock[0] when there are several. vring_enabled[0..1] stay true;
	 * ready is its link state where that can be read (memif, ring),
	 * else true while it runs.
	 */
	bool eth_probed;
	bool eth_started;
	uint16_t eth_port;
	int eth_rx_fd;		/* rx interrupt fd, or -1: poll on a timer */
	bool eth_rx_armed;	/* an eventfd armed and drained (else the
				 * queue's own fd, readable while frames wait) */
	bool eth_link_known;	/* link state readable without a system call */
	bool eth_reconnect;	/* memif client: restart while the link is down */
	unsigned eth_down_checks;	/* link checks in a row that saw it down */
	uint64_t eth_next_check;	/* ns: next link check (its worker) */
	uint64_t eth_tx_offloads;	/* RTE_ETH_TX_OFFLOAD_* enabled */
};

struct net_fwd;

/* One forwarding thread: an lcore, the queue pairs dealt to it. */
struct net_worker {
	struct net_backend *be;
	unsigned id;
	unsigned lcore;
	int wake_fd;			/* eventfd: port change, signal, stop */
	/*
	 * Quiescence: the worker sets in_round while it may touch any
	 * port's vrings and bumps round_gen after each round; destroy_device
	 * clears ready, then waits until no round that could have seen it
	 * set is still running (seq_cst on both sides, Dekker style).
	 */
	_Atomic bool in_round;
	_Atomic uint64_t round_gen;
	/* Written by this worker only, summed for reports. */
	uint64_t fwd_frames;
	uint64_t fwd_busy_cycles;
	struct net_queue_stats *stats;	/* [port * NET_MAX_QUEUES + queue] */
	struct net_fwd *fwd;		/* the loop's private state */
	int status;			/* what its loop returned */
};

struct net_backend {
	const struct net_options *opts;
	struct net_port ports[NET_SWITCH_MAX_PORTS];
	unsigned nports;		/* slots: NET_SWITCH_MAX_PORTS with --control */
	pthread_mutex_t ports_lock;	/* slots' cfg, registered, busy */
	struct rte_mempool *pool;
	struct net_switch *sw;		/* under sw_lock */
	rte_spinlock_t sw_lock;
	uint64_t mac_age_ns;
	struct net_worker workers[NET_MAX_THREADS];
	unsigned nworkers;
	bool shared_rx;			/* several workers: take rx_lock */
	_Atomic uint64_t port_events;	/* bumped on every port change */

	_Atomic bool stop;
	_Atomic bool stats_wanted;
};

static inline struct net_queue_stats *net_worker_stats(struct net_worker *w,
						       uint16_t port,
						       uint16_t queue)
{
	return &w->stats[(unsigned)port * NET_MAX_QUEUES + queue];
}

/* net_backend.c */
/*
 * A slot's locks, guard state and rings' enabled flags as new: at start,
 * and when --control puts a port in a slot no worker uses (not ready) and
 * no vhost-user connection can reach (not registered).
 */
void net_port_reset(struct net_port *p);
/* Register p's socket with librte_vhost and start it; fresh: the path
 * was just cleared (--control), no stale-socket check. */
int net_port_register(struct net_port *p, bool fresh)
	__attribute__((warn_unused_result));

/* net_fwd.c */
void net_fwd_wake(struct net_backend *be);
int net_fwd_create(struct net_worker *w)
	__attribute__((warn_unused_result));
void net_fwd_destroy(struct net_worker *w);
/* Every worker's counters of port's queues to zero (a slot reused). */
void net_fwd_clear_stats(struct net_backend *be, uint16_t port);

static inline bool net_port_is_uplink(const struct net_port *p)
{
	return p->cfg.kind == NET_PORT_UPLINK;
}

/*
 * net_fixup.c: the software side of checksum and TSO offloads. What
 * librte_vhost's dequeue (legacy offload flags) sets on a frame whose
 * virtio-net header asks for an offload; ol_flags & NET_FIXUP_TX_FLAGS
 * is the one test a frame without offload costs.
 */
#define NET_FIXUP_TX_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | \
			    RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_IP_CKSUM)
/*
 * A received frame with offload flags: its headers parsed and checked by
 * splitvm-net (not trusting the library's), the flags and lengths set
 * anew from them. Returns the NET_OL_* it asks for, -EMSGSIZE when it is
 * too long, -EINVAL when the request does not fit the frame.
 */
int net_fixup_classify(struct rte_mbuf *m);
/* The frame (single segment, checksum only) completed in place. */
void net_fixup_complete(struct rte_mbuf *m);
/*
 * The frames one worker completed in software during a burst, alive
 * until every destination had them: pkts[start..start + n) are made of
 * of. Two at a time: the frame being forwarded and its VLAN variant (a
 * tag pushed or popped for some destinations, net_vlan_mbuf.c), which
 * destinations of a flood take in any order.
 */
struct net_fix_made {
	const struct rte_mbuf *of;
	unsigned start, n;
};

#define NET_FIX_KINDS 2

struct net_fix {
	struct net_fix_made made[NET_FIX_KINDS];
	unsigned next;		/* the entry the next make replaces */
	unsigned used;
	struct rte_mbuf *pkts[NET_FIX_POOL];
};

/* What was made of m in this burst (also a failure: n 0), or NULL. */
static inline const struct net_fix_made *net_fix_find(const struct net_fix *x,
						      const struct rte_mbuf *m)
{
	for (unsigned i = 0; i < NET_FIX_KINDS; i++)
		if (x->made[i].of == m)
			return &x->made[i];
	return NULL;
}

/* Room for one more frame's completion (else flush, then release). */
static inline bool net_fix_room(const struct net_fix *x)
{
	return x->used + NET_OL_MAX_SEGS <= NET_FIX_POOL;
}
/*
 * Complete frames from m, which asks for NET_OL_* want, in new mbufs from
 * pool: one copy with its checksum filled, or its TSO segments; *made
 * says where, and net_fix_find finds them from then on (also when it
 * fails: one failure per frame). 0, -ENOMEM or -EINVAL.
 */
int net_fix_make(struct net_fix *x, struct rte_mempool *pool,
		 const struct rte_mbuf *m, unsigned want,
		 const struct net_fix_made **made);
/* Free them all (no destination holds one any more). */
void net_fix_release(struct net_fix *x);

/*
 * net_vlan_mbuf.c: the VLAN a frame received on a port with configuration
 * c belongs to (*tagged: it carries a tag), -EPROTO when the port does not
 * take it, -EMSGSIZE for an untagged frame over 1514 bytes (not TSO).
 */
int net_vlan_mbuf_ingress(const struct net_vlan_config *c,
			  const struct rte_mbuf *m, unsigned want, bool *tagged);
/*
 * m with an 802.1Q tag of VLAN vid pushed (push) or its
 * tag popped: m itself, changed in place, when in_place (m goes to one
 * destination) and it has the headroom; else a new copy (the shared
 * original stays as it is for the other destinations). An offload
 * request's l2_len follows. NULL: no mbuf for the copy.
 */
struct rte_mbuf *net_vlan_mbuf_retag(struct rte_mempool *pool,
				     struct rte_mbuf *m, bool push,
				     uint16_t vid, bool in_place);

/* net_uplink.c: mbufs an uplink may hold in its rings (pool sizing). */
#define NET_UPLINK_DESC 512
#define NET_UPLINK_MBUFS (2 * NET_UPLINK_DESC + NET_BURST)

/* Probe the devargs, configure one queue pair on be->pool, start. */
int net_uplink_open(struct net_backend *be, struct net_port *p)
	__attribute__((warn_unused_result));
/* Stop and close what the sandbox lets us; the rest goes at exit. */
void net_uplink_close(struct net_port *p);
uint16_t net_uplink_rx(struct net_port *p, struct rte_mbuf **pkts,
		       uint16_t n);
/*
 * Transmit n frames the caller keeps its own reference to (it frees them
 * after every destination had its copy): each is referenced once more
 * for the driver. Returns how many the driver took.
 */
uint16_t net_uplink_tx(struct net_port *p, struct rte_mbuf **pkts,
		       uint16_t n);
/* Arm (on) or disarm the rx interrupt, where there is one. */
void net_uplink_notify(struct net_port *p, bool on);
/*
 * At most once a second: read the link state where that needs no system
 * call (ready follows it), and restart an uplink that reconnects (memif
 * client) when its link stayed down. True when the link went down.
 */
bool net_uplink_maintain(struct net_port *p, uint64_t now_ns);

#endif
