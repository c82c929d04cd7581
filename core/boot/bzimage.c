/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bzImage loader (Documentation/arch/x86/boot.rst): validate the setup
 * header, load the protected-mode part where the kernel will run from, and
 * report the 64-bit entry point.  The real-mode setup code is never loaded:
 * we enter at startup_64 with paging on.
 *
 * Nothing in the image is trusted: every field is checked before it is
 * used for an address or a size.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot_internal.h"

#define BZ_HDR_OFFSET		0x1f1u	/* struct setup_header in the file */
#define BZ_BOOT_FLAG_OFFSET	0x1feu
#define BZ_JUMP_OFFSET		0x200u	/* 2-byte jump; its 2nd byte sizes the header */
#define BZ_MAGIC_OFFSET		0x202u
#define BZ_BOOT_FLAG		0xaa55u
#define BZ_MAGIC		"HdrS"
#define BZ_SECTOR		512u
#define BZ_DEFAULT_SETUP_SECTS	4u	/* setup_sects == 0 means 4 */
/* 2.12 brought xloadflags (XLF_KERNEL_64): the first with a 64-bit entry. */
#define BZ_MIN_VERSION		0x020cu
/* The 64-bit entry point is 0x200 past the start of the protected-mode code. */
#define BZ_ENTRY64_OFFSET	0x200u
/* initrd_addr_max of protocols that predate the field. */
#define BZ_DEFAULT_INITRD_MAX	0x37ffffffu
#define BZ_MAX_ALIGNMENT	(1ull << 30)

/* Every header field we read lies below this file offset. */
#define BZ_HDR_NEEDED_END \
	(BZ_HDR_OFFSET + offsetof(struct setup_header, init_size) + \
	 sizeof(uint32_t))

_Static_assert(offsetof(struct boot_params, hdr) == BZ_HDR_OFFSET,
	       "setup header offset");

bool boot_bzimage_probe(const uint8_t *head, size_t len)
{
	return len >= BZ_MAGIC_OFFSET + 4 &&
	       memcmp(head + BZ_MAGIC_OFFSET, BZ_MAGIC, 4) == 0;
}

/* Copy the header the image declares, zero-filling fields past its end. */
static int bz_read_header(const struct boot_file *f, struct boot_kernel *k)
{
	uint8_t head[BOOT_HEAD_SIZE];
	size_t len = f->size < sizeof(head) ? (size_t)f->size : sizeof(head);
	uint16_t boot_flag, version;
	size_t hdr_end;
	int ret;

	if (len < BZ_MAGIC_OFFSET + 4 + sizeof(uint16_t)) {
		boot_file_error(f, "file of %llu bytes is too small for a bzImage",
				(unsigned long long)f->size);
		return -ENOEXEC;
	}
	ret = boot_file_read(f, 0, head, len);
	if (ret)
		return ret;

	memcpy(&boot_flag, head + BZ_BOOT_FLAG_OFFSET, sizeof(boot_flag));
	if (boot_flag != BZ_BOOT_FLAG) {
		boot_file_error(f, "not a bzImage (boot_flag 0x%04x, expected 0x%04x)",
				boot_flag, BZ_BOOT_FLAG);
		return -ENOEXEC;
	}
	memcpy(&version, head + BZ_MAGIC_OFFSET + 4, sizeof(version));
	if (version < BZ_MIN_VERSION) {
		boot_file_error(f, "boot protocol %u.%02u is too old (2.12 or later is needed for the 64-bit entry point)",
				version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	hdr_end = BZ_JUMP_OFFSET + 2 + head[BZ_JUMP_OFFSET + 1];
	if (hdr_end < BZ_HDR_NEEDED_END) {
		boot_file_error(f, "setup header ends at 0x%zx, too short for protocol %u.%02u",
				hdr_end, version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (hdr_end > len) {
		boot_file_error(f, "file of %llu bytes ends inside its setup header (0x%zx bytes)",
				(unsigned long long)f->size, hdr_end);
		return -ENOEXEC;
	}
	/* Newer headers are longer than ours: take what we know about. */
	k->hdr_len = hdr_end - BZ_HDR_OFFSET;
	if (k->hdr_len > sizeof(k->hdr))
		k->hdr_len = sizeof(k->hdr);
	memset(&k->hdr, 0, sizeof(k->hdr));
	memcpy(&k->hdr, head + BZ_HDR_OFFSET, k->hdr_len);
	return 0;
}

/* Consistency of the header with the file; returns the payload offset. */
static int bz_check_header(const struct boot_file *f,
			   const struct setup_header *h, uint64_t *setup_size)
{
	unsigned sects = h->setup_sects ? h->setup_sects : BZ_DEFAULT_SETUP_SECTS;
	uint64_t payload = (uint64_t)h->syssize * 16;

	if (!(h->loadflags & LOADED_HIGH)) {
		boot_file_error(f, "zImage (loaded low) kernels are not supported");
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		boot_file_error(f, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
		return -ENOEXEC;
	}
	*setup_size = (uint64_t)(sects + 1) * BZ_SECTOR;
	if (*setup_size >= f->size) {
		boot_file_error(f, "setup_sects (%u) reaches past the end of the file (%llu bytes)",
				sects, (unsigned long long)f->size);
		return -ENOEXEC;
	}
	if (payload == 0 || payload > f->size - *setup_size) {
		boot_file_error(f, "syssize says %llu bytes of kernel but the file has %llu after the setup code",
				(unsigned long long)payload,
				(unsigned long long)(f->size - *setup_size));
		return -ENOEXEC;
	}
	if (h->relocatable_kernel &&
	    (h->kernel_alignment == 0 ||
	     (h->kernel_alignment & (h->kernel_alignment - 1)) ||
	     h->kernel_alignment > BZ_MAX_ALIGNMENT)) {
		boot_file_error(f, "bad kernel_alignment 0x%x (must be a power of two up to 1 GiB)",
				h->kernel_alignment);
		return -ENOEXEC;
	}
	if (h->init_size == 0) {
		boot_file_error(f, "init_size is 0");
		return -ENOEXEC;
	}
	return 0;
}

int boot_bzimage_load(const struct guest_mem *mem, const struct boot_file *f,
		      struct boot_kernel *out)
{
	uint64_t low_end = guest_mem_low_end(mem);
	struct boot_kernel k = { .protocol = BOOT_PROTOCOL_LINUX64 };
	const struct setup_header *h = &k.hdr;
	uint64_t setup_size, payload, pref, load, run, end, initrd_max;
	int ret;

	ret = bz_read_header(f, &k);
	if (ret)
		return ret;
	ret = bz_check_header(f, h, &setup_size);
	if (ret)
		return ret;
	payload = (uint64_t)h->syssize * 16;

	/*
	 * Where the kernel runs: the decompressor moves itself to
	 * max(align_up(load, kernel_alignment), pref_address) and needs
	 * init_size bytes from there (boot.rst, init_size).  Loading a
	 * relocatable kernel lower than pref_address would not save memory,
	 * so load it right there and spare it a copy.  A fixed kernel is
	 * loaded at the traditional 1 MiB and runs from pref_address.
	 */
	pref = h->pref_address > BOOT_KERNEL_MIN_GPA ? h->pref_address
						      : BOOT_KERNEL_MIN_GPA;
	if (pref >= low_end) {
		boot_file_error(f, "kernel wants to run at 0x%llx but guest RAM below 4 GiB ends at 0x%llx",
				(unsigned long long)pref,
				(unsigned long long)low_end);
		return -EFBIG;
	}
	if (h->relocatable_kernel) {
		load = boot_align_up(pref, h->kernel_alignment);
		run = load;
	} else {
		load = BOOT_KERNEL_MIN_GPA;
		run = pref;
	}
	/* No overflow: every term is below 2^36 here. */
	end = load + payload > run + h->init_size ? load + payload
						 : run + h->init_size;
	if (end > low_end) {
		boot_file_error(f, "kernel needs guest memory up to 0x%llx (%llu MiB from 0x%llx) but RAM below 4 GiB ends at 0x%llx",
				(unsigned long long)end,
				(unsigned long long)((end - load + (1 << 20) - 1) >> 20),
				(unsigned long long)load,
				(unsigned long long)low_end);
		return -EFBIG;
	}
	ret = boot_file_load(f, setup_size, payload, mem, load);
	if (ret)
		return ret;

	initrd_max = (h->initrd_addr_max ? h->initrd_addr_max
					 : BZ_DEFAULT_INITRD_MAX) + 1ull;
	if (h->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)
		initrd_max = UINT64_MAX;

	k.entry = load + BZ_ENTRY64_OFFSET;
	k.start = load;
	k.end = end;
	k.initrd_end_max = initrd_max;
	k.cmdline_max = h->cmdline_size;
	k.is_bzimage = true;
	*out = k;
	return 0;
}
