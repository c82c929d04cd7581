/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One virtqueue as the jobs see it, split or packed: the two ring drivers
 * behind one set of calls, so blk and net jobs do not care which.
 */
#ifndef SPLITVM_DRIVE_VQ_H
#define SPLITVM_DRIVE_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packed_ring.h"
#include "split_ring.h"

struct vq {
	bool packed;
	struct split_ring *split;
	struct packed_ring *pk;
};

static inline int vq_add(struct vq *q, const struct split_ring_buf *b,
			 unsigned n, void *token)
{
	return q->packed ? packed_ring_add(q->pk, b, n, token) :
			   split_ring_add(q->split, b, n, token);
}

static inline bool vq_publish(struct vq *q)
{
	return q->packed ? packed_ring_publish(q->pk) :
			   split_ring_publish(q->split);
}

static inline int vq_get_used(struct vq *q, void **token, uint32_t *len)
{
	return q->packed ? packed_ring_get_used(q->pk, token, len) :
			   split_ring_get_used(q->split, token, len);
}

static inline bool vq_notify_enable(struct vq *q)
{
	return q->packed ? packed_ring_notify_enable(q->pk) :
			   split_ring_notify_enable(q->split);
}

static inline void vq_notify_disable(struct vq *q)
{
	if (q->packed)
		packed_ring_notify_disable(q->pk);
	else
		split_ring_notify_disable(q->split);
}

static inline unsigned vq_in_flight(const struct vq *q)
{
	return q->packed ? packed_ring_in_flight(q->pk) :
			   split_ring_in_flight(q->split);
}

static inline const char *vq_error(const struct vq *q)
{
	return q->packed ? packed_ring_error(q->pk) :
			   split_ring_error(q->split);
}

#endif
