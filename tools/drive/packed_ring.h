/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The driver side of a packed virtqueue (virtio 1.2 2.8): the same job as
 * split_ring.h, with the same distrust of the device: a used descriptor
 * naming no buffer in flight, claiming more than its chain can take, or
 * used flags out of step with the wrap counter break the ring (sticky),
 * never the driver.
 */
#ifndef SPLITVM_DRIVE_PACKED_RING_H
#define SPLITVM_DRIVE_PACKED_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "split_ring.h"	/* struct split_ring_buf */

struct packed_ring;

/* Bytes for num descriptors and the two event structures. */
size_t packed_ring_mem_size(unsigned num);

/* num: 1..32768 (packed rings need no power of two). */
int packed_ring_create(void *mem, unsigned num, bool event_idx,
		       const char *name, struct packed_ring **out)
	__attribute__((warn_unused_result));
void packed_ring_destroy(struct packed_ring *r);

/* SET_VRING_ADDR: descriptor ring, driver and device event areas. */
void *packed_ring_desc(const struct packed_ring *r);
void *packed_ring_driver_event(const struct packed_ring *r);
void *packed_ring_device_event(const struct packed_ring *r);

/* SET_VRING_BASE for a fresh ring: avail 0 and used 0, wrap counters 1. */
uint32_t packed_ring_initial_base(void);

/*
 * SET_VRING_BASE after a back-end restart: the used position we have
 * read up to, as avail and used.  A packed ring has no index in memory
 * to say more; a back-end with an inflight region resumes from that.
 */
uint32_t packed_ring_resume_base(const struct packed_ring *r);

int packed_ring_add(struct packed_ring *r, const struct split_ring_buf *bufs,
		    unsigned n, void *token)
	__attribute__((warn_unused_result));
bool packed_ring_publish(struct packed_ring *r);
int packed_ring_get_used(struct packed_ring *r, void **token, uint32_t *len)
	__attribute__((warn_unused_result));
bool packed_ring_notify_enable(struct packed_ring *r);
void packed_ring_notify_disable(struct packed_ring *r);
unsigned packed_ring_in_flight(const struct packed_ring *r);
const char *packed_ring_error(const struct packed_ring *r);

#endif
