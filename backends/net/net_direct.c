/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_direct.h"

#include <stddef.h>
#include <string.h>

/*
 * A walk over a run of guest buffers (or one plain buffer: no segs),
 * handing out host pieces. Every buffer was checked to lie in guest
 * memory (net_guard_mapped) against the same table, so a translation
 * only ends early at a region boundary.
 */
struct cursor {
	struct rte_vhost_memory *mem;
	const struct net_guard_seg *segs;
	unsigned n, i;
	uint64_t off;		/* into segs[i] */
	uint8_t *p;		/* the current piece */
	uint64_t left;
};

static void cursor_init(struct cursor *c, const struct rte_vhost_memory *mem,
			const struct net_guard_seg *segs, unsigned n)
{
	*c = (struct cursor){
		/* rte_vhost_va_from_guest_pa only reads the table. */
		.mem = (struct rte_vhost_memory *)(uintptr_t)mem,
		.segs = segs, .n = n,
	};
}

static void cursor_plain(struct cursor *c, void *buf, uint64_t len)
{
	*c = (struct cursor){ .p = buf, .left = len };
}

/* A piece with room left, or false at the end. */
static bool cursor_fill(struct cursor *c)
{
	while (!c->left) {
		const struct net_guard_seg *s;
		uint64_t len, va;

		if (c->i >= c->n)
			return false;
		s = &c->segs[c->i];
		if (c->off >= s->len) {
			c->i++;
			c->off = 0;
			continue;
		}
		len = s->len - c->off;
		if (s->va)
			va = s->va + c->off;
		else
			va = rte_vhost_va_from_guest_pa(c->mem, s->addr + c->off,
							&len);
		if (!va || !len)
			return false;
		c->p = (uint8_t *)(uintptr_t)va;
		c->left = len;
		c->off += len;
	}
	return true;
}

/* Up to n bytes from s to d; how many (short: one ran out). */
static uint64_t cursor_copy(struct cursor *d, struct cursor *s, uint64_t n)
{
	uint64_t done = 0;

	while (done < n && cursor_fill(d) && cursor_fill(s)) {
		uint64_t k = n - done;

		if (k > d->left)
			k = d->left;
		if (k > s->left)
			k = s->left;
		memcpy(d->p, s->p, k);
		d->p += k;
		d->left -= k;
		s->p += k;
		s->left -= k;
		done += k;
	}
	return done;
}

static uint64_t cursor_skip(struct cursor *c, uint64_t n)
{
	uint64_t done = 0;

	while (done < n && cursor_fill(c)) {
		uint64_t k = n - done < c->left ? n - done : c->left;

		c->p += k;
		c->left -= k;
		done += k;
	}
	return done;
}

static void used_flush(struct net_direct_ring *r)
{
	uint16_t mask = (uint16_t)(r->vr.size - 1);
	uint16_t at = (uint16_t)(r->last_used - r->nshadow);

	for (unsigned i = 0; i < r->nshadow; i++)
		r->vr.used->ring[(uint16_t)(at + i) & mask] = r->shadow[i];
	r->nshadow = 0;
}

/* One used element at r->last_used, which moves on. */
static void used_add(struct net_direct_ring *r, uint16_t id, uint32_t len)
{
	if (r->nshadow == sizeof(r->shadow) / sizeof(r->shadow[0]))
		used_flush(r);
	r->shadow[r->nshadow++] = (struct vring_used_elem){ id, len };
	r->last_used++;
}

uint16_t net_direct_avail(struct net_direct_ring *r)
{
	/* Acquire: the ring entries and descriptors are read after it, as
	 * the frontend wrote them before it (rte_smp_rmb's job). */
	r->avail_idx = __atomic_load_n(&r->vr.avail->idx, __ATOMIC_ACQUIRE);
	return (uint16_t)(r->avail_idx - r->last_avail);
}

void net_direct_prefetch(const struct net_direct_ring *r, unsigned n,
			 bool write)
{
	/* rte_vhost_va_from_guest_pa only reads the table. */
	struct rte_vhost_memory *mem =
		(struct rte_vhost_memory *)(uintptr_t)r->mem;
	uint16_t mask = (uint16_t)(r->vr.size - 1);
	uint16_t avail = (uint16_t)(r->avail_idx - r->last_avail);

	if (n > avail)
		n = avail;
	/*
	 * Independent loads, so the misses overlap instead of queueing up
	 * one frame after the other. Nothing here is trusted: a prefetch
	 * never faults, and the walk checks everything again.
	 */
	for (unsigned i = 0; i < n; i++) {
		uint16_t head = r->vr.avail->ring[(uint16_t)(r->last_avail + i) &
						  mask];
		const struct vring_desc *d;
		uint64_t len = 64, va;

		if (head > mask)
			continue;
		d = &r->vr.desc[head];
		if (d->flags & VRING_DESC_F_INDIRECT)
			continue;
		va = rte_vhost_va_from_guest_pa(mem, d->addr, &len);
		if (!va)
			continue;
		if (write)
			__builtin_prefetch((void *)(uintptr_t)va, 1);
		else
			__builtin_prefetch((void *)(uintptr_t)va, 0);
	}
}

enum net_direct_status net_direct_tx_walk(const struct net_direct_ring *r,
					  uint16_t i,
					  struct net_direct_frame *fr)
{
	uint64_t total;

	if (i >= (uint16_t)(r->avail_idx - r->last_avail))
		return NET_DIRECT_EMPTY;
	if (net_guard_walk_split(r->mem, &r->vr, (uint16_t)(r->last_avail + i),
				 fr->segs, NET_DIRECT_TX_SEGS, &fr->nsegs,
				 &fr->head, &total) != NET_CHAIN_OK)
		return NET_DIRECT_FALLBACK;
	/* No longer than the header: librte_vhost drops it and the guard
	 * counts it (short_chain); runts and oversize frames are counted
	 * on the mbuf path too. */
	if (total <= r->hdr_len ||
	    total - r->hdr_len < NET_DIRECT_FRAME_MIN ||
	    total - r->hdr_len > NET_DIRECT_FRAME_MAX)
		return NET_DIRECT_FALLBACK;
	fr->len = (uint32_t)(total - r->hdr_len);
	return NET_DIRECT_OK;
}

enum net_direct_status net_direct_tx_header(const struct net_direct_ring *r,
					    struct net_direct_frame *fr)
{
	struct virtio_net_hdr hdr;
	struct cursor src, dst;

	/*
	 * The header's first 10 bytes (num_buffers means nothing on a
	 * transmit ring). Only a frame asking for nothing is taken: no
	 * flag (NEEDS_CSUM, DATA_VALID) and no GSO type; the other fields
	 * are meaningless then and not passed on.
	 */
	cursor_init(&src, r->mem, fr->segs, fr->nsegs);
	cursor_plain(&dst, &hdr, sizeof(hdr));
	if (cursor_copy(&dst, &src, sizeof(hdr)) != sizeof(hdr))
		return NET_DIRECT_FALLBACK;
	if (hdr.flags || hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return NET_DIRECT_FALLBACK;
	if (cursor_skip(&src, r->hdr_len - sizeof(hdr)) !=
	    r->hdr_len - sizeof(hdr))
		return NET_DIRECT_FALLBACK;
	cursor_plain(&dst, fr->eth, sizeof(fr->eth));
	if (cursor_copy(&dst, &src, sizeof(fr->eth)) != sizeof(fr->eth))
		return NET_DIRECT_FALLBACK;
	return NET_DIRECT_OK;
}

enum net_direct_status net_direct_tx_peek(const struct net_direct_ring *r,
					  struct net_direct_frame *fr)
{
	enum net_direct_status st = net_direct_tx_walk(r, 0, fr);

	return st == NET_DIRECT_OK ? net_direct_tx_header(r, fr) : st;
}

/* Receive chains from dst->last_avail until they hold need bytes. */
static enum net_direct_status rx_reserve(const struct net_direct_ring *dst,
					 uint64_t need,
					 struct net_direct_rxbufs *b,
					 unsigned *nsegs)
{
	/* librte_vhost's bound: a frame in fewer buffers than the ring. */
	unsigned max = dst->mergeable ? dst->vr.size - 1 : 1, n = 0;
	uint16_t idx = dst->last_avail;
	uint64_t have = 0;

	b->nbufs = 0;
	while (have < need) {
		uint64_t total;
		unsigned k;

		if (idx == dst->avail_idx)
			return NET_DIRECT_FULL;
		if (b->nbufs >= max)
			return NET_DIRECT_FALLBACK;
		if (net_guard_walk_split(dst->mem, &dst->vr, idx, b->segs + n,
					 NET_DIRECT_SEGS - n, &k,
					 &b->head[b->nbufs], &total) !=
		    NET_CHAIN_OK)
			return NET_DIRECT_FALLBACK;
		/* Without MRG_RXBUF a chain must hold the frame: one that
		 * cannot is the receive guard's (bad_rx_buf). */
		if (!dst->mergeable && total < need)
			return NET_DIRECT_FALLBACK;
		b->total[b->nbufs] = total > need - have ?
				     (uint32_t)(need - have) : (uint32_t)total;
		b->nbufs++;
		have += total;
		n += k;
		idx++;
	}
	*nsegs = n;
	return NET_DIRECT_OK;
}

enum net_direct_status net_direct_rx_put(struct net_direct_ring *dst,
					 const struct net_direct_ring *src,
					 const struct net_direct_frame *fr,
					 struct net_direct_rxbufs *b)
{
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint64_t need = dst->hdr_len + (uint64_t)fr->len;
	struct cursor to, from;
	enum net_direct_status st;
	unsigned nsegs = 0;

	st = rx_reserve(dst, need, b, &nsegs);
	if (st != NET_DIRECT_OK)
		return st;
	/*
	 * The header asks for nothing (the frame asked for nothing); with
	 * the 12-byte header num_buffers is the count of buffers (1 without
	 * MRG_RXBUF, as the virtio 1 spec wants).
	 */
	memset(&hdr, 0, sizeof(hdr));
	hdr.num_buffers = (uint16_t)b->nbufs;
	cursor_init(&to, dst->mem, b->segs, nsegs);
	cursor_plain(&from, &hdr, dst->hdr_len);
	if (cursor_copy(&to, &from, dst->hdr_len) != dst->hdr_len)
		return NET_DIRECT_FALLBACK;
	cursor_init(&from, src->mem, fr->segs, fr->nsegs);
	if (cursor_skip(&from, src->hdr_len) != src->hdr_len ||
	    cursor_copy(&to, &from, fr->len) != fr->len)
		return NET_DIRECT_FALLBACK;
	for (unsigned i = 0; i < b->nbufs; i++)
		used_add(dst, b->head[i], b->total[i]);
	dst->last_avail = (uint16_t)(dst->last_avail + b->nbufs);
	return NET_DIRECT_OK;
}

void net_direct_tx_take(struct net_direct_ring *src,
			const struct net_direct_frame *fr)
{
	/* Length 0, as librte_vhost writes for a transmit chain. */
	used_add(src, fr->head, 0);
	src->last_avail++;
}

void net_direct_publish(struct net_direct_ring *r)
{
	used_flush(r);
	/* Release: the frame data and the used elements before the index
	 * the frontend polls. */
	__atomic_store_n(&r->vr.used->idx, r->last_used, __ATOMIC_RELEASE);
}
