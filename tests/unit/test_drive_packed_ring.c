/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's packed-ring driver against a device simulated here:
 * chains appear only when their head's flags are written, completions by
 * buffer id out of order across many wraps, kick and interrupt
 * suppression, and a device breaking the ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "packed_ring.h"
#include "virtio.h"
#include "unit.h"

#define NUM	8
#define AV	VIRTIO_PACKED_DESC_F_AVAIL
#define US	VIRTIO_PACKED_DESC_F_USED

struct dev {
	void *mem;
	struct packed_ring *r;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *drv, *dev;
	uint16_t avail;		/* next descriptor the device reads */
	bool avail_wrap;
	uint16_t used;		/* next descriptor slot the device writes */
	bool used_wrap;
};

static void dev_init(struct dev *d, bool event_idx)
{
	memset(d, 0, sizeof(*d));
	d->mem = aligned_alloc(4096, 4096);
	CU_ASSERT_FATAL(d->mem != NULL);
	CU_ASSERT_FATAL(packed_ring_create(d->mem, NUM, event_idx, "t",
					   &d->r) == 0);
	d->desc = packed_ring_desc(d->r);
	d->drv = packed_ring_driver_event(d->r);
	d->dev = packed_ring_device_event(d->r);
	d->avail_wrap = d->used_wrap = true;
}

static void dev_fini(struct dev *d)
{
	packed_ring_destroy(d->r);
	free(d->mem);
}

static bool desc_avail(const struct dev *d, uint16_t i, bool wrap)
{
	uint16_t f = d->desc[i].flags;

	return !!(f & AV) == wrap && !!(f & US) != wrap;
}

/* Device: take the next chain; its buffer id and length, or -1. */
static int dev_pop(struct dev *d, unsigned *ndesc)
{
	int id;

	if (!desc_avail(d, d->avail, d->avail_wrap))
		return -1;
	*ndesc = 0;
	for (;;) {
		struct vring_packed_desc *x = &d->desc[d->avail];
		bool more = x->flags & VRING_DESC_F_NEXT;

		id = x->id;
		(*ndesc)++;
		if (++d->avail == NUM) {
			d->avail = 0;
			d->avail_wrap = !d->avail_wrap;
		}
		if (!more)
			return id;
	}
}

static void dev_push(struct dev *d, uint16_t id, uint32_t len, unsigned ndesc)
{
	struct vring_packed_desc *x = &d->desc[d->used];

	x->id = id;
	x->len = len;
	x->flags = d->used_wrap ? (AV | US) : 0;
	d->used = (uint16_t)(d->used + ndesc);
	if (d->used >= NUM) {
		d->used -= NUM;
		d->used_wrap = !d->used_wrap;
	}
}

static int add2(struct dev *d, void *tok)
{
	struct split_ring_buf b[2] = { { 0x1000, 16, false },
				       { 0x2000, 512, true } };

	return packed_ring_add(d->r, b, 2, tok);
}

static void test_chains_and_wraps(void)
{
	struct dev d;
	void *tok;
	uint32_t len;
	unsigned nd[NUM];
	int ids[NUM];

	dev_init(&d, false);
	CU_ASSERT_EQUAL(packed_ring_initial_base(), 0x80008000u);
	for (int round = 0; round < 40; round++) {
		unsigned n = 0, seen = 0;

		/* Chains of two in a ring of eight: four fit, then -ENOSPC. */
		while (add2(&d, (void *)(uintptr_t)(n + 1)) == 0)
			n++;
		CU_ASSERT_EQUAL(n, NUM / 2);
		for (unsigned k = 0; k < n; k++) {
			ids[k] = dev_pop(&d, &nd[k]);
			CU_ASSERT_FATAL(ids[k] >= 0);
			CU_ASSERT_EQUAL(nd[k], 2);
		}
		CU_ASSERT_EQUAL(dev_pop(&d, &nd[0]), -1);
		/* Out of order: last first. */
		for (unsigned k = n; k-- > 0;)
			dev_push(&d, (uint16_t)ids[k], 100 + k, 2);
		while (packed_ring_get_used(d.r, &tok, &len) == 1) {
			seen |= 1u << (uintptr_t)tok;
			CU_ASSERT(len >= 100 && len < 100 + NUM);
		}
		CU_ASSERT_EQUAL(seen, 0x1eu);
		CU_ASSERT_EQUAL(packed_ring_in_flight(d.r), 0);
	}
	CU_ASSERT_PTR_NULL(packed_ring_error(d.r));
	dev_fini(&d);
}

static void test_head_flags_last(void)
{
	struct dev d;
	struct split_ring_buf b[3] = { { 1, 16, false }, { 2, 512, true },
				       { 3, 1, true } };

	dev_init(&d, false);
	CU_ASSERT_EQUAL(packed_ring_add(d.r, b, 3, NULL), 0);
	CU_ASSERT(desc_avail(&d, 0, true));
	CU_ASSERT(desc_avail(&d, 1, true));
	CU_ASSERT_EQUAL(d.desc[0].flags & VRING_DESC_F_WRITE, 0);
	CU_ASSERT(d.desc[1].flags & VRING_DESC_F_WRITE);
	CU_ASSERT(d.desc[1].flags & VRING_DESC_F_NEXT);
	CU_ASSERT_FALSE(d.desc[2].flags & VRING_DESC_F_NEXT);
	CU_ASSERT_EQUAL(d.desc[2].id, d.desc[0].id);
	dev_fini(&d);
}

static void test_suppression(void)
{
	struct dev d;
	unsigned nd;
	int id;
	void *tok;
	uint32_t len;

	dev_init(&d, false);
	CU_ASSERT_EQUAL(add2(&d, NULL), 0);
	CU_ASSERT_TRUE(packed_ring_publish(d.r));		/* ENABLE */
	d.dev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	CU_ASSERT_EQUAL(add2(&d, NULL), 0);
	CU_ASSERT_FALSE(packed_ring_publish(d.r));
	packed_ring_notify_disable(d.r);
	CU_ASSERT_EQUAL(d.drv->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	CU_ASSERT_FALSE(packed_ring_notify_enable(d.r));
	CU_ASSERT_EQUAL(d.drv->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	id = dev_pop(&d, &nd);
	dev_push(&d, (uint16_t)id, 0, nd);
	CU_ASSERT_TRUE(packed_ring_notify_enable(d.r));		/* pending */
	CU_ASSERT_EQUAL(packed_ring_get_used(d.r, &tok, &len), 1);
	dev_fini(&d);

	dev_init(&d, true);
	/* The device asks for a kick at descriptor 4 (wrap 1). */
	d.dev->flags = VRING_PACKED_EVENT_FLAG_DESC;
	d.dev->off_wrap = 4 | 0x8000;
	CU_ASSERT_EQUAL(add2(&d, NULL), 0);			/* 0-1 */
	CU_ASSERT_FALSE(packed_ring_publish(d.r));
	CU_ASSERT_EQUAL(add2(&d, NULL), 0);			/* 2-3 */
	CU_ASSERT_FALSE(packed_ring_publish(d.r));
	CU_ASSERT_EQUAL(add2(&d, NULL), 0);			/* 4-5 */
	CU_ASSERT_TRUE(packed_ring_publish(d.r));
	/* Interrupts: with event index, ask at our next used slot. */
	CU_ASSERT_FALSE(packed_ring_notify_enable(d.r));
	CU_ASSERT_EQUAL(d.drv->flags, VRING_PACKED_EVENT_FLAG_DESC);
	CU_ASSERT_EQUAL(d.drv->off_wrap, 0x8000);
	dev_fini(&d);
}

static void run_fault(int fault, const char *want)
{
	struct dev d;
	unsigned nd;
	void *tok;
	uint32_t len;
	int id;

	dev_init(&d, false);
	CU_ASSERT_EQUAL(add2(&d, (void *)1), 0);
	id = dev_pop(&d, &nd);
	switch (fault) {
	case 0:
		dev_push(&d, NUM + 3, 0, nd);
		break;
	case 1:
		dev_push(&d, (uint16_t)(id + 1), 0, nd);
		break;
	case 2:
		dev_push(&d, (uint16_t)id, 513, nd);
		break;
	case 3:
		dev_push(&d, (uint16_t)id, 0, nd);
		CU_ASSERT_EQUAL(packed_ring_get_used(d.r, &tok, &len), 1);
		dev_push(&d, (uint16_t)id, 0, nd);	/* nothing in flight */
		break;
	}
	CU_ASSERT_EQUAL(packed_ring_get_used(d.r, &tok, &len), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(packed_ring_error(d.r));
	CU_ASSERT_PTR_NOT_NULL(strstr(packed_ring_error(d.r), want));
	CU_ASSERT_EQUAL(add2(&d, NULL), -EPROTO);
	dev_fini(&d);
}

static void test_broken_device(void)
{
	run_fault(0, "out of range");
	run_fault(1, "not in flight");
	run_fault(2, "writable bytes");
	run_fault(3, "nothing in flight");
}

static void test_readonly_chain_len_ignored(void)
{
	struct dev d;
	struct split_ring_buf b = { 0x1000, 72, false };
	unsigned nd;
	void *tok;
	uint32_t len = 99;
	int id;

	dev_init(&d, false);
	CU_ASSERT_EQUAL(packed_ring_add(d.r, &b, 1, (void *)5), 0);
	id = dev_pop(&d, &nd);
	dev_push(&d, (uint16_t)id, 72, nd);	/* DPDK's transmit quirk */
	CU_ASSERT_EQUAL(packed_ring_get_used(d.r, &tok, &len), 1);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_EQUAL(tok, (void *)5);
	dev_fini(&d);
}

static CU_TestInfo packed_tests[] = {
	{ "chains and forty wraps, out of order", test_chains_and_wraps },
	{ "head flags written last, ids on every descriptor",
	  test_head_flags_last },
	{ "kick and interrupt suppression", test_suppression },
	{ "a device breaking the ring", test_broken_device },
	{ "a used len on a read-only chain is ignored",
	  test_readonly_chain_len_ignored },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "drive_packed_ring", NULL, NULL, NULL, NULL, packed_tests },
	CU_SUITE_INFO_NULL,
};
