/* SPDX-License-Identifier: GPL-2.0-only */
#include "packed_ring.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

#define F_AVAIL		VIRTIO_PACKED_DESC_F_AVAIL
#define F_USED		VIRTIO_PACKED_DESC_F_USED
#define WRAP_BIT	(1u << VRING_PACKED_EVENT_F_WRAP_CTR)

struct packed_buf {
	void *token;
	uint32_t writable;
	uint16_t ndesc;		/* 0: not in flight */
};

struct packed_ring {
	char name[32];
	unsigned num;
	bool event_idx;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver;	/* ours: interrupt control */
	struct vring_packed_desc_event *device;	/* theirs: kick control */

	struct packed_buf *bufs;	/* by buffer id */
	uint16_t *free_ids;
	unsigned nfree_ids;
	unsigned free_descs;
	unsigned in_flight;

	uint16_t next_avail;
	bool avail_wrap;
	uint16_t next_used;
	bool used_wrap;
	/* Where avail stood at the last publish, for the kick decision. */
	uint16_t published;
	bool published_wrap;
	uint16_t shadow_flags;
	uint16_t shadow_off_wrap;
	char *error;
};

size_t packed_ring_mem_size(unsigned num)
{
	return (size_t)num * sizeof(struct vring_packed_desc) +
	       2 * sizeof(struct vring_packed_desc_event);
}

uint32_t packed_ring_initial_base(void)
{
	/* avail index 0 with wrap 1; used index 0 with wrap 1 above. */
	return WRAP_BIT | (WRAP_BIT << 16);
}

uint32_t packed_ring_resume_base(const struct packed_ring *r)
{
	uint32_t pos = r->next_used | (r->used_wrap ? WRAP_BIT : 0);

	return pos | (pos << 16);
}

int packed_ring_create(void *mem, unsigned num, bool event_idx,
		       const char *name, struct packed_ring **out)
{
	struct packed_ring *r;

	*out = NULL;
	if (!num || num > VIRTIO_QUEUE_SIZE_MAX || ((uintptr_t)mem & 15))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->bufs = calloc(num, sizeof(*r->bufs));
	r->free_ids = calloc(num, sizeof(*r->free_ids));
	if (!r->bufs || !r->free_ids) {
		packed_ring_destroy(r);
		return -ENOMEM;
	}
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ring");
	memset(mem, 0, packed_ring_mem_size(num));
	r->num = num;
	r->event_idx = event_idx;
	r->desc = mem;
	r->driver = (struct vring_packed_desc_event *)(r->desc + num);
	r->device = r->driver + 1;
	for (unsigned i = 0; i < num; i++)
		r->free_ids[i] = (uint16_t)(num - 1 - i);
	r->nfree_ids = num;
	r->free_descs = num;
	r->avail_wrap = r->used_wrap = r->published_wrap = true;
	*out = r;
	return 0;
}

void packed_ring_destroy(struct packed_ring *r)
{
	if (!r)
		return;
	free(r->bufs);
	free(r->free_ids);
	free(r->error);
	free(r);
}

void *packed_ring_desc(const struct packed_ring *r) { return r->desc; }
void *packed_ring_driver_event(const struct packed_ring *r) { return r->driver; }
void *packed_ring_device_event(const struct packed_ring *r) { return r->device; }
unsigned packed_ring_in_flight(const struct packed_ring *r) { return r->in_flight; }
const char *packed_ring_error(const struct packed_ring *r) { return r->error; }

__attribute__((format(printf, 2, 3)))
static int packed_break(struct packed_ring *r, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (r->error)
		return -EPROTO;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	r->error = msg ? msg : strdup("device broke the ring");
	return -EPROTO;
}

int packed_ring_add(struct packed_ring *r, const struct split_ring_buf *bufs,
		    unsigned n, void *token)
{
	uint16_t id, head = r->next_avail, head_flags = 0, i = r->next_avail;
	bool wrap = r->avail_wrap;
	uint32_t writable = 0;

	if (r->error)
		return -EPROTO;
	if (!n || n > r->num)
		return -EINVAL;
	for (unsigned k = 1; k < n; k++)
		if (bufs[k - 1].device_writes && !bufs[k].device_writes)
			return -EINVAL;
	if (n > r->free_descs || !r->nfree_ids)
		return -ENOSPC;

	id = r->free_ids[--r->nfree_ids];
	for (unsigned k = 0; k < n; k++) {
		struct vring_packed_desc *d = &r->desc[i];
		uint16_t flags = wrap ? F_AVAIL : F_USED;

		if (bufs[k].device_writes) {
			flags |= VRING_DESC_F_WRITE;
			writable += bufs[k].len;
		}
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		d->addr = bufs[k].gpa;
		d->len = bufs[k].len;
		d->id = id;
		/* The head's flags go last: they make the chain visible. */
		if (k == 0)
			head_flags = flags;
		else
			d->flags = flags;
		if (++i == r->num) {
			i = 0;
			wrap = !wrap;
		}
	}
	__atomic_store_n(&r->desc[head].flags, head_flags, __ATOMIC_RELEASE);
	r->next_avail = i;
	r->avail_wrap = wrap;
	r->free_descs -= n;
	r->bufs[id] = (struct packed_buf){
		.token = token, .writable = writable, .ndesc = (uint16_t)n,
	};
	r->in_flight++;
	return 0;
}

bool packed_ring_publish(struct packed_ring *r)
{
	uint16_t old = r->published, new = r->next_avail, flags, off_wrap;
	uint16_t event, added;
	bool old_wrap = r->published_wrap;

	if (r->error || (old == new && old_wrap == r->avail_wrap))
		return false;
	r->published = new;
	r->published_wrap = r->avail_wrap;
	/* Our descriptors before the device's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&r->device->flags, __ATOMIC_RELAXED);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !r->event_idx)
		return true;
	/*
	 * The device wants a kick once the descriptor at off_wrap is made
	 * available: was it among those since the last publish?  Offsets
	 * are compared in a space unrolled past one wrap.
	 */
	off_wrap = __atomic_load_n(&r->device->off_wrap, __ATOMIC_RELAXED);
	event = off_wrap & ~WRAP_BIT;
	if (!!(off_wrap & WRAP_BIT) != r->avail_wrap)
		event = (uint16_t)(event - r->num);
	added = (uint16_t)(old_wrap == r->avail_wrap ? (unsigned)new - old :
			   (unsigned)new + r->num - old);
	return (uint16_t)(new - event - 1) < added;
}

int packed_ring_get_used(struct packed_ring *r, void **token, uint32_t *len)
{
	struct vring_packed_desc *d;
	struct packed_buf *b;
	uint16_t flags, id;
	uint32_t l;
	bool avail, used;

	if (r->error)
		return -EPROTO;
	d = &r->desc[r->next_used];
	flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
	avail = !!(flags & F_AVAIL);
	used = !!(flags & F_USED);
	if (avail != used || used != r->used_wrap)
		return 0;	/* still ours to the device */
	if (!r->in_flight)
		return packed_break(r, "descriptor %u marked used with nothing "
				    "in flight", r->next_used);
	id = d->id;
	l = d->len;
	if (id >= r->num)
		return packed_break(r, "used descriptor %u: buffer id %u is out "
				    "of range (queue size %u)", r->next_used,
				    id, r->num);
	b = &r->bufs[id];
	if (!b->ndesc)
		return packed_break(r, "used descriptor %u: buffer id %u is not "
				    "in flight (duplicate completion?)",
				    r->next_used, id);
	/*
	 * DPDK's vhost reports a transmit buffer's own length as "used":
	 * harmless on a chain the device may not write at all, so taken as
	 * 0 there; anywhere else more than the chain holds is a lie.
	 */
	if (l > b->writable && !b->writable)
		l = 0;
	if (l > b->writable)
		return packed_break(r, "used descriptor %u: buffer id %u len "
				    "%u is more than the %u writable bytes",
				    r->next_used, id, l, b->writable);
	*token = b->token;
	*len = l;
	/* The device skips the rest of the chain's slots. */
	r->next_used = (uint16_t)(r->next_used + b->ndesc);
	if (r->next_used >= r->num) {
		r->next_used = (uint16_t)(r->next_used - r->num);
		r->used_wrap = !r->used_wrap;
	}
	r->free_descs += b->ndesc;
	b->ndesc = 0;
	r->free_ids[r->nfree_ids++] = id;
	r->in_flight--;
	return 1;
}

static void set_driver_event(struct packed_ring *r, uint16_t flags,
			     uint16_t off_wrap)
{
	if (off_wrap != r->shadow_off_wrap) {
		__atomic_store_n(&r->driver->off_wrap, off_wrap,
				 __ATOMIC_RELAXED);
		r->shadow_off_wrap = off_wrap;
	}
	if (flags != r->shadow_flags) {
		__atomic_store_n(&r->driver->flags, flags, __ATOMIC_RELEASE);
		r->shadow_flags = flags;
	}
}

bool packed_ring_notify_enable(struct packed_ring *r)
{
	uint16_t flags;

	if (r->event_idx)
		set_driver_event(r, VRING_PACKED_EVENT_FLAG_DESC,
				 (uint16_t)(r->next_used |
					    (r->used_wrap ? WRAP_BIT : 0)));
	else
		set_driver_event(r, VRING_PACKED_EVENT_FLAG_ENABLE,
				 r->shadow_off_wrap);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&r->desc[r->next_used].flags, __ATOMIC_ACQUIRE);
	return !!(flags & F_AVAIL) == !!(flags & F_USED) &&
	       !!(flags & F_USED) == r->used_wrap;
}

void packed_ring_notify_disable(struct packed_ring *r)
{
	set_driver_event(r, VRING_PACKED_EVENT_FLAG_DISABLE, r->shadow_off_wrap);
}
