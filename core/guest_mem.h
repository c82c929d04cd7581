/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM: memfd-backed regions laid out around the 32-bit PCI hole.
 * The region list (fd, offset, guest address, size) is what KVM memory
 * slots and, later, vhost-user backends are given.
 */
#ifndef SPLITVM_GUEST_MEM_H
#define SPLITVM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS	2
/* Smallest VM we agree to build: room for boot structures and a kernel. */
#define GUEST_MEM_MIN_SIZE	(16ull << 20)

struct guest_mem;

struct guest_region {
	int fd;			/* memfd shared by all regions */
	uint64_t offset;	/* offset of the region inside fd */
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	void *hva;		/* where the core maps it */
};

enum guest_mem_flags {
	GUEST_MEM_HUGETLB = 1u << 0,	/* back RAM with MFD_HUGETLB */
};

/*
 * Create size bytes of guest RAM.  Fails with -EINVAL for a size below
 * GUEST_MEM_MIN_SIZE or not page aligned, -ENOMEM when hugetlb was asked
 * for and not enough free huge pages exist.
 */
int guest_mem_create(uint64_t size, unsigned flags, struct guest_mem **out)
	__attribute__((warn_unused_result));
void guest_mem_destroy(struct guest_mem *mem);

uint64_t guest_mem_size(const struct guest_mem *mem);
/* End of RAM below 4 GiB (the first region's end). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);
unsigned guest_mem_nr_regions(const struct guest_mem *mem);
const struct guest_region *guest_mem_region(const struct guest_mem *mem,
					    unsigned idx);

/*
 * Host pointer for [gpa, gpa + len), or NULL if that range is not wholly
 * inside one RAM region.  Every access to guest memory goes through here.
 */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy into / out of guest RAM; -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa,
		    const void *src, size_t len)
	__attribute__((warn_unused_result));
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst,
		   size_t len)
	__attribute__((warn_unused_result));

/* Layout only (no memory): the regions size bytes of RAM occupy. */
unsigned guest_mem_layout(uint64_t size, struct guest_region *regions);

#endif
