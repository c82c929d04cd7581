/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * State shared by the control side (net_backend.c, librte_vhost's event
 * thread) and the forwarding loop (net_fwd.c, the main lcore).
 */
#ifndef SPLITVM_NET_BACKEND_INTERNAL_H
#define SPLITVM_NET_BACKEND_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net_backend.h"
#include "net_stats.h"
#include "net_switch.h"

struct rte_mbuf;
struct rte_mempool;

/* librte_vhost's vring numbering for one queue pair. */
#define NET_VRING_RX 0	/* the frontend receives: splitvm-net enqueues */
#define NET_VRING_TX 1	/* the frontend transmits: splitvm-net dequeues */

#define NET_BURST 32

struct net_port {
	struct net_backend *be;
	struct net_port_config cfg;
	uint16_t index;
	char tag[40];
	/* Under be->ports_lock: registered with librte_vhost; busy: the
	 * control thread is adding or removing it. */
	bool registered;
	bool busy;
	/* Written by the vhost event thread, read by the forwarder. */
	_Atomic int vid;		/* -1: no device */
	_Atomic bool ready;		/* new_device done, not destroyed */
	_Atomic bool vring_enabled[2];
	/* Forwarder only. */
	struct net_queue_stats stats;	/* one queue pair */
	/* An uplink (cfg.kind NET_PORT_UPLINK): set up before forwarding
	 * starts, torn down after it ends; never touched by librte_vhost's
	 * thread. vring_enabled[] stay true; ready is its link state where
	 * that can be read (memif, ring), else true while it runs. */
	bool eth_probed;
	bool eth_started;
	uint16_t eth_port;
	int eth_rx_fd;		/* rx interrupt fd, or -1: poll on a timer */
	bool eth_rx_armed;	/* an eventfd armed and drained (else the
				 * queue's own fd, readable while frames wait) */
	bool eth_link_known;	/* link state readable without a system call */
	bool eth_reconnect;	/* memif client: restart while the link is down */
	unsigned eth_down_checks;	/* link checks in a row that saw it down */
	uint64_t eth_next_check;	/* ns: next link check (forwarder) */
};

struct net_backend {
	const struct net_options *opts;
	struct net_port ports[NET_SWITCH_MAX_PORTS];
	unsigned nports;		/* slots: NET_SWITCH_MAX_PORTS with --control */
	pthread_mutex_t ports_lock;	/* slots' cfg, registered, busy */
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

static inline bool net_port_is_uplink(const struct net_port *p)
{
	return p->cfg.kind == NET_PORT_UPLINK;
}

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
