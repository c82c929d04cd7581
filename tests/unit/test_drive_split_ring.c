/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's split-ring driver against a device simulated here on the
 * same memory: chains as the device sees them, out-of-order completion and
 * the free list, kick and interrupt suppression with and without event
 * index, and every way a device can break the used ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "split_ring.h"
#include "virtio.h"
#include "unit.h"

#define NUM	16

struct sim {
	void *mem;
	struct split_ring *r;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;
};

static void sim_init(struct sim *s, bool event_idx)
{
	s->mem = aligned_alloc(4096, 4096 * 2);
	CU_ASSERT_FATAL(s->mem != NULL);
	CU_ASSERT_FATAL(split_ring_mem_size(NUM) <= 4096 * 2);
	CU_ASSERT_FATAL(split_ring_create(s->mem, NUM, event_idx, "t",
					  &s->r) == 0);
	s->desc = split_ring_desc(s->r);
	s->avail = split_ring_avail(s->r);
	s->used = split_ring_used(s->r);
	s->last_avail = 0;
}

static void sim_fini(struct sim *s)
{
	split_ring_destroy(s->r);
	free(s->mem);
}

/* Device: the next available head, or -1. */
static int sim_pop(struct sim *s)
{
	if (s->avail->idx == s->last_avail)
		return -1;
	return s->avail->ring[s->last_avail++ % NUM];
}

static void sim_push(struct sim *s, uint32_t id, uint32_t len)
{
	s->used->ring[s->used->idx % NUM] =
		(struct vring_used_elem){ .id = id, .len = len };
	s->used->idx++;
}

static int add3(struct sim *s, uint64_t base, void *token)
{
	struct split_ring_buf b[3] = {
		{ base, 16, false }, { base + 16, 4096, true },
		{ base + 4112, 1, true },
	};

	return split_ring_add(s->r, b, 3, token);
}

static void test_layout(void)
{
	struct sim s;

	sim_init(&s, false);
	CU_ASSERT_EQUAL((uint8_t *)s.avail - (uint8_t *)s.desc, 16 * NUM);
	CU_ASSERT_EQUAL(((uintptr_t)s.used) % VRING_USED_ALIGN_SIZE, 0);
	CU_ASSERT(split_ring_mem_size(NUM) >= (size_t)((uint8_t *)s.used -
		  (uint8_t *)s.desc) + virtio_split_used_size(NUM));
	CU_ASSERT_EQUAL(split_ring_num(s.r), NUM);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);
	sim_fini(&s);
	CU_ASSERT_EQUAL(split_ring_create(s.mem, 12, false, "t", &s.r), -EINVAL);
}

static void test_chain_as_the_device_sees_it(void)
{
	struct sim s;
	void *tok;
	uint32_t len;
	int head, i;

	sim_init(&s, false);
	CU_ASSERT_EQUAL(add3(&s, 0x1000, (void *)0x11), 0);
	/* Not visible before publish. */
	CU_ASSERT_EQUAL(sim_pop(&s), -1);
	CU_ASSERT_TRUE(split_ring_publish(s.r));
	head = sim_pop(&s);
	CU_ASSERT_FATAL(head >= 0);
	i = head;
	CU_ASSERT_EQUAL(s.desc[i].addr, 0x1000);
	CU_ASSERT_EQUAL(s.desc[i].len, 16);
	CU_ASSERT_EQUAL(s.desc[i].flags, VRING_DESC_F_NEXT);
	i = s.desc[i].next;
	CU_ASSERT_EQUAL(s.desc[i].addr, 0x1010);
	CU_ASSERT_EQUAL(s.desc[i].flags, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	i = s.desc[i].next;
	CU_ASSERT_EQUAL(s.desc[i].len, 1);
	CU_ASSERT_EQUAL(s.desc[i].flags, VRING_DESC_F_WRITE);
	CU_ASSERT_EQUAL(split_ring_in_flight(s.r), 1);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM - 3);

	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 0);
	sim_push(&s, (uint32_t)head, 4097);
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
	CU_ASSERT_PTR_EQUAL(tok, (void *)0x11);
	CU_ASSERT_EQUAL(len, 4097);
	CU_ASSERT_EQUAL(split_ring_in_flight(s.r), 0);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);
	sim_fini(&s);
}

static void test_full_ring_out_of_order(void)
{
	struct sim s;
	int heads[NUM / 3];
	uintptr_t seen = 0;
	void *tok;
	uint32_t len;

	sim_init(&s, false);
	for (int round = 0; round < 50; round++) {
		unsigned n = 0;

		while (add3(&s, 0x1000, (void *)(uintptr_t)(n + 1)) == 0)
			n++;
		CU_ASSERT_EQUAL(n, NUM / 3);
		CU_ASSERT_EQUAL(add3(&s, 0x1000, NULL), -ENOSPC);
		(void)split_ring_publish(s.r);
		for (unsigned k = 0; k < n; k++)
			heads[k] = sim_pop(&s);
		/* Complete in reverse. */
		seen = 0;
		for (unsigned k = n; k-- > 0;)
			sim_push(&s, (uint32_t)heads[k], 0);
		while (split_ring_get_used(s.r, &tok, &len) == 1)
			seen |= 1u << (uintptr_t)tok;
		CU_ASSERT_EQUAL(seen, ((1u << (n + 1)) - 1) & ~1u);
		CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);
	}
	CU_ASSERT_PTR_NULL(split_ring_error(s.r));
	sim_fini(&s);
}

static void test_rejects_bad_chains(void)
{
	struct sim s;
	struct split_ring_buf b[2] = { { 0, 1, true }, { 0, 1, false } };

	sim_init(&s, false);
	CU_ASSERT_EQUAL(split_ring_add(s.r, b, 2, NULL), -EINVAL);
	CU_ASSERT_EQUAL(split_ring_add(s.r, b, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);
	sim_fini(&s);
}

static void test_kick_suppression(void)
{
	struct sim s;

	sim_init(&s, false);
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	CU_ASSERT_TRUE(split_ring_publish(s.r));
	CU_ASSERT_FALSE(split_ring_publish(s.r));	/* nothing new */
	s.used->flags = VRING_USED_F_NO_NOTIFY;
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	CU_ASSERT_FALSE(split_ring_publish(s.r));
	sim_fini(&s);

	sim_init(&s, true);
	/* avail_event = 0: the device wants to hear when entry 0 appears. */
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	CU_ASSERT_TRUE(split_ring_publish(s.r));
	/* Device still asks for entry 0 (not 1): no kick for entry 1. */
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	CU_ASSERT_FALSE(split_ring_publish(s.r));
	/* Device caught up and asks for entry 2. */
	*(uint16_t *)&s.used->ring[NUM] = 2;
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	CU_ASSERT_TRUE(split_ring_publish(s.r));
	sim_fini(&s);
}

static void test_interrupt_suppression(void)
{
	struct sim s;
	void *tok;
	uint32_t len;
	int head;

	sim_init(&s, false);
	split_ring_notify_disable(s.r);
	CU_ASSERT_EQUAL(s.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	CU_ASSERT_FALSE(split_ring_notify_enable(s.r));
	CU_ASSERT_EQUAL(s.avail->flags, 0);
	sim_fini(&s);

	sim_init(&s, true);
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), 0);
	(void)split_ring_publish(s.r);
	head = sim_pop(&s);
	sim_push(&s, (uint32_t)head, 1);
	/* A completion is already there: do not sleep. */
	CU_ASSERT_TRUE(split_ring_notify_enable(s.r));
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
	CU_ASSERT_FALSE(split_ring_notify_enable(s.r));
	CU_ASSERT_EQUAL(s.avail->ring[NUM], 1);		/* used_event */
	split_ring_notify_disable(s.r);
	CU_ASSERT_EQUAL(s.avail->ring[NUM], 0);
	sim_fini(&s);
}

/* One in-flight chain, then the device completes it as `fault` says. */
enum fault { ID_RANGE, NOT_IN_FLIGHT, DUPLICATE, LEN, IDX_AHEAD };

static void run_fault(enum fault f, const char *want)
{
	struct sim s;
	void *tok;
	uint32_t len;
	int head;

	sim_init(&s, false);
	CU_ASSERT_EQUAL(add3(&s, 0, (void *)1), 0);
	(void)split_ring_publish(s.r);
	head = sim_pop(&s);
	switch (f) {
	case ID_RANGE:
		sim_push(&s, NUM + 5, 0);
		break;
	case NOT_IN_FLIGHT:
		sim_push(&s, (uint32_t)(head + 1) % NUM, 0);
		break;
	case DUPLICATE:
		sim_push(&s, (uint32_t)head, 0);
		CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
		CU_ASSERT_EQUAL(add3(&s, 0, (void *)2), 0);
		sim_push(&s, (uint32_t)head, 0);
		/* head was reused by the new chain: that one is "done"... */
		CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
		/* ...and the third completion of it has nothing in flight. */
		sim_push(&s, (uint32_t)head, 0);
		break;
	case LEN:
		sim_push(&s, (uint32_t)head, 4096 + 2);
		break;
	case IDX_AHEAD:
		s.used->idx = 5;
		break;
	}
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(split_ring_error(s.r));
	CU_ASSERT_PTR_NOT_NULL(strstr(split_ring_error(s.r), want));
	/* Sticky: the ring takes nothing more. */
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), -EPROTO);
	CU_ASSERT_EQUAL(add3(&s, 0, NULL), -EPROTO);
	CU_ASSERT_FALSE(split_ring_publish(s.r));
	sim_fini(&s);
}

static void test_broken_device(void)
{
	run_fault(ID_RANGE, "out of range");
	run_fault(NOT_IN_FLIGHT, "not a chain in flight");
	run_fault(DUPLICATE, "in flight");
	run_fault(LEN, "writable bytes");
	run_fault(IDX_AHEAD, "ahead");
}

static void test_raw_chains(void)
{
	struct sim s;
	struct split_ring_raw_desc loop[3] = {
		{ 0x1000, 16, VRING_DESC_F_NEXT, 1, false },
		{ 0x2000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2, false },
		{ 0x3000, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0, false },
	};
	struct split_ring_raw_desc wild = {
		0x1000, 16, VRING_DESC_F_NEXT, 200, true,
	};
	void *tok;
	uint32_t len;
	int head, i;

	sim_init(&s, false);
	CU_ASSERT_EQUAL(split_ring_add_raw(s.r, loop, 3, (void *)7), 0);
	(void)split_ring_publish(s.r);
	head = sim_pop(&s);
	CU_ASSERT_FATAL(head >= 0);
	/* Three hops lead back to the head: the loop the device must catch. */
	i = head;
	for (int k = 0; k < 3; k++) {
		CU_ASSERT(s.desc[i].flags & VRING_DESC_F_NEXT);
		i = s.desc[i].next;
	}
	CU_ASSERT_EQUAL(i, head);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM - 3);
	/* A device that completes it anyway gets the descriptors back. */
	sim_push(&s, (uint32_t)head, 513);
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
	CU_ASSERT_PTR_EQUAL(tok, (void *)7);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);

	CU_ASSERT_EQUAL(split_ring_add_raw(s.r, &wild, 1, NULL), 0);
	(void)split_ring_publish(s.r);
	head = sim_pop(&s);
	CU_ASSERT_EQUAL(s.desc[head].next, 200);
	/*
	 * Nothing writable: a used length there is ignored (DPDK reports a
	 * transmit buffer's own length), not an error.
	 */
	sim_push(&s, (uint32_t)head, 1);
	CU_ASSERT_EQUAL(split_ring_get_used(s.r, &tok, &len), 1);
	CU_ASSERT_EQUAL(len, 0);
	sim_fini(&s);

	sim_init(&s, false);
	loop[2].next = 3;	/* relative index out of the chain */
	CU_ASSERT_EQUAL(split_ring_add_raw(s.r, loop, 3, NULL), -EINVAL);
	CU_ASSERT_EQUAL(split_ring_free_descs(s.r), NUM);
	sim_fini(&s);
}

static CU_TestInfo ring_tests[] = {
	{ "raw chains (loops, wild links) for probing", test_raw_chains },
	{ "layout", test_layout },
	{ "a chain as the device sees it", test_chain_as_the_device_sees_it },
	{ "full ring, completed out of order", test_full_ring_out_of_order },
	{ "bad chains are refused", test_rejects_bad_chains },
	{ "kick suppression", test_kick_suppression },
	{ "interrupt suppression", test_interrupt_suppression },
	{ "a device breaking the used ring", test_broken_device },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "drive_split_ring", NULL, NULL, NULL, NULL, ring_tests },
	CU_SUITE_INFO_NULL,
};
