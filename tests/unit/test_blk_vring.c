/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: guest memory translation and the split-ring chain walker
 * against hostile rings in a memfd "guest RAM": indices past the ring,
 * loops, indirect misuse, buffers outside or across regions, status
 * bytes that are not writable or not last, avail indices that run ahead.
 */
#include <errno.h>

#include "blk_testmem.h"
#include "unit.h"

static struct testmem tm;
static struct blk_chain chain;

static int setup(void)
{
	return tm_init(&tm);
}

static int teardown(void)
{
	tm_fini(&tm);
	return 0;
}

/* ---- blk_mem ------------------------------------------------------------ */

static void test_mem_ptr(void)
{
	CU_ASSERT_PTR_EQUAL(blk_mem_ptr(&tm.mem, TM_BASE0, 16), tm.host);
	CU_ASSERT_PTR_EQUAL(blk_mem_ptr(&tm.mem, TM_BASE0 + TM_SIZE - 1, 1),
			    tm.host + TM_SIZE - 1);
	CU_ASSERT_PTR_NULL(blk_mem_ptr(&tm.mem, TM_BASE0 + TM_SIZE - 1, 2));
	CU_ASSERT_PTR_NULL(blk_mem_ptr(&tm.mem, TM_BASE0 - 1, 1));
	CU_ASSERT_PTR_NULL(blk_mem_ptr(&tm.mem, TM_BASE0 + TM_SIZE, 1));
	CU_ASSERT_PTR_NULL(blk_mem_ptr(&tm.mem, TM_BASE0, UINT64_MAX));
	CU_ASSERT_PTR_NULL(blk_mem_ptr(&tm.mem, UINT64_MAX, 1));
}

static void test_mem_add(void)
{
	struct blk_mem m = { 0 };
	uint8_t buf[16];

	CU_ASSERT_EQUAL(blk_mem_add(&m, 0, 0, buf), -EINVAL);
	CU_ASSERT_EQUAL(blk_mem_add(&m, UINT64_MAX - 4, 16, buf), -EINVAL);
	for (unsigned i = 0; i < BLK_MEM_MAX_REGIONS; i++)
		CU_ASSERT_EQUAL(blk_mem_add(&m, i * 16, 16, buf), 0);
	CU_ASSERT_EQUAL(blk_mem_add(&m, 0x1000, 16, buf), -EINVAL);
}

static void test_mem_iov(void)
{
	struct blk_mem m = { 0 };
	struct iovec iov[4];

	/* Two adjacent regions: a range across them needs two iovecs. */
	CU_ASSERT_EQUAL(blk_mem_add(&m, 0, 4096, tm.host), 0);
	CU_ASSERT_EQUAL(blk_mem_add(&m, 4096, 4096, tm.host + TM_SIZE), 0);
	CU_ASSERT_EQUAL(blk_mem_iov(&m, 4000, 200, iov, 4), 2);
	CU_ASSERT_PTR_EQUAL(iov[0].iov_base, tm.host + 4000);
	CU_ASSERT_EQUAL(iov[0].iov_len, 96);
	CU_ASSERT_PTR_EQUAL(iov[1].iov_base, tm.host + TM_SIZE);
	CU_ASSERT_EQUAL(iov[1].iov_len, 104);
	CU_ASSERT_EQUAL(blk_mem_iov(&m, 4000, 200, iov, 1), -E2BIG);
	CU_ASSERT_EQUAL(blk_mem_iov(&m, 8000, 200, iov, 4), -EFAULT);
	CU_ASSERT_EQUAL(blk_mem_iov(&m, UINT64_MAX - 10, 100, iov, 4), -EFAULT);
	CU_ASSERT_EQUAL(blk_mem_iov(&m, 0, 0, iov, 4), 0);
	/* The hole between the test RAM regions. */
	CU_ASSERT_EQUAL(blk_mem_iov(&tm.mem, TM_BASE0 + TM_SIZE - 8, 16, iov,
				    4), -EFAULT);
}

/* ---- avail ring --------------------------------------------------------- */

static void test_vring_init(void)
{
	struct blk_vring vr;
	uint8_t b[64];

	CU_ASSERT_EQUAL(blk_vring_init(&vr, b, b, b, 0), -EINVAL);
	CU_ASSERT_EQUAL(blk_vring_init(&vr, b, b, b, 24), -EINVAL);
	CU_ASSERT_EQUAL(blk_vring_init(&vr, b, b, b, 65536), -EINVAL);
	CU_ASSERT_EQUAL(blk_vring_init(&vr, NULL, b, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(blk_vring_init(&vr, b, b, b, 32768), 0);
}

static void test_vring_pop(void)
{
	struct blk_vring vr = tm.vr;
	struct vring_avail *a = tm_ptr(&tm, TM_AVAIL);
	uint16_t head = 0xffff;

	a->idx = 0;
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), 0);
	a->ring[0] = 3;
	a->ring[1] = 7;
	a->idx = 2;
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), 1);
	CU_ASSERT_EQUAL(head, 3);
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), 1);
	CU_ASSERT_EQUAL(head, 7);
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), 0);
	/* More entries than the ring has: a corrupt index, not a request. */
	a->idx = 2 + TM_QSIZE + 1;
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), -EPROTO);
	CU_ASSERT_EQUAL(vr.last_avail, 2);
	/* What the error reports: the index as read, here a ring ahead... */
	CU_ASSERT_EQUAL(vr.avail_seen, 2 + TM_QSIZE + 1);
	/* ...or behind what was taken (a driver caught writing it). */
	a->idx = 0;
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), -EPROTO);
	CU_ASSERT_EQUAL(vr.avail_seen, 0);
	CU_ASSERT_EQUAL(vr.last_avail, 2);
	/* The 16-bit index wraps. */
	vr.last_avail = 0xffff;
	a->ring[0xffff % TM_QSIZE] = 5;
	a->idx = 0;
	CU_ASSERT_EQUAL(blk_vring_pending(&vr), 1);
	CU_ASSERT_EQUAL(blk_vring_pop(&vr, &head), 1);
	CU_ASSERT_EQUAL(head, 5);
	CU_ASSERT_EQUAL(vr.last_avail, 0);
	a->idx = 0;
}

/* ---- chains ------------------------------------------------------------- */

static void test_chain_good(void)
{
	uint64_t h = tm_alloc(&tm, 16), d = tm_alloc(&tm, 1024),
		 s = tm_alloc(&tm, 1);

	tm_desc(&tm, 0, h, 16, VRING_DESC_F_NEXT, 5);
	tm_desc(&tm, 5, d, 1024, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	tm_desc(&tm, 2, s, 1, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_EQUAL(chain.flags, 0);
	CU_ASSERT_EQUAL(chain.ndesc, 3);
	CU_ASSERT_EQUAL(chain.nout, 1);
	CU_ASSERT_EQUAL(chain.nin, 2);
	CU_ASSERT_EQUAL(chain.out_len, 16);
	CU_ASSERT_EQUAL(chain.in_len, 1025);
	CU_ASSERT_PTR_EQUAL(chain.status, tm_ptr(&tm, s));
	CU_ASSERT_PTR_EQUAL(chain.iov[1].iov_base, tm_ptr(&tm, d));
}

static void test_chain_bad_indices(void)
{
	uint64_t h = tm_alloc(&tm, 16);

	/* Head past the ring. */
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, TM_QSIZE, &chain),
			-EINVAL);
	/* next past the ring. */
	tm_desc(&tm, 1, h, 16, VRING_DESC_F_NEXT, TM_QSIZE);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 1, &chain), -EINVAL);
	tm_desc(&tm, 1, h, 16, VRING_DESC_F_NEXT, 0xffff);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 1, &chain), -EINVAL);
	/* A descriptor chained to itself, and a longer loop. */
	tm_desc(&tm, 1, h, 16, VRING_DESC_F_NEXT, 1);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 1, &chain), -ELOOP);
	tm_desc(&tm, 1, h, 16, VRING_DESC_F_NEXT, 2);
	tm_desc(&tm, 2, h, 16, VRING_DESC_F_NEXT, 3);
	tm_desc(&tm, 3, h, 16, VRING_DESC_F_NEXT, 1);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 1, &chain), -ELOOP);
}

static void test_chain_full_ring(void)
{
	uint64_t b = tm_alloc(&tm, 16);

	/* Exactly Queue Size descriptors is legal; the walk must not cut it. */
	for (unsigned i = 0; i < TM_QSIZE; i++)
		tm_desc(&tm, i, b, 16, i + 1 < TM_QSIZE ?
			VRING_DESC_F_NEXT : VRING_DESC_F_WRITE, i + 1);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_EQUAL(chain.ndesc, TM_QSIZE);
	CU_ASSERT_PTR_NOT_NULL(chain.status);
}

static void test_chain_indirect(void)
{
	struct blk_vring vr = tm.vr;
	uint64_t table = tm_alloc(&tm, 4 * 16), h = tm_alloc(&tm, 16),
		 s = tm_alloc(&tm, 1);
	struct vring_desc *t = tm_ptr(&tm, table);

	t[0] = (struct vring_desc){ h, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ s, 1, VRING_DESC_F_WRITE, 0 };
	tm_desc(&tm, 4, table, 2 * 16, VRING_DESC_F_INDIRECT, 0);

	/* Not negotiated. */
	vr.indirect = false;
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	vr.indirect = true;
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), 0);
	CU_ASSERT_EQUAL(chain.ndesc, 2);
	CU_ASSERT_PTR_EQUAL(chain.status, tm_ptr(&tm, s));

	/* INDIRECT together with NEXT. */
	tm_desc(&tm, 4, table, 2 * 16, VRING_DESC_F_INDIRECT |
		VRING_DESC_F_NEXT, 5);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	/* A table length that is not whole descriptors, or zero. */
	tm_desc(&tm, 4, table, 2 * 16 + 3, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	tm_desc(&tm, 4, table, 0, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	/* A table outside guest memory, or across the hole. */
	tm_desc(&tm, 4, 0x10, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EFAULT);
	tm_desc(&tm, 4, TM_BASE0 + TM_SIZE - 16, 2 * 16,
		VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EFAULT);
	/* Nested indirect. */
	t[1] = (struct vring_desc){ table, 32, VRING_DESC_F_INDIRECT, 0 };
	tm_desc(&tm, 4, table, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	/* A loop inside the table, and a next past its end. */
	t[1] = (struct vring_desc){ s, 1, VRING_DESC_F_NEXT, 0 };
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -ELOOP);
	t[1] = (struct vring_desc){ s, 1, VRING_DESC_F_NEXT, 2 };
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 4, &chain), -EINVAL);
	/* An indirect descriptor further down a direct chain. */
	tm_desc(&tm, 6, h, 16, VRING_DESC_F_NEXT, 4);
	t[1] = (struct vring_desc){ s, 1, VRING_DESC_F_WRITE, 0 };
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &vr, 6, &chain), -EINVAL);
}

static void test_chain_status(void)
{
	uint64_t h = tm_alloc(&tm, 16), s = tm_alloc(&tm, 8);

	/* Last descriptor device-readable: no status. */
	tm_desc(&tm, 0, h, 16, VRING_DESC_F_NEXT, 1);
	tm_desc(&tm, 1, s, 1, 0, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_PTR_NULL(chain.status);
	/* Writable but empty. */
	tm_desc(&tm, 1, s, 0, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_PTR_NULL(chain.status);
	/* Outside guest memory. */
	tm_desc(&tm, 1, 0x10, 1, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_PTR_NULL(chain.status);
	CU_ASSERT(chain.flags & BLK_CHAIN_FAULT);
	/* Address + length wraps the 64-bit space. */
	tm_desc(&tm, 1, UINT64_MAX - 2, 8, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_PTR_NULL(chain.status);
	/* The status is the last byte of a longer last descriptor. */
	tm_desc(&tm, 1, s, 8, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_PTR_EQUAL(chain.status, (uint8_t *)tm_ptr(&tm, s) + 7);
}

static void test_chain_flags(void)
{
	uint64_t h = tm_alloc(&tm, 16), d = tm_alloc(&tm, 512),
		 s = tm_alloc(&tm, 1);

	/* Readable after writable. */
	tm_desc(&tm, 0, h, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	tm_desc(&tm, 1, d, 512, VRING_DESC_F_NEXT, 2);
	tm_desc(&tm, 2, s, 1, VRING_DESC_F_WRITE, 0);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT(chain.flags & BLK_CHAIN_ORDER);
	CU_ASSERT_PTR_NOT_NULL(chain.status);
	/* A data buffer outside guest memory, status still usable. */
	tm_desc(&tm, 0, h, 16, VRING_DESC_F_NEXT, 1);
	tm_desc(&tm, 1, TM_BASE1 + TM_SIZE - 100, 512, VRING_DESC_F_NEXT, 2);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT(chain.flags & BLK_CHAIN_FAULT);
	CU_ASSERT_PTR_EQUAL(chain.status, tm_ptr(&tm, s));
	/* A buffer in region 1 translates through its own mapping. */
	tm_desc(&tm, 1, TM_BASE1 + 512, 512, VRING_DESC_F_NEXT, 2);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	CU_ASSERT_EQUAL(chain.flags, 0);
	CU_ASSERT_PTR_EQUAL(chain.iov[1].iov_base, tm.host + TM_SIZE + 512);
}

/* ---- used ring and notifications --------------------------------------- */

/* Push a used element for head (split: the id is the head). */
static void push(struct blk_vring *vr, uint16_t head, uint32_t len)
{
	struct blk_chain c = { .head = head, .id = head, .ring_descs = 1 };

	blk_vring_push(vr, &c, len);
}

static void test_used_publish(void)
{
	struct blk_vring vr = tm.vr;
	struct vring_avail *a = tm_ptr(&tm, TM_AVAIL);
	struct vring_used *u = tm_used(&tm);
	uint16_t *used_event = &a->ring[TM_QSIZE];

	CU_ASSERT_FALSE(blk_vring_publish(&vr));	/* nothing new */
	a->flags = 0;
	push(&vr, 3, 513);
	CU_ASSERT_EQUAL(u->idx, 0);			/* not yet visible */
	CU_ASSERT_TRUE(blk_vring_publish(&vr));
	CU_ASSERT_EQUAL(u->idx, 1);
	CU_ASSERT_EQUAL(u->ring[0].id, 3);
	CU_ASSERT_EQUAL(u->ring[0].len, 513);
	a->flags = VRING_AVAIL_F_NO_INTERRUPT;
	push(&vr, 4, 1);
	CU_ASSERT_FALSE(blk_vring_publish(&vr));
	a->flags = 0;

	/* Event index: interrupt only when used_event is crossed. */
	vr.event_idx = true;
	*used_event = 5;
	push(&vr, 1, 1);			/* idx 2 -> 3 */
	CU_ASSERT_FALSE(blk_vring_publish(&vr));
	push(&vr, 1, 1);
	push(&vr, 1, 1);
	push(&vr, 1, 1);			/* 3 -> 6 crosses 5 */
	CU_ASSERT_TRUE(blk_vring_publish(&vr));
	u->idx = 0;
}

static void test_kick_suppression(void)
{
	struct blk_vring vr = tm.vr;
	struct vring_used *u = tm_used(&tm);
	uint16_t *avail_event = (uint16_t *)&u->ring[TM_QSIZE];

	blk_vring_kicks(&vr, false);
	CU_ASSERT(u->flags & VRING_USED_F_NO_NOTIFY);
	blk_vring_kicks(&vr, true);
	CU_ASSERT_FALSE(u->flags & VRING_USED_F_NO_NOTIFY);
	vr.event_idx = true;
	vr.last_avail = 42;
	blk_vring_kicks(&vr, true);
	CU_ASSERT_EQUAL(*avail_event, 42);
	/*
	 * Disabled: the driver's next publish, 42 -> 74, must not cross
	 * avail_event (vring_need_event(event, new, old)), nor any other
	 * publish short of a wrap.
	 */
	blk_vring_kicks(&vr, false);
	CU_ASSERT_FALSE((uint16_t)(74 - *avail_event - 1) < (uint16_t)(74 - 42));
	CU_ASSERT_FALSE((uint16_t)(42 + 60000 - *avail_event - 1) <
			(uint16_t)(42 + 60000 - 42));
	vr.last_avail = 0;
	blk_vring_kicks(&vr, false);
	CU_ASSERT_EQUAL(*avail_event, 0xffff);
	CU_ASSERT_FALSE((uint16_t)(32 - *avail_event - 1) < (uint16_t)(32 - 0));
}

/* ---- packed ring -------------------------------------------------------- */

#define PK_AVAIL	VIRTIO_PACKED_DESC_F_AVAIL
#define PK_USED		VIRTIO_PACKED_DESC_F_USED

static struct blk_vring pk;

static void pk_init(void)
{
	CU_ASSERT_EQUAL_FATAL(blk_vring_init_packed(&pk, tm_ptr(&tm, TM_DESC),
			      tm_ptr(&tm, TM_AVAIL), tm_ptr(&tm, TM_USED),
			      TM_QSIZE), 0);
	memset(tm_ptr(&tm, TM_DESC), 0, TM_QSIZE * 16);
}

/* A driver's descriptor at pos, available in round `wrap`. */
static void pk_desc(unsigned pos, uint64_t addr, uint32_t len, uint16_t id,
		    uint16_t flags, bool wrap)
{
	struct vring_packed_desc *d =
		&((struct vring_packed_desc *)tm_ptr(&tm, TM_DESC))[pos];

	d->addr = addr;
	d->len = len;
	d->id = id;
	d->flags = flags | (wrap ? PK_AVAIL : PK_USED);
}

static void test_packed_chain(void)
{
	uint64_t h = tm_alloc(&tm, 16), s = tm_alloc(&tm, 1);
	uint16_t head;

	pk_init();
	CU_ASSERT_EQUAL(blk_vring_pop(&pk, &head), 0);	/* nothing yet */
	/* A chain across the end of the ring: positions 15, 0. */
	pk.last_avail = TM_QSIZE - 1;
	pk_desc(TM_QSIZE - 1, h, 16, 5, VRING_DESC_F_NEXT, true);
	pk_desc(0, s, 1, 5, VRING_DESC_F_WRITE, false);
	CU_ASSERT_EQUAL(blk_vring_pop(&pk, &head), 1);
	CU_ASSERT_EQUAL(head, TM_QSIZE - 1);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, head, &chain), 0);
	CU_ASSERT_EQUAL(chain.id, 5);
	CU_ASSERT_EQUAL(chain.ring_descs, 2);
	CU_ASSERT_PTR_EQUAL(chain.status, tm_ptr(&tm, s));
	blk_vring_consume(&pk, &chain);
	CU_ASSERT_EQUAL(pk.last_avail, 1);
	CU_ASSERT_FALSE(pk.avail_wrap);
	/* Position 1 was last made available in round 1: not now. */
	pk_desc(1, h, 16, 6, 0, true);
	CU_ASSERT_EQUAL(blk_vring_pop(&pk, &head), 0);
	pk_desc(1, h, 16, 6, 0, false);
	CU_ASSERT_EQUAL(blk_vring_pop(&pk, &head), 1);

	/* A buffer id past the ring, and a chain that never ends. */
	pk_init();
	pk_desc(0, h, 16, 0, VRING_DESC_F_NEXT, true);
	pk_desc(1, s, 1, TM_QSIZE, VRING_DESC_F_WRITE, true);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, 0, &chain), -EINVAL);
	for (unsigned i = 0; i < TM_QSIZE; i++)
		pk_desc(i, h, 16, 0, VRING_DESC_F_NEXT, true);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, 0, &chain), -ELOOP);
}

static void test_packed_indirect(void)
{
	uint64_t t = tm_alloc(&tm, 32), h = tm_alloc(&tm, 16),
		 s = tm_alloc(&tm, 1);
	struct vring_packed_desc *tab = tm_ptr(&tm, t);

	pk_init();
	tab[0] = (struct vring_packed_desc){ h, 16, 0, 0 };
	tab[1] = (struct vring_packed_desc){ s, 1, 0, VRING_DESC_F_WRITE };
	pk_desc(0, t, 32, 9, VRING_DESC_F_INDIRECT, true);
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, 0, &chain), -EINVAL);
	pk.indirect = true;
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, 0, &chain), 0);
	CU_ASSERT_EQUAL(chain.id, 9);
	CU_ASSERT_EQUAL(chain.ring_descs, 1);
	CU_ASSERT_EQUAL(chain.ndesc, 2);
	CU_ASSERT_PTR_EQUAL(chain.status, tm_ptr(&tm, s));
	tab[1].flags = VRING_DESC_F_INDIRECT;
	CU_ASSERT_EQUAL(blk_chain_walk(&tm.mem, &pk, 0, &chain), -EINVAL);
	pk.indirect = false;
}

static void test_packed_used(void)
{
	struct vring_packed_desc *d = tm_ptr(&tm, TM_DESC);
	struct vring_packed_desc_event *drv = tm_ptr(&tm, TM_AVAIL);
	struct blk_chain c = { .id = 7, .ring_descs = 3 };

	pk_init();
	drv->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	pk.used_idx = TM_QSIZE - 2;
	blk_vring_push(&pk, &c, 513);
	CU_ASSERT_EQUAL(d[TM_QSIZE - 2].id, 7);
	CU_ASSERT_EQUAL(d[TM_QSIZE - 2].len, 513);
	CU_ASSERT_EQUAL(d[TM_QSIZE - 2].flags & (PK_AVAIL | PK_USED),
			PK_AVAIL | PK_USED);		/* round 1 */
	CU_ASSERT_EQUAL(pk.used_idx, 1);		/* 14 + 3 wraps to 1 */
	CU_ASSERT_FALSE(pk.used_wrap);
	CU_ASSERT_TRUE(blk_vring_publish(&pk));
	CU_ASSERT_FALSE(blk_vring_publish(&pk));	/* nothing new */
	blk_vring_push(&pk, &c, 0);
	CU_ASSERT_EQUAL(d[1].flags & (PK_AVAIL | PK_USED), 0);	/* round 0 */
	drv->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	CU_ASSERT_FALSE(blk_vring_publish(&pk));
	/* Event index: interrupt when the used position passes off_wrap. */
	pk.event_idx = true;
	drv->flags = VRING_PACKED_EVENT_FLAG_DESC;
	drv->off_wrap = 10;				/* round 0, position 10 */
	blk_vring_push(&pk, &c, 1);			/* 4 -> 7 */
	CU_ASSERT_FALSE(blk_vring_publish(&pk));
	blk_vring_push(&pk, &c, 1);			/* 7 -> 10 */
	CU_ASSERT_FALSE(blk_vring_publish(&pk));
	blk_vring_push(&pk, &c, 1);			/* 10 -> 13: passes 10 */
	CU_ASSERT_TRUE(blk_vring_publish(&pk));
	pk.event_idx = false;
}

static CU_TestInfo mem_tests[] = {
	{ "ptr bounds", test_mem_ptr },
	{ "add refuses bad regions", test_mem_add },
	{ "iov across regions and holes", test_mem_iov },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo vring_tests[] = {
	{ "init checks the size", test_vring_init },
	{ "pop: order, wrap, corrupt index", test_vring_pop },
	{ "chain: good", test_chain_good },
	{ "chain: bad indices and loops", test_chain_bad_indices },
	{ "chain: a full-ring chain is legal", test_chain_full_ring },
	{ "chain: indirect misuse", test_chain_indirect },
	{ "chain: status byte", test_chain_status },
	{ "chain: order and faults", test_chain_flags },
	{ "used: publish and interrupt decision", test_used_publish },
	{ "kick suppression", test_kick_suppression },
	{ "packed: availability, wrap, bad chains", test_packed_chain },
	{ "packed: indirect", test_packed_indirect },
	{ "packed: used descriptors and interrupts", test_packed_used },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_mem", setup, teardown, NULL, NULL, mem_tests },
	{ "blk_vring", setup, teardown, NULL, NULL, vring_tests },
	CU_SUITE_INFO_NULL,
};
