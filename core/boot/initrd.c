/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * initrd placement: page aligned, as high as the kernel allows in RAM below
 * 4 GiB, above everything the kernel needs while it decompresses (the
 * convention of boot.rst, which keeps the initrd out of the kernel's way).
 */
#include <errno.h>

#include "boot_internal.h"
#include "log.h"

#define INITRD_TOP_MAX	(1ull << 32)

int boot_initrd_load(const struct guest_mem *mem, const char *path,
		     uint64_t kernel_end, uint64_t end_max, uint64_t *gpa,
		     uint64_t *size)
{
	uint64_t top = guest_mem_low_end(mem);
	uint64_t floor = boot_align_up(kernel_end, BOOT_PAGE_SIZE);
	struct boot_file f;
	uint64_t addr;
	int ret;

	ret = boot_file_open(&f, "initrd", path);
	if (ret)
		return ret;
	if (top > end_max)
		top = end_max;
	if (top > INITRD_TOP_MAX)
		top = INITRD_TOP_MAX;
	if (f.size > top || boot_align_down(top - f.size, BOOT_PAGE_SIZE) < floor) {
		log_err(BOOT_TAG, "initrd %s (%llu MiB) does not fit in guest memory below 0x%llx (the kernel ends at 0x%llx)",
			path, (unsigned long long)((f.size + (1 << 20) - 1) >> 20),
			(unsigned long long)top,
			(unsigned long long)kernel_end);
		ret = -ENOSPC;
		goto out;
	}
	addr = boot_align_down(top - f.size, BOOT_PAGE_SIZE);
	ret = boot_file_load(&f, 0, f.size, mem, addr);
	if (ret)
		goto out;
	*gpa = addr;
	*size = f.size;
out:
	boot_file_close(&f);
	return ret;
}
