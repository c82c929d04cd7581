/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's latency histogram: bucket boundaries (exact below 64,
 * then ~3% wide), percentiles against a sorted reference, merging.
 */
#include <stdlib.h>

#include "histogram.h"
#include "unit.h"

static void test_buckets_exact_then_log(void)
{
	for (uint64_t v = 0; v < 2 * LAT_HIST_SUB; v++) {
		CU_ASSERT_EQUAL(lat_hist_bucket(v), v);
		CU_ASSERT_EQUAL(lat_hist_bucket_low((unsigned)v), v);
	}
	/* Every bucket holds [low, high], and the next starts at high + 1. */
	for (unsigned i = 0; i + 1 < LAT_HIST_BUCKETS; i++) {
		uint64_t low = lat_hist_bucket_low(i);
		uint64_t high = lat_hist_bucket_high(i);

		CU_ASSERT_EQUAL(lat_hist_bucket(low), i);
		CU_ASSERT_EQUAL(lat_hist_bucket(high), i);
		CU_ASSERT_EQUAL(lat_hist_bucket_low(i + 1), high + 1);
		/* Width at most 1/32 of the bucket's start. */
		if (low >= 2 * LAT_HIST_SUB)
			CU_ASSERT(high - low + 1 <= low / LAT_HIST_SUB);
	}
	CU_ASSERT_EQUAL(lat_hist_bucket(UINT64_MAX), LAT_HIST_BUCKETS - 1);
	CU_ASSERT_EQUAL(lat_hist_bucket_high(LAT_HIST_BUCKETS - 1), UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_percentiles_track_sorted_reference(void)
{
	static struct lat_hist h;
	enum { N = 10000 };
	static uint64_t v[N];
	uint64_t x = 12345;
	const double ps[] = { 1, 50, 90, 99, 99.9 };

	lat_hist_init(&h);
	for (int i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Log-spread latencies 100 ns .. ~10 ms. */
		v[i] = 100 + (x % 1000) * (1 + (x >> 40) % 100);
		lat_hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	CU_ASSERT_EQUAL(h.count, N);
	CU_ASSERT_EQUAL(h.min, v[0]);
	CU_ASSERT_EQUAL(h.max, v[N - 1]);
	for (unsigned i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t want = v[(size_t)(ps[i] / 100.0 * N + 0.999999) - 1];
		uint64_t got = lat_hist_percentile(&h, ps[i]);
		double err = (double)(got > want ? got - want : want - got) /
			     (double)want;

		CU_ASSERT(err <= 1.0 / LAT_HIST_SUB);
	}
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 100), v[N - 1]);
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 0), v[0]);
}

static void test_small_values_exact_and_clamped(void)
{
	static struct lat_hist h;

	lat_hist_init(&h);
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 50), 0);
	CU_ASSERT_EQUAL(lat_hist_mean(&h), 0.0);
	for (uint64_t i = 1; i <= 10; i++)
		lat_hist_add(&h, i);
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 50), 5);
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 99), 10);
	CU_ASSERT_DOUBLE_EQUAL(lat_hist_mean(&h), 5.5, 1e-9);

	/* One sample in a wide bucket: the answer is the sample, not the midpoint. */
	lat_hist_init(&h);
	lat_hist_add(&h, 1000000);
	CU_ASSERT_EQUAL(lat_hist_percentile(&h, 50), 1000000);
}

static void test_merge(void)
{
	static struct lat_hist a, b, all;

	lat_hist_init(&a);
	lat_hist_init(&b);
	lat_hist_init(&all);
	for (uint64_t i = 0; i < 1000; i++) {
		lat_hist_add(i % 2 ? &a : &b, i * 37);
		lat_hist_add(&all, i * 37);
	}
	lat_hist_merge(&a, &b);
	CU_ASSERT_EQUAL(a.count, all.count);
	CU_ASSERT_EQUAL(a.sum, all.sum);
	CU_ASSERT_EQUAL(a.min, all.min);
	CU_ASSERT_EQUAL(a.max, all.max);
	CU_ASSERT_EQUAL(lat_hist_percentile(&a, 99), lat_hist_percentile(&all, 99));
}

static CU_TestInfo histogram_tests[] = {
	{ "buckets are exact, then log-linear", test_buckets_exact_then_log },
	{ "percentiles within 1/32 of a sorted reference",
	  test_percentiles_track_sorted_reference },
	{ "small values exact, single sample clamped",
	  test_small_values_exact_and_clamped },
	{ "merge equals one histogram of everything", test_merge },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "drive_histogram", NULL, NULL, NULL, NULL, histogram_tests },
	CU_SUITE_INFO_NULL,
};
