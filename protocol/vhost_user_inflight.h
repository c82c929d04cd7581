/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The packed-ring inflight region (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)
 * after a back-end crash: undo or commit what the dead back-end left half
 * done, check what the front-end hands back, and find where the ring
 * resumes.  No DPDK: librte_vhost writes the region, this reads it.
 * splitvm-blk repairs and resumes from the region it is given; the core
 * reads the same answer from a copy (vhost_user_inflight_packed_base()).
 */
#ifndef SPLITVM_VHOST_USER_INFLIGHT_H
#define SPLITVM_VHOST_USER_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"
#include "virtio.h"

/* What vhost_user_inflight_packed_repair() found half done. */
enum vhost_user_inflight_repair {
	VHOST_USER_INFLIGHT_CLEAN = 0,	/* nothing */
	VHOST_USER_INFLIGHT_UNTAKEN,	/* a chain half recorded: taken anew */
	VHOST_USER_INFLIGHT_ROLLBACK,	/* a completion not in the ring: undone */
	VHOST_USER_INFLIGHT_COMMIT,	/* a completion in the ring: made final */
};

/*
 * Before librte_vhost looks at the region (SET_VRING_KICK): a crash
 * between rte_vhost_set_last_inflight_io_packed() and
 * rte_vhost_clr_inflight_desc_packed() leaves a completion that
 * librte_vhost's own check cannot place (it does not look at the ring),
 * and one inside rte_vhost_set_inflight_desc_packed() a head marked in
 * flight with half its copies.  The used descriptor at the committed
 * position (ring, size entries) tells whether the driver may have seen
 * the completion.  Returns an enum vhost_user_inflight_repair, or -EINVAL for
 * a region whose fields are out of range (then nothing is changed).
 */
int vhost_user_inflight_packed_repair(struct vhost_user_inflight_packed *r,
			       uint16_t size,
			       const struct vring_packed_desc *ring)
	__attribute__((warn_unused_result));

/*
 * After librte_vhost listed the in-flight heads (entries[n]): check
 * that the region is one consistent free list plus those chains, each
 * chain 1..size copies, disjoint, size entries in all; then the ring
 * resumes with used at the last committed completion and avail past the
 * chains in flight.  Positions carry their wrap counter in bit 15.
 * -EINVAL if the region is inconsistent, -ENOMEM.
 */
int vhost_user_inflight_packed_resume(const struct vhost_user_inflight_packed *r,
			       uint16_t size, const uint16_t *entries,
			       unsigned n, uint16_t *last_avail,
			       uint16_t *used_idx)
	__attribute__((warn_unused_result));

/*
 * The ring descriptors in-flight head e recorded, in chain order, into
 * out[max].  Returns their number, or -EINVAL.
 */
int vhost_user_inflight_packed_chain(const struct vhost_user_inflight_packed *r,
			      uint16_t size, uint16_t e,
			      struct vring_packed_desc *out, unsigned max)
	__attribute__((warn_unused_result));

/*
 * A fresh region (first use, desc_num entries) for a ring that starts
 * at used_idx (wrap counter in bit 15), as SET_VRING_BASE said.
 */
void vhost_user_inflight_packed_start(struct vhost_user_inflight_packed *r,
			       uint16_t size, uint16_t used_idx);

/*
 * The region's per-queue stride and the size one queue of `size`
 * entries needs (its header and descriptor copies).
 */
static inline uint64_t vhost_user_inflight_packed_bytes(uint16_t size)
{
	return sizeof(struct vhost_user_inflight_packed) +
	       (uint64_t)size * sizeof(struct vhost_user_inflight_packed_desc);
}

/*
 * The front-end's side, after the back-end died: where packed ring r
 * (size entries, descriptor ring `ring` in guest memory) resumes, as
 * SET_VRING_BASE's packed value (available position and wrap counter in
 * bits 0-15, used in bits 16-31).  The region is not changed: a copy is
 * repaired as the back-end will repair it, and the chains in flight are
 * counted as the back-end will resubmit them.  -ENODATA for a region no
 * back-end has used yet (version 0), -EINVAL for one that is
 * inconsistent, -ESTALE for one the ring shows to lag behind (a used
 * descriptor at its used position), -ENOMEM.
 */
int vhost_user_inflight_packed_base(const struct vhost_user_inflight_packed *r,
				    uint16_t size,
				    const struct vring_packed_desc *ring,
				    uint32_t *base)
	__attribute__((warn_unused_result));

#endif
