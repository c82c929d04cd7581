/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The forwarding loops, one per worker lcore: dequeue a burst from each
 * transmit queue dealt to the worker (an uplink's rx queue), decide
 * (switch or cross-connect), enqueue copies on the destination ports'
 * receive queues (an uplink's tx queue; queue k goes to queue k mod the
 * destination's enabled queues). When no frame has arrived for
 * --idle-spin-us a worker asks its frontends to kick again and sleeps on
 * their kick eventfds and its uplinks' rx interrupts, so silent ports cost
 * no CPU; its uplinks without an interrupt are polled every
 * --uplink-poll-us meanwhile.
 *
 * An uplink has one queue pair, dealt to a worker like a vhost port's:
 * that worker alone receives from it, arms its interrupt and checks (and
 * restarts) its link; any worker may transmit to it, under its rx_lock[0]
 * when there are several, which a restart takes too.
 */
#include "net_fwd_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_vhost.h>

#include "log.h"

#define TAG "fwd"

void net_fwd_wake(struct net_backend *be)
{
	uint64_t one = 1;

	/* Nonblocking eventfds: a full counter already means "wake". */
	for (unsigned i = 0; i < be->nworkers; i++)
		if (write(be->workers[i].wake_fd, &one, sizeof(one)) < 0) {
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

/* Malformed receive buffers handed back per flush at most. */
#define NET_GUARD_RX_SKIPS 8

/* Polls a ring whose head frame was under --copy-min is left to the mbuf
 * path before the direct copy looks again (its look costs three
 * librte_vhost calls). */
#define NET_DIRECT_SKIP_POLLS 16

static bool port_can_receive(const struct net_fwd *f, uint16_t port)
{
	return atomic_load(&f->be->ports[port].ready) && f->nrxq[port];
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
 * Under guard_lock: is the receive buffer at the head one librte_vhost
 * refuses (or, without mergeable buffers, too small for a frame of len)?
 * Then hand it back; true when it did.
 */
static bool rx_skip_bad(struct net_port *p, int vid, uint16_t vring,
			uint32_t len)
{
	struct rte_vhost_vring vr;
	uint16_t last_avail, last_used;
	enum net_chain_verdict v;
	uint64_t total = 0;

	/* Packed rings: desc, driver and device event areas in the same
	 * three pointers. */
	if (!ring_get(vid, vring, &vr) ||
	    rte_vhost_get_vring_base(vid, vring, &last_avail, &last_used))
		return false;
	if (p->packed) {
		if (!net_guard_packed_pending(&vr, last_avail))
			return false;	/* no buffer: full, not broken */
		v = net_guard_check_packed(p->mem, &vr, last_avail, &total);
	} else {
		if (ring_avail_idx(&vr) == last_avail)
			return false;
		v = net_guard_check_split(p->mem, &vr, last_avail, &total);
	}
	if (v == NET_CHAIN_OK && (p->mergeable || total >= p->hdr_len + len))
		return false;
	return p->packed ? !net_guard_skip_head_packed(vid, vring, &vr) :
			   !net_guard_skip_head(vid, vring, &vr);
}

/*
 * The destination took fewer frames than it has buffers for: librte_vhost
 * stops at a receive buffer it cannot use and would stop there forever.
 * Hand such buffers back (used, length 0) and offer the frames again.
 */
static uint16_t rx_guard(struct net_fwd *f, struct net_port *p,
			 struct net_queue_stats *st, int vid, uint16_t vring,
			 struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0;

	for (unsigned k = 0; k < NET_GUARD_RX_SKIPS && sent < n; k++) {
		bool skip;

		if (!rte_spinlock_trylock(&p->guard_lock[vring]))
			break;	/* a vhost-user message is being handled */
		skip = rx_skip_bad(p, vid, vring,
				   rte_pktmbuf_pkt_len(pkts[sent]));
		rte_spinlock_unlock(&p->guard_lock[vring]);
		if (!skip)
			break;
		(void)rte_vhost_vring_call(vid, vring);
		st->drops[NET_DROP_BAD_RX_BUF]++;
		f->guard_work++;
		sent += rte_vhost_enqueue_burst(vid, vring, pkts + sent,
						(uint16_t)(n - sent));
	}
	return sent;
}

/*
 * Frames from transmit queue k: receive queue k mod enabled queues.
 * librte_vhost takes at most a burst (32) per call.
 */
static void out_flush_port(struct net_fwd *f, unsigned i)
{
	struct net_backend *be = f->be;
	struct net_out *o = &f->out[i];
	struct net_port *p = &be->ports[i];
	struct net_queue_stats *st;
	uint16_t q, vring;
	int vid;

	if (!o->n)
		return;
	q = f->rxq[i][f->k % f->nrxq[i]];
	vring = NET_RXQ(q);
	st = net_worker_stats(f->w, (uint16_t)i, q);
	vid = atomic_load(&p->vid);
	for (uint16_t done = 0; done < o->n;) {
		struct rte_mbuf **pkts = o->pkts + done;
		uint16_t n = (uint16_t)RTE_MIN(o->n - done, NET_BURST), sent;

		if (be->shared_rx)
			rte_spinlock_lock(&p->rx_lock[q]);
		if (net_port_is_uplink(p)) {
			sent = net_uplink_tx(p, pkts, n);
		} else {
			sent = rte_vhost_enqueue_burst(vid, vring, pkts, n);
			if (sent < n)
				sent += rx_guard(f, p, st, vid, vring,
						 pkts + sent,
						 (uint16_t)(n - sent));
		}
		if (be->shared_rx)
			rte_spinlock_unlock(&p->rx_lock[q]);
		st->tx_frames += sent;
		for (uint16_t j = 0; j < sent; j++)
			st->tx_bytes += rte_pktmbuf_pkt_len(pkts[j]);
		st->drops[NET_DROP_RX_FULL] += (uint64_t)(n - sent);
		done = (uint16_t)(done + n);
	}
	o->n = 0;
}

static void out_flush(struct net_fwd *f)
{
	for (unsigned i = 0; i < f->be->nports; i++)
		out_flush_port(f, i);
}

/*
 * m asks for offloads (want) that port dst cannot take: complete frames
 * instead, made once per received frame and shared by every destination
 * that needs them (no flags left: nothing writes into them). A frame for
 * one destination only, asking for a checksum, is completed in place.
 */
static void out_put_fixed(struct net_fwd *f, struct net_queue_stats *st,
			  uint16_t dst, struct rte_mbuf *m, unsigned want,
			  bool single)
{
	struct net_out *o = &f->out[dst];
	struct net_fix *x = &f->fix;
	const struct net_fix_made *mk;

	if (single && want == NET_OL_CSUM && m->nb_segs == 1) {
		net_fixup_complete(m);
		st->sw_offload++;
		out_add(f, dst, m);
		return;
	}
	mk = net_fix_find(x, m);
	if (!mk) {
		/* A frame and its VLAN variant count once. */
		const struct rte_mbuf *orig = m == f->var ? f->var_of : m;
		int r;

		if (!net_fix_room(x)) {
			out_flush(f);
			net_fix_release(x);
		}
		r = net_fix_make(x, f->be->pool, m, want, &mk);
		if (r) {
			st->drops[r == -ENOMEM ? NET_DROP_NO_MBUF :
						 NET_DROP_BAD_OFFLOAD]++;
			return;
		}
		if (f->ol_counted != orig)
			st->sw_offload++;
		f->ol_counted = orig;
	}
	/* Room for the segments and for a burst of frames behind them. */
	if (o->n + mk->n + NET_BURST > NET_OUT_MAX)
		out_flush_port(f, dst);
	for (unsigned j = 0; j < mk->n; j++)
		o->pkts[o->n++] = x->pkts[mk->start + j];
}

/* The one flag test a frame without offloads costs. */
static inline void out_put(struct net_fwd *f, struct net_queue_stats *st,
			   uint16_t dst, struct rte_mbuf *m, unsigned want,
			   bool single)
{
	if (likely(!want) || !(want & ~f->be->ports[dst].ol_caps))
		out_add(f, dst, m);
	else
		out_put_fixed(f, st, dst, m, want, single);
}

/* A received frame's VLAN, and whether it carries a tag now. */
struct frame_vlan {
	uint16_t vlan;
	bool tagged;
};

/* Which VLAN a frame from a VLAN port belongs to, or false (counted). */
static bool vlan_ingress(const struct net_port *src,
			 struct net_queue_stats *st, const struct rte_mbuf *m,
			 unsigned want, struct frame_vlan *fv)
{
	int v = net_vlan_mbuf_ingress(&src->cfg.vlan, m, want, &fv->tagged);

	if (v < 0) {
		st->drops[v == -EMSGSIZE ? NET_DROP_OVERSIZE : NET_DROP_VLAN]++;
		return false;
	}
	fv->vlan = (uint16_t)v;
	return true;
}

/*
 * m as port dst takes it (eg, net_vlan_egress's answer for dst): as it
 * is, or its one VLAN variant (a tag pushed or popped), made once per
 * frame and shared by the destinations that need it, in place when dst is
 * the only one. The variants live until the end of the burst
 * (vlan_release).
 */
static void out_put_vlan(struct net_fwd *f, struct net_queue_stats *st,
			 uint16_t dst, struct rte_mbuf *m,
			 const struct frame_vlan *fv, enum net_vlan_egress eg,
			 unsigned want, bool single)
{
	if (likely(eg == NET_VLAN_OUT_AS_IS) ||
	    (eg == NET_VLAN_OUT_TAGGED) == fv->tagged) {
		out_put(f, st, dst, m, want, single);
		return;
	}
	if (f->var_of != m) {
		f->var_of = m;
		f->var = net_vlan_mbuf_retag(f->be->pool, m, !fv->tagged,
					     fv->vlan, single);
		if (f->var && f->var != m)
			f->vars[f->nvars++] = f->var;
	}
	if (!f->var) {
		st->drops[NET_DROP_NO_MBUF]++;
		return;
	}
	out_put(f, st, dst, f->var, want, single);
}

/* The burst went out: its VLAN variants go. */
static void vlan_release(struct net_fwd *f)
{
	if (f->nvars)
		rte_pktmbuf_free_bulk(f->vars, f->nvars);
	f->nvars = 0;
	f->var_of = NULL;
	f->var = NULL;
	f->ol_counted = NULL;
}

static void switch_frame(struct net_fwd *f, struct net_port *src,
			 struct net_queue_stats *st, struct rte_mbuf *m,
			 unsigned want)
{
	struct net_backend *be = f->be;
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint64_t smac = net_mac_from_bytes(eth->src_addr.addr_bytes);
	uint64_t dmac = net_mac_from_bytes(eth->dst_addr.addr_bytes);
	struct frame_vlan fv = { .vlan = NET_VLAN_UNAWARE };
	enum net_vlan_egress eg;
	unsigned copies = 0;
	uint16_t dst;

	if (src->cfg.vlan.mode != NET_VLAN_MODE_NONE &&
	    !vlan_ingress(src, st, m, want, &fv))
		return;
	if (net_switch_learn(be->sw, fv.vlan, smac, src->index, f->now) ==
	    NET_LEARN_INVALID) {
		st->drops[NET_DROP_BAD_SRC]++;
		return;
	}
	dst = net_switch_lookup(be->sw, fv.vlan, dmac, f->now);
	if (dst != NET_SWITCH_NO_PORT) {
		if (dst == src->index) {
			st->drops[NET_DROP_HAIRPIN]++;
			return;
		}
		/* Learned in this VLAN, so a member (unless its slot was
		 * given to another port since). */
		eg = net_vlan_egress(&be->ports[dst].cfg.vlan, fv.vlan);
		if (!port_can_receive(f, dst) || eg == NET_VLAN_OUT_NOT)
			st->drops[NET_DROP_NO_DEST]++;
		else
			out_put_vlan(f, st, dst, m, &fv, eg, want, true);
		return;
	}
	/* enqueue copies the frame out (and an uplink takes a reference of
	 * its own), so one mbuf serves every port (that takes its offload
	 * requests and its tagging; the others share one completed copy, or
	 * one re-tagged variant). Only the ports of the frame's VLAN. */
	for (unsigned i = 0; i < be->nports; i++) {
		if (i == src->index || !port_can_receive(f, (uint16_t)i))
			continue;
		eg = net_vlan_egress(&be->ports[i].cfg.vlan, fv.vlan);
		if (eg == NET_VLAN_OUT_NOT)
			continue;
		out_put_vlan(f, st, (uint16_t)i, m, &fv, eg, want, false);
		copies++;
	}
	if (copies)
		st->flooded++;
	else
		st->drops[NET_DROP_NO_DEST]++;
}

/*
 * After a dequeue of n frames from a split transmit ring: count the chains
 * librte_vhost took and dropped (no longer than the virtio-net header),
 * and hand back a malformed chain it left at the head. A chain is judged
 * only when a second poll found it still there, so a frame published
 * between a dequeue and the look at the ring is never taken for one.
 */
/* Under guard_lock: hand back the head chain if it stalls the ring. */
static bool tx_guard_stall(struct net_port *src, struct net_vring_guard *g,
			   int vid, uint16_t vring, uint16_t last_avail)
{
	struct rte_vhost_vring vr;
	uint64_t total;

	if (!ring_get(vid, vring, &vr) || ring_avail_idx(&vr) == last_avail) {
		g->stall_seen = false;
		return false;
	}
	if (!g->stall_seen || g->stall_at != last_avail) {
		g->stall_seen = true;
		g->stall_at = last_avail;
		return false;
	}
	if (net_guard_check_split(src->mem, &vr, last_avail, &total) ==
	    NET_CHAIN_OK) {
		/* Out of mbufs, or a chain this guard misjudges. */
		if (!g->warned)
			log_warn(src->tag, "transmit ring %u stalls at a chain "
				 "that looks valid (avail index %u)", vring,
				 last_avail);
		g->warned = true;
		return false;
	}
	return !net_guard_skip_head(vid, vring, &vr);
}

static void tx_guard(struct net_fwd *f, struct net_port *src,
		     struct net_queue_stats *st, int vid, uint16_t vring,
		     uint16_t n)
{
	struct net_vring_guard *g = &src->guard[vring];
	uint16_t last_avail, last_used, taken;
	bool skipped;

	if (rte_vhost_get_vring_base(vid, vring, &last_avail, &last_used)) {
		g->valid = false;
		return;
	}
	taken = (uint16_t)(last_avail - g->last_avail);
	g->last_avail = last_avail;
	/*
	 * One dequeue takes at most NET_BURST chains; more means the index
	 * moved under us (a new connection, SET_VRING_BASE): resynchronise
	 * rather than count a ring's worth of phantom drops.
	 */
	if (taken > NET_BURST)
		taken = n;
	if (taken > n)
		st->drops[NET_DROP_SHORT_CHAIN] += taken - n;
	if (n || taken) {
		g->stall_seen = false;
		return;
	}
	/* The ring and guest memory are read only while no vhost-user
	 * message can change them; a message in progress: next time. */
	if (!rte_spinlock_trylock(&src->guard_lock[vring]))
		return;
	skipped = tx_guard_stall(src, g, vid, vring, last_avail);
	rte_spinlock_unlock(&src->guard_lock[vring]);
	if (!skipped)
		return;
	(void)rte_vhost_vring_call(vid, vring);
	st->drops[NET_DROP_BAD_CHAIN]++;
	g->last_avail++;
	g->stall_seen = false;
	f->guard_work++;
}

/*
 * A packed transmit ring, before a dequeue: where each available chain
 * ends, at most what one dequeue takes (the dequeue is then asked for no
 * more, and each chain it takes yields a frame or is dropped), or -1
 * when a vhost-user message holds the ring this time.
 */
#define NET_PACKED_NOTE NET_BURST

static int tx_packed_note(struct net_port *src, int vid, uint16_t vring,
			  struct net_packed_chain *c, uint16_t *before)
{
	struct rte_vhost_vring vr;
	uint16_t last_used;
	int n = -1;

	if (!rte_spinlock_trylock(&src->guard_lock[vring]))
		return -1;
	if (!rte_vhost_get_vring_base(vid, vring, before, &last_used) &&
	    ring_get(vid, vring, &vr))
		n = (int)net_guard_packed_chains(&vr, *before, src->hdr_len, c,
						 NET_PACKED_NOTE);
	rte_spinlock_unlock(&src->guard_lock[vring]);
	return n;
}

/*
 * ... and after it returned n frames: the chains it took beyond those
 * are the ones it dropped, no longer than the header (short_chain) or
 * refused (bad_chain).  Not counted when the index moved other than
 * along the noted chains (a chain published between the note and the
 * dequeue, a new connection).
 */
static void tx_packed_count(struct net_queue_stats *st, int vid,
			    uint16_t vring, const struct net_packed_chain *c,
			    int nc, uint16_t before, uint16_t n)
{
	uint16_t now, last_used;
	unsigned lost, hdr_only = 0;
	int taken;

	if (nc <= 0 || rte_vhost_get_vring_base(vid, vring, &now, &last_used))
		return;
	taken = net_guard_packed_taken(c, (unsigned)nc, before, now);
	if (taken <= (int)n)
		return;
	lost = (unsigned)taken - n;
	for (int k = 0; k < taken; k++)
		hdr_only += c[k].hdr_only;
	if (hdr_only > lost)
		hdr_only = lost;
	st->drops[NET_DROP_SHORT_CHAIN] += hdr_only;
	st->drops[NET_DROP_BAD_CHAIN] += lost - hdr_only;
}

/* Frames dequeued from one transmit queue this round (0: it was empty). */
static unsigned queue_poll(struct net_fwd *f, const struct net_item *it)
{
	struct net_backend *be = f->be;
	struct net_port *src = &be->ports[it->port];
	uint16_t k = it->queue, vring = NET_TXQ(k);
	struct net_vring_guard *g = &src->guard[vring];
	struct net_queue_stats *st = net_worker_stats(f->w, it->port, k);
	struct rte_mbuf *pkts[NET_BURST];
	uint16_t n, peer = NET_SWITCH_NO_PORT;
	unsigned direct = 0;
	bool locked = false;
	int vid;

	if (!atomic_load(&src->ready) ||
	    !atomic_load(&src->vring_enabled[vring]))
		return 0;
	vid = atomic_load(&src->vid);
	if (net_port_is_uplink(src)) {
		n = net_uplink_rx(src, pkts, NET_BURST);
	} else if (src->packed) {
		struct net_packed_chain chains[NET_PACKED_NOTE];
		uint16_t before = 0;
		int nc = tx_packed_note(src, vid, vring, chains, &before);

		/* No more than the chains noted: one published since is for
		 * the next poll, or its fate could not be told. */
		n = nc ? rte_vhost_dequeue_burst(vid, vring, be->pool, pkts,
						 nc < 0 ? NET_BURST
							: (uint16_t)nc) : 0;
		tx_packed_count(st, vid, vring, chains, nc, before, n);
	} else {
		if (!g->valid) {
			uint16_t last_used;

			g->valid = !rte_vhost_get_vring_base(vid, vring,
							     &g->last_avail,
							     &last_used);
			g->stall_seen = false;
		}
		if (f->direct && g->direct_skip) {
			g->direct_skip--;
		} else if (f->direct) {
			bool rest, short_head;

			direct = net_fwd_direct(f, src, k, st, vid, &rest,
						&short_head);
			if (short_head)
				g->direct_skip = NET_DIRECT_SKIP_POLLS;
			/* The guard counts the library's chains only; a ring
			 * that moved or was empty does not stall. */
			g->last_avail = (uint16_t)(g->last_avail + direct);
			if (direct || !rest)
				g->stall_seen = false;
			if (!rest)
				return direct;
		}
		n = rte_vhost_dequeue_burst(vid, vring, be->pool, pkts,
					    NET_BURST);
		if (g->valid)
			tx_guard(f, src, st, vid, vring, n);
	}
	if (!n)
		return direct;
	if (be->opts->mode == NET_MODE_XCONNECT) {
		peer = net_xconnect_peer(src->index, (uint16_t)be->nports);
	} else if (be->nworkers > 1) {
		rte_spinlock_lock(&be->sw_lock);
		locked = true;
	}
	f->k = k;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		unsigned want = 0;

		st->rx_frames++;
		st->rx_bytes += rte_pktmbuf_pkt_len(m);
		if (rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN ||
		    rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN) {
			st->drops[NET_DROP_RUNT]++;
			continue;
		}
		if (unlikely(m->ol_flags & NET_FIXUP_TX_FLAGS)) {
			/* A partial checksum or TSO frame (may be long). */
			int r = net_fixup_classify(m);

			if (r < 0) {
				st->drops[r == -EMSGSIZE ? NET_DROP_OVERSIZE :
					  NET_DROP_BAD_OFFLOAD]++;
				continue;
			}
			want = (unsigned)r;
		} else if (rte_pktmbuf_pkt_len(m) > NET_FRAME_MAX) {
			/* librte_vhost chains mbufs for a long chain. */
			st->drops[NET_DROP_OVERSIZE]++;
			continue;
		}
		if (be->opts->mode == NET_MODE_SWITCH)
			switch_frame(f, src, st, m, want);
		else if (peer != NET_SWITCH_NO_PORT &&
			 port_can_receive(f, peer))
			out_put(f, st, peer, m, want, true);
		else
			st->drops[NET_DROP_NO_DEST]++;
	}
	if (locked)
		rte_spinlock_unlock(&be->sw_lock);
	out_flush(f);
	net_fix_release(&f->fix);
	vlan_release(f);
	rte_pktmbuf_free_bulk(pkts, n);
	return n + direct;
}

/*
 * Ports or rings went up or down: which receive queues each port has
 * enabled now, the guards of this worker's rings read anew, and what was
 * learned on ports now down forgotten.
 */
static void ports_changed(struct net_fwd *f)
{
	struct net_backend *be = f->be;
	uint64_t ev = atomic_load(&be->port_events);

	if (ev == f->seen_events)
		return;
	f->seen_events = ev;
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];
		uint8_t n = 0;

		for (uint16_t q = 0; q < p->nq; q++)
			if (atomic_load(&p->vring_enabled[NET_RXQ(q)]))
				f->rxq[i][n++] = (uint8_t)q;
		f->nrxq[i] = n;
		if (!atomic_load(&p->ready)) {
			rte_spinlock_lock(&be->sw_lock);
			net_switch_flush_port(be->sw, (uint16_t)i);
			rte_spinlock_unlock(&be->sw_lock);
		}
	}
	/* Only ready ports: a slot --control is filling is reset there. */
	for (unsigned i = 0; i < f->nitems; i++) {
		const struct net_item *it = &f->items[i];
		struct net_port *p = &be->ports[it->port];

		if (!net_port_is_uplink(p) && atomic_load(&p->ready))
			memset(&p->guard[NET_TXQ(it->queue)], 0,
			       sizeof(struct net_vring_guard));
	}
}

/*
 * This worker's uplinks: link checks and memif client restarts, the
 * latter never beside another worker's transmit to the same uplink.
 */
static void uplinks_maintain(struct net_fwd *f)
{
	struct net_backend *be = f->be;

	for (unsigned i = 0; i < f->nitems; i++) {
		struct net_port *p = &be->ports[f->items[i].port];
		bool down;

		/* Due at most once a second (eth_next_check is ours): the
		 * lock is not taken every round. */
		if (!net_port_is_uplink(p) || !p->eth_link_known ||
		    f->now < p->eth_next_check)
			continue;
		if (be->shared_rx)
			rte_spinlock_lock(&p->rx_lock[0]);
		down = net_uplink_maintain(p, f->now);
		if (be->shared_rx)
			rte_spinlock_unlock(&p->rx_lock[0]);
		if (down) {
			rte_spinlock_lock(&be->sw_lock);
			net_switch_flush_port(be->sw, p->index);
			rte_spinlock_unlock(&be->sw_lock);
		}
	}
}

static unsigned fwd_round(struct net_fwd *f)
{
	struct net_worker *w = f->w;
	uint64_t start = rte_rdtsc();
	unsigned n = 0;

	net_round_begin(w);
	f->now = now_ns();
	f->guard_work = 0;
	ports_changed(f);
	uplinks_maintain(f);
	for (unsigned i = 0; i < f->nitems; i++)
		n += queue_poll(f, &f->items[i]);
	if (n) {
		w->fwd_busy_cycles += rte_rdtsc() - start;
		w->fwd_frames += n;
	}
	net_round_end(w);
	/* A chain handed back may have had frames queued behind it. */
	return n + f->guard_work;
}

int net_fwd_create(struct net_worker *w)
{
	struct net_backend *be = w->be;
	struct net_fwd *f = calloc(1, sizeof(*f));
	unsigned j = 0;

	if (!f)
		return -ENOMEM;
	f->w = w;
	f->be = be;
	/*
	 * Queue pairs dealt out in turn, port by port, an uplink's one pair
	 * too. With --control every slot is dealt, used or not, so a port
	 * added later is polled by the workers its slot's pairs went to.
	 */
	for (unsigned p = 0; p < be->nports; p++)
		for (uint16_t q = 0; q < be->ports[p].nq; q++, j++)
			if (j % be->nworkers == w->id)
				f->items[f->nitems++] = (struct net_item){
					.port = (uint16_t)p, .queue = q };
	f->seen_events = UINT64_MAX;
	if (be->opts->copy == NET_COPY_DIRECT && net_fwd_direct_create(f)) {
		free(f);
		return -ENOMEM;
	}
	w->fwd = f;
	return 0;
}

void net_fwd_destroy(struct net_worker *w)
{
	if (w->fwd)
		net_fwd_direct_destroy(w->fwd);
	free(w->fwd);
	w->fwd = NULL;
}

void net_fwd_clear_stats(struct net_backend *be, uint16_t port)
{
	for (unsigned i = 0; i < be->nworkers; i++)
		memset(net_worker_stats(&be->workers[i], port, 0), 0,
		       NET_MAX_QUEUES * sizeof(struct net_queue_stats));
}

static int worker_loop(struct net_worker *w)
{
	struct net_fwd *f = w->fwd;
	struct net_backend *be = w->be;
	uint64_t spin_ns = (uint64_t)be->opts->idle_spin_us * 1000;
	uint64_t last_busy = now_ns();
	bool notify_on = false;		/* frontends asked to kick */
	bool checked = false;		/* a round ran after asking */

	while (!atomic_load(&be->stop)) {
		if (w->id == 0 && atomic_exchange(&be->stats_wanted, false) &&
		    net_backend_print_stats(be))
			log_warn(TAG, "cannot print statistics");
		if (fwd_round(f)) {
			last_busy = f->now;
			checked = false;
			if (notify_on) {
				/* Polling now: spare the frontends the kicks. */
				net_fwd_set_notify(f, false);
				notify_on = false;
			}
			continue;
		}
		if (be->opts->busy_poll || f->now - last_busy < spin_ns) {
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
			net_fwd_set_notify(f, true);
			notify_on = true;
			checked = true;
			continue;
		}
		net_fwd_sleep(f);
		checked = false;
		last_busy = now_ns() - spin_ns;
	}
	return 0;
}

static int worker_main(void *arg)
{
	struct net_worker *w = arg;

	w->status = worker_loop(w);
	return w->status;
}

int net_backend_run(struct net_backend *be)
{
	int r = 0;

	for (unsigned i = 1; i < be->nworkers; i++) {
		struct net_worker *w = &be->workers[i];

		if (rte_eal_remote_launch(worker_main, w, w->lcore)) {
			log_err(TAG, "cannot start forwarding thread %u on lcore "
				"%u", i, w->lcore);
			net_backend_request_stop(be);
			r = -EBUSY;
			break;
		}
	}
	if (!r)
		r = worker_loop(&be->workers[0]);
	rte_eal_mp_wait_lcore();
	for (unsigned i = 1; i < be->nworkers && !r; i++)
		r = be->workers[i].status;
	return r;
}
