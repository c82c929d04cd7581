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

int blk_vring_init_packed(struct blk_vring *vr, void *desc, void *driver_event,
			  void *device_event, unsigned size)
{
	if (!desc || !driver_event || !device_event || size == 0 ||
	    size > VIRTIO_QUEUE_SIZE_MAX || (size & (size - 1)))
		return -EINVAL;
	memset(vr, 0, sizeof(*vr));
	vr->packed = true;
	vr->pdesc = desc;
	vr->driver_event = driver_event;
	vr->device_event = device_event;
	vr->size = (uint16_t)size;
	vr->avail_wrap = vr->used_wrap = true;
	vr->signalled_wrap = true;
	return 0;
}

void blk_vring_set_base(struct blk_vring *vr, uint16_t last_avail,
			uint16_t used_idx)
{
	if (!vr->packed) {
		vr->last_avail = last_avail;
		vr->used_idx = used_idx;
		return;
	}
	vr->last_avail = last_avail & 0x7fff;
	vr->avail_wrap = last_avail >> 15;
	vr->used_idx = used_idx & 0x7fff;
	vr->used_wrap = used_idx >> 15;
	vr->signalled = vr->used_idx;
	vr->signalled_wrap = vr->used_wrap;
}

/* Packed: is the descriptor at pos available in the wrap round `wrap`? */
static bool blk_packed_avail(const struct blk_vring *vr, uint16_t pos,
			     bool wrap)
{
	uint16_t f = __atomic_load_n(&vr->pdesc[pos].flags, __ATOMIC_ACQUIRE);

	return !!(f & VIRTIO_PACKED_DESC_F_AVAIL) == wrap &&
	       !!(f & VIRTIO_PACKED_DESC_F_USED) != wrap;
}

uint16_t blk_vring_pending(const struct blk_vring *vr)
{
	if (vr->packed)
		return blk_packed_avail(vr, vr->last_avail, vr->avail_wrap);
	return (uint16_t)(__atomic_load_n(&vr->avail->idx, __ATOMIC_ACQUIRE) -
			  vr->last_avail);
}

void blk_vring_consume(struct blk_vring *vr, const struct blk_chain *c)
{
	uint32_t next = (uint32_t)vr->last_avail + c->ring_descs;

	if (!vr->packed)
		return;
	if (next >= vr->size) {
		next -= vr->size;
		vr->avail_wrap = !vr->avail_wrap;
	}
	vr->last_avail = (uint16_t)next;
}

int blk_vring_pop(struct blk_vring *vr, uint16_t *head)
{
	uint16_t pending;

	if (vr->packed) {
		if (!blk_packed_avail(vr, vr->last_avail, vr->avail_wrap))
			return 0;
		*head = vr->last_avail;
		return 1;
	}
	pending = blk_vring_pending(vr);
	vr->avail_seen = (uint16_t)(vr->last_avail + pending);
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

/*
 * Packed: the chain at position head of descs[ndescs], the ring or a
 * copy of one chain (virtio 1.2 2.8.6, 2.8.7).
 */
static int blk_chain_walk_packed(const struct blk_mem *m,
				 const struct blk_vring *vr,
				 const struct vring_packed_desc *descs,
				 uint32_t ndescs, uint16_t head,
				 struct blk_chain *c)
{
	struct vring_packed_desc d, last = { 0 };
	uint32_t pos = head, n;

	memcpy(&d, &descs[pos], sizeof(d));
	if (d.flags & VRING_DESC_F_INDIRECT) {
		const struct vring_packed_desc *t;
		uint32_t tsize;

		if (!vr->indirect || (d.flags & VRING_DESC_F_NEXT) ||
		    d.len == 0 || d.len % sizeof(d) ||
		    d.len / sizeof(d) > VIRTIO_QUEUE_SIZE_MAX)
			return -EINVAL;
		t = blk_mem_ptr(m, d.addr, d.len);
		if (!t)
			return -EFAULT;
		c->id = d.id;
		c->ring_descs = 1;
		tsize = d.len / sizeof(d);
		/* An indirect table is the whole chain, in order. */
		for (n = 0; n < tsize; n++) {
			struct vring_desc sd;

			memcpy(&d, &t[n], sizeof(d));
			if (d.flags & VRING_DESC_F_INDIRECT)
				return -EINVAL;
			sd = (struct vring_desc){ d.addr, d.len,
				(uint16_t)(d.flags & VRING_DESC_F_WRITE), 0 };
			c->ndesc++;
			blk_chain_add(m, c, &sd);
			last = d;
		}
	} else {
		for (n = 0;; n++) {
			struct vring_desc sd;

			if (n >= ndescs)
				return -ELOOP;
			if (n)
				memcpy(&d, &descs[pos], sizeof(d));
			if (d.flags & VRING_DESC_F_INDIRECT)
				return -EINVAL;
			sd = (struct vring_desc){ d.addr, d.len,
				(uint16_t)(d.flags & VRING_DESC_F_WRITE), 0 };
			c->ndesc++;
			blk_chain_add(m, c, &sd);
			last = d;
			if (!(d.flags & VRING_DESC_F_NEXT))
				break;
			pos = pos + 1 == ndescs ? 0 : pos + 1;
		}
		c->id = last.id;
		c->ring_descs = (uint16_t)(n + 1);
	}
	if (c->id >= vr->size)
		return -EINVAL;
	if ((last.flags & VRING_DESC_F_WRITE) && last.len > 0 &&
	    last.addr + (last.len - 1) >= last.addr)
		c->status = blk_mem_ptr(m, last.addr + (last.len - 1), 1);
	return 0;
}

static void blk_chain_reset(struct blk_chain *c, uint16_t head)
{
	c->head = head;
	c->id = head;
	c->ring_descs = 0;
	c->flags = 0;
	c->ndesc = 0;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	c->status = NULL;
}

int blk_chain_walk_copy(const struct blk_mem *m, const struct blk_vring *vr,
			const struct vring_packed_desc *descs, unsigned n,
			struct blk_chain *c)
{
	int ret;

	blk_chain_reset(c, 0);
	if (!vr->packed || n == 0 || n > vr->size)
		return -EINVAL;
	ret = blk_chain_walk_packed(m, vr, descs, n, 0, c);
	/* The copy is exactly one chain, as many slots as it took. */
	if (!ret && c->ring_descs != n)
		return -EINVAL;
	return ret;
}

int blk_chain_walk(const struct blk_mem *m, const struct blk_vring *vr,
		   uint16_t head, struct blk_chain *c)
{
	const struct vring_desc *table = vr->desc;
	uint32_t tsize = vr->size, idx = head, n;
	struct vring_desc d, last;

	blk_chain_reset(c, head);
	if (head >= vr->size)
		return -EINVAL;
	if (vr->packed)
		return blk_chain_walk_packed(m, vr, vr->pdesc, vr->size, head,
					     c);

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

void blk_vring_push(struct blk_vring *vr, const struct blk_chain *c,
		    uint32_t len)
{
	if (vr->packed) {
		struct vring_packed_desc *d = &vr->pdesc[vr->used_idx];
		uint16_t f = len ? VRING_DESC_F_WRITE : 0;
		uint32_t next = (uint32_t)vr->used_idx + c->ring_descs;

		if (vr->used_wrap)
			f |= VIRTIO_PACKED_DESC_F_AVAIL |
			     VIRTIO_PACKED_DESC_F_USED;
		d->id = c->id;
		d->len = len;
		/* id and len before the flags that hand it back. */
		__atomic_store_n(&d->flags, f, __ATOMIC_RELEASE);
		if (next >= vr->size) {
			next -= vr->size;
			vr->used_wrap = !vr->used_wrap;
		}
		vr->used_idx = (uint16_t)next;
		return;
	}
	struct vring_used_elem *e = &vr->used->ring[vr->used_idx &
						     (vr->size - 1)];

	e->id = c->id;
	e->len = len;
	vr->used_idx++;
}

/*
 * Packed: interrupt for used entries up to used_idx?  Like
 * vring_need_event() with positions that wrap at the ring size.
 */
static bool blk_vring_publish_packed(struct blk_vring *vr)
{
	uint16_t old = vr->signalled, now = vr->used_idx, flags, off_wrap, ev;
	bool old_wrap = vr->signalled_wrap;

	if (old == now && old_wrap == vr->used_wrap)
		return false;
	vr->signalled = now;
	vr->signalled_wrap = vr->used_wrap;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&vr->driver_event->flags, __ATOMIC_RELAXED);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vr->event_idx)
		return true;
	off_wrap = __atomic_load_n(&vr->driver_event->off_wrap,
				   __ATOMIC_RELAXED);
	ev = off_wrap & 0x7fff;
	/* Put old, now and the event on one line that does not wrap. */
	if (old_wrap != vr->used_wrap)
		old = (uint16_t)(old - vr->size);
	if ((bool)(off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) != vr->used_wrap)
		ev = (uint16_t)(ev - vr->size);
	return (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
}

bool blk_vring_publish(struct blk_vring *vr)
{
	uint16_t old = vr->used_published, now = vr->used_idx;

	if (vr->packed)
		return blk_vring_publish_packed(vr);
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
	if (vr->packed) {
		__atomic_store_n(&vr->device_event->flags, enable ?
				 VRING_PACKED_EVENT_FLAG_ENABLE :
				 VRING_PACKED_EVENT_FLAG_DISABLE,
				 __ATOMIC_RELAXED);
	} else if (vr->event_idx) {
		/*
		 * Disabled: avail_event just behind what we took, which the
		 * driver's avail index only crosses again after wrapping.  Left
		 * where the last enable put it, the driver's next publish
		 * crossed it: one kick after every sleep, even once awake.
		 */
		*blk_vring_avail_event(vr) = enable ? vr->last_avail :
					     (uint16_t)(vr->last_avail - 1);
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
