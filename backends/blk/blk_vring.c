/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_vring.h"

#include <errno.h>
#include <string.h>

/* The event-index words sit just past each ring (virtio 1.2 2.7.7). */
static volatile uint16_t *blk_vring_used_event(struct blk_vring *vr)
{
	return &vr->avail->ring[vr->size];
}

static volatile uint16_t *blk_vring_avail_event(struct blk_vring *vr)
{
	return (volatile uint16_t *)&vr->used->ring[vr->size];
}

int blk_vring_init(struct blk_vring *vr, void *desc, void *avail, void *used,
		   unsigned size)
{
	if (!desc || !avail || !used || size == 0 ||
	    size > VIRTIO_QUEUE_SIZE_MAX || (size & (size - 1)))
		return -EINVAL;
	memset(vr, 0, sizeof(*vr));
	vr->desc = desc;
	vr->avail = avail;
	vr->used = used;
	vr->size = (uint16_t)size;
	return 0;
}

uint16_t blk_vring_pending(const struct blk_vring *vr)
{
	return (uint16_t)(__atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE) -
			  vr->last_avail);
}

int blk_vring_pop(struct blk_vring *vr, uint16_t *head)
{
	uint16_t pending = blk_vring_pending(vr);

	if (pending == 0)
		return 0;
	if (pending > vr->size)
		return -EPROTO;
	/* The acquire load of avail->idx orders this read after it. */
	*head = __atomic_load_n(&vr->avail->ring[vr->last_avail &
						  (vr->size - 1)],
				__ATOMIC_RELAXED);
	vr->last_avail++;
	return 1;
}

/* Translate one descriptor's buffer into the chain. */
static void blk_chain_add(const struct blk_mem *m, struct blk_chain *c,
			  const struct vring_desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	unsigned used = c->nout + c->nin;
	int n;

	if (!write && c->nin) {
		c->flags |= BLK_CHAIN_ORDER;
		return;
	}
	if (d->len == 0)
		return;
	n = blk_mem_iov(m, d->addr, d->len, &c->iov[used],
			BLK_CHAIN_MAX_IOV - used);
	if (n == -EFAULT) {
		c->flags |= BLK_CHAIN_FAULT;
		return;
	}
	if (n < 0) {
		c->flags |= BLK_CHAIN_TOOMANY;
		return;
	}
	if (write) {
		c->nin += n;
		c->in_len += d->len;
	} else {
		c->nout += n;
		c->out_len += d->len;
	}
}

int blk_chain_walk(const struct blk_mem *m, const struct blk_vring *vr,
		   uint16_t head, struct blk_chain *c)
{
	const struct vring_desc *table = vr->desc;
	uint32_t tsize = vr->size, idx = head, n;
	struct vring_desc d, last;

	c->head = head;
	c->flags = 0;
	c->ndesc = 0;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	c->status = NULL;
	if (head >= vr->size)
		return -EINVAL;

	/* Each descriptor is copied once: the driver may change it under us. */
	memcpy(&d, &table[head], sizeof(d));
	if (d.flags & VRING_DESC_F_INDIRECT) {
		if (!vr->indirect || (d.flags & VRING_DESC_F_NEXT) ||
		    d.len == 0 || d.len % sizeof(struct vring_desc) ||
		    d.len / sizeof(struct vring_desc) > VIRTIO_QUEUE_SIZE_MAX)
			return -EINVAL;
		table = blk_mem_ptr(m, d.addr, d.len);
		if (!table)
			return -EFAULT;
		tsize = d.len / sizeof(struct vring_desc);
		idx = 0;
	}

	for (n = 0;; n++) {
		if (n >= tsize)
			return -ELOOP;
		memcpy(&d, &table[idx], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;	/* nested, or not alone at the head */
		c->ndesc++;
		blk_chain_add(m, c, &d);
		last = d;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= tsize)
			return -EINVAL;
	}

	if ((last.flags & VRING_DESC_F_WRITE) && last.len > 0 &&
	    last.addr + (last.len - 1) >= last.addr)
		c->status = blk_mem_ptr(m, last.addr + (last.len - 1), 1);
	return 0;
}

void blk_vring_push(struct blk_vring *vr, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vr->used->ring[vr->used_idx &
						     (vr->size - 1)];

	e->id = head;
	e->len = len;
	vr->used_idx++;
}

bool blk_vring_publish(struct blk_vring *vr)
{
	uint16_t old = vr->used_published, now = vr->used_idx;

	if (old == now)
		return false;
	/* Elements and status bytes before the index (virtio 1.2 2.7.8). */
	__atomic_store_n(&vr->used->idx, now, __ATOMIC_RELEASE);
	vr->used_published = now;
	/* The index store before reading the driver's suppression fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vr->event_idx) {
		uint16_t ev = *blk_vring_used_event(vr);

		/* vring_need_event(): did [old, now) cross used_event? */
		return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	}
	return !(__atomic_load_n(&vr->avail->flags, __ATOMIC_RELAXED) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

void blk_vring_kicks(struct blk_vring *vr, bool enable)
{
	if (vr->event_idx) {
		/* Disabled: leave avail_event behind, kicks stay rare. */
		if (enable)
			*blk_vring_avail_event(vr) = vr->last_avail;
	} else {
		uint16_t f = vr->used->flags;

		if (enable)
			f &= (uint16_t)~VRING_USED_F_NO_NOTIFY;
		else
			f |= VRING_USED_F_NO_NOTIFY;
		__atomic_store_n(&vr->used->flags, f, __ATOMIC_RELAXED);
	}
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
