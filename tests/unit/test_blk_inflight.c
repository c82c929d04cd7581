/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: the packed inflight region after a crash, as librte_vhost
 * 22.11 leaves it (its take / set_last / clr steps re-enacted here):
 * a half-recorded take is forgotten, a completion is committed exactly
 * when its used descriptor reached the ring and rolled back otherwise,
 * the ring resumes past the chains in flight, their copies come back in
 * chain order, and regions with bad links or counts are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_inflight.h"
#include "unit.h"

#define QS	8u

static struct vhost_user_inflight_packed *r;
static struct vring_packed_desc ring[QS];

static int setup(void)
{
	r = calloc(1, sizeof(*r) + QS * sizeof(r->desc[0]));
	return r ? 0 : -1;
}

static int teardown(void)
{
	free(r);
	return 0;
}

/* A region in use (version set) with the ring at position 0, wrap 1. */
static void fresh(void)
{
	memset(r, 0, sizeof(*r) + QS * sizeof(r->desc[0]));
	memset(ring, 0, sizeof(ring));
	r->version = 1;
	r->desc_num = QS;
	blk_inflight_packed_start(r, QS, 0x8000);
}

/* rte_vhost_set_inflight_desc_packed: n descriptors at ring position pos. */
static uint16_t take(uint16_t pos, uint16_t n, uint64_t counter, bool torn)
{
	uint16_t e = r->old_free_head, f = e;

	r->desc[e].num = 0;
	r->desc[e].counter = counter;
	r->desc[e].inflight = 1;
	for (uint16_t k = 0; k < n; k++) {
		r->desc[e].num++;
		r->desc[f].addr = ring[(pos + k) % QS].addr;
		r->desc[f].id = ring[(pos + k) % QS].id;
		r->desc[e].last = f;
		f = r->desc[f].next;
		r->free_head = f;
		if (torn)
			return e;
	}
	r->old_free_head = f;
	return e;
}

/* set_last, the used descriptor, clr; stop after `steps` of them. */
static void complete(uint16_t e, int steps)
{
	uint16_t pos = r->used_idx;
	bool wrap = r->used_wrap_counter;

	r->desc[r->desc[e].last].next = r->free_head;
	r->free_head = e;
	r->used_idx += r->desc[e].num;
	if (r->used_idx >= QS) {
		r->used_idx -= QS;
		r->used_wrap_counter ^= 1;
	}
	if (steps < 2)
		return;
	ring[pos].id = r->desc[r->desc[e].last].id;
	ring[pos].flags = wrap ? (VIRTIO_PACKED_DESC_F_AVAIL |
				  VIRTIO_PACKED_DESC_F_USED) : 0;
	if (steps < 3)
		return;
	r->desc[e].inflight = 0;
	r->old_free_head = r->free_head;
	r->old_used_idx = r->used_idx;
	r->old_used_wrap_counter = r->used_wrap_counter;
}

/* The driver makes n one-descriptor chains available from pos, ids from id. */
static void avail(uint16_t pos, uint16_t n, uint16_t id)
{
	for (uint16_t k = 0; k < n; k++) {
		ring[(pos + k) % QS].id = (uint16_t)(id + k);
		ring[(pos + k) % QS].addr = 0x1000u * (id + k);
		ring[(pos + k) % QS].flags = VIRTIO_PACKED_DESC_F_AVAIL;
	}
}

static void test_clean_and_resume(void)
{
	uint16_t a, b, e[2], la, lu;
	struct vring_packed_desc out[QS];

	fresh();
	avail(0, 3, 10);
	a = take(0, 2, 1, false);	/* ids 10, 11: one chain of two */
	b = take(2, 1, 2, false);	/* id 12 */
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_CLEAN);
	e[0] = a;
	e[1] = b;
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 2, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8000);
	CU_ASSERT_EQUAL(la, 0x8003);
	CU_ASSERT_EQUAL(blk_inflight_packed_chain(r, QS, a, out, QS), 2);
	CU_ASSERT_EQUAL(out[0].addr, 0x1000u * 10);
	CU_ASSERT_EQUAL(out[1].id, 11);

	/* b completes: used moves one on, a alone is in flight. */
	complete(b, 3);
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_CLEAN);
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8001);
	CU_ASSERT_EQUAL(la, 0x8003);
	/* Listing a chain that is not in flight is refused. */
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 2, &la, &lu),
			-EINVAL);
}

/* Two one-descriptor chains made available and taken. */
static void two_taken(uint16_t *a, uint16_t *b)
{
	fresh();
	avail(0, 2, 20);
	*a = take(0, 1, 1, false);
	*b = take(1, 1, 2, false);
}

static void test_half_done(void)
{
	uint16_t a, b, e[2], la, lu;

	/* set_last only: the driver never saw it; b comes back. */
	two_taken(&a, &b);
	complete(b, 1);
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_ROLLBACK);
	CU_ASSERT_EQUAL(r->desc[b].inflight, 1);
	e[0] = a;
	e[1] = b;
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 2, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8000);
	CU_ASSERT_EQUAL(la, 0x8002);

	/* In the ring, not committed: final, b does not come back. */
	two_taken(&a, &b);
	complete(b, 2);
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_COMMIT);
	CU_ASSERT_EQUAL(r->desc[b].inflight, 0);
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8001);
	CU_ASSERT_EQUAL(la, 0x8002);

	/* A take cut short after its first copy: forgotten. */
	fresh();
	avail(0, 2, 20);
	a = take(0, 1, 1, false);
	take(1, 1, 2, true);
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_UNTAKEN);
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(la, 0x8001);
}

static void test_wrap(void)
{
	uint16_t e[QS], la, lu, n = 0;

	/* Six one-descriptor chains complete, then six more are taken. */
	fresh();
	avail(0, QS, 0);
	for (uint16_t k = 0; k < 6; k++)
		complete(take(k, 1, k, false), 3);
	avail(6, 6, 30);
	for (uint16_t k = 0; k < 6; k++)
		e[n++] = take((uint16_t)((6 + k) % QS), 1, 10 + k, false);
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring),
			BLK_INFLIGHT_CLEAN);
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, n, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8006);
	CU_ASSERT_EQUAL(la, 0x0004);	/* 12 positions on: wrap flipped */
}

static void test_refused(void)
{
	uint16_t a, e[1], la, lu;

	fresh();
	avail(0, 2, 40);
	a = take(0, 2, 1, false);
	e[0] = a;
	r->desc_num = QS / 2;
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring), -EINVAL);
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	r->desc_num = QS;
	r->old_used_idx = QS;
	CU_ASSERT_EQUAL(blk_inflight_packed_repair(r, QS, ring), -EINVAL);
	r->old_used_idx = 0;
	/* A free-list link out of range, or into a chain in flight. */
	r->desc[r->old_free_head].next = 200;
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	r->desc[r->old_free_head].next = a;
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	/* A chain whose last does not match its links. */
	fresh();
	avail(0, 2, 40);
	a = take(0, 2, 1, false);
	e[0] = a;
	r->desc[a].last = a;
	CU_ASSERT_EQUAL(blk_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	CU_ASSERT(blk_inflight_packed_chain(r, QS, a, (struct vring_packed_desc
						       [QS]){ 0 }, QS) < 0);
}

static CU_TestInfo inflight_tests[] = {
	{ "clean region: resume position, chain copies", test_clean_and_resume },
	{ "crash mid-completion or mid-take", test_half_done },
	{ "positions across a wrap", test_wrap },
	{ "bad regions refused", test_refused },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_inflight", setup, teardown, NULL, NULL, inflight_tests },
	CU_SUITE_INFO_NULL,
};
