/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_mem.h"

#include <errno.h>
#include <stddef.h>

int blk_mem_add(struct blk_mem *m, uint64_t gpa, uint64_t size, void *hva)
{
	if (m->nregions >= BLK_MEM_MAX_REGIONS || size == 0 || !hva ||
	    gpa + size < gpa)
		return -EINVAL;
	m->regions[m->nregions++] = (struct blk_mem_region){
		.gpa = gpa, .size = size, .hva = hva,
	};
	return 0;
}

static const struct blk_mem_region *blk_mem_find(const struct blk_mem *m,
						 uint64_t gpa)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct blk_mem_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *blk_mem_ptr(const struct blk_mem *m, uint64_t gpa, uint64_t len)
{
	const struct blk_mem_region *r = blk_mem_find(m, gpa);

	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

int blk_mem_iov(const struct blk_mem *m, uint64_t gpa, uint64_t len,
		struct iovec *iov, unsigned max)
{
	unsigned n = 0;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct blk_mem_region *r = blk_mem_find(m, gpa);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		off = gpa - r->gpa;
		chunk = r->size - off < len ? r->size - off : len;
		iov[n].iov_base = r->hva + off;
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return (int)n;
}
