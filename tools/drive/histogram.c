/* SPDX-License-Identifier: GPL-2.0-only */
#include "histogram.h"

#include <math.h>
#include <string.h>

void lat_hist_init(struct lat_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned lat_hist_bucket(uint64_t value)
{
	unsigned msb, shift;

	if (value < 2 * LAT_HIST_SUB)
		return (unsigned)value;
	msb = 63u - (unsigned)__builtin_clzll(value);
	shift = msb - LAT_HIST_SUB_BITS;
	/* (value >> shift) is in [SUB, 2*SUB): its low bits pick the slot. */
	return (shift + 1) * LAT_HIST_SUB +
	       (unsigned)((value >> shift) - LAT_HIST_SUB);
}

uint64_t lat_hist_bucket_low(unsigned idx)
{
	unsigned shift;

	if (idx < 2 * LAT_HIST_SUB)
		return idx;
	shift = idx / LAT_HIST_SUB - 1;
	return (uint64_t)(idx % LAT_HIST_SUB + LAT_HIST_SUB) << shift;
}

uint64_t lat_hist_bucket_high(unsigned idx)
{
	if (idx < 2 * LAT_HIST_SUB)
		return idx;
	return lat_hist_bucket_low(idx) +
	       ((1ull << (idx / LAT_HIST_SUB - 1)) - 1);
}

void lat_hist_add(struct lat_hist *h, uint64_t value)
{
	h->bucket[lat_hist_bucket(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src)
{
	for (unsigned i = 0; i < LAT_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t lat_hist_percentile(const struct lat_hist *h, double p)
{
	uint64_t rank, seen = 0, low, high, mid;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < LAT_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen < rank)
			continue;
		low = lat_hist_bucket_low(i);
		high = lat_hist_bucket_high(i);
		mid = low + (high - low) / 2;
		if (mid < h->min)
			mid = h->min;
		if (mid > h->max)
			mid = h->max;
		return mid;
	}
	return h->max;
}

double lat_hist_mean(const struct lat_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
