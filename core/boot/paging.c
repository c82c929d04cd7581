/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page tables for the 64-bit entry: an identity map of [0, 4 GiB) in 2 MiB
 * pages.  The boot protocol only asks for the kernel, boot_params and the
 * command line to be mapped; 4 GiB covers all of low RAM, the initrd and
 * the local and I/O APIC pages, for four pages of tables.
 */
#include <string.h>

#include "boot_internal.h"

#define PTE_PRESENT	(1ull << 0)
#define PTE_WRITABLE	(1ull << 1)
#define PTE_LARGE	(1ull << 7)	/* PS: a 2 MiB page in a PD entry */
#define PT_ENTRIES	512u
#define PD_PAGE_SHIFT	21
#define PDPT_SHIFT	30

int boot_paging_write(const struct guest_mem *mem)
{
	uint64_t table[PT_ENTRIES];
	int ret;

	memset(table, 0, sizeof(table));
	table[0] = BOOT_PDPT_GPA | PTE_PRESENT | PTE_WRITABLE;
	ret = guest_mem_write(mem, BOOT_PML4_GPA, table, sizeof(table));
	if (ret)
		return ret;

	memset(table, 0, sizeof(table));
	for (unsigned i = 0; i < BOOT_PD_COUNT; i++)
		table[i] = (BOOT_PD_GPA + i * BOOT_PAGE_SIZE) | PTE_PRESENT |
			   PTE_WRITABLE;
	ret = guest_mem_write(mem, BOOT_PDPT_GPA, table, sizeof(table));
	if (ret)
		return ret;

	for (unsigned i = 0; i < BOOT_PD_COUNT; i++) {
		for (unsigned j = 0; j < PT_ENTRIES; j++)
			table[j] = ((uint64_t)i << PDPT_SHIFT |
				    (uint64_t)j << PD_PAGE_SHIFT) |
				   PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
		ret = guest_mem_write(mem, BOOT_PD_GPA + i * BOOT_PAGE_SIZE,
				      table, sizeof(table));
		if (ret)
			return ret;
	}
	return 0;
}
