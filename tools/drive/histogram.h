/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Latency histogram for splitvm-drive: log-linear buckets (exact below 64,
 * then 32 per power of two, so at most ~3% off) over nanoseconds, cheap
 * enough to record every request and merge across queues.
 */
#ifndef SPLITVM_DRIVE_HISTOGRAM_H
#define SPLITVM_DRIVE_HISTOGRAM_H

#include <stdint.h>

#define LAT_HIST_SUB_BITS	5
#define LAT_HIST_SUB		(1u << LAT_HIST_SUB_BITS)
/* Exact values 0..2*SUB-1, then SUB buckets per remaining power of two. */
#define LAT_HIST_BUCKETS	((64 - LAT_HIST_SUB_BITS + 1) * LAT_HIST_SUB)

struct lat_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t bucket[LAT_HIST_BUCKETS];
};

void lat_hist_init(struct lat_hist *h);
void lat_hist_add(struct lat_hist *h, uint64_t value);
void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src);

/* Bucket of a value, and the smallest and largest value a bucket holds. */
unsigned lat_hist_bucket(uint64_t value);
uint64_t lat_hist_bucket_low(unsigned idx);
uint64_t lat_hist_bucket_high(unsigned idx);

/*
 * The value below which p percent (0 < p <= 100) of the samples lie: the
 * middle of the bucket holding that rank, clamped to [min, max]; 0 for an
 * empty histogram.
 */
uint64_t lat_hist_percentile(const struct lat_hist *h, double p);

/* Mean, 0 for an empty histogram. */
double lat_hist_mean(const struct lat_hist *h);

#endif
