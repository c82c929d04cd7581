/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest loader's files share: kernel file access, the per-format
 * loaders, and the writers of each boot structure.  Not for outside core/boot
 * except unit tests.
 */
#ifndef SPLITVM_BOOT_INTERNAL_H
#define SPLITVM_BOOT_INTERNAL_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "guest_mem.h"
#include "layout.h"

#define BOOT_TAG "boot"
#define BOOT_WUR __attribute__((warn_unused_result))

/* ---- file.c: size-checked reads of the kernel and initrd files ---- */

struct boot_file {
	int fd;
	const char *what;	/* "kernel" or "initrd", for messages */
	const char *path;
	uint64_t size;
};

/* -errno of open/fstat, or -EINVAL for a file that is not regular. */
int boot_file_open(struct boot_file *f, const char *what, const char *path)
	BOOT_WUR;
void boot_file_close(struct boot_file *f);
/* Exactly len bytes at off, or -EIO (logged) when the file is shorter. */
int boot_file_read(const struct boot_file *f, uint64_t off, void *buf,
		   size_t len) BOOT_WUR;
/* Read [off, off + len) of the file into guest RAM at gpa. */
int boot_file_load(const struct boot_file *f, uint64_t off, uint64_t len,
		   const struct guest_mem *mem, uint64_t gpa) BOOT_WUR;
/* One log line "<what> <path>: <message>". */
void boot_file_error(const struct boot_file *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- the kernel loaders: bzimage.c, elf.c ---- */

/* What a kernel loader found out; the rest of boot_load() works from this. */
struct boot_kernel {
	enum boot_protocol protocol;
	uint64_t entry;
	uint64_t start, end;	/* everything the kernel needs, init_size included */
	uint64_t initrd_end_max; /* the initrd must end at or below this */
	uint64_t cmdline_max;	/* longest command line accepted, NUL excluded */
	/* bzImage only: the image's setup header, hdr_len bytes of it valid. */
	bool is_bzimage;
	size_t hdr_len;
	struct setup_header hdr;
};

/* Bytes of the file start that the format probes and parsers look at. */
#define BOOT_HEAD_SIZE	0x400u

bool boot_bzimage_probe(const uint8_t *head, size_t len);
int boot_bzimage_load(const struct guest_mem *mem, const struct boot_file *f,
		      struct boot_kernel *out) BOOT_WUR;
bool boot_elf_probe(const uint8_t *head, size_t len);
int boot_elf_load(const struct guest_mem *mem, const struct boot_file *f,
		  struct boot_kernel *out) BOOT_WUR;

/* ---- initrd.c ---- */

/*
 * Place the initrd page aligned as high as possible in [kernel_end, end_max)
 * and read it there; -ENOSPC (logged) when it does not fit.
 */
int boot_initrd_load(const struct guest_mem *mem, const char *path,
		     uint64_t kernel_end, uint64_t end_max, uint64_t *gpa,
		     uint64_t *size) BOOT_WUR;

/* ---- e820.c ---- */

/*
 * The guest's memory map from its RAM regions: sorted, non-overlapping.
 * Returns the number of entries or -E2BIG when max is too small.
 */
int boot_e820_build(const struct guest_region *regions, unsigned nr_regions,
		    struct boot_e820_entry *out, unsigned max) BOOT_WUR;

/* ---- boot_params.c, start_info.c: what the kernel is handed ---- */

struct boot_handoff {
	uint64_t cmdline_gpa;
	size_t cmdline_len;		/* NUL excluded */
	uint64_t initrd_gpa, initrd_size;	/* size 0: no initrd */
	uint64_t rsdp_gpa;
	const struct boot_e820_entry *e820;
	unsigned nr_e820;
};

int boot_params_write(const struct guest_mem *mem,
		      const struct boot_kernel *kernel,
		      const struct boot_handoff *h) BOOT_WUR;
int boot_start_info_write(const struct guest_mem *mem,
			  const struct boot_handoff *h) BOOT_WUR;

/* ---- cpu.c, paging.c: descriptor and page tables ---- */

/* Selectors of the one GDT both entry protocols use. */
#define BOOT_SEL_CODE32	0x08
#define BOOT_SEL_CODE64	0x10
#define BOOT_SEL_DATA	0x18
#define BOOT_SEL_TSS	0x20

int boot_gdt_write(const struct guest_mem *mem) BOOT_WUR;
/* Identity map of [0, 4 GiB) with 2 MiB pages, rooted at BOOT_PML4_GPA. */
int boot_paging_write(const struct guest_mem *mem) BOOT_WUR;

/* ---- acpi.c ---- */

/* Highest vCPU count the MADT can describe with xAPIC ids (0xff is broadcast). */
#define BOOT_ACPI_MAX_CPUS	254u

/* Build every ACPI table in [BOOT_ACPI_START, BOOT_ACPI_END). */
int boot_acpi_build(const struct guest_mem *mem, unsigned ncpus,
		    uint64_t *rsdp_gpa) BOOT_WUR;

/* ---- small helpers ---- */

static inline uint64_t boot_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uint64_t boot_align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

#endif
