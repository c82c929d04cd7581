/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The direct copy (--copy direct) at a split transmit ring: frames that
 * need nothing but a copy go from the source frontend's buffers into the
 * destination frontend's (net_direct.c), before librte_vhost's dequeue
 * gets the ring. It stops at the first frame it cannot take (offload
 * request, malformed chain, runt or oversize, flood, uplink, packed or
 * logging destination, a ring a vhost-user message holds): librte_vhost's
 * indexes are brought up to date first and the mbuf path goes on from
 * that frame, so no frame is lost or reordered. A frame for a full
 * destination is taken and dropped (rx_full), as the mbuf path does.
 *
 * librte_vhost keeps, per split ring, last_avail_idx and last_used_idx
 * (ours to set between its bursts: rte_vhost_set_vring_base), a shadow
 * used ring and batched copies (both flushed before each of its bursts
 * returns), and signalled_used for EVENT_IDX, which rte_vhost_vring_call
 * compares with last_used_idx. So the rings are worked on between its
 * bursts only: the source ring by its one poller, a destination under
 * rx_lock (with several workers) like every enqueue to it; and both
 * under the rings' guard_lock, which no vhost-user message runs beside.
 */
#include "net_fwd_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <rte_vhost.h>

#include "net_direct.h"

/* Destinations one burst may have open at once. */
#define NET_DIRECT_DESTS 4

struct net_direct_dest {
	struct net_port *p;
	uint16_t port, q, vring;
	int vid;
	unsigned frames;
	struct net_direct_ring r;
};

struct net_direct_work {
	struct net_direct_frame fr[NET_BURST];
	struct net_direct_rxbufs rx;
	unsigned ndest;
	struct net_direct_dest dest[NET_DIRECT_DESTS];
};

int net_fwd_direct_create(struct net_fwd *f)
{
	f->direct = calloc(1, sizeof(*f->direct));
	return f->direct ? 0 : -ENOMEM;
}

void net_fwd_direct_destroy(struct net_fwd *f)
{
	free(f->direct);
	f->direct = NULL;
}

/* Dirty-page logging or an IOMMU: addresses the direct path cannot use. */
#define NET_DIRECT_NO_FEATURES (1ull << VHOST_F_LOG_ALL | \
				1ull << VIRTIO_F_IOMMU_PLATFORM)

/* Under the ring's guard_lock: librte_vhost's view of one split ring. */
static bool ring_open(const struct net_port *p, int vid, uint16_t vring,
		      struct net_direct_ring *r)
{
	uint64_t features;

	if (rte_vhost_get_negotiated_features(vid, &features) ||
	    (features & NET_DIRECT_NO_FEATURES) ||
	    rte_vhost_get_vhost_vring(vid, vring, &r->vr) || !r->vr.desc ||
	    !r->vr.avail || !r->vr.used || !r->vr.size ||
	    (r->vr.size & (r->vr.size - 1)) || !p->mem ||
	    rte_vhost_get_vring_base(vid, vring, &r->last_avail,
				     &r->last_used))
		return false;
	r->nshadow = 0;
	r->mem = p->mem;
	r->hdr_len = p->hdr_len;
	r->mergeable = p->mergeable;
	return net_direct_avail(r);
}

static void dest_unlock(struct net_fwd *f, struct net_direct_dest *d)
{
	if (f->be->shared_rx)
		rte_spinlock_unlock(&d->p->rx_lock[d->q]);
	rte_spinlock_unlock(&d->p->guard_lock[d->vring]);
}

/* Port dst's receive queue for transmit queue k, opened and locked. */
static struct net_direct_dest *dest_get(struct net_fwd *f, uint16_t dst,
					uint16_t k)
{
	struct net_direct_work *w = f->direct;
	struct net_port *p = &f->be->ports[dst];
	struct net_direct_dest *d;
	uint16_t q;

	if (!atomic_load(&p->ready) || !f->nrxq[dst] ||
	    net_port_is_uplink(p) || p->packed)
		return NULL;
	q = f->rxq[dst][k % f->nrxq[dst]];
	for (unsigned i = 0; i < w->ndest; i++)
		if (w->dest[i].port == dst && w->dest[i].q == q)
			return &w->dest[i];
	if (w->ndest == NET_DIRECT_DESTS)
		return NULL;
	d = &w->dest[w->ndest];
	*d = (struct net_direct_dest){ .p = p, .port = dst, .q = q,
				       .vring = NET_RXQ(q),
				       .vid = atomic_load(&p->vid) };
	/* Only tries: never wait holding a ring (another worker may hold
	 * this one and want ours; a message may hold it). */
	if (!rte_spinlock_trylock(&p->guard_lock[d->vring]))
		return NULL;
	if (f->be->shared_rx && !rte_spinlock_trylock(&p->rx_lock[q])) {
		rte_spinlock_unlock(&p->guard_lock[d->vring]);
		return NULL;
	}
	if (!ring_open(p, d->vid, d->vring, &d->r)) {
		dest_unlock(f, d);
		return NULL;
	}
	net_direct_prefetch(&d->r, NET_BURST, true);
	w->ndest++;
	return d;
}

/* Where the frame goes, when it goes to one vhost port: learned as the
 * mbuf path would (which learns it again if it ends up there). */
static struct net_direct_dest *frame_dest(struct net_fwd *f,
					  const struct net_port *src,
					  uint16_t k,
					  const struct net_direct_frame *fr)
{
	struct net_backend *be = f->be;
	uint16_t dst;

	if (be->opts->mode == NET_MODE_XCONNECT) {
		dst = net_xconnect_peer(src->index, (uint16_t)be->nports);
	} else {
		uint64_t smac = net_mac_from_bytes(fr->eth + 6);
		uint64_t dmac = net_mac_from_bytes(fr->eth);
		bool lock = be->nworkers > 1;

		/* A VLAN port's frames may need a tag pushed or popped: the
		 * mbuf path's (net_vlan_mbuf.c). */
		if (src->cfg.vlan.mode != NET_VLAN_MODE_NONE)
			return NULL;
		/* Tried only: a worker on the mbuf path may hold it while it
		 * waits for a receive ring this burst holds (out_flush). */
		if (lock && !rte_spinlock_trylock(&be->sw_lock))
			return NULL;
		if (net_switch_learn(be->sw, NET_VLAN_UNAWARE, smac,
				     src->index, f->now) == NET_LEARN_INVALID)
			dst = NET_SWITCH_NO_PORT;
		else
			dst = net_switch_lookup(be->sw, NET_VLAN_UNAWARE, dmac,
						f->now);
		if (lock)
			rte_spinlock_unlock(&be->sw_lock);
	}
	if (dst == NET_SWITCH_NO_PORT || dst == src->index ||
	    dst >= be->nports)
		return NULL;
	/* Learned in the unaware domain, so an unaware port, unless its
	 * slot went to a VLAN port since (--control). */
	if (be->ports[dst].cfg.vlan.mode != NET_VLAN_MODE_NONE)
		return NULL;
	return dest_get(f, dst, k);
}

/* Indexes and used->idx handed back, locks released. */
static void dests_close(struct net_fwd *f)
{
	struct net_direct_work *w = f->direct;

	for (unsigned i = 0; i < w->ndest; i++) {
		struct net_direct_dest *d = &w->dest[i];

		if (d->frames) {
			net_direct_publish(&d->r);
			(void)rte_vhost_set_vring_base(d->vid, d->vring,
						       d->r.last_avail,
						       d->r.last_used);
		}
		dest_unlock(f, d);
	}
}

/*
 * rte_vhost_vring_call takes the ring's access_lock, which librte_vhost
 * holds while a vhost-user message waits for the guard locks: called
 * with none of ours held.
 */
static void dests_notify(struct net_fwd *f)
{
	struct net_direct_work *w = f->direct;

	for (unsigned i = 0; i < w->ndest; i++)
		if (w->dest[i].frames)
			(void)rte_vhost_vring_call(w->dest[i].vid,
						   w->dest[i].vring);
	w->ndest = 0;
}

unsigned net_fwd_direct(struct net_fwd *f, struct net_port *src, uint16_t k,
			struct net_queue_stats *st, int vid, bool *rest,
			bool *short_head)
{
	struct net_direct_work *w = f->direct;
	enum net_direct_status last = NET_DIRECT_OK;
	uint16_t vring = NET_TXQ(k);
	struct net_direct_ring s;
	struct net_direct_dest *xd = NULL;
	bool xc = f->be->opts->mode == NET_MODE_XCONNECT;
	unsigned n = 0, nw = 0;

	*rest = true;
	*short_head = false;
	if (!rte_spinlock_trylock(&src->guard_lock[vring]))
		return 0;
	if (!ring_open(src, vid, vring, &s)) {
		rte_spinlock_unlock(&src->guard_lock[vring]);
		return 0;
	}
	/*
	 * The burst's chains walked first and their frames' first lines
	 * asked for at once: the frontend wrote them on another CPU, and
	 * reading them one frame after the other would wait for each.
	 */
	while (nw < NET_BURST) {
		struct net_direct_frame *fr = &w->fr[nw];

		last = net_direct_tx_walk(&s, (uint16_t)nw, fr);
		/* Short frames are cheaper through librte_vhost's batched
		 * copies (--copy-min). */
		if (last == NET_DIRECT_OK && fr->len < f->be->opts->copy_min) {
			last = NET_DIRECT_FALLBACK;
			*short_head = nw == 0;
		}
		if (last != NET_DIRECT_OK)
			break;
		if (fr->segs[0].va)
			__builtin_prefetch((void *)(uintptr_t)fr->segs[0].va);
		nw++;
	}
	while (n < nw) {
		struct net_direct_frame *fr = &w->fr[n];
		struct net_queue_stats *dst;
		struct net_direct_dest *d;
		enum net_direct_status r;

		if (net_direct_tx_header(&s, fr) != NET_DIRECT_OK)
			break;
		/* A cross-connect's frames all go to one ring. */
		d = xc && xd ? xd : frame_dest(f, src, k, fr);
		if (!d)
			break;
		xd = d;
		r = net_direct_rx_put(&d->r, &s, fr, &w->rx);
		if (r == NET_DIRECT_FULL) {
			/* Full as of when it was opened: look again once. */
			uint16_t seen = d->r.avail_idx;

			net_direct_avail(&d->r);
			if (d->r.avail_idx != seen)
				r = net_direct_rx_put(&d->r, &s, fr, &w->rx);
		}
		if (r != NET_DIRECT_OK && r != NET_DIRECT_FULL)
			break;
		dst = net_worker_stats(f->w, d->port, d->q);
		/* Consumed either way; a full destination drops it, as the
		 * mbuf path does (rx_full). */
		net_direct_tx_take(&s, fr);
		st->rx_frames++;
		st->rx_bytes += fr->len;
		n++;
		if (r == NET_DIRECT_FULL) {
			dst->drops[NET_DROP_RX_FULL]++;
			continue;
		}
		d->frames++;
		st->direct++;
		dst->tx_frames++;
		dst->tx_bytes += fr->len;
	}
	/* Nothing left for the mbuf path: the ring was empty behind these,
	 * or a whole burst went. */
	if (n == nw && (last == NET_DIRECT_EMPTY || nw == NET_BURST))
		*rest = false;
	/*
	 * The source's used index before any destination's, as librte_vhost
	 * does it (dequeue, then enqueue): a switch killed in between loses
	 * these frames but never delivers one twice, since its successor
	 * starts at the source's used index (docs/architecture.md,
	 * "Recovery").
	 */
	if (n) {
		net_direct_publish(&s);
		(void)rte_vhost_set_vring_base(vid, vring, s.last_avail,
					       s.last_used);
	}
	dests_close(f);
	rte_spinlock_unlock(&src->guard_lock[vring]);
	dests_notify(f);
	if (n)
		(void)rte_vhost_vring_call(vid, vring);
	return n;
}
