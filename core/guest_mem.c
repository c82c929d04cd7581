/* SPDX-License-Identifier: GPL-2.0-only */
#include "guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "platform.h"

#define TAG "mem"
#define HUGE_PAGE_SIZE (2ull << 20)

struct guest_mem {
	int fd;
	uint64_t size;
	unsigned nr_regions;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	void *map;		/* one mapping of the whole memfd */
};

/* Free 2 MiB pages in the default pool, or -1 if unknown. */
static long long guest_mem_free_huge_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
			"re");
	long long n = -1;

	if (f) {
		if (fscanf(f, "%lld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

unsigned guest_mem_layout(uint64_t size, struct guest_region *regions)
{
	uint64_t low = size < PLATFORM_PCI_HOLE_START ? size
						      : PLATFORM_PCI_HOLE_START;
	unsigned n = 0;

	regions[n++] = (struct guest_region){
		.fd = -1, .offset = 0, .gpa = 0, .size = low,
	};
	if (size > low) {
		regions[n++] = (struct guest_region){
			.fd = -1,
			.offset = low,
			.gpa = PLATFORM_HIGH_RAM_START,
			.size = size - low,
		};
	}
	return n;
}

int guest_mem_create(uint64_t size, unsigned flags, struct guest_mem **out)
{
	bool huge = flags & GUEST_MEM_HUGETLB;
	unsigned mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	struct guest_mem *mem;
	int ret;

	if (size < GUEST_MEM_MIN_SIZE) {
		log_err(TAG, "guest memory of %llu bytes is too small (minimum %llu MiB)",
			(unsigned long long)size, GUEST_MEM_MIN_SIZE >> 20);
		return -EINVAL;
	}
	if (size & (huge ? HUGE_PAGE_SIZE - 1 : 4095)) {
		log_err(TAG, "guest memory size must be a multiple of %s",
			huge ? "2 MiB with huge pages" : "4 KiB");
		return -EINVAL;
	}

	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	mem->size = size;

	if (huge)
		mfd_flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	mem->fd = memfd_create("splitvm-ram", mfd_flags);
	if (mem->fd < 0) {
		ret = -errno;
		log_err(TAG, "memfd_create%s: %s", huge ? " (hugetlb)" : "",
			strerror(-ret));
		goto err_free;
	}
	if (ftruncate(mem->fd, size) < 0) {
		ret = -errno;
		log_err(TAG, "cannot size guest memory to %llu bytes: %s",
			(unsigned long long)size, strerror(-ret));
		goto err_close;
	}
	if (huge && fallocate(mem->fd, 0, 0, size) < 0) {
		/*
		 * Reserve every huge page now: without this a shortage shows
		 * up later as SIGBUS on first touch by the guest or a backend.
		 */
		ret = -errno;
		if (ret == -ENOSPC || ret == -ENOMEM)
			log_err(TAG, "not enough free 2 MiB huge pages for %llu MiB of guest memory: %lld free, %llu needed (see /proc/sys/vm/nr_hugepages)",
				(unsigned long long)(size >> 20),
				guest_mem_free_huge_pages(),
				(unsigned long long)(size / HUGE_PAGE_SIZE));
		else
			log_err(TAG, "cannot reserve huge pages: %s",
				strerror(-ret));
		ret = -ENOMEM;
		goto err_close;
	}
	/* Backends map this fd too: nobody may shrink or grow it. */
	if (fcntl(mem->fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		log_err(TAG, "cannot seal guest memory: %s", strerror(-ret));
		goto err_close;
	}

	mem->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			mem->fd, 0);
	if (mem->map == MAP_FAILED) {
		ret = -errno;
		log_err(TAG, "cannot map %llu MiB of guest memory: %s",
			(unsigned long long)(size >> 20), strerror(-ret));
		goto err_close;
	}
	/* Guest RAM has no place in a core dump of the VMM. */
	madvise(mem->map, size, MADV_DONTDUMP);

	mem->nr_regions = guest_mem_layout(size, mem->regions);
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		mem->regions[i].fd = mem->fd;
		mem->regions[i].hva = (char *)mem->map + mem->regions[i].offset;
	}
	*out = mem;
	return 0;

err_close:
	close(mem->fd);
err_free:
	free(mem);
	return ret;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (!mem)
		return;
	munmap(mem->map, mem->size);
	close(mem->fd);
	free(mem);
}

uint64_t guest_mem_size(const struct guest_mem *mem)
{
	return mem->size;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->regions[0].size;
}

unsigned guest_mem_nr_regions(const struct guest_mem *mem)
{
	return mem->nr_regions;
}

const struct guest_region *guest_mem_region(const struct guest_mem *mem,
					    unsigned idx)
{
	return idx < mem->nr_regions ? &mem->regions[idx] : NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* Written so that no sum can overflow. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa,
		    const void *src, size_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst,
		   size_t len)
{
	const void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}
