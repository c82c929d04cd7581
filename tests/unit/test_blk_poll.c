/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: the adaptive poll window.  It starts at --poll-us, halves
 * (not below its floor) once several waits in a row outlasted --poll-us,
 * and returns to --poll-us after one wait that polling would have
 * covered.
 */
#include "blk_poll.h"
#include "unit.h"

#define US	1000u

static void test_starts_at_max(void)
{
	struct blk_poll p;

	blk_poll_init(&p, 100 * US);
	CU_ASSERT_EQUAL(p.ns, 100 * US);
	CU_ASSERT_EQUAL(p.max_ns, 100 * US);
	CU_ASSERT_EQUAL(p.min_ns, BLK_POLL_MIN_NS);
}

static void test_long_waits_shrink_to_floor(void)
{
	struct blk_poll p;

	blk_poll_init(&p, 100 * US);
	for (unsigned i = 1; i < BLK_POLL_LONG_WAITS; i++) {
		blk_poll_slept(&p, 300 * US);
		CU_ASSERT_EQUAL(p.ns, 100 * US);
	}
	blk_poll_slept(&p, 300 * US);
	CU_ASSERT_EQUAL(p.ns, 50 * US);
	blk_poll_slept(&p, 300 * US);
	CU_ASSERT_EQUAL(p.ns, 25 * US);
	blk_poll_slept(&p, 300 * US);
	CU_ASSERT_EQUAL(p.ns, BLK_POLL_MIN_NS);
	for (int i = 0; i < 10; i++)
		blk_poll_slept(&p, 5000 * US);
	CU_ASSERT_EQUAL(p.ns, BLK_POLL_MIN_NS);
}

static void test_short_wait_restores_max(void)
{
	struct blk_poll p;

	blk_poll_init(&p, 100 * US);
	for (int i = 0; i < 10; i++)
		blk_poll_slept(&p, 1000 * US);
	CU_ASSERT_EQUAL(p.ns, BLK_POLL_MIN_NS);
	/* Polled 20 us, slept, work after 60: polling 100 would have seen it. */
	blk_poll_slept(&p, 60 * US);
	CU_ASSERT_EQUAL(p.ns, 100 * US);
	/* Exactly --poll-us still counts as covered. */
	for (unsigned i = 0; i < BLK_POLL_LONG_WAITS; i++)
		blk_poll_slept(&p, 300 * US);
	CU_ASSERT_EQUAL(p.ns, 50 * US);
	blk_poll_slept(&p, 100 * US);
	CU_ASSERT_EQUAL(p.ns, 100 * US);
}

static void test_sporadic_long_waits_keep_max(void)
{
	struct blk_poll p;

	/* One slow request now and then among fast ones: no shrinking. */
	blk_poll_init(&p, 100 * US);
	for (int i = 0; i < 50; i++) {
		for (unsigned j = 1; j < BLK_POLL_LONG_WAITS; j++)
			blk_poll_slept(&p, 2000 * US);
		blk_poll_slept(&p, 90 * US);
		CU_ASSERT_EQUAL(p.ns, 100 * US);
	}
}

static void test_small_or_zero_max(void)
{
	struct blk_poll p;

	/* --poll-us below the floor: the floor is --poll-us itself. */
	blk_poll_init(&p, 5 * US);
	for (int i = 0; i < 10; i++)
		blk_poll_slept(&p, 1000 * US);
	CU_ASSERT_EQUAL(p.ns, 5 * US);
	/* --poll-us 0: never polls. */
	blk_poll_init(&p, 0);
	for (int i = 0; i < 10; i++)
		blk_poll_slept(&p, 1000 * US);
	CU_ASSERT_EQUAL(p.ns, 0);
	blk_poll_slept(&p, 0);
	CU_ASSERT_EQUAL(p.ns, 0);
}

static CU_TestInfo poll_tests[] = {
	{ "starts at --poll-us", test_starts_at_max },
	{ "long waits shrink it to the floor", test_long_waits_shrink_to_floor },
	{ "a covered wait restores --poll-us", test_short_wait_restores_max },
	{ "sporadic long waits keep --poll-us",
	  test_sporadic_long_waits_keep_max },
	{ "--poll-us below the floor, and 0", test_small_or_zero_max },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_poll", NULL, NULL, NULL, NULL, poll_tests },
	CU_SUITE_INFO_NULL,
};
