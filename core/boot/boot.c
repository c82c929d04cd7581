/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * boot_load(): pick the loader for the kernel file, then place the command
 * line, initrd, memory map, ACPI tables, GDT, page tables and the hand-off
 * structure of the chosen entry protocol (layout.h says where).
 */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "log.h"

/* The file's first bytes decide the format. */
static int boot_kernel_load(const struct guest_mem *mem, const char *path,
			    struct boot_kernel *k)
{
	uint8_t head[BOOT_HEAD_SIZE];
	struct boot_file f;
	size_t len;
	int ret;

	ret = boot_file_open(&f, "kernel", path);
	if (ret)
		return ret;
	len = f.size < sizeof(head) ? (size_t)f.size : sizeof(head);
	ret = boot_file_read(&f, 0, head, len);
	if (ret)
		goto out;
	if (boot_elf_probe(head, len)) {
		ret = boot_elf_load(mem, &f, k);
	} else if (boot_bzimage_probe(head, len)) {
		ret = boot_bzimage_load(mem, &f, k);
	} else {
		boot_file_error(&f, "not a bzImage or ELF kernel (bad magic)");
		ret = -ENOEXEC;
	}
out:
	boot_file_close(&f);
	return ret;
}

static int boot_cmdline_write(const struct guest_mem *mem, const char *cmdline,
			      size_t len)
{
	void *area = guest_mem_ptr(mem, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX);

	if (!area)
		return -EFAULT;
	/* Zero the whole area: a longer line of an earlier boot must not leak. */
	memset(area, 0, BOOT_CMDLINE_MAX);
	memcpy(area, cmdline, len);
	return 0;
}

static int boot_e820(const struct guest_mem *mem, struct boot_e820_entry *e820)
{
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n = guest_mem_nr_regions(mem);

	for (unsigned i = 0; i < n; i++)
		regions[i] = *guest_mem_region(mem, i);
	return boot_e820_build(regions, n, e820, BOOT_E820_MAX);
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg,
	      struct boot_setup *out)
{
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	size_t cmdline_len = strlen(cmdline);
	struct boot_e820_entry e820[BOOT_E820_MAX];
	struct boot_handoff h = {
		.cmdline_gpa = BOOT_CMDLINE_GPA,
		.cmdline_len = cmdline_len,
		.e820 = e820,
	};
	struct boot_kernel k;
	void *handoff;
	int ret;

	if (cmdline_len >= BOOT_CMDLINE_MAX) {
		log_err(BOOT_TAG, "command line of %zu bytes is too long (at most %llu)",
			cmdline_len, BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	if (!cfg->kernel_path) {
		log_err(BOOT_TAG, "no kernel to boot");
		return -EINVAL;
	}
	/* guest_mem guarantees far more; this keeps the layout's promise. */
	if (!guest_mem_ptr(mem, 0, BOOT_KERNEL_MIN_GPA)) {
		log_err(BOOT_TAG, "guest RAM does not cover the first 1 MiB");
		return -EFBIG;
	}
	/* start_info and boot_params pages, checked just above. */
	handoff = guest_mem_ptr(mem, BOOT_START_INFO_GPA,
				BOOT_PARAMS_GPA + BOOT_PAGE_SIZE -
					BOOT_START_INFO_GPA);

	ret = boot_kernel_load(mem, cfg->kernel_path, &k);
	if (ret)
		return ret;
	if (cmdline_len > k.cmdline_max) {
		log_err(BOOT_TAG, "command line of %zu bytes is longer than kernel %s accepts (%llu)",
			cmdline_len, cfg->kernel_path,
			(unsigned long long)k.cmdline_max);
		return -E2BIG;
	}
	ret = boot_cmdline_write(mem, cmdline, cmdline_len);
	if (ret)
		return ret;
	if (cfg->initrd_path) {
		ret = boot_initrd_load(mem, cfg->initrd_path, k.end,
				       k.initrd_end_max, &h.initrd_gpa,
				       &h.initrd_size);
		if (ret)
			return ret;
	}

	ret = boot_e820(mem, e820);
	if (ret < 0)
		return ret;
	h.nr_e820 = (unsigned)ret;
	ret = boot_acpi_build(mem, cfg->ncpus, &h.rsdp_gpa);
	if (ret)
		return ret;
	ret = boot_gdt_write(mem);
	if (!ret)
		ret = boot_paging_write(mem);
	if (ret) {
		log_err(BOOT_TAG, "cannot write the GDT and page tables: %s",
			strerror(-ret));
		return ret;
	}

	/* Only one hand-off is written: no stale copy of the other may stay. */
	memset(handoff, 0, BOOT_PARAMS_GPA + BOOT_PAGE_SIZE - BOOT_START_INFO_GPA);
	if (k.protocol == BOOT_PROTOCOL_PVH)
		ret = boot_start_info_write(mem, &h);
	else
		ret = boot_params_write(mem, &k, &h);
	if (ret) {
		log_err(BOOT_TAG, "cannot write the %s: %s",
			k.protocol == BOOT_PROTOCOL_PVH ? "PVH start_info"
							: "boot_params",
			strerror(-ret));
		return ret;
	}

	*out = (struct boot_setup){
		.protocol = k.protocol,
		.entry = k.entry,
		.info_gpa = k.protocol == BOOT_PROTOCOL_PVH ? BOOT_START_INFO_GPA
							   : BOOT_PARAMS_GPA,
		.kernel_start = k.start,
		.kernel_end = k.end,
		.initrd_gpa = h.initrd_gpa,
		.initrd_size = h.initrd_size,
		.rsdp_gpa = h.rsdp_gpa,
	};
	log_debug(BOOT_TAG, "kernel %s: %s entry 0x%llx, kernel [0x%llx, 0x%llx), initrd %llu bytes at 0x%llx",
		  cfg->kernel_path,
		  k.protocol == BOOT_PROTOCOL_PVH ? "PVH" : "64-bit",
		  (unsigned long long)k.entry, (unsigned long long)k.start,
		  (unsigned long long)k.end,
		  (unsigned long long)h.initrd_size,
		  (unsigned long long)h.initrd_gpa);
	return 0;
}
