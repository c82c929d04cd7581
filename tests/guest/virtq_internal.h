/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between the test guest's virtio-pci transport (virtio.c) and its
 * virtqueues (virtq.c): a queue's ring memory, which only the transport
 * hands to the device.  Not for device drivers (they use guest.h).
 */
#ifndef SPLITVM_GUEST_VIRTQ_INTERNAL_H
#define SPLITVM_GUEST_VIRTQ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct virtq;

/* Guest-physical addresses of a queue's three areas (4.1.4.3). */
struct virtq_areas {
	uint64_t desc, driver, device;
};

/* True when no page is left for another queue (pages are never freed). */
bool virtq_pool_exhausted(void);
/*
 * Give vq (size set, the rest zeroed) a zeroed page of the pool laid out
 * as a packed or a split ring, its free lists linked; where its areas
 * are in *areas.  Only after virtq_pool_exhausted() said false.
 */
void virtq_ring_init(struct virtq *vq, bool packed, struct virtq_areas *areas);

#endif
