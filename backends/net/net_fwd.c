/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The forwarding loop on the main lcore: dequeue a burst from each port's
 * transmit ring, decide (switch or cross-connect), enqueue copies on the
 * destination ports' receive rings. When no frame has arrived for
 * --idle-spin-us it asks the frontends to kick again and sleeps on their
 * kick eventfds, so silent ports cost no CPU.
 */
#include "net_backend_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_cycles.h>
#include <rte_vhost.h>

#include "log.h"

#define TAG "fwd"

void net_fwd_wake(struct net_backend *be)
{
	uint64_t one = 1;

	/* Nonblocking eventfd: a full counter already means "wake". */
	if (write(be->wake_fd, &one, sizeof(one)) < 0) {
	}
}

void net_backend_request_stop(struct net_backend *be)
{
	atomic_store(&be->stop, true);
	net_fwd_wake(be);
}

void net_backend_request_stats(struct net_backend *be)
{
	atomic_store(&be->stats_wanted, true);
	net_fwd_wake(be);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Frames headed for one port in this burst. */
struct net_out {
	uint16_t n;
	struct rte_mbuf *pkts[NET_BURST];
};

struct net_fwd {
	struct net_backend *be;
	uint64_t now;
	uint64_t seen_events;
	unsigned guard_work;	/* chains and buffers handed back this round */
	struct net_out out[NET_SWITCH_MAX_PORTS];
};

/* Malformed receive buffers handed back per flush at most. */
#define NET_GUARD_RX_SKIPS 8

/*
 * Only the store that opens a round needs to be sequentially consistent
 * (against destroy_device's clear of ready, Dekker style); closing it is
 * a release, and the forwarder is round_gen's only writer.
 */
static void round_end(struct net_backend *be)
{
	atomic_store_explicit(&be->in_round, false, memory_order_release);
	atomic_store_explicit(&be->round_gen,
			      atomic_load_explicit(&be->round_gen,
						   memory_order_relaxed) + 1,
			      memory_order_release);
}

static bool port_can_receive(const struct net_port *p)
{
	return atomic_load(&p->ready) &&
	       atomic_load(&p->vring_enabled[NET_VRING_RX]);
}

static void out_add(struct net_fwd *f, uint16_t port, struct rte_mbuf *m)
{
	struct net_out *o = &f->out[port];

	o->pkts[o->n++] = m;
}

static uint16_t ring_avail_idx(const struct rte_vhost_vring *vr)
{
	return __atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE);
}

static bool ring_get(int vid, uint16_t vring, struct rte_vhost_vring *vr)
{
	return !rte_vhost_get_vhost_vring(vid, vring, vr) && vr->desc &&
	       vr->avail && vr->used && vr->size;
}

/*
 * The destination took fewer frames than it has buffers for: librte_vhost
 * stops at a receive buffer it cannot use and would stop there forever.
 * Hand such buffers back (used, length 0) and offer the frames again.
 */
static uint16_t rx_guard(struct net_fwd *f, struct net_port *p, int vid,
			 struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0;

	for (unsigned k = 0; k < NET_GUARD_RX_SKIPS && sent < n; k++) {
		struct rte_vhost_vring vr;
		uint16_t last_avail, last_used;
		uint64_t total = 0;
		enum net_chain_verdict v;

		if (!ring_get(vid, NET_VRING_RX, &vr) ||
		    rte_vhost_get_vring_base(vid, NET_VRING_RX, &last_avail,
					     &last_used) ||
		    ring_avail_idx(&vr) == last_avail)
			break;	/* no buffer: the ring is full, not broken */
		v = net_guard_check_split(p->mem, &vr, last_avail, &total);
		/* Without mergeable buffers one buffer takes a whole frame. */
		if (v == NET_CHAIN_OK && (p->mergeable || total >=
		    p->hdr_len + rte_pktmbuf_pkt_len(pkts[sent])))
			break;
		if (net_guard_skip_head(vid, NET_VRING_RX, &vr))
			break;
		p->stats.drops[NET_DROP_BAD_RX_BUF]++;
		f->guard_work++;
		sent += rte_vhost_enqueue_burst(vid, NET_VRING_RX, pkts + sent,
						(uint16_t)(n - sent));
	}
	return sent;
}

static void out_flush(struct net_fwd *f)
{
	struct net_backend *be = f->be;

	for (unsigned i = 0; i < be->nports; i++) {
		struct net_out *o = &f->out[i];
		struct net_port *p = &be->ports[i];
		uint16_t sent;
		int vid;

		if (!o->n)
			continue;
		vid = atomic_load(&p->vid);
		sent = rte_vhost_enqueue_burst(vid, NET_VRING_RX, o->pkts, o->n);
		if (sent < o->n && !p->packed)
			sent += rx_guard(f, p, vid, o->pkts + sent,
					 (uint16_t)(o->n - sent));
		p->stats.tx_frames += sent;
		for (uint16_t k = 0; k < sent; k++)
			p->stats.tx_bytes += rte_pktmbuf_pkt_len(o->pkts[k]);
		p->stats.drops[NET_DROP_RX_FULL] += (uint64_t)(o->n - sent);
		o->n = 0;
	}
}

static void switch_frame(struct net_fwd *f, struct net_port *src,
			 struct rte_mbuf *m)
{
	struct net_backend *be = f->be;
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t smac = net_mac_from_bytes(eth->src_addr.addr_bytes);
	uint64_t dmac = net_mac_from_bytes(eth->dst_addr.addr_bytes);
	unsigned copies = 0;
	uint16_t dst;

	if (net_switch_learn(be->sw, smac, src->index, f->now) ==
	    NET_LEARN_INVALID) {
		src->stats.drops[NET_DROP_BAD_SRC]++;
		return;
	}
	dst = net_switch_lookup(be->sw, dmac, f->now);
	if (dst != NET_SWITCH_NO_PORT) {
		if (dst == src->index)
			src->stats.drops[NET_DROP_HAIRPIN]++;
		else if (!port_can_receive(&be->ports[dst]))
			src->stats.drops[NET_DROP_NO_DEST]++;
		else
			out_add(f, dst, m);
		return;
	}
	/* enqueue copies the frame out, so one mbuf serves every port. */
	for (unsigned i = 0; i < be->nports; i++) {
		if (i == src->index || !port_can_receive(&be->ports[i]))
			continue;
		out_add(f, (uint16_t)i, m);
		copies++;
	}
	if (copies)
		src->stats.flooded++;
	else
		src->stats.drops[NET_DROP_NO_DEST]++;
}

/*
 * After a dequeue of n frames from a split transmit ring: count the chains
 * librte_vhost took and dropped (no longer than the virtio-net header),
 * and hand back a malformed chain it left at the head. A chain is judged
 * only when a second poll found it still there, so a frame published
 * between a dequeue and the look at the ring is never taken for one.
 */
static void tx_guard(struct net_fwd *f, struct net_port *src, int vid,
		     uint16_t n)
{
	struct net_vring_guard *g = &src->guard[NET_VRING_TX];
	struct rte_vhost_vring vr;
	uint16_t last_avail, last_used, taken;
	uint64_t total;

	if (rte_vhost_get_vring_base(vid, NET_VRING_TX, &last_avail,
				     &last_used)) {
		g->valid = false;
		return;
	}
	taken = (uint16_t)(last_avail - g->last_avail);
	g->last_avail = last_avail;
	if (taken > n)
		src->stats.drops[NET_DROP_SHORT_CHAIN] += taken - n;
	if (n || taken || !ring_get(vid, NET_VRING_TX, &vr) ||
	    ring_avail_idx(&vr) == last_avail) {
		g->stall_seen = false;
		return;
	}
	if (!g->stall_seen || g->stall_at != last_avail) {
		g->stall_seen = true;
		g->stall_at = last_avail;
		return;
	}
	if (net_guard_check_split(src->mem, &vr, last_avail, &total) ==
	    NET_CHAIN_OK) {
		/* Out of mbufs, or a chain this guard misjudges. */
		if (!g->warned)
			log_warn(src->tag, "transmit ring stalls at a chain "
				 "that looks valid (avail index %u)",
				 last_avail);
		g->warned = true;
		return;
	}
	if (net_guard_skip_head(vid, NET_VRING_TX, &vr))
		return;
	src->stats.drops[NET_DROP_BAD_CHAIN]++;
	g->last_avail++;
	g->stall_seen = false;
	f->guard_work++;
}

/* Frames dequeued from src this round (0 when its ring was empty). */
static unsigned port_poll(struct net_fwd *f, struct net_port *src)
{
	struct net_backend *be = f->be;
	struct net_vring_guard *g = &src->guard[NET_VRING_TX];
	struct rte_mbuf *pkts[NET_BURST];
	uint16_t n, peer = NET_SWITCH_NO_PORT;
	int vid;

	if (!atomic_load(&src->ready) ||
	    !atomic_load(&src->vring_enabled[NET_VRING_TX]))
		return 0;
	vid = atomic_load(&src->vid);
	if (!src->packed && !g->valid) {
		uint16_t last_used;

		g->valid = !rte_vhost_get_vring_base(vid, NET_VRING_TX,
						     &g->last_avail, &last_used);
		g->stall_seen = false;
	}
	n = rte_vhost_dequeue_burst(vid, NET_VRING_TX, be->pool, pkts,
				    NET_BURST);
	if (!src->packed && g->valid)
		tx_guard(f, src, vid, n);
	if (!n)
		return 0;
	if (be->opts->mode == NET_MODE_XCONNECT)
		peer = net_xconnect_peer(src->index, (uint16_t)be->nports);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		src->stats.rx_frames++;
		src->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
		if (rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN ||
		    rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN) {
			src->stats.drops[NET_DROP_RUNT]++;
			continue;
		}
		/* librte_vhost chains mbufs for a long chain: refuse it. */
		if (rte_pktmbuf_pkt_len(m) > NET_FRAME_MAX) {
			src->stats.drops[NET_DROP_OVERSIZE]++;
			continue;
		}
		if (be->opts->mode == NET_MODE_SWITCH)
			switch_frame(f, src, m);
		else if (peer != NET_SWITCH_NO_PORT &&
			 port_can_receive(&be->ports[peer]))
			out_add(f, peer, m);
		else
			src->stats.drops[NET_DROP_NO_DEST]++;
	}
	out_flush(f);
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

/* Ports went up or down: forget what was learned on the ones now down. */
static void ports_changed(struct net_fwd *f)
{
	struct net_backend *be = f->be;
	uint64_t ev = atomic_load(&be->port_events);

	if (ev == f->seen_events)
		return;
	f->seen_events = ev;
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];

		/* A ring may have been set up again: read its index anew. */
		memset(p->guard, 0, sizeof(p->guard));
		if (!atomic_load(&p->ready))
			net_switch_flush_port(be->sw, (uint16_t)i);
	}
}

static unsigned fwd_round(struct net_fwd *f)
{
	struct net_backend *be = f->be;
	uint64_t start = rte_rdtsc();
	unsigned n = 0;

	atomic_store(&be->in_round, true);
	f->now = now_ns();
	f->guard_work = 0;
	ports_changed(f);
	for (unsigned i = 0; i < be->nports; i++)
		n += port_poll(f, &be->ports[i]);
	if (n) {
		be->fwd_busy_cycles += rte_rdtsc() - start;
		be->fwd_frames += n;
	}
	round_end(be);
	/* A chain handed back may have had frames queued behind it. */
	return n + f->guard_work;
}

/* Ask (or stop asking) every connected frontend to kick its TX ring. */
static void set_notify(struct net_fwd *f, bool on)
{
	struct net_backend *be = f->be;

	atomic_store(&be->in_round, true);
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];

		if (atomic_load(&p->ready) &&
		    atomic_load(&p->vring_enabled[NET_VRING_TX]))
			rte_vhost_enable_guest_notification(
				atomic_load(&p->vid), NET_VRING_TX, on);
	}
	round_end(be);
}

static void drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;

	/* Kick eventfds are shared with the frontend: never make them
	 * nonblocking, look before reading. */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		if (read(fd, &v, sizeof(v)) < 0) {
		}
	}
}

/*
 * Sleep until a frontend kicks or a port or signal event arrives. The
 * kick fds are looked up inside a round, when the ports cannot go away.
 */
static void fwd_sleep(struct net_fwd *f)
{
	struct net_backend *be = f->be;
	struct pollfd pfds[NET_SWITCH_MAX_PORTS + 1];
	int timeout_ms = -1;
	unsigned n = 0;
	uint64_t v;

	pfds[n++] = (struct pollfd){ .fd = be->wake_fd, .events = POLLIN };
	atomic_store(&be->in_round, true);
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];
		struct rte_vhost_vring vr;

		if (!atomic_load(&p->ready) ||
		    !atomic_load(&p->vring_enabled[NET_VRING_TX]) ||
		    rte_vhost_get_vhost_vring(atomic_load(&p->vid),
					      NET_VRING_TX, &vr))
			continue;
		if (vr.kickfd < 0) {
			/* A frontend that never kicks (no kick fd given):
			 * nap instead of sleeping until a kick. */
			timeout_ms = 1;
			continue;
		}
		pfds[n++] = (struct pollfd){ .fd = vr.kickfd, .events = POLLIN };
	}
	round_end(be);

	if (poll(pfds, n, timeout_ms) < 0 && errno != EINTR)
		log_warn(TAG, "poll: %s", strerror(errno));
	if (read(be->wake_fd, &v, sizeof(v)) < 0) {
	}

	/* Drain only kick fds that still belong to a connected port. */
	atomic_store(&be->in_round, true);
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];
		struct rte_vhost_vring vr;

		if (atomic_load(&p->ready) &&
		    !rte_vhost_get_vhost_vring(atomic_load(&p->vid),
					       NET_VRING_TX, &vr) &&
		    vr.kickfd >= 0)
			drain(vr.kickfd);
	}
	round_end(be);
}

int net_backend_run(struct net_backend *be)
{
	static struct net_fwd f;	/* out[] is 16 KiB: keep it off the stack */
	uint64_t spin_ns = (uint64_t)be->opts->idle_spin_us * 1000;
	uint64_t last_busy = now_ns();
	bool notify_on = false;		/* frontends asked to kick */
	bool checked = false;		/* a round ran after asking */

	memset(&f, 0, sizeof(f));
	f.be = be;
	while (!atomic_load(&be->stop)) {
		if (atomic_exchange(&be->stats_wanted, false) &&
		    net_backend_print_stats(be))
			log_warn(TAG, "cannot print statistics");
		if (fwd_round(&f)) {
			last_busy = f.now;
			checked = false;
			if (notify_on) {
				/* Polling now: spare the frontends the kicks. */
				set_notify(&f, false);
				notify_on = false;
			}
			continue;
		}
		if (be->opts->busy_poll || f.now - last_busy < spin_ns) {
			rte_pause();
			continue;
		}
		if (!checked) {
			/*
			 * Ask for kicks (again: ports may have come up, and with
			 * event index every sleep needs a fresh avail event), then
			 * one more round catches frames queued before the frontend
			 * could see it.
			 */
			set_notify(&f, true);
			notify_on = true;
			checked = true;
			continue;
		}
		fwd_sleep(&f);
		checked = false;
		last_busy = now_ns() - spin_ns;
	}
	return 0;
}
