/* SPDX-License-Identifier: GPL-2.0-only */
#include "split_ring.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

/*
 * The device may rewrite the descriptor table at will, so the chain links
 * and lengths the driver relies on are kept in private arrays and the
 * shared table is only ever written.
 */
struct split_head {
	void *token;
	uint32_t writable;	/* bytes the device may write into the chain */
	uint16_t ndesc;		/* 0: not a chain in flight */
};

struct split_ring {
	char name[32];
	unsigned num;
	bool event_idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;	/* avail->ring[num] */
	uint16_t *avail_event;	/* (uint16_t *)&used->ring[num] */

	uint16_t *next;		/* private chain / free-list links */
	struct split_head *heads;
	uint16_t free_head;
	unsigned num_free;
	unsigned in_flight;

	uint16_t avail_idx;	/* next avail slot to fill */
	uint16_t published;	/* avail->idx as last published */
	uint16_t last_used;	/* next used slot to consume */
	/*
	 * What we last wrote to avail->flags / used_event: a store, even of
	 * the same value, takes the cache line from the device polling it.
	 */
	uint16_t shadow_flags;
	uint16_t shadow_used_event;
	char *error;
};

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

size_t split_ring_mem_size(unsigned num)
{
	size_t used_off = align_up(virtio_split_desc_size(num) +
				   virtio_split_avail_size(num),
				   VRING_USED_ALIGN_SIZE);

	return used_off + virtio_split_used_size(num);
}

int split_ring_create(void *mem, unsigned num, bool event_idx,
		      const char *name, struct split_ring **out)
{
	struct split_ring *r;
	uint8_t *base = mem;

	*out = NULL;
	if (!num || num > VIRTIO_QUEUE_SIZE_MAX || (num & (num - 1)) ||
	    ((uintptr_t)mem & (VRING_DESC_ALIGN_SIZE - 1)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->next = calloc(num, sizeof(*r->next));
	r->heads = calloc(num, sizeof(*r->heads));
	if (!r->next || !r->heads) {
		split_ring_destroy(r);
		return -ENOMEM;
	}
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ring");
	memset(mem, 0, split_ring_mem_size(num));
	r->num = num;
	r->event_idx = event_idx;
	r->desc = (struct vring_desc *)base;
	r->avail = (struct vring_avail *)(base + virtio_split_desc_size(num));
	r->used = (struct vring_used *)(base +
		align_up(virtio_split_desc_size(num) +
			 virtio_split_avail_size(num), VRING_USED_ALIGN_SIZE));
	r->used_event = &r->avail->ring[num];
	r->avail_event = (uint16_t *)&r->used->ring[num];
	for (unsigned i = 0; i < num; i++)
		r->next[i] = (uint16_t)((i + 1) % num);
	r->free_head = 0;
	r->num_free = num;
	*out = r;
	return 0;
}

void split_ring_destroy(struct split_ring *r)
{
	if (!r)
		return;
	free(r->next);
	free(r->heads);
	free(r->error);
	free(r);
}

void *split_ring_desc(const struct split_ring *r) { return r->desc; }
void *split_ring_avail(const struct split_ring *r) { return r->avail; }
void *split_ring_used(const struct split_ring *r) { return r->used; }
unsigned split_ring_num(const struct split_ring *r) { return r->num; }
unsigned split_ring_in_flight(const struct split_ring *r) { return r->in_flight; }

uint16_t split_ring_device_used_idx(const struct split_ring *r)
{
	return __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
}
unsigned split_ring_free_descs(const struct split_ring *r) { return r->num_free; }
const char *split_ring_error(const struct split_ring *r) { return r->error; }

__attribute__((format(printf, 2, 3)))
static int split_ring_break(struct split_ring *r, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (r->error)
		return -EPROTO;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* The caller reports it (with its context): no log line here. */
	r->error = msg ? msg : strdup("device broke the ring");
	return -EPROTO;
}

int split_ring_add(struct split_ring *r, const struct split_ring_buf *bufs,
		   unsigned n, void *token)
{
	uint16_t head, i, last = 0;
	uint32_t writable = 0;

	if (r->error)
		return -EPROTO;
	if (!n || n > r->num)
		return -EINVAL;
	for (unsigned k = 1; k < n; k++)
		if (bufs[k - 1].device_writes && !bufs[k].device_writes)
			return -EINVAL;
	if (n > r->num_free)
		return -ENOSPC;

	head = i = r->free_head;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *d = &r->desc[i];

		d->addr = bufs[k].gpa;
		d->len = bufs[k].len;
		d->flags = bufs[k].device_writes ? VRING_DESC_F_WRITE : 0;
		if (bufs[k].device_writes)
			writable += bufs[k].len;
		if (k + 1 < n) {
			d->flags |= VRING_DESC_F_NEXT;
			d->next = r->next[i];
		}
		last = i;
		i = r->next[i];
	}
	r->free_head = r->next[last];
	r->num_free -= n;
	r->heads[head] = (struct split_head){
		.token = token, .writable = writable, .ndesc = (uint16_t)n,
	};
	r->in_flight++;
	r->avail->ring[r->avail_idx & (r->num - 1)] = head;
	r->avail_idx++;
	return 0;
}

int split_ring_add_raw(struct split_ring *r,
		       const struct split_ring_raw_desc *d, unsigned n,
		       void *token)
{
	uint16_t idx[SPLIT_RING_RAW_MAX], i;
	uint32_t writable = 0;

	if (r->error)
		return -EPROTO;
	if (!n || n > SPLIT_RING_RAW_MAX || n > r->num)
		return -EINVAL;
	for (unsigned k = 0; k < n; k++)
		if ((d[k].flags & VRING_DESC_F_NEXT) && !d[k].next_absolute &&
		    d[k].next >= n)
			return -EINVAL;
	if (n > r->num_free)
		return -ENOSPC;

	/* The private links keep the n taken descriptors a chain. */
	i = r->free_head;
	for (unsigned k = 0; k < n; k++) {
		idx[k] = i;
		i = r->next[i];
	}
	r->free_head = i;
	r->num_free -= n;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *v = &r->desc[idx[k]];

		v->addr = d[k].gpa;
		v->len = d[k].len;
		v->flags = d[k].flags;
		v->next = !(d[k].flags & VRING_DESC_F_NEXT) ? 0 :
			  d[k].next_absolute ? d[k].next : idx[d[k].next];
		if (d[k].flags & VRING_DESC_F_WRITE)
			writable += d[k].len;
	}
	r->heads[idx[0]] = (struct split_head){
		.token = token, .writable = writable, .ndesc = (uint16_t)n,
	};
	r->in_flight++;
	r->avail->ring[r->avail_idx & (r->num - 1)] = idx[0];
	r->avail_idx++;
	return 0;
}

bool split_ring_publish(struct split_ring *r)
{
	uint16_t old = r->published, new = r->avail_idx;

	if (old == new || r->error)
		return false;
	/* Descriptors and ring entries before the index (release). */
	__atomic_store_n(&r->avail->idx, new, __ATOMIC_RELEASE);
	r->published = new;
	/* The index store before reading the device's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (r->event_idx)
		return vring_need_event(__atomic_load_n(r->avail_event,
							__ATOMIC_RELAXED),
					new, old);
	return !(__atomic_load_n(&r->used->flags, __ATOMIC_RELAXED) &
		 VRING_USED_F_NO_NOTIFY);
}

int split_ring_get_used(struct split_ring *r, void **token, uint32_t *len)
{
	struct vring_used_elem elem;
	uint16_t used_idx, pending, id, i;
	struct split_head *h;

	if (r->error)
		return -EPROTO;
	used_idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	if (used_idx == r->last_used)
		return 0;
	pending = (uint16_t)(used_idx - r->last_used);
	if (pending > r->in_flight)
		return split_ring_break(r, "used idx %u is %u ahead of the %u "
					"consumed, but only %u chains are in "
					"flight", used_idx, pending,
					r->last_used, r->in_flight);
	elem = r->used->ring[r->last_used & (r->num - 1)];
	if (elem.id >= r->num)
		return split_ring_break(r, "used element %u: id %u is out of "
					"range (queue size %u)", r->last_used,
					elem.id, r->num);
	id = (uint16_t)elem.id;
	h = &r->heads[id];
	if (!h->ndesc)
		return split_ring_break(r, "used element %u: id %u is not a "
					"chain in flight (duplicate "
					"completion?)", r->last_used, id);
	/* As in packed_ring.c: a read-only chain's used len is ignored. */
	if (elem.len > h->writable && !h->writable)
		elem.len = 0;
	if (elem.len > h->writable)
		return split_ring_break(r, "used element %u: id %u len %u is "
					"more than the %u writable bytes of "
					"its chain", r->last_used, id,
					elem.len, h->writable);
	*token = h->token;
	*len = elem.len;
	/* Back to the free list along the private links. */
	i = id;
	for (unsigned k = 1; k < h->ndesc; k++)
		i = r->next[i];
	r->next[i] = r->free_head;
	r->free_head = id;
	r->num_free += h->ndesc;
	h->ndesc = 0;
	r->in_flight--;
	r->last_used++;
	return 1;
}

static void set_used_event(struct split_ring *r, uint16_t v)
{
	if (v != r->shadow_used_event) {
		__atomic_store_n(r->used_event, v, __ATOMIC_RELAXED);
		r->shadow_used_event = v;
	}
}

static void set_avail_flags(struct split_ring *r, uint16_t v)
{
	if (v != r->shadow_flags) {
		__atomic_store_n(&r->avail->flags, v, __ATOMIC_RELAXED);
		r->shadow_flags = v;
	}
}

bool split_ring_notify_enable(struct split_ring *r)
{
	if (r->event_idx)
		set_used_event(r, r->last_used);
	else
		set_avail_flags(r, 0);
	/* Our request before reading the index the device may have moved. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) !=
	       r->last_used;
}

void split_ring_notify_disable(struct split_ring *r)
{
	/*
	 * With event index there is no off switch: a used_event just behind
	 * the consumer is the one the device reaches last.
	 */
	if (r->event_idx)
		set_used_event(r, (uint16_t)(r->last_used - 1));
	else
		set_avail_flags(r, VRING_AVAIL_F_NO_INTERRUPT);
}
