/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_guard.h"

#include <errno.h>
#include <stddef.h>

#include <rte_vhost.h>

/* librte_vhost 22.11 gives up on a chain of more buffers than this. */
#define NET_GUARD_MAX_BUFS 256
#define NET_DESC_SIZE 16u

bool net_guard_mapped(const struct rte_vhost_memory *mem, uint64_t gpa,
		      uint64_t len)
{
	while (len) {
		const struct rte_vhost_mem_region *hit = NULL;
		uint64_t room;

		for (uint32_t i = 0; i < mem->nregions; i++) {
			const struct rte_vhost_mem_region *r = &mem->regions[i];

			if (gpa >= r->guest_phys_addr &&
			    gpa - r->guest_phys_addr < r->size) {
				hit = r;
				break;
			}
		}
		if (!hit)
			return false;
		room = hit->size - (gpa - hit->guest_phys_addr);
		if (room >= len)
			return true;
		gpa += room;
		len -= room;
	}
	return true;
}

/* One entry of an indirect table, read through guest memory. */
static const struct vring_desc *indirect_desc(struct rte_vhost_memory *mem,
					      uint64_t table, uint32_t i)
{
	uint64_t len = NET_DESC_SIZE;
	uint64_t va = rte_vhost_va_from_guest_pa(mem,
			table + (uint64_t)i * NET_DESC_SIZE, &len);

	/* Tables are 16-byte aligned in page-aligned regions: an entry
	 * split over two regions is refused here (librte_vhost copies). */
	return va && len == NET_DESC_SIZE ?
	       (const struct vring_desc *)(uintptr_t)va : NULL;
}

enum net_chain_verdict net_guard_walk_chain(const struct rte_vhost_memory *cmem,
					    const struct rte_vhost_vring *vr,
					    uint16_t avail_idx,
					    struct net_guard_seg *segs,
					    unsigned max, unsigned *nsegs,
					    uint16_t *head, uint64_t *total)
{
	/* rte_vhost_va_from_guest_pa takes a non-const table it only reads. */
	struct rte_vhost_memory *mem = (struct rte_vhost_memory *)(uintptr_t)cmem;
	volatile const struct vring_desc *table = vr->desc;
	uint64_t indirect = 0, sum = 0;
	uint32_t n = vr->size, cnt = 0;
	uint16_t idx;

	idx = *(volatile const uint16_t *)&vr->avail->ring[avail_idx &
							   (vr->size - 1)];
	if (idx >= vr->size)
		return NET_CHAIN_BAD;
	if (head)
		*head = idx;
	if (table[idx].flags & VRING_DESC_F_INDIRECT) {
		uint32_t len = table[idx].len;

		indirect = table[idx].addr;
		n = len / NET_DESC_SIZE;
		if (n > vr->size || !net_guard_mapped(mem, indirect, len))
			return NET_CHAIN_BAD;
		idx = 0;
	}
	for (;;) {
		const volatile struct vring_desc *d;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;

		if (idx >= n || cnt++ >= n || cnt > NET_GUARD_MAX_BUFS)
			return NET_CHAIN_BAD;
		d = indirect ? indirect_desc(mem, indirect, idx) : &table[idx];
		if (!d)
			return NET_CHAIN_BAD;
		/* Each field read once: what is checked is what is used. */
		addr = d->addr;
		len = d->len;
		flags = d->flags;
		if (segs) {
			/* One lookup for the check and the copy, mostly. */
			uint64_t va = len ? net_guard_region_va(mem, addr, len) : 0;

			if (!va && !net_guard_mapped(mem, addr, len))
				return NET_CHAIN_BAD;
			if (cnt > max)
				return NET_CHAIN_LONG;
			segs[cnt - 1] = (struct net_guard_seg){ addr, len, va };
		} else if (!net_guard_mapped(mem, addr, len)) {
			return NET_CHAIN_BAD;
		}
		sum += len;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = d->next;
	}
	if (nsegs)
		*nsegs = cnt;
	*total = sum;
	return NET_CHAIN_OK;
}

enum net_chain_verdict net_guard_check_split(const struct rte_vhost_memory *mem,
					     const struct rte_vhost_vring *vr,
					     uint16_t avail_idx, uint64_t *total)
{
	return net_guard_walk_chain(mem, vr, avail_idx, NULL, 0, NULL, NULL,
				    total);
}

int net_guard_skip_head(int vid, uint16_t vring,
			const struct rte_vhost_vring *vr)
{
	uint16_t last_avail, last_used, head, mask = (uint16_t)(vr->size - 1);
	struct vring_used_elem *e;

	if (rte_vhost_get_vring_base(vid, vring, &last_avail, &last_used) ||
	    last_avail != last_used)
		return -EBUSY;
	if (__atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE) == last_avail)
		return -ENOENT;
	head = *(volatile const uint16_t *)&vr->avail->ring[last_avail & mask];
	/* The frontend gets back the head it gave, whatever it is. */
	e = &vr->used->ring[last_used & mask];
	e->id = head;
	e->len = 0;
	__atomic_store_n(&vr->used->idx, (uint16_t)(last_used + 1),
			 __ATOMIC_RELEASE);
	if (rte_vhost_set_vring_base(vid, vring, (uint16_t)(last_avail + 1),
				     (uint16_t)(last_used + 1)))
		return -EBUSY;
	/* Dirty logging (live migration) sees the used ring change. */
	rte_vhost_log_used_vring(vid, vring,
		offsetof(struct vring_used, ring) +
		(uint64_t)(last_used & mask) * sizeof(*e), sizeof(*e));
	rte_vhost_log_used_vring(vid, vring, offsetof(struct vring_used, idx),
				 sizeof(vr->used->idx));
	return 0;
}

/* ---- packed rings ------------------------------------------------------ */

#define PACKED_WRAP (1u << 15)

static uint16_t packed_flags(const struct rte_vhost_vring *vr, uint16_t i)
{
	return __atomic_load_n(&vr->desc_packed[i].flags, __ATOMIC_ACQUIRE);
}

bool net_guard_packed_pending(const struct rte_vhost_vring *vr,
			      uint16_t last_avail)
{
	uint16_t i = last_avail & ~PACKED_WRAP, flags;
	bool wrap = last_avail & PACKED_WRAP;

	if (i >= vr->size)
		return false;
	flags = packed_flags(vr, i);
	return !!(flags & (1u << VRING_PACKED_DESC_F_AVAIL)) == wrap &&
	       !!(flags & (1u << VRING_PACKED_DESC_F_USED)) != wrap;
}

/* A chain's descriptors from i on: how many, and the id of the last. */
static enum net_chain_verdict packed_walk(const struct rte_vhost_memory *cmem,
					  const struct rte_vhost_vring *vr,
					  uint16_t i, uint64_t *total,
					  uint16_t *count, uint16_t *id)
{
	struct rte_vhost_memory *mem = (struct rte_vhost_memory *)(uintptr_t)cmem;
	uint64_t sum = 0;
	uint16_t n = 0;

	for (;;) {
		const volatile struct vring_packed_desc *d = &vr->desc_packed[i];
		uint16_t flags = d->flags;
		uint64_t addr = d->addr;
		uint32_t len = d->len;

		if (n >= vr->size || n >= NET_GUARD_MAX_BUFS)
			return NET_CHAIN_BAD;
		n++;
		*id = d->id;
		if (flags & VRING_DESC_F_INDIRECT) {
			uint32_t nr = len / NET_DESC_SIZE;

			if (nr >= vr->size || !net_guard_mapped(mem, addr, len))
				return NET_CHAIN_BAD;
			for (uint32_t k = 0; k < nr; k++) {
				uint64_t l = NET_DESC_SIZE;
				const struct vring_packed_desc *e =
					(const void *)(uintptr_t)
					rte_vhost_va_from_guest_pa(mem,
						addr + k * NET_DESC_SIZE, &l);

				if (!e || l != NET_DESC_SIZE ||
				    !net_guard_mapped(mem, e->addr, e->len))
					return NET_CHAIN_BAD;
				sum += e->len;
			}
		} else {
			if (!net_guard_mapped(mem, addr, len))
				return NET_CHAIN_BAD;
			sum += len;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (++i >= vr->size)
			i = 0;
	}
	*total = sum;
	*count = n;
	return NET_CHAIN_OK;
}

enum net_chain_verdict net_guard_check_packed(const struct rte_vhost_memory *mem,
					      const struct rte_vhost_vring *vr,
					      uint16_t last_avail,
					      uint64_t *total)
{
	uint16_t count, id;

	return packed_walk(mem, vr, last_avail & ~PACKED_WRAP, total, &count,
			   &id);
}

unsigned net_guard_packed_chains(const struct rte_vhost_vring *vr,
				 uint16_t last_avail, uint32_t hdr_len,
				 struct net_packed_chain *c, unsigned max)
{
	uint16_t size = (uint16_t)vr->size, i = last_avail & ~PACKED_WRAP;
	bool wrap = last_avail & PACKED_WRAP;
	unsigned n = 0;

	if (i >= size)
		return 0;
	/* The head's flags with acquire: the rest of the chain was written
	 * before the frontend made it available. */
	while (n < max && net_guard_packed_pending(vr, (uint16_t)(i |
					(wrap ? PACKED_WRAP : 0)))) {
		uint64_t total = 0;
		uint16_t count = 0, flags;

		do {
			const volatile struct vring_packed_desc *d =
				&vr->desc_packed[i];

			flags = d->flags;
			/* An indirect table's length is not the frame's:
			 * never taken for a header alone. */
			total += flags & VRING_DESC_F_INDIRECT ? UINT32_MAX
							       : d->len;
			if (++i >= size) {
				i = 0;
				wrap = !wrap;
			}
			if (++count >= size)
				return n;
		} while (flags & VRING_DESC_F_NEXT);
		c[n].end = (uint16_t)(i | (wrap ? PACKED_WRAP : 0));
		c[n].hdr_only = total <= hdr_len;
		n++;
	}
	return n;
}

int net_guard_packed_taken(const struct net_packed_chain *c, unsigned n,
			   uint16_t before, uint16_t now)
{
	if (now == before)
		return 0;
	for (unsigned k = 0; k < n; k++)
		if (c[k].end == now)
			return (int)k + 1;
	return -1;
}

static uint16_t packed_advance(uint16_t idx, uint16_t n, uint16_t size)
{
	uint16_t i = (uint16_t)((idx & ~PACKED_WRAP) + n);
	uint16_t wrap = idx & PACKED_WRAP;

	if (i >= size) {
		i = (uint16_t)(i - size);
		wrap ^= PACKED_WRAP;
	}
	return (uint16_t)(i | wrap);
}

int net_guard_skip_head_packed(int vid, uint16_t vring,
			       const struct rte_vhost_vring *vr)
{
	uint16_t last_avail, last_used, count, id, i, flags;

	if (rte_vhost_get_vring_base(vid, vring, &last_avail, &last_used) ||
	    last_avail != last_used)
		return -EBUSY;
	if (!net_guard_packed_pending(vr, last_avail))
		return -ENOENT;
	i = last_avail & ~PACKED_WRAP;
	/* Step over as far as the chain goes, the whole ring at most (as
	 * much as librte_vhost consumes of a chain it refuses). */
	count = 0;
	do {
		const volatile struct vring_packed_desc *d =
			&vr->desc_packed[(i + count) % vr->size];

		id = d->id;
		flags = d->flags;
		count++;
	} while (count < vr->size && (flags & VRING_DESC_F_NEXT));
	flags = 0;
	vr->desc_packed[i].id = id;
	vr->desc_packed[i].len = 0;
	if (last_used & PACKED_WRAP)
		flags = 1u << VRING_PACKED_DESC_F_AVAIL |
			1u << VRING_PACKED_DESC_F_USED;
	__atomic_store_n(&vr->desc_packed[i].flags, flags, __ATOMIC_RELEASE);
	if (rte_vhost_set_vring_base(vid, vring,
			packed_advance(last_avail, count, (uint16_t)vr->size),
			packed_advance(last_used, count, (uint16_t)vr->size)))
		return -EBUSY;
	rte_vhost_log_used_vring(vid, vring, (uint64_t)i * NET_DESC_SIZE,
				 NET_DESC_SIZE);
	return 0;
}
