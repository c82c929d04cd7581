/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One split virtqueue from the device side, with nothing trusted: the
 * avail index is checked against the ring size, every descriptor chain
 * is walked with bounded loops and its buffers translated through
 * blk_mem before use, and the used ring is only ever written by us.
 */
#ifndef SPLITVM_BLK_VRING_H
#define SPLITVM_BLK_VRING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blk_mem.h"
#include "virtio.h"

/* Buffers one request may have after translation (header and status too). */
#define BLK_CHAIN_MAX_IOV	260

/*
 * Split (virtio 1.2 2.7) or packed (2.8).  For a packed ring, last_avail
 * and used_idx are ring positions with their wrap counters beside them,
 * and a chain is named by the buffer id in its last descriptor.
 */
struct blk_vring {
	bool packed;
	struct vring_desc *desc;		/* split */
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *pdesc;	/* packed */
	struct vring_packed_desc_event *driver_event;
	struct vring_packed_desc_event *device_event;
	uint16_t size;			/* Queue Size, a power of two */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX */
	uint16_t last_avail;		/* next avail entry to take */
	uint16_t used_idx;		/* next used entry to fill */
	uint16_t used_published;	/* split: what used->idx last said */
	uint16_t avail_seen;		/* split: avail->idx at the last pop */
	bool avail_wrap, used_wrap;	/* packed wrap counters */
	uint16_t signalled;		/* packed: used_idx at the last check */
	bool signalled_wrap;
};

/* Problems that still leave the status byte usable (answered IOERR). */
enum blk_chain_flags {
	BLK_CHAIN_FAULT		= 1u << 0,	/* a buffer is not guest RAM */
	BLK_CHAIN_ORDER		= 1u << 1,	/* readable after writable */
	BLK_CHAIN_TOOMANY	= 1u << 2,	/* more than BLK_CHAIN_MAX_IOV */
};

/*
 * A walked chain: iov[0, nout) are the device-readable bytes in order,
 * iov[nout, nout + nin) the device-writable ones; status is the last
 * byte of the last descriptor when that descriptor is writable, else
 * NULL (then the request cannot be answered).
 */
struct blk_chain {
	uint16_t head;			/* split: head index; packed: position */
	uint16_t id;			/* what the used element names */
	uint16_t ring_descs;		/* packed: ring slots the chain used */
	unsigned flags;
	unsigned ndesc;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	uint8_t *status;
	struct iovec iov[BLK_CHAIN_MAX_IOV];
};

int blk_vring_init(struct blk_vring *vr, void *desc, void *avail, void *used,
		   unsigned size) __attribute__((warn_unused_result));
/* A packed ring: descriptors, driver and device event areas. */
int blk_vring_init_packed(struct blk_vring *vr, void *desc, void *driver_event,
			  void *device_event, unsigned size)
	__attribute__((warn_unused_result));

/* Packed ring indexes as vhost-user carries them: wrap counter in bit 15. */
static inline uint16_t blk_vring_packed_index(uint16_t idx, bool wrap)
{
	return (uint16_t)((idx & 0x7fff) | (wrap ? 0x8000 : 0));
}

/* Where the ring starts: as blk_queue_indexes() reports it. */
void blk_vring_set_base(struct blk_vring *vr, uint16_t last_avail,
			uint16_t used_idx);

/*
 * Next head from the avail ring: 1 and *head set, 0 when the ring is
 * empty, -EPROTO when avail->idx claims more entries than the ring has.
 * Packed: *head is the position of an available descriptor; the ring
 * moves on only with blk_vring_consume() once the chain was walked.
 */
int blk_vring_pop(struct blk_vring *vr, uint16_t *head)
	__attribute__((warn_unused_result));

/* Entries the driver has made available that we have not taken
 * (packed: 1 if there is at least one). */
uint16_t blk_vring_pending(const struct blk_vring *vr);

/* Packed: move past a walked chain's ring descriptors. */
void blk_vring_consume(struct blk_vring *vr, const struct blk_chain *c);

/*
 * Walk the chain at head.  0: walked (c->flags may name problems);
 * -EINVAL: head or a next index out of range, or indirect descriptors
 * misused; -ELOOP: more descriptors than the table holds (a loop);
 * -EFAULT: the indirect table is not guest RAM.  On error nothing in
 * the chain can be trusted, not even where its status byte is.
 */
int blk_chain_walk(const struct blk_mem *m, const struct blk_vring *vr,
		   uint16_t head, struct blk_chain *c)
	__attribute__((warn_unused_result));

/*
 * Packed: walk a chain from a copy of its n ring descriptors (the
 * inflight region's, after a restart: the ring slots may hold used
 * descriptors by now).  As blk_chain_walk(); -EINVAL too when the chain
 * does not use exactly the n descriptors.
 */
int blk_chain_walk_copy(const struct blk_mem *m, const struct blk_vring *vr,
			const struct vring_packed_desc *descs, unsigned n,
			struct blk_chain *c)
	__attribute__((warn_unused_result));

/*
 * Queue a used element for chain c with len bytes written.  Split: not
 * visible to the driver until publish; packed: visible at once.
 */
void blk_vring_push(struct blk_vring *vr, const struct blk_chain *c,
		    uint32_t len);

/*
 * Make pushed elements visible (store-release of used->idx).  Returns
 * true when the driver asked to be interrupted for them (used_event or
 * VRING_AVAIL_F_NO_INTERRUPT).
 */
bool blk_vring_publish(struct blk_vring *vr);

/*
 * Kick suppression: enable before sleeping (then re-check for work),
 * disable while polling.
 */
void blk_vring_kicks(struct blk_vring *vr, bool enable);

#endif
