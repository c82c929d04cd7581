/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The driver side of a split virtqueue (virtio 1.2 2.7) in memory shared
 * with a device: add descriptor chains, publish them with the kick
 * decision, take completions.  Nothing the device writes is trusted: a used
 * element naming no chain in flight, a length above what the chain can
 * take, or a used index running ahead makes the ring "broken" (sticky,
 * with a message), never a crash.  Device-agnostic: blk and net use it.
 */
#ifndef SPLITVM_DRIVE_SPLIT_RING_H
#define SPLITVM_DRIVE_SPLIT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct split_ring;

/* One buffer of a chain: a guest-physical address the device translates. */
struct split_ring_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;	/* VRING_DESC_F_WRITE */
};

/* Bytes of shared memory a ring of num entries needs (4096-aligned start). */
size_t split_ring_mem_size(unsigned num);

/*
 * A ring of num entries (a power of two up to VIRTIO_QUEUE_SIZE_MAX) laid
 * out in mem (split_ring_mem_size(num) bytes, 16-byte aligned, zeroed here).
 * event_idx: VIRTIO_RING_F_EVENT_IDX was negotiated.  name tags messages.
 */
int split_ring_create(void *mem, unsigned num, bool event_idx,
		      const char *name, struct split_ring **out)
	__attribute__((warn_unused_result));
void split_ring_destroy(struct split_ring *r);

/* Where the three parts are (for SET_VRING_ADDR, as front-end addresses). */
void *split_ring_desc(const struct split_ring *r);
void *split_ring_avail(const struct split_ring *r);
void *split_ring_used(const struct split_ring *r);
unsigned split_ring_num(const struct split_ring *r);

/*
 * Queue a chain of n buffers (readable ones first, as virtio requires of
 * the device's view) with the caller's token; it becomes visible to the
 * device at the next split_ring_publish().  -ENOSPC when fewer than n
 * descriptors are free, -EINVAL for n == 0 or a readable buffer after a
 * writable one, -EPROTO when broken.
 */
int split_ring_add(struct split_ring *r, const struct split_ring_buf *bufs,
		   unsigned n, void *token)
	__attribute__((warn_unused_result));

/*
 * A descriptor exactly as the caller wants it, to build chains a device
 * must refuse (probe mode): flags are written as given; with
 * VRING_DESC_F_NEXT, next is an index into the same array (it may point
 * backwards: a loop), or with next_absolute a raw descriptor-table index
 * (it may point outside the table).
 */
struct split_ring_raw_desc {
	uint64_t gpa;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
	bool next_absolute;
};

#define SPLIT_RING_RAW_MAX	16

/*
 * Queue a raw chain of n (<= SPLIT_RING_RAW_MAX) descriptors: n are taken
 * from the free list whatever the links say, and given back when the
 * chain is used.  The used length may be up to the sum of the lengths
 * flagged VRING_DESC_F_WRITE.  -EINVAL for a relative next out of range.
 */
int split_ring_add_raw(struct split_ring *r,
		       const struct split_ring_raw_desc *d, unsigned n,
		       void *token)
	__attribute__((warn_unused_result));

/*
 * Make the queued chains visible (avail->idx) and say whether the device
 * asked to be notified of them (event index or VRING_USED_F_NO_NOTIFY).
 */
bool split_ring_publish(struct split_ring *r);

/*
 * Take one completion: 1 with *token and *len (bytes the device says it
 * wrote), 0 when none is pending, -EPROTO when the device broke the ring
 * (split_ring_error() says how; every later call fails the same way).
 */
int split_ring_get_used(struct split_ring *r, void **token, uint32_t *len)
	__attribute__((warn_unused_result));

/*
 * Ask for a used-buffer notification at the next completion (event index:
 * used_event = next used index; else clear VRING_AVAIL_F_NO_INTERRUPT) or
 * suppress them.  Enabling returns true when completions are already
 * pending (they may have arrived before the device saw the request): do
 * not sleep then.
 */
bool split_ring_notify_enable(struct split_ring *r);
void split_ring_notify_disable(struct split_ring *r);

/*
 * The used index as the device last wrote it: the vring base to give a
 * restarted back-end (what it completed; INFLIGHT_SHMFD covers the rest).
 */
uint16_t split_ring_device_used_idx(const struct split_ring *r);

/* Chains added and not completed yet; free descriptors. */
unsigned split_ring_in_flight(const struct split_ring *r);
unsigned split_ring_free_descs(const struct split_ring *r);

/* Why the ring is broken, or NULL. */
const char *split_ring_error(const struct split_ring *r);

#endif
