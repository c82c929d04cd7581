/* SPDX-License-Identifier: GPL-2.0-only */
#include "vhost_user_inflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * librte_vhost 22.11 keeps the region like this (lib/vhost/vhost.c):
 * taking a chain allocates entries from old_free_head (head entry first:
 * num 0, counter, inflight 1; then one copy per ring descriptor, moving
 * free_head), then sets old_free_head; completing it pushes the chain
 * back on the free list at free_head and moves used_idx (set_last), the
 * used descriptor goes into the ring, and clearing sets inflight 0 and
 * then copies free_head, used_idx and the wrap counter into the old_*
 * fields (clr).  The old_* fields are therefore the last state with no
 * operation half done.
 */

static uint16_t vu_packed_pos(uint16_t idx, bool wrap)
{
	return (uint16_t)((idx & 0x7fff) | (wrap ? 0x8000 : 0));
}

/* pos + n in a ring of size entries, wrap counter in bit 15. */
static uint16_t vu_packed_pos_add(uint16_t pos, uint32_t n, uint16_t size)
{
	uint32_t idx = (pos & 0x7fffu) + n;
	bool wrap = pos >> 15;

	while (idx >= size) {
		idx -= size;
		wrap = !wrap;
	}
	return vu_packed_pos((uint16_t)idx, wrap);
}

/* Has the device written the descriptor at pos in the round `wrap`? */
static bool vu_packed_ring_used(const struct vring_packed_desc *ring, uint16_t pos,
			  bool wrap)
{
	uint16_t f = __atomic_load_n(&ring[pos].flags, __ATOMIC_ACQUIRE);

	/*
	 * The driver makes it available with USED = !wrap; the device
	 * returns it with USED = wrap; the driver's next round makes it
	 * available with USED = !!wrap again.  Either of the last two
	 * means the completion reached the ring.
	 */
	return !!(f & VIRTIO_PACKED_DESC_F_USED) == wrap;
}

int vhost_user_inflight_packed_repair(struct vhost_user_inflight_packed *r,
			       uint16_t size,
			       const struct vring_packed_desc *ring)
{
	uint16_t ofh, e;

	/*
	 * Only the committed fields must be in range: a crash inside
	 * set_last can leave used_idx past the ring (it subtracts the size
	 * in a second store).
	 */
	if (size == 0 || r->desc_num != size || r->old_free_head > size ||
	    r->old_used_idx >= size || r->old_used_wrap_counter > 1)
		return -EINVAL;
	ofh = r->old_free_head;

	/*
	 * A take cut short: its head entry (old_free_head, which is free in
	 * every committed state) is marked in flight.  The chain is still
	 * available in the ring (nothing completed since): forget it.
	 */
	if (ofh < size && r->desc[ofh].inflight) {
		r->desc[ofh].inflight = 0;
		r->free_head = ofh;
		return VHOST_USER_INFLIGHT_UNTAKEN;
	}

	if (r->free_head == ofh && r->used_idx == r->old_used_idx &&
	    r->used_wrap_counter == r->old_used_wrap_counter)
		return VHOST_USER_INFLIGHT_CLEAN;
	/*
	 * A completion cut short.  The ring decides: its used descriptor
	 * goes at the committed position after set_last returned and
	 * before clr starts, so if it is there set_last's fields are whole.
	 */
	if (!vu_packed_ring_used(ring, r->old_used_idx, r->old_used_wrap_counter)) {
		/* The driver never saw it: undo set_last (in any part). */
		r->free_head = ofh;
		r->used_idx = r->old_used_idx;
		r->used_wrap_counter = r->old_used_wrap_counter;
		return VHOST_USER_INFLIGHT_ROLLBACK;
	}
	if (r->used_idx >= size || r->used_wrap_counter > 1 ||
	    r->free_head > size)
		return -EINVAL;
	if (r->free_head != ofh) {
		/* clr did not get to old_free_head: the chain is free_head. */
		e = r->free_head;
		if (e >= size || r->desc[e].num == 0 ||
		    vu_packed_pos_add(vu_packed_pos(r->old_used_idx,
					r->old_used_wrap_counter),
				r->desc[e].num, size) !=
		    vu_packed_pos(r->used_idx, r->used_wrap_counter))
			return -EINVAL;
		r->desc[e].inflight = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r->old_free_head = r->free_head;
	}
	/* Otherwise clr had cleared inflight and set old_free_head. */
	r->old_used_idx = r->used_idx;
	r->old_used_wrap_counter = r->used_wrap_counter;
	return VHOST_USER_INFLIGHT_COMMIT;
}

int vhost_user_inflight_packed_chain(const struct vhost_user_inflight_packed *r,
			      uint16_t size, uint16_t e,
			      struct vring_packed_desc *out, unsigned max)
{
	const struct vhost_user_inflight_packed_desc *h;
	uint16_t i = e, num;

	if (e >= size || r->desc_num != size)
		return -EINVAL;
	h = &r->desc[e];
	num = h->num;
	if (!h->inflight || num == 0 || num > size || num > max)
		return -EINVAL;
	for (unsigned k = 0; k < num; k++) {
		const struct vhost_user_inflight_packed_desc *d;

		if (i >= size)
			return -EINVAL;
		d = &r->desc[i];
		out[k] = (struct vring_packed_desc){
			.addr = d->addr, .len = d->len, .id = d->id,
			.flags = d->flags,
		};
		if (k + 1 < num)
			i = d->next;
	}
	/* set_last links the free list through it. */
	if (h->last != i)
		return -EINVAL;
	return num;
}

/* Mark entry i used by one owner; false if it already was or is out of range. */
static bool vu_claim(uint8_t *seen, uint16_t i, uint16_t size)
{
	if (i >= size || seen[i])
		return false;
	seen[i] = 1;
	return true;
}

int vhost_user_inflight_packed_resume(const struct vhost_user_inflight_packed *r,
			       uint16_t size, const uint16_t *entries,
			       unsigned n, uint16_t *last_avail,
			       uint16_t *used_idx)
{
	uint32_t descs = 0, owned = 0;
	uint8_t *seen;
	uint16_t i;
	int ret = -EINVAL;

	if (size == 0 || r->desc_num != size || n > size ||
	    r->old_used_idx >= size || r->old_used_wrap_counter > 1 ||
	    r->free_head != r->old_free_head ||
	    r->used_idx != r->old_used_idx ||
	    r->used_wrap_counter != r->old_used_wrap_counter)
		return -EINVAL;
	seen = calloc(size, 1);
	if (!seen)
		return -ENOMEM;
	/* Each in-flight chain: its own entries, linked from its head. */
	for (unsigned k = 0; k < n; k++) {
		const struct vhost_user_inflight_packed_desc *h;

		if (entries[k] >= size)
			goto out;
		h = &r->desc[entries[k]];
		if (!h->inflight || h->num == 0 || h->num > size - descs)
			goto out;
		i = entries[k];
		for (unsigned j = 0; j < h->num; j++) {
			if (!vu_claim(seen, i, size))
				goto out;
			if (j + 1 < h->num)
				i = r->desc[i].next;
		}
		if (h->last != i)
			goto out;
		descs += h->num;
	}
	owned = descs;
	/*
	 * The free list: every other entry once, ending at size (DPDK's
	 * end marker).  librte_vhost follows it without bounds checks.
	 */
	for (i = r->old_free_head; i != size; i = r->desc[i].next) {
		if (!vu_claim(seen, i, size) || r->desc[i].inflight)
			goto out;
		owned++;
	}
	if (owned != size)
		goto out;
	*used_idx = vu_packed_pos(r->old_used_idx, r->old_used_wrap_counter);
	*last_avail = vu_packed_pos_add(*used_idx, descs, size);
	ret = 0;
out:
	free(seen);
	return ret;
}

void vhost_user_inflight_packed_start(struct vhost_user_inflight_packed *r,
			       uint16_t size, uint16_t used_idx)
{
	/*
	 * librte_vhost links the free list only when the features were set
	 * before GET_INFLIGHT_FD; nothing is in flight yet, so link it here.
	 */
	for (uint16_t i = 0; i < size; i++) {
		r->desc[i].inflight = 0;
		r->desc[i].next = (uint16_t)(i + 1);
	}
	r->free_head = r->old_free_head = 0;
	r->used_idx = r->old_used_idx = used_idx & 0x7fff;
	r->used_wrap_counter = r->old_used_wrap_counter = used_idx >> 15;
}

/*
 * Is the descriptor at pos a used one the device wrote in the round
 * `wrap` (AVAIL == USED == wrap)?  Stricter than vu_packed_ring_used():
 * a slot the driver made available again in the next round, or a chain's
 * later slot it made available in the previous one, does not count.
 */
static bool vu_packed_ring_written(const struct vring_packed_desc *ring,
				   uint16_t pos, bool wrap)
{
	uint16_t f = __atomic_load_n(&ring[pos].flags, __ATOMIC_ACQUIRE);

	return !!(f & VIRTIO_PACKED_DESC_F_AVAIL) == wrap &&
	       !!(f & VIRTIO_PACKED_DESC_F_USED) == wrap;
}

int vhost_user_inflight_packed_base(const struct vhost_user_inflight_packed *r,
				    uint16_t size,
				    const struct vring_packed_desc *ring,
				    uint32_t *base)
{
	uint64_t bytes = vhost_user_inflight_packed_bytes(size);
	struct vhost_user_inflight_packed *copy;
	uint16_t *entries, avail, used;
	unsigned n = 0;
	int ret;

	if (size == 0 || size > VIRTIO_QUEUE_SIZE_MAX)
		return -EINVAL;
	if (__atomic_load_n(&r->version, __ATOMIC_ACQUIRE) == 0)
		return -ENODATA;
	copy = malloc(bytes);
	entries = malloc(sizeof(*entries) * size);
	if (!copy || !entries) {
		ret = -ENOMEM;
		goto out;
	}
	/* The back-end is gone: nobody writes the region meanwhile. */
	memcpy(copy, r, bytes);
	ret = vhost_user_inflight_packed_repair(copy, size, ring);
	if (ret < 0)
		goto out;
	/* The heads librte_vhost would list for resubmission. */
	for (uint16_t i = 0; i < size; i++)
		if (copy->desc[i].inflight)
			entries[n++] = i;
	ret = vhost_user_inflight_packed_resume(copy, size, entries, n,
						 &avail, &used);
	/*
	 * Nothing is ever written at the committed used position in its
	 * round: a used descriptor there means the back-end completed more
	 * than it recorded (one that does not keep the region), and
	 * resuming from the region would hand the driver completions twice.
	 */
	if (!ret && vu_packed_ring_written(ring, used & 0x7fff, used >> 15))
		ret = -ESTALE;
	if (!ret)
		*base = (uint32_t)avail |
			(uint32_t)used << VHOST_USER_PACKED_USED_SHIFT;
out:
	free(entries);
	free(copy);
	return ret;
}
