/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest memory as splitvm-blk sees it: a few (guest physical, size, host
 * address) regions, and bounds-checked translation of guest ranges.
 */
#ifndef SPLITVM_BLK_MEM_H
#define SPLITVM_BLK_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLK_MEM_MAX_REGIONS	8

struct blk_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct blk_mem {
	unsigned nregions;
	struct blk_mem_region regions[BLK_MEM_MAX_REGIONS];
};

/*
 * Add a region; refuses an empty one, one whose guest range wraps, and
 * more than BLK_MEM_MAX_REGIONS.
 */
int blk_mem_add(struct blk_mem *m, uint64_t gpa, uint64_t size, void *hva)
	__attribute__((warn_unused_result));

/* Host address of [gpa, gpa + len) if it lies inside one region, else NULL. */
void *blk_mem_ptr(const struct blk_mem *m, uint64_t gpa, uint64_t len);

/*
 * [gpa, gpa + len) as host iovecs (a range may cross regions).  Returns
 * the number of iovecs used (0 for len 0), -EFAULT if some byte is not
 * guest memory, -E2BIG if more than max iovecs would be needed.
 */
int blk_mem_iov(const struct blk_mem *m, uint64_t gpa, uint64_t len,
		struct iovec *iov, unsigned max);

#endif
