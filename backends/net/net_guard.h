/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What librte_vhost does not do for a malformed split-ring chain (and a
 * packed-ring receive buffer): count it and get it out of the way. librte_vhost 22.11 leaves a chain it
 * cannot parse (loop, next or head outside the table, address outside
 * guest memory, bad indirect table) at the head of the ring, so the queue
 * stalls for good, and drops a transmit chain no longer than the
 * virtio-net header without saying so. The guard sees both from the ring
 * indexes, checks the head chain itself and hands a malformed one back
 * to the frontend as used with length 0 (docs/splitvm-net.md).
 */
#ifndef SPLITVM_NET_GUARD_H
#define SPLITVM_NET_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_vhost.h>

/* Per vring, forwarder only. */
struct net_vring_guard {
	bool valid;		/* last_avail holds librte_vhost's index */
	bool stall_seen;	/* an empty poll saw chains at stall_at */
	bool warned;		/* "cannot tell why it stalls" logged */
	uint16_t last_avail;
	uint16_t stall_at;
	/* Polls with frames left before the direct copy is tried again: its
	 * last try found a frame under --copy-min at the head. */
	uint8_t direct_skip;
};

/* Verdicts on one descriptor chain, as librte_vhost would parse it. */
enum net_chain_verdict {
	NET_CHAIN_OK,
	NET_CHAIN_BAD,		/* librte_vhost would refuse (and stall) */
	NET_CHAIN_LONG,		/* valid so far, more buffers than asked to
				 * record (net_guard_walk_split only) */
};

/* One descriptor's buffer (guest-physical), as the walk read it. */
struct net_guard_seg {
	uint64_t addr;
	uint32_t len;
	uint64_t va;	/* host address when one region holds it all, else 0 */
};

/* The host address of [gpa, gpa + len) when one region holds it all,
 * else 0. */
static inline uint64_t net_guard_region_va(const struct rte_vhost_memory *mem,
					   uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->guest_phys_addr;

		if (gpa >= r->guest_phys_addr && off < r->size)
			return len <= r->size - off ? r->host_user_addr + off : 0;
	}
	return 0;
}

/*
 * The usual split-ring chain at avail_idx, one buffer in one region (a
 * frontend that puts the header in front of the frame): recorded in
 * *seg, its head in *head, with each field read once. false for any
 * other chain, good or bad: net_guard_walk_chain tells which.
 */
static inline bool net_guard_split_one(const struct rte_vhost_memory *mem,
				       const struct rte_vhost_vring *vr,
				       uint16_t avail_idx,
				       struct net_guard_seg *seg,
				       uint16_t *head)
{
	volatile const struct vring_desc *d;
	uint16_t idx, flags;
	uint64_t addr, va;
	uint32_t len;

	idx = *(volatile const uint16_t *)&vr->avail->ring[avail_idx &
							   (vr->size - 1)];
	if (idx >= vr->size)
		return false;
	d = &vr->desc[idx];
	addr = d->addr;
	len = d->len;
	flags = d->flags;
	if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)) || !len)
		return false;
	va = net_guard_region_va(mem, addr, len);
	if (!va)
		return false;
	*seg = (struct net_guard_seg){ addr, len, va };
	*head = idx;
	return true;
}

/* Whether [gpa, gpa + len) lies in guest memory (may span regions). */
bool net_guard_mapped(const struct rte_vhost_memory *mem, uint64_t gpa,
		      uint64_t len);

/*
 * The chain whose head sits at avail index avail_idx of a split ring
 * (read from guest memory: under the same lock as net_guard_skip_head):
 * NET_CHAIN_BAD where librte_vhost 22.11's parser gives up, else OK with
 * *total the sum of its descriptors' lengths.
 */
enum net_chain_verdict net_guard_check_split(const struct rte_vhost_memory *mem,
					     const struct rte_vhost_vring *vr,
					     uint16_t avail_idx, uint64_t *total);

/* net_guard_walk_split for any chain: the loop. */
enum net_chain_verdict net_guard_walk_chain(const struct rte_vhost_memory *mem,
					    const struct rte_vhost_vring *vr,
					    uint16_t avail_idx,
					    struct net_guard_seg *segs,
					    unsigned max, unsigned *nsegs,
					    uint16_t *head, uint64_t *total);

/*
 * net_guard_check_split that also records the chain (for the direct copy,
 * net_direct.c): with segs, each descriptor's buffer in order, at most
 * max of them (else NET_CHAIN_LONG), *nsegs how many, *head the chain's
 * head (both may be NULL). Every field is read once from guest memory
 * and checked before it is recorded, so a frontend that rewrites its
 * descriptors meanwhile changes nothing checked. Inline for the usual
 * chain (net_guard_split_one): the direct copy walks two per frame.
 */
static inline enum net_chain_verdict
net_guard_walk_split(const struct rte_vhost_memory *mem,
		     const struct rte_vhost_vring *vr, uint16_t avail_idx,
		     struct net_guard_seg *segs, unsigned max, unsigned *nsegs,
		     uint16_t *head, uint64_t *total)
{
	uint16_t h;

	if (segs && max && net_guard_split_one(mem, vr, avail_idx, segs, &h)) {
		if (head)
			*head = h;
		if (nsegs)
			*nsegs = 1;
		*total = segs[0].len;
		return NET_CHAIN_OK;
	}
	return net_guard_walk_chain(mem, vr, avail_idx, segs, max, nsegs, head,
				    total);
}

/*
 * The same for the chain at the head of a packed ring, at librte_vhost's
 * index last_avail (wrap counter in bit 15, as rte_vhost_get_vring_base
 * gives it): NET_CHAIN_BAD where librte_vhost's packed parser gives up;
 * the caller has checked that a chain is there (net_guard_packed_pending).
 */
enum net_chain_verdict net_guard_check_packed(const struct rte_vhost_memory *mem,
					      const struct rte_vhost_vring *vr,
					      uint16_t last_avail,
					      uint64_t *total);

/* Whether the frontend made the descriptor at last_avail available. */
bool net_guard_packed_pending(const struct rte_vhost_vring *vr,
			      uint16_t last_avail);

/*
 * The transmit count of a packed ring.  librte_vhost 22.11 consumes a
 * chain it refuses (or one no longer than the header) itself and returns
 * no frame for it, and its index counts descriptors, not chains: so the
 * forwarder notes, before a dequeue, where each available chain ends
 * (net_guard_packed_chains) and, after it, how many of those chains the
 * library took (net_guard_packed_taken).  Chains taken minus frames
 * returned are the drops.
 */
struct net_packed_chain {
	uint16_t end;		/* index after the chain, wrap in bit 15 */
	bool hdr_only;		/* no longer than the virtio-net header */
};

/*
 * Up to max chains available from last_avail (rte_vhost_get_vring_base's
 * form), read from the descriptor ring only (no guest memory: cheap, and
 * under the ring's guard_lock); how many were noted.  Where each ends is
 * all that matters: a chain as long as the ring ends the walk.
 */
unsigned net_guard_packed_chains(const struct rte_vhost_vring *vr,
				 uint16_t last_avail, uint32_t hdr_len,
				 struct net_packed_chain *c, unsigned max);

/*
 * How many of the n chains noted from before up to now (librte_vhost's
 * index after the dequeue) it took, -1 when now is no chain's end (the
 * index moved otherwise: a new connection, SET_VRING_BASE; or beyond
 * what was noted).
 */
int net_guard_packed_taken(const struct net_packed_chain *c, unsigned n,
			   uint16_t before, uint16_t now);

/* net_guard_skip_head for a packed ring. */
int net_guard_skip_head_packed(int vid, uint16_t vring,
			       const struct rte_vhost_vring *vr)
	__attribute__((warn_unused_result));

/*
 * Hand the chain at the head of a split vring back to the frontend as
 * used with length 0 and move librte_vhost past it; the caller notifies
 * (rte_vhost_vring_call, which takes the ring's lock). Only between
 * bursts on that vring, by its one poller, while no vhost-user message
 * can change the rings or the memory (net_port.guard_lock). 0, -ENOENT
 * (nothing pending) or -EBUSY (librte_vhost's indexes are not at rest).
 */
int net_guard_skip_head(int vid, uint16_t vring,
			const struct rte_vhost_vring *vr)
	__attribute__((warn_unused_result));

#endif
