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

static inline void cursor_init(struct cursor *c,
			       const struct rte_vhost_memory *mem,
			       const struct net_guard_seg *segs, unsigned n)
{
	/* rte_vhost_va_from_guest_pa only reads the table. */
	c->mem = (struct rte_vhost_memory *)(uintptr_t)mem;
	c->segs = segs;
	c->n = n;
	c->i = 0;
	/* The first buffer as the first piece when the walk found it in one
	 * region (nearly always): no cursor_fill for the common frame. */
	if (n && segs[0].va) {
		c->p = (uint8_t *)(uintptr_t)segs[0].va;
		c->left = segs[0].len;
		c->off = segs[0].len;
	} else {
		c->p = NULL;
		c->left = 0;
		c->off = 0;
	}
}

static inline void cursor_plain(struct cursor *c, void *buf, uint64_t len)
{
	c->mem = NULL;
	c->segs = NULL;
	c->n = 0;
	c->i = 0;
	c->off = 0;
	c->p = buf;
	c->left = len;
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

/* Up to n bytes from s to d, piece by piece; how many. */
static uint64_t cursor_copy_pieces(struct cursor *d, struct cursor *s,
				   uint64_t n)
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

/* Up to n bytes from s to d; how many (short: one ran out). Inline, so
 * that the header's and the addresses' fixed lengths become moves. */
static inline uint64_t cursor_copy(struct cursor *d, struct cursor *s,
				   uint64_t n)
{
	if (n <= d->left && n <= s->left) {
		memcpy(d->p, s->p, n);
		d->p += n;
		d->left -= n;
		s->p += n;
		s->left -= n;
		return n;
	}
	return cursor_copy_pieces(d, s, n);
}

static inline uint64_t cursor_skip(struct cursor *c, uint64_t n)
{
	uint64_t done = 0;

	if (n <= c->left) {
		c->p += n;
		c->left -= n;
		return n;
	}
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

bool net_direct_avail(struct net_direct_ring *r)
{
	/* Acquire: the ring entries and descriptors are read after it, as
	 * the frontend wrote them before it (rte_smp_rmb's job). */
	uint16_t idx = __atomic_load_n(&r->vr.avail->idx, __ATOMIC_ACQUIRE);

	/*
	 * More than a ring ahead: no driver can mean that (a broken one,
	 * or one caught writing the index in pieces). Entries past the
	 * ring's are old ones: none is taken here, librte_vhost's path
	 * has the ring.
	 */
	if ((uint16_t)(idx - r->last_avail) > r->vr.size) {
		r->avail_idx = r->last_avail;
		return false;
	}
	r->avail_idx = idx;
	return true;
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
	if (fr->segs[0].va && fr->segs[0].len >= r->hdr_len + sizeof(fr->eth)) {
		/* Header and addresses in the first buffer (the usual). */
		const uint8_t *p = (const uint8_t *)(uintptr_t)fr->segs[0].va;

		memcpy(&hdr, p, sizeof(hdr));
		if (hdr.flags || hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			return NET_DIRECT_FALLBACK;
		memcpy(fr->eth, p + r->hdr_len, sizeof(fr->eth));
		return NET_DIRECT_OK;
	}
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

/*
 * The usual frame without rx_reserve's loop: one transmit buffer, and the
 * next receive chain one buffer that holds it all, both in one region.
 * false (nothing done) for anything else.
 */
static bool rx_put_one(struct net_direct_ring *dst,
		       const struct net_direct_ring *src,
		       const struct net_direct_frame *fr, uint64_t need)
{
	/* The header asks for nothing: one buffer (num_buffers 1). */
	static const struct virtio_net_hdr_mrg_rxbuf hdr = { .num_buffers = 1 };
	struct net_guard_seg seg;
	uint16_t head;
	uint8_t *p;

	if (fr->nsegs != 1 || !fr->segs[0].va ||
	    dst->last_avail == dst->avail_idx ||
	    !net_guard_split_one(dst->mem, &dst->vr, dst->last_avail, &seg,
				 &head) || seg.len < need)
		return false;
	p = (uint8_t *)(uintptr_t)seg.va;
	if (dst->hdr_len == sizeof(hdr))
		memcpy(p, &hdr, sizeof(hdr));
	else
		memcpy(p, &hdr, sizeof(struct virtio_net_hdr));
	memcpy(p + dst->hdr_len,
	       (const uint8_t *)(uintptr_t)fr->segs[0].va + src->hdr_len,
	       fr->len);
	used_add(dst, head, (uint32_t)need);
	dst->last_avail++;
	return true;
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

	if (rx_put_one(dst, src, fr, need))
		return NET_DIRECT_OK;
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
