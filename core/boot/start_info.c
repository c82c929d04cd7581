/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PVH hand-off: start_info (version 1, with a memory map) and its
 * module list at the addresses layout.h fixes; the initrd is module 0.
 */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "pvh.h"

_Static_assert(sizeof(struct pvh_start_info) == BOOT_START_INFO_SIZE &&
	       sizeof(struct pvh_modlist_entry) == BOOT_MODLIST_ENTRY_SIZE &&
	       sizeof(struct pvh_memmap_entry) == BOOT_MEMMAP_ENTRY_SIZE,
	       "layout.h sizes match protocol/pvh.h");

int boot_start_info_write(const struct guest_mem *mem,
			  const struct boot_handoff *h)
{
	struct pvh_memmap_entry map[BOOT_E820_MAX];
	struct pvh_start_info si = {
		.magic = PVH_START_MAGIC,
		.version = PVH_START_VERSION_MEMMAP,
		.cmdline_paddr = h->cmdline_gpa,
		.rsdp_paddr = h->rsdp_gpa,
		.memmap_paddr = BOOT_MEMMAP_GPA,
		.memmap_entries = h->nr_e820,
	};
	int ret;

	if (h->nr_e820 > BOOT_E820_MAX)
		return -E2BIG;
	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < h->nr_e820; i++) {
		/* E820 and PVH memmap types share their values. */
		map[i].addr = h->e820[i].addr;
		map[i].size = h->e820[i].size;
		map[i].type = h->e820[i].type;
	}
	if (h->initrd_size) {
		struct pvh_modlist_entry mod = {
			.paddr = h->initrd_gpa,
			.size = h->initrd_size,
		};

		ret = guest_mem_write(mem, BOOT_MODLIST_GPA, &mod, sizeof(mod));
		if (ret)
			return ret;
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_MODLIST_GPA;
	}
	ret = guest_mem_write(mem, BOOT_MEMMAP_GPA, map,
			      h->nr_e820 * sizeof(map[0]));
	if (ret)
		return ret;
	return guest_mem_write(mem, BOOT_START_INFO_GPA, &si, sizeof(si));
}
