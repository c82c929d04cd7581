/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test guest's virtqueues, split (2.7) or packed (2.8) behind one
 * API: each one's page of ring memory, then adding, kicking and polling,
 * at CPL3.  virtq_setup() (virtio.c) tells the device where a queue is.
 * No indirect descriptors and no event index, in either layout.
 *
 * What the device writes is checked before use: used ids must name a
 * chain in flight, a split ring's used index may only move forward and
 * never by more than the ring.  Anomalies are counted per queue (a test
 * that tolerates lost frames still reports them).  Every wait has a TSC
 * time-out.
 */
#include "guest.h"
#include "virtio.h"
#include "virtq_internal.h"

/* Polls of used->idx between looks at device_status (an MMIO exit). */
#define VIRTQ_STATUS_POLL_EVERY	(1u << 16)

/*
 * One page per queue: descriptors, then the driver area at 1 KiB, the
 * device area at 2 KiB; far beyond the 16, 2 and 4 bytes of alignment
 * the split ring needs (2.7) and the 16, 4, 4 of the packed one (2.8.10).
 * A packed ring's descriptors have the split ones' size; its areas are
 * the 4-byte event suppression structures.
 */
#define VIRTQ_PAGE		4096
#define VIRTQ_AVAIL_OFF		1024
#define VIRTQ_USED_OFF		2048
/*
 * Pages are never given back, and every layout takes one per queue: net
 * multiqueue's 8 pairs and control queue (17), or a net reset's second
 * set of queues, besides blk's (and its reset's).
 */
#define VIRTQ_POOL		32
_Static_assert(VIRTQ_SIZE_MAX <= VIRTQ_AVAIL_OFF / sizeof(struct vring_desc),
	       "descriptor table fits");
_Static_assert(VIRTQ_AVAIL_OFF + 6 + 2 * VIRTQ_SIZE_MAX <= VIRTQ_USED_OFF,
	       "driver area fits");
_Static_assert(VIRTQ_USED_OFF + 6 + 8 * VIRTQ_SIZE_MAX <= VIRTQ_PAGE,
	       "device area fits");

_Static_assert(sizeof(struct vring_packed_desc) == sizeof(struct vring_desc),
	       "packed descriptors fit where split ones do");

static uint8_t virtq_pool[VIRTQ_POOL][VIRTQ_PAGE]
	__attribute__((aligned(VIRTQ_PAGE)));
static unsigned int virtq_pool_used;

/*
 * x86 keeps stores in order and loads in order, so most ordering the
 * spec asks for needs only the compiler not to move accesses; the store
 * of avail->idx before the load of used->flags needs a real fence.
 */
static inline void virtio_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void virtio_mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

/* ---- ring memory ---- */

bool virtq_pool_exhausted(void)
{
	return virtq_pool_used == VIRTQ_POOL;
}

/* Split: the descriptor free list links through next. */
static void virtq_init_split(struct virtq *vq, uint8_t *mem)
{
	vq->desc = (struct vring_desc *)mem;
	vq->avail = (struct vring_avail *)(mem + VIRTQ_AVAIL_OFF);
	vq->used = (struct vring_used *)(mem + VIRTQ_USED_OFF);
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
}

/*
 * Packed (2.8.1): a zeroed ring is all "not available" to a device
 * expecting wrap counter 1, which both sides start with.  Buffer ids
 * come from their own free list.
 */
static void virtq_init_packed(struct virtq *vq, uint8_t *mem)
{
	vq->packed = true;
	vq->ring = (struct vring_packed_desc *)mem;
	vq->driver_event = (struct vring_packed_desc_event *)(mem + VIRTQ_AVAIL_OFF);
	vq->device_event = (struct vring_packed_desc_event *)(mem + VIRTQ_USED_OFF);
	vq->avail_wrap = true;
	vq->used_wrap = true;
	for (uint16_t i = 0; i < vq->size; i++)
		vq->next_id[i] = (uint16_t)(i + 1);
}

void virtq_ring_init(struct virtq *vq, bool packed, struct virtq_areas *areas)
{
	uint8_t *mem = virtq_pool[virtq_pool_used++];

	memset(mem, 0, VIRTQ_PAGE);
	if (packed)
		virtq_init_packed(vq, mem);
	else
		virtq_init_split(vq, mem);
	areas->desc = (uintptr_t)mem;
	areas->driver = (uintptr_t)(mem + VIRTQ_AVAIL_OFF);
	areas->device = (uintptr_t)(mem + VIRTQ_USED_OFF);
}

void virtq_no_interrupts(struct virtq *vq)
{
	if (vq->packed)
		*(volatile uint16_t *)&vq->driver_event->flags =
			VRING_PACKED_EVENT_FLAG_DISABLE;
	else
		*(volatile uint16_t *)&vq->avail->flags =
			VRING_AVAIL_F_NO_INTERRUPT;
}

/* ---- split virtqueues (2.7) ---- */

static int virtq_add_split(struct virtq *vq, const struct virtq_buf *bufs,
			   unsigned int n)
{
	uint16_t head = vq->free_head, i = head, last = head;

	for (unsigned int k = 0; k < n; k++) {
		struct vring_desc *d = &vq->desc[i];

		d->addr = (uintptr_t)bufs[k].addr;
		d->len = bufs[k].len;
		d->flags = (uint16_t)((bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = d->next;		/* the free list links through next */
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint16_t)n;
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	vq->avail_idx++;
	return head;
}

static void virtq_kick_split(struct virtq *vq)
{
	/* Descriptors and ring entries before the index (2.7.13.3.1). */
	virtio_barrier();
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
	/* The index before the flags read that decides to notify (2.7.13.4). */
	virtio_mb();
	if (*(volatile uint16_t *)&vq->used->flags & VRING_USED_F_NO_NOTIFY) {
		vq->kicks_suppressed++;
		return;
	}
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

/*
 * The element at last_used, which the caller saw published.  An id out
 * of range or naming a chain not in flight (returned twice) is counted
 * and skipped: the ring goes on with the next element.
 */
static const char *virtq_take_split(struct virtq *vq, uint16_t *head,
				    uint32_t *len)
{
	struct vring_used_elem e;
	uint16_t id, i;

	/* The index before the element it covers (2.7.14). */
	virtio_barrier();
	e = vq->used->ring[vq->last_used % vq->size];
	vq->last_used++;
	if (e.id >= vq->size || !vq->chain_len[e.id]) {
		if (e.id >= vq->size)
			vq->used_bad_id++;
		else
			vq->used_twice++;
		guest_printf("guest: warning: virtio queue %u used id=%u is not a chain in flight\n",
			     vq->index, e.id);
		return "virtio used ring names a descriptor not in flight";
	}
	id = (uint16_t)e.id;
	i = id;
	for (uint16_t k = 1; k < vq->chain_len[id]; k++)
		i = vq->desc[i].next;
	vq->desc[i].next = vq->free_head;
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free + vq->chain_len[id]);
	vq->chain_len[id] = 0;
	*head = id;
	*len = e.len;
	return NULL;
}

/* ---- packed virtqueues (2.8) ---- */

/*
 * AVAIL and USED flag bits of a descriptor made available (2.8.1): AVAIL
 * equal to the driver's wrap counter, USED its inverse.  Used (2.8.2):
 * both equal to the wrap counter the driver expects for used ones.
 */
static uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? VIRTIO_PACKED_DESC_F_AVAIL : VIRTIO_PACKED_DESC_F_USED;
}

static bool packed_is_used(uint16_t flags, bool wrap)
{
	bool avail = flags & VIRTIO_PACKED_DESC_F_AVAIL;
	bool used = flags & VIRTIO_PACKED_DESC_F_USED;

	return avail == used && used == wrap;
}

/*
 * Every descriptor of the chain carries the id; the head's flags are
 * written last (2.8.21.1), and the first head since the last kick is held
 * back until that kick, so virtq_kick() publishes a batch as the split
 * ring's index store does.  Later heads may be written at once: the
 * device stops at the held one, whose old flags (zero, or AVAIL/USED of
 * the previous lap) never read as available.
 */
static int virtq_add_packed(struct virtq *vq, const struct virtq_buf *bufs,
			    unsigned int n)
{
	uint16_t id = vq->free_head, pos = vq->next_avail, head_pos = pos;
	uint16_t avail = packed_avail_bits(vq->avail_wrap), head_flags = 0;

	for (unsigned int k = 0; k < n; k++) {
		struct vring_packed_desc *d = &vq->ring[pos];
		uint16_t flags = (uint16_t)(avail |
			(bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
			(k + 1 < n ? VRING_DESC_F_NEXT : 0));

		d->addr = (uintptr_t)bufs[k].addr;
		d->len = bufs[k].len;
		d->id = id;
		if (k)
			d->flags = flags;
		else
			head_flags = flags;
		if (++pos == vq->size) {
			pos = 0;
			vq->avail_wrap = !vq->avail_wrap;
			avail = packed_avail_bits(vq->avail_wrap);
		}
	}
	vq->next_avail = pos;
	vq->free_head = vq->next_id[id];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[id] = (uint16_t)n;
	if (!vq->held) {
		vq->held = true;
		vq->held_pos = head_pos;
		vq->held_flags = head_flags;
	} else {
		virtio_barrier();
		*(volatile uint16_t *)&vq->ring[head_pos].flags = head_flags;
	}
	return id;
}

static void virtq_kick_packed(struct virtq *vq)
{
	uint16_t flags;

	if (vq->held) {
		/* The chains' other fields before the held head's flags. */
		virtio_barrier();
		*(volatile uint16_t *)&vq->ring[vq->held_pos].flags =
			vq->held_flags;
		vq->held = false;
	}
	/* The flags store before the read that decides to notify (2.8.21.3). */
	virtio_mb();
	flags = *(volatile uint16_t *)&vq->device_event->flags;
	/* DESC (2.8.10) needs EVENT_IDX, never negotiated here: notify. */
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
		vq->kicks_suppressed++;
		return;
	}
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

static bool virtq_packed_ready(const struct virtq *vq)
{
	return packed_is_used(*(volatile uint16_t *)&vq->ring[vq->used_pos].flags,
			      vq->used_wrap);
}

/*
 * One used descriptor per chain, with its id (2.8.7): the next one is
 * that chain's length further on.  The id must name a chain in flight.
 */
static const char *virtq_take_packed(struct virtq *vq, uint16_t *head,
				     uint32_t *len)
{
	const struct vring_packed_desc *d = &vq->ring[vq->used_pos];
	uint16_t id, n;

	/* The flags before the id and length they cover (2.8.21.2). */
	virtio_barrier();
	id = d->id;
	if (id >= vq->size || !vq->chain_len[id]) {
		/* Its chain length is unknown: the ring cannot go on. */
		if (id >= vq->size)
			vq->used_bad_id++;
		else
			vq->used_twice++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used id=%u at %u is not a chain in flight\n",
			     vq->index, id, vq->used_pos);
		return "virtio used ring names a descriptor not in flight";
	}
	*len = d->len;
	*head = id;
	n = vq->chain_len[id];
	vq->used_pos = (uint16_t)(vq->used_pos + n);
	if (vq->used_pos >= vq->size) {
		vq->used_pos = (uint16_t)(vq->used_pos - vq->size);
		vq->used_wrap = !vq->used_wrap;
	}
	vq->last_used++;
	vq->next_id[id] = vq->free_head;
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->chain_len[id] = 0;
	return NULL;
}

/* ---- virtqueues: either layout ---- */

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int n)
{
	if (!n || n > vq->num_free)
		return -1;
	return vq->packed ? virtq_add_packed(vq, bufs, n) :
			    virtq_add_split(vq, bufs, n);
}

void virtq_kick(struct virtq *vq)
{
	if (vq->packed)
		virtq_kick_packed(vq);
	else
		virtq_kick_split(vq);
}

void virtq_notify(struct virtq *vq)
{
	/* What virtq_kick() published before the doorbell. */
	virtio_mb();
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

uint16_t virtq_used_idx(const struct virtq *vq)
{
	uint16_t pos, count = 0;
	bool wrap;

	if (!vq->packed)
		return *(volatile uint16_t *)&vq->used->idx;
	/* Walk the used descriptors as virtq_take_packed() would. */
	pos = vq->used_pos;
	wrap = vq->used_wrap;
	while (count < vq->size &&
	       packed_is_used(*(volatile uint16_t *)&vq->ring[pos].flags,
			      wrap)) {
		uint16_t id;

		virtio_barrier();
		id = vq->ring[pos].id;
		if (id >= vq->size || !vq->chain_len[id])
			break;		/* virtq_wait() reports it */
		count++;
		pos = (uint16_t)(pos + vq->chain_len[id]);
		if (pos >= vq->size) {
			pos = (uint16_t)(pos - vq->size);
			wrap = !wrap;
		}
	}
	return (uint16_t)(vq->last_used + count);
}

bool virtq_used_ready(const struct virtq *vq)
{
	return vq->packed ? virtq_packed_ready(vq) :
	       *(volatile uint16_t *)&vq->used->idx != vq->last_used;
}

/*
 * Split: used->idx may only move forward, by at most the ring size past
 * the chains taken (2.7.8).  Anything else is counted once and the queue
 * is broken: nothing more is taken from it.
 */
static const char *virtq_split_idx_check(struct virtq *vq, uint16_t used_idx)
{
	if ((int16_t)(used_idx - vq->used_seen) < 0) {
		vq->used_idx_back++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used idx moved back from %u to %u\n",
			     vq->index, vq->used_seen, used_idx);
		return "virtio used index moved backwards";
	}
	if ((uint16_t)(used_idx - vq->last_used) > vq->size) {
		vq->used_idx_jump++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used idx %u is more than the ring (%u) past the %u taken\n",
			     vq->index, used_idx, vq->size, vq->last_used);
		return "virtio used index ran ahead of the ring";
	}
	vq->used_seen = used_idx;
	return NULL;
}

int virtq_poll(struct virtq *vq, uint16_t *head, uint32_t *len,
	       const char **why)
{
	uint16_t used_idx;

	if (vq->used_broken) {
		*why = "virtio used ring broken by an earlier anomaly";
		return -1;
	}
	if (vq->packed) {
		if (!virtq_packed_ready(vq))
			return 0;
		*why = virtq_take_packed(vq, head, len);
		return *why ? -1 : 1;
	}
	used_idx = *(volatile uint16_t *)&vq->used->idx;
	if (used_idx == vq->last_used && used_idx == vq->used_seen)
		return 0;
	*why = virtq_split_idx_check(vq, used_idx);
	if (*why)
		return -1;
	if (used_idx == vq->last_used)
		return 0;
	*why = virtq_take_split(vq, head, len);
	return *why ? -1 : 1;
}

uint64_t virtq_used_anomalies(const struct virtq *vq)
{
	return vq->used_bad_id + vq->used_twice + vq->used_idx_back +
	       vq->used_idx_jump;
}

const char *virtq_wait(struct virtq *vq, uint16_t *head, uint32_t *len,
		       uint64_t timeout_ms)
{
	uint64_t deadline = tsc_deadline_ms(timeout_ms);
	uint32_t polls = 0;
	const char *why;

	for (;;) {
		int r = virtq_poll(vq, head, len, &why);

		if (r > 0)
			return NULL;
		if (r < 0)
			return why;
		if (++polls % VIRTQ_STATUS_POLL_EVERY == 0 &&
		    virtio_status(vq->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return "virtio device needs reset";
		if (tsc_expired(deadline)) {
			guest_printf("guest: warning: virtio queue %u time-out: %s avail=%u used=%u taken=%u status=0x%02x\n",
				     vq->index, vq->packed ? "packed" : "split",
				     vq->packed ? vq->next_avail : vq->avail_idx,
				     virtq_used_idx(vq), vq->last_used,
				     virtio_status(vq->dev));
			return virtio_status(vq->dev) & VIRTIO_CONFIG_S_NEEDS_RESET ?
			       "virtio device needs reset" :
			       "virtio request timed out";
		}
		cpu_relax();
	}
}
