/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest memory map: RAM regions minus the legacy hole below 1 MiB,
 * plus the reserved EBDA and BIOS (ACPI tables) ranges.  The same table
 * feeds boot_params.e820_table and the PVH memmap.
 */
#include <asm/e820.h>
#include <errno.h>

#include "boot_internal.h"
#include "log.h"

struct e820_list {
	struct boot_e820_entry *e;
	unsigned n, max;
};

/* Insert keeping the list sorted by address; sizes of 0 are dropped. */
static int e820_insert(struct e820_list *l, uint64_t start, uint64_t end,
		       uint32_t type)
{
	unsigned i;

	if (end <= start)
		return 0;
	if (l->n == l->max)
		return -E2BIG;
	for (i = l->n; i > 0 && l->e[i - 1].addr > start; i--)
		l->e[i] = l->e[i - 1];
	l->e[i] = (struct boot_e820_entry){
		.addr = start, .size = end - start, .type = type,
	};
	l->n++;
	return 0;
}

int boot_e820_build(const struct guest_region *regions, unsigned nr_regions,
		    struct boot_e820_entry *out, unsigned max)
{
	struct e820_list l = { .e = out, .n = 0, .max = max };
	int ret;

	/*
	 * [EBDA, 1 MiB) is never RAM for the guest: the EBDA and BIOS area
	 * are reserved (the ACPI tables live in the latter) and the VGA and
	 * option ROM window [0xa0000, 0xe0000) is left out of the map.
	 */
	ret = e820_insert(&l, BOOT_EBDA_START, BOOT_EBDA_END, E820_RESERVED);
	if (!ret)
		ret = e820_insert(&l, BOOT_ACPI_START, BOOT_ACPI_END,
				  E820_RESERVED);
	for (unsigned i = 0; i < nr_regions && !ret; i++) {
		uint64_t start = regions[i].gpa;
		uint64_t end = regions[i].gpa + regions[i].size;

		if (start < BOOT_EBDA_START)
			ret = e820_insert(&l, start,
					  end < BOOT_EBDA_START ? end
								: BOOT_EBDA_START,
					  E820_RAM);
		if (!ret && end > BOOT_KERNEL_MIN_GPA)
			ret = e820_insert(&l,
					  start > BOOT_KERNEL_MIN_GPA
						  ? start : BOOT_KERNEL_MIN_GPA,
					  end, E820_RAM);
	}
	if (ret) {
		log_err(BOOT_TAG, "memory map needs more than %u entries", max);
		return ret;
	}
	for (unsigned i = 1; i < l.n; i++) {
		if (l.e[i - 1].addr + l.e[i - 1].size > l.e[i].addr) {
			log_err(BOOT_TAG, "memory map entries at 0x%llx and 0x%llx overlap",
				(unsigned long long)l.e[i - 1].addr,
				(unsigned long long)l.e[i].addr);
			return -EINVAL;
		}
	}
	return (int)l.n;
}
