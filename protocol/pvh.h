/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PVH boot ABI (Xen's arch-x86/hvm/start_info.h, also used by KVM
 * VMMs): the ELF note naming the 32-bit entry point and the start_info
 * structure whose address the loader passes in %ebx.
 */
#ifndef SPLITVM_PVH_H
#define SPLITVM_PVH_H

#include <stdint.h>

/* ELF note owner "Xen", type 18: 32-bit physical entry point (4 or 8 bytes). */
#define PVH_NOTE_NAME			"Xen"
#define PVH_NOTE_PHYS32_ENTRY		18

#define PVH_START_MAGIC			0x336ec578u
#define PVH_START_VERSION_MEMMAP	1

/* Memory map entry types, same values as E820. */
#define PVH_MEMMAP_RAM			1
#define PVH_MEMMAP_RESERVED		2
#define PVH_MEMMAP_ACPI			3

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct pvh_start_info) == 56, "PVH start_info layout");
_Static_assert(sizeof(struct pvh_modlist_entry) == 32, "PVH modlist layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "PVH memmap layout");

#endif
