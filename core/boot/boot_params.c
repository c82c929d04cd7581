/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 64-bit entry hand-off: struct boot_params ("zero page") at
 * BOOT_PARAMS_GPA.  For a bzImage it starts from the image's own setup
 * header (boot.rst: copy the header into a zeroed boot_params); an ELF
 * vmlinux has none, so we write the few header fields Linux reads.
 */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"

#define BP_BOOT_FLAG		0xaa55u
#define BP_HDR_MAGIC		0x53726448u	/* "HdrS" */
#define BP_LOADER_UNDEFINED	0xffu		/* type_of_loader: no assigned id */
/*
 * With CAN_USE_HEAP, heap_end_ptr is the end of the real-mode heap
 * relative to the setup code, minus 0x200.  We never load the setup code
 * (64-bit entry), so claim the usual full 64 KiB segment.
 */
#define BP_HEAP_END_PTR		0xfe00u

_Static_assert(sizeof(struct boot_params) == BOOT_PAGE_SIZE,
	       "boot_params is one page");

int boot_params_write(const struct guest_mem *mem,
		      const struct boot_kernel *kernel,
		      const struct boot_handoff *h)
{
	struct boot_params bp;

	if (h->nr_e820 > E820_MAX_ENTRIES_ZEROPAGE)
		return -E2BIG;
	/* The fields past the header must be zero, the sentinel included. */
	memset(&bp, 0, sizeof(bp));
	if (kernel->is_bzimage) {
		memcpy(&bp.hdr, &kernel->hdr, kernel->hdr_len);
		bp.hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
		/* KEEP_SEGMENTS is obsolete; KASLR_FLAG is the kernel's own. */
		bp.hdr.loadflags &= (uint8_t)~(KEEP_SEGMENTS | KASLR_FLAG);
		bp.hdr.heap_end_ptr = BP_HEAP_END_PTR;
		bp.hdr.code32_start = (uint32_t)kernel->start;
		bp.hdr.setup_data = 0;
	} else {
		bp.hdr.boot_flag = BP_BOOT_FLAG;
		bp.hdr.header = BP_HDR_MAGIC;
	}
	bp.hdr.type_of_loader = BP_LOADER_UNDEFINED;

	bp.hdr.cmd_line_ptr = (uint32_t)h->cmdline_gpa;
	bp.ext_cmd_line_ptr = (uint32_t)(h->cmdline_gpa >> 32);
	if (h->initrd_size) {
		bp.hdr.ramdisk_image = (uint32_t)h->initrd_gpa;
		bp.ext_ramdisk_image = (uint32_t)(h->initrd_gpa >> 32);
		bp.hdr.ramdisk_size = (uint32_t)h->initrd_size;
		bp.ext_ramdisk_size = (uint32_t)(h->initrd_size >> 32);
	}
	bp.acpi_rsdp_addr = h->rsdp_gpa;
	bp.e820_entries = (uint8_t)h->nr_e820;
	memcpy(bp.e820_table, h->e820, h->nr_e820 * sizeof(*h->e820));

	return guest_mem_write(mem, BOOT_PARAMS_GPA, &bp, sizeof(bp));
}
