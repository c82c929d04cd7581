/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-net control virtqueue, run by the core itself (vhost-user
 * leaves it to the front-end): reads commands from guest RAM, answers
 * VIRTIO_NET_OK or VIRTIO_NET_ERR, fills the used ring.  Split rings only.
 */
#ifndef SPLITVM_VIRTIO_NET_CTRL_H
#define SPLITVM_VIRTIO_NET_CTRL_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;
struct virtio_net_ctrl;

/* Readable bytes of one command we look at (header and data). */
#define VIRTIO_NET_CTRL_CMD_MAX		64

struct virtio_net_ctrl_ops {
	/*
	 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET with 1 <= pairs <= max_pairs
	 * (checked): 0, or -errno and the driver gets VIRTIO_NET_ERR.
	 */
	int (*set_queue_pairs)(void *opaque, unsigned pairs);
};

struct virtio_net_ctrl_config {
	const char *name;		/* log tag, not copied */
	const struct guest_mem *mem;
	/* The queue as the transport has it at DRIVER_OK (split ring). */
	uint16_t size;
	uint64_t desc, driver, device;
	/* Negotiated: */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */
	uint16_t max_pairs;		/* VIRTIO_NET_F_MQ: N; 0: not */
};

/*
 * Start running the queue from index 0.  -EINVAL for a size that is not
 * a power of two in 1..32768, -EFAULT when a ring part is not wholly in
 * one guest RAM region (the ring pointers are resolved once, here).
 */
int virtio_net_ctrl_start(const struct virtio_net_ctrl_config *cfg,
			  const struct virtio_net_ctrl_ops *ops, void *opaque,
			  struct virtio_net_ctrl **out)
	__attribute__((warn_unused_result));
void virtio_net_ctrl_stop(struct virtio_net_ctrl *ctrl);

/*
 * Run the commands the driver made available, at most the queue's size
 * per call so that a driver that keeps adding cannot hold the caller:
 * a caller that gets the queue size back should call again later.
 * Returns how many were answered and sets *notify when the driver wants a used buffer
 * notification for them (flags or used_event).  A malformed ring or
 * chain (index out of range, buffer outside RAM, loop, readable after
 * writable, no 2-byte header, no writable ack last, nested indirect
 * table, ...) returns -EINVAL, -EFAULT or -ELOOP, logged once: the
 * queue is then dead until stopped, later calls return the same error
 * without reading guest memory.  The caller serializes calls.
 */
int virtio_net_ctrl_process(struct virtio_net_ctrl *ctrl, bool *notify)
	__attribute__((warn_unused_result));

#endif
