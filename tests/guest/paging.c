/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RAM above 4 GiB, mapped at CPL3 into the page tables of tables.S (they
 * are user pages like everything else).  Here the loop runs natively; at
 * CPL0 every iteration would be emulated.  No TLB flush is needed: only
 * not-present entries become present.
 */
#include "guest.h"
#include "platform.h"

#define GIB			(1ull << 30)
#define PAGE_2M			(1ull << 21)
#define PTE_ADDR_MASK		0x000ffffffffff000ull
/*
 * One PDPT covers 512 GiB; with 2 MiB pages the page directories come
 * from a pool of PD_POOL_SIZE, enough for 64 GiB above 4 GiB.
 */
#define MAP_LIMIT		(512 * GIB)
#define PD_POOL_SIZE		64

static uint64_t pd_pool[PD_POOL_SIZE][512] __attribute__((aligned(4096)));

/* RAM, including what ACPI occupies; not reserved ranges (MMIO, holes). */
static bool memmap_is_ram(const struct boot_memmap_entry *e)
{
	return e->size && (e->type == BOOT_MEMMAP_RAM || e->type == BOOT_MEMMAP_ACPI ||
			   e->type == BOOT_MEMMAP_NVS);
}

static bool ram_overlaps(const struct boot_info *bi, uint64_t start,
			 uint64_t end)
{
	for (unsigned int i = 0; i < bi->memmap_entries; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];

		if (memmap_is_ram(e) && e->addr < end &&
		    e->addr + e->size > start)
			return true;
	}
	return false;
}

void paging_map_high_ram(const struct boot_info *bi)
{
	bool huge = (pml4[0] & PTE_ADDR_MASK) == (uintptr_t)pdpt_1g;
	unsigned int pds = 0;
	uint64_t top = 0;

	for (unsigned int i = 0; i < bi->memmap_entries; i++) {
		const struct boot_memmap_entry *e = &bi->memmap[i];

		if (memmap_is_ram(e) && e->addr + e->size > top)
			top = e->addr + e->size;
	}
	if (top > MAP_LIMIT) {
		guest_printf("guest: warning: memory above 0x%llx not mapped\n",
			     MAP_LIMIT);
		top = MAP_LIMIT;
	}

	for (uint64_t base = PLATFORM_HIGH_RAM_START; base < top; base += GIB) {
		uint64_t *pd;

		if (!ram_overlaps(bi, base, base + GIB))
			continue;
		if (huge) {
			pdpt_1g[base / GIB] = base | PTE_LARGE;
			continue;
		}
		if (pds == PD_POOL_SIZE) {
			guest_printf("guest: warning: memory above 0x%llx not mapped\n",
				     (unsigned long long)base);
			return;
		}
		/* Fill the directory before it becomes reachable. */
		pd = pd_pool[pds++];
		for (unsigned int j = 0; j < 512; j++) {
			uint64_t a = base + j * PAGE_2M;

			pd[j] = ram_overlaps(bi, a, a + PAGE_2M) ?
				a | PTE_LARGE : 0;
		}
		pdpt_2m[base / GIB] = (uintptr_t)pd | PTE_TABLE;
	}
}
