/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the loader puts every boot structure in guest memory: the one
 * place that fixes the low-memory layout, checked at compile time.
 */
#ifndef SPLITVM_BOOT_LAYOUT_H
#define SPLITVM_BOOT_LAYOUT_H

#include "platform.h"

/*
 *   guest physical      size      what
 *   [0x00000, 0x00500)            real-mode IVT and BDA: left zero
 *   [0x00500, 0x00530)  48 B      GDT (6 descriptors, see cpu.c)
 *   [0x06000, 0x06038)  56 B      PVH start_info
 *   [0x06040, 0x06060)  32 B      PVH module list (the initrd)
 *   [0x06100, 0x06d00)  3 KiB     PVH memory map (up to 128 entries)
 *   [0x07000, 0x08000)  4 KiB     boot_params ("zero page")
 *   [0x08000, 0x09000)  4 KiB     FREE: the test guest's SMP trampoline
 *   [0x09000, 0x0a000)  4 KiB     PML4
 *   [0x0a000, 0x0b000)  4 KiB     PDPT
 *   [0x0b000, 0x0f000)  16 KiB    4 page directories: [0, 4 GiB) in 2 MiB pages
 *   [0x20000, 0x30000)  64 KiB    kernel command line, NUL included
 *   [0x9fc00, 0xa0000)            EBDA: e820 reserved, left zero
 *   [0xe0000, 0x100000) 128 KiB   ACPI tables, RSDP first (e820 reserved)
 *   [1 MiB, low RAM end)          kernel, then the initrd at the top
 */
#define BOOT_GDT_GPA		0x500ull
#define BOOT_GDT_SIZE		0x30ull
#define BOOT_START_INFO_GPA	0x6000ull
#define BOOT_MODLIST_GPA	0x6040ull
#define BOOT_MODLIST_MAX	1u
#define BOOT_MEMMAP_GPA		0x6100ull
#define BOOT_E820_MAX		128u	/* boot_params holds no more */
#define BOOT_PARAMS_GPA		0x7000ull
#define BOOT_GUEST_FREE_START	0x8000ull
#define BOOT_GUEST_FREE_END	0x9000ull
#define BOOT_PML4_GPA		0x9000ull
#define BOOT_PDPT_GPA		0xa000ull
#define BOOT_PD_GPA		0xb000ull
#define BOOT_PD_COUNT		4u	/* one per GiB of [0, 4 GiB) */
#define BOOT_CMDLINE_GPA	0x20000ull
#define BOOT_CMDLINE_MAX	0x10000ull	/* bytes, NUL included */
#define BOOT_EBDA_START		0x9fc00ull
#define BOOT_EBDA_END		0xa0000ull
#define BOOT_ACPI_START		PLATFORM_BIOS_START
#define BOOT_ACPI_END		PLATFORM_BIOS_END
#define BOOT_KERNEL_MIN_GPA	0x100000ull	/* nothing of a kernel below 1 MiB */
#define BOOT_PAGE_SIZE		0x1000ull

/* Sizes of the structures placed above, restated to keep this header free of includes. */
#define BOOT_START_INFO_SIZE	56ull
#define BOOT_MODLIST_ENTRY_SIZE	32ull
#define BOOT_MEMMAP_ENTRY_SIZE	24ull

_Static_assert(BOOT_GDT_GPA + BOOT_GDT_SIZE <= BOOT_START_INFO_GPA,
	       "GDT overlaps start_info");
_Static_assert(BOOT_START_INFO_GPA + BOOT_START_INFO_SIZE <= BOOT_MODLIST_GPA,
	       "start_info overlaps the module list");
_Static_assert(BOOT_MODLIST_GPA + BOOT_MODLIST_MAX * BOOT_MODLIST_ENTRY_SIZE <=
	       BOOT_MEMMAP_GPA, "module list overlaps the memory map");
_Static_assert(BOOT_MEMMAP_GPA + BOOT_E820_MAX * BOOT_MEMMAP_ENTRY_SIZE <=
	       BOOT_PARAMS_GPA, "PVH memory map overlaps boot_params");
_Static_assert(BOOT_PARAMS_GPA + BOOT_PAGE_SIZE <= BOOT_GUEST_FREE_START,
	       "boot_params overlaps the guest's free page");
_Static_assert(BOOT_GUEST_FREE_END <= BOOT_PML4_GPA,
	       "page tables overlap the guest's free page");
_Static_assert(BOOT_PML4_GPA + BOOT_PAGE_SIZE <= BOOT_PDPT_GPA &&
	       BOOT_PDPT_GPA + BOOT_PAGE_SIZE <= BOOT_PD_GPA,
	       "page table levels overlap");
_Static_assert(BOOT_PD_GPA + BOOT_PD_COUNT * BOOT_PAGE_SIZE <= BOOT_CMDLINE_GPA,
	       "page directories overlap the command line");
_Static_assert(BOOT_CMDLINE_GPA + BOOT_CMDLINE_MAX <= BOOT_EBDA_START,
	       "command line overlaps the EBDA");
_Static_assert(BOOT_EBDA_END <= BOOT_ACPI_START &&
	       BOOT_ACPI_END <= BOOT_KERNEL_MIN_GPA,
	       "ACPI area overlaps the kernel");
_Static_assert((BOOT_ACPI_START & 15) == 0, "RSDP must be 16-byte aligned");

#endif
