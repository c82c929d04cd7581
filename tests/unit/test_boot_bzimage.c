/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bzImage loading: a synthetic image (setup sectors + header + payload) is
 * loaded into real guest memory and every boot_params field checked; then
 * each malformed variant must be refused with the documented errno.
 */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "guest_mem.h"
#include "unit.h"

#define MEM_SIZE	(64ull << 20)
#define PREF_ADDR	0x1000000ull	/* 16 MiB, Linux's default */
#define KALIGN		0x200000u
#define INIT_SIZE	0x800000u
#define PAYLOAD		0x10000u

struct bz_opts {
	uint8_t setup_sects;
	uint16_t boot_flag;
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t payload;	/* bytes after the setup code */
	int64_t syssize_delta;	/* lie about the payload, in paragraphs */
	uint8_t jump_len;	/* 0: header as long as ours */
};

static const struct bz_opts bz_default = {
	.setup_sects = 4,
	.boot_flag = 0xaa55,
	.version = 0x020f,
	.loadflags = LOADED_HIGH | KEEP_SEGMENTS,	/* KEEP_SEGMENTS must be cleared */
	.xloadflags = XLF_KERNEL_64,
	.relocatable = 1,
	.kernel_alignment = KALIGN,
	.pref_address = PREF_ADDR,
	.init_size = INIT_SIZE,
	.initrd_addr_max = 0x7fffffff,
	.cmdline_size = 2047,
	.payload = PAYLOAD,
};

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Image bytes; *len set.  Caller frees. */
static uint8_t *bz_make(const struct bz_opts *o, size_t *len)
{
	size_t setup = ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
	uint8_t *img;
	struct setup_header h;

	*len = setup + o->payload;
	img = calloc(1, *len);
	if (!img)
		return NULL;
	memset(&h, 0, sizeof(h));
	h.setup_sects = o->setup_sects;
	h.syssize = (uint32_t)((int64_t)(o->payload / 16) + o->syssize_delta);
	h.boot_flag = o->boot_flag;
	h.jump = (uint16_t)(0xeb | (o->jump_len ? o->jump_len
			    : 0x1f1 + sizeof(h) - 0x202) << 8);
	h.header = 0x53726448;
	h.version = o->version;
	h.loadflags = o->loadflags;
	h.code32_start = 0x100000;
	h.initrd_addr_max = o->initrd_addr_max;
	h.kernel_alignment = o->kernel_alignment;
	h.relocatable_kernel = o->relocatable;
	h.min_alignment = 21;
	h.xloadflags = o->xloadflags;
	h.cmdline_size = o->cmdline_size;
	h.pref_address = o->pref_address;
	h.init_size = o->init_size;
	h.vid_mode = 0xffff;
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < o->payload; i++)
		img[setup + i] = payload_byte(i);
	return img;
}

static void tmp_path(char *path, size_t n)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, n, "%s/splitvm-test-XXXXXX", dir ? dir : "/tmp");
}

/* Writes buf to a new temporary file; path receives its name. */
static int write_tmp(const void *buf, size_t len, char *path, size_t n)
{
	int fd;
	ssize_t w;

	tmp_path(path, n);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	w = write(fd, buf, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

/* A sparse file of size bytes whose first bytes are a recognisable pattern. */
static int make_initrd(uint64_t size, char *path, size_t n)
{
	uint8_t pat[4096];
	int fd, ret;

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(0xa5 ^ i);
	tmp_path(path, n);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ret = (size < sizeof(pat) ? write(fd, pat, size) == (ssize_t)size
				  : write(fd, pat, sizeof(pat)) == sizeof(pat)) &&
	      ftruncate(fd, (off_t)size) == 0 ? 0 : -1;
	close(fd);
	return ret;
}

/* boot_load() of image o with cmdline and optional initrd; returns its result. */
static int bz_boot(struct guest_mem *mem, const struct bz_opts *o,
		   const char *initrd, const char *cmdline,
		   struct boot_setup *setup)
{
	struct boot_config cfg = {
		.initrd_path = initrd, .cmdline = cmdline, .ncpus = 2,
	};
	char path[256];
	size_t len;
	uint8_t *img = bz_make(o, &len);
	int ret;

	if (!img)
		return -ENOMEM;
	if (write_tmp(img, len, path, sizeof(path))) {
		free(img);
		return -EIO;
	}
	free(img);
	cfg.kernel_path = path;
	ret = boot_load(mem, &cfg, setup);
	unlink(path);
	return ret;
}

static struct guest_mem *mem_new(uint64_t size)
{
	struct guest_mem *mem = NULL;

	if (guest_mem_create(size, 0, &mem))
		return NULL;
	return mem;
}

static void check_e820_64m(const struct boot_params *bp)
{
	CU_ASSERT_EQUAL_FATAL(bp->e820_entries, 4);
	CU_ASSERT_EQUAL(bp->e820_table[0].addr, 0);
	CU_ASSERT_EQUAL(bp->e820_table[0].size, 0x9fc00);
	CU_ASSERT_EQUAL(bp->e820_table[0].type, E820_RAM);
	CU_ASSERT_EQUAL(bp->e820_table[1].addr, 0x9fc00);
	CU_ASSERT_EQUAL(bp->e820_table[1].size, 0x400);
	CU_ASSERT_EQUAL(bp->e820_table[1].type, E820_RESERVED);
	CU_ASSERT_EQUAL(bp->e820_table[2].addr, 0xe0000);
	CU_ASSERT_EQUAL(bp->e820_table[2].size, 0x20000);
	CU_ASSERT_EQUAL(bp->e820_table[2].type, E820_RESERVED);
	CU_ASSERT_EQUAL(bp->e820_table[3].addr, 0x100000);
	CU_ASSERT_EQUAL(bp->e820_table[3].size, MEM_SIZE - 0x100000);
	CU_ASSERT_EQUAL(bp->e820_table[3].type, E820_RAM);
}

static void test_valid_image(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	const char *cmdline = "console=ttyS0 root=/dev/vda rw";
	const uint64_t initrd_size = 3 * 4096 + 123;
	struct boot_setup s;
	struct boot_params bp;
	char initrd[256];
	uint8_t *p;
	uint64_t expect_initrd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_FATAL(make_initrd(initrd_size, initrd, sizeof(initrd)) == 0);
	/* The test guest's trampoline page must survive loading. */
	p = guest_mem_ptr(mem, BOOT_GUEST_FREE_START, 0x1000);
	memset(p, 0x5a, 0x1000);

	CU_ASSERT_EQUAL_FATAL(bz_boot(mem, &bz_default, initrd, cmdline, &s), 0);
	CU_ASSERT_EQUAL(s.protocol, BOOT_PROTOCOL_LINUX64);
	CU_ASSERT_EQUAL(s.entry, PREF_ADDR + 0x200);
	CU_ASSERT_EQUAL(s.info_gpa, BOOT_PARAMS_GPA);
	CU_ASSERT_EQUAL(s.kernel_start, PREF_ADDR);
	CU_ASSERT_EQUAL(s.kernel_end, PREF_ADDR + INIT_SIZE);
	CU_ASSERT_EQUAL(s.rsdp_gpa, 0xe0000);

	/* Payload at the load address, byte for byte. */
	p = guest_mem_ptr(mem, PREF_ADDR, PAYLOAD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < PAYLOAD; i++) {
		if (p[i] != payload_byte(i)) {
			CU_FAIL("payload differs");
			break;
		}
	}

	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_PARAMS_GPA, &bp, sizeof(bp)) == 0);
	/* Copied from the image. */
	CU_ASSERT_EQUAL(bp.hdr.setup_sects, 4);
	CU_ASSERT_EQUAL(bp.hdr.boot_flag, 0xaa55);
	CU_ASSERT_EQUAL(bp.hdr.header, 0x53726448);
	CU_ASSERT_EQUAL(bp.hdr.version, 0x020f);
	CU_ASSERT_EQUAL(bp.hdr.vid_mode, 0xffff);
	CU_ASSERT_EQUAL(bp.hdr.syssize, PAYLOAD / 16);
	CU_ASSERT_EQUAL(bp.hdr.init_size, INIT_SIZE);
	CU_ASSERT_EQUAL(bp.hdr.pref_address, PREF_ADDR);
	CU_ASSERT_EQUAL(bp.hdr.xloadflags, XLF_KERNEL_64);
	/* Set by the loader. */
	CU_ASSERT_EQUAL(bp.hdr.type_of_loader, 0xff);
	CU_ASSERT(bp.hdr.loadflags & LOADED_HIGH);
	CU_ASSERT(bp.hdr.loadflags & CAN_USE_HEAP);
	CU_ASSERT_FALSE(bp.hdr.loadflags & KEEP_SEGMENTS);
	CU_ASSERT_EQUAL(bp.hdr.heap_end_ptr, 0xfe00);
	CU_ASSERT_EQUAL(bp.hdr.code32_start, PREF_ADDR);
	CU_ASSERT_EQUAL(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	CU_ASSERT_EQUAL(bp.ext_cmd_line_ptr, 0);
	CU_ASSERT_EQUAL(bp.acpi_rsdp_addr, 0xe0000);
	CU_ASSERT_EQUAL(bp.sentinel, 0);
	CU_ASSERT_EQUAL(bp.hdr.setup_data, 0);
	check_e820_64m(&bp);

	/* Command line bytes and terminator. */
	p = guest_mem_ptr(mem, BOOT_CMDLINE_GPA, strlen(cmdline) + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(memcmp(p, cmdline, strlen(cmdline) + 1), 0);

	/* initrd: page aligned, as high as possible below the end of RAM. */
	expect_initrd = (MEM_SIZE - initrd_size) & ~0xfffull;
	CU_ASSERT_EQUAL(s.initrd_gpa, expect_initrd);
	CU_ASSERT_EQUAL(s.initrd_size, initrd_size);
	CU_ASSERT_EQUAL(s.initrd_gpa & 0xfff, 0);
	CU_ASSERT(s.initrd_gpa >= s.kernel_end);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_image, expect_initrd);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_size, initrd_size);
	CU_ASSERT_EQUAL(bp.ext_ramdisk_image, 0);
	CU_ASSERT_EQUAL(bp.ext_ramdisk_size, 0);
	p = guest_mem_ptr(mem, s.initrd_gpa, initrd_size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < 4096; i++) {
		if (p[i] != (uint8_t)(0xa5 ^ i)) {
			CU_FAIL("initrd bytes differ");
			break;
		}
	}

	p = guest_mem_ptr(mem, BOOT_GUEST_FREE_START, 0x1000);
	for (size_t i = 0; i < 0x1000; i++) {
		if (p[i] != 0x5a) {
			CU_FAIL("0x8000-0x8fff was written");
			break;
		}
	}
	unlink(initrd);
	guest_mem_destroy(mem);
}

/* No initrd and no command line: zero ramdisk fields, an empty string. */
static void test_no_initrd_no_cmdline(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct boot_setup s;
	struct boot_params bp;
	uint8_t *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	/* A previous boot's longer command line must not survive. */
	CU_ASSERT_EQUAL_FATAL(bz_boot(mem, &bz_default, NULL, "quiet loglevel=8", &s), 0);
	CU_ASSERT_EQUAL_FATAL(bz_boot(mem, &bz_default, NULL, NULL, &s), 0);
	CU_ASSERT_EQUAL(s.initrd_size, 0);
	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_PARAMS_GPA, &bp, sizeof(bp)) == 0);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_image, 0);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_size, 0);
	CU_ASSERT_EQUAL(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	p = guest_mem_ptr(mem, BOOT_CMDLINE_GPA, 32);
	for (size_t i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	guest_mem_destroy(mem);
}

/* Without XLF_CAN_BE_LOADED_ABOVE_4G the initrd ends at initrd_addr_max. */
static void test_initrd_addr_max(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct bz_opts o = bz_default;
	const uint64_t size = 2 << 20;
	struct boot_setup s;
	char initrd[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_FATAL(make_initrd(size, initrd, sizeof(initrd)) == 0);
	o.initrd_addr_max = (32 << 20) - 1;
	CU_ASSERT_EQUAL(bz_boot(mem, &o, initrd, "", &s), 0);
	CU_ASSERT_EQUAL(s.initrd_gpa, (32 << 20) - size);
	CU_ASSERT(s.initrd_gpa + s.initrd_size - 1 <= o.initrd_addr_max);

	/* The flag lifts the limit: back to the top of RAM. */
	o.xloadflags |= XLF_CAN_BE_LOADED_ABOVE_4G;
	CU_ASSERT_EQUAL(bz_boot(mem, &o, initrd, "", &s), 0);
	CU_ASSERT_EQUAL(s.initrd_gpa, MEM_SIZE - size);

	/* Limit below the kernel's end: nowhere to go. */
	o.xloadflags = XLF_KERNEL_64;
	o.initrd_addr_max = PREF_ADDR + INIT_SIZE + 0x1000;
	CU_ASSERT_EQUAL(bz_boot(mem, &o, initrd, "", &s), -ENOSPC);
	unlink(initrd);
	guest_mem_destroy(mem);
}

/* A fixed kernel loads at 1 MiB and runs from pref_address. */
static void test_not_relocatable(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct bz_opts o = bz_default;
	struct boot_setup s;
	uint8_t *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	o.relocatable = 0;
	o.kernel_alignment = 3;		/* ignored without relocatable_kernel */
	CU_ASSERT_EQUAL_FATAL(bz_boot(mem, &o, NULL, "", &s), 0);
	CU_ASSERT_EQUAL(s.entry, 0x100200);
	CU_ASSERT_EQUAL(s.kernel_start, 0x100000);
	CU_ASSERT_EQUAL(s.kernel_end, PREF_ADDR + INIT_SIZE);
	p = guest_mem_ptr(mem, 0x100000, 16);
	CU_ASSERT_EQUAL(p[5], payload_byte(5));
	guest_mem_destroy(mem);
}

/* pref_address not aligned: the kernel runs from the next aligned address. */
static void test_alignment(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct bz_opts o = bz_default;
	struct boot_setup s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	o.pref_address = PREF_ADDR + 0x1000;
	CU_ASSERT_EQUAL_FATAL(bz_boot(mem, &o, NULL, "", &s), 0);
	CU_ASSERT_EQUAL(s.kernel_start, PREF_ADDR + KALIGN);
	CU_ASSERT_EQUAL(s.entry, PREF_ADDR + KALIGN + 0x200);
	guest_mem_destroy(mem);
}

static void expect_fail(const struct bz_opts *o, int err)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct boot_setup s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_EQUAL(bz_boot(mem, o, NULL, "", &s), err);
	guest_mem_destroy(mem);
}

static void expect_file_fail(const void *buf, size_t len, int err)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct boot_config cfg = { .ncpus = 1 };
	struct boot_setup s;
	char path[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_FATAL(write_tmp(buf, len, path, sizeof(path)) == 0);
	cfg.kernel_path = path;
	CU_ASSERT_EQUAL(boot_load(mem, &cfg, &s), err);
	unlink(path);
	guest_mem_destroy(mem);
}

static void test_bad_header_fields(void)
{
	struct bz_opts o;

	o = bz_default;
	o.boot_flag = 0x1234;
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.version = 0x020b;		/* 2.11: no xloadflags */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.xloadflags = 0;		/* no 64-bit entry */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.loadflags = 0;		/* zImage */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.syssize_delta = 1;		/* claims 16 bytes more than the file has */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.syssize_delta = -(int64_t)(PAYLOAD / 16);	/* syssize 0 */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.kernel_alignment = 0x300000;	/* not a power of two */
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.init_size = 0;
	expect_fail(&o, -ENOEXEC);

	o = bz_default;
	o.jump_len = 0x20;		/* header ends before the 2.12 fields */
	expect_fail(&o, -ENOEXEC);
}

static void test_truncated(void)
{
	size_t len;
	uint8_t *img = bz_make(&bz_default, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	/* Inside the setup header. */
	expect_file_fail(img, 0x210, -ENOEXEC);
	/* Setup sectors cut short: setup_sects reaches past EOF. */
	expect_file_fail(img, 0x300, -ENOEXEC);
	/* Payload cut short: syssize larger than what is left. */
	expect_file_fail(img, len - 16, -ENOEXEC);
	/* Empty file. */
	expect_file_fail(img, 0, -ENOEXEC);
	free(img);
}

static void test_setup_sects_past_eof(void)
{
	size_t len;
	uint8_t *img = bz_make(&bz_default, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	img[0x1f1] = 200;	/* 100 KiB of setup in a 66 KiB file */
	expect_file_fail(img, len, -ENOEXEC);
	free(img);
}

static void test_bad_magic(void)
{
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13);
	expect_file_fail(junk, sizeof(junk), -ENOEXEC);
}

static void test_too_big_for_ram(void)
{
	struct bz_opts o = bz_default;

	/* 16 MiB + 60 MiB of init_size in 64 MiB of RAM. */
	o.init_size = 60 << 20;
	expect_fail(&o, -EFBIG);

	o = bz_default;
	o.pref_address = 1ull << 40;
	expect_fail(&o, -EFBIG);

	/* Payload alone larger than RAM above pref_address. */
	o = bz_default;
	o.pref_address = MEM_SIZE - 0x200000;
	o.init_size = 0x100000;
	o.payload = 0x300000;
	expect_fail(&o, -EFBIG);
}

static void test_missing_files(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct boot_config cfg = {
		.kernel_path = "/nonexistent/splitvm/bzImage", .ncpus = 1,
	};
	struct boot_setup s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_EQUAL(boot_load(mem, &cfg, &s), -ENOENT);
	CU_ASSERT_EQUAL(bz_boot(mem, &bz_default, "/nonexistent/initrd", "", &s),
			-ENOENT);
	/* A directory is not a kernel. */
	cfg.kernel_path = "/";
	CU_ASSERT(boot_load(mem, &cfg, &s) < 0);
	guest_mem_destroy(mem);
}

static void test_initrd_too_large(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct boot_setup s;
	char initrd[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	/* 64 MiB RAM, kernel up to 24 MiB: 40 MiB of room, 41 wanted. */
	CU_ASSERT_FATAL(make_initrd(41 << 20, initrd, sizeof(initrd)) == 0);
	CU_ASSERT_EQUAL(bz_boot(mem, &bz_default, initrd, "", &s), -ENOSPC);
	unlink(initrd);
	/* Exactly the room there is fits. */
	CU_ASSERT_FATAL(make_initrd(40 << 20, initrd, sizeof(initrd)) == 0);
	CU_ASSERT_EQUAL(bz_boot(mem, &bz_default, initrd, "", &s), 0);
	CU_ASSERT_EQUAL(s.initrd_gpa, PREF_ADDR + INIT_SIZE);
	unlink(initrd);
	/* Bigger than all of RAM. */
	CU_ASSERT_FATAL(make_initrd(1ull << 32, initrd, sizeof(initrd)) == 0);
	CU_ASSERT_EQUAL(bz_boot(mem, &bz_default, initrd, "", &s), -ENOSPC);
	unlink(initrd);
	guest_mem_destroy(mem);
}

static void test_cmdline_too_long(void)
{
	struct guest_mem *mem = mem_new(MEM_SIZE);
	struct bz_opts o = bz_default;
	struct boot_setup s;
	char *line = malloc(BOOT_CMDLINE_MAX + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	/* Our 64 KiB area, NUL included. */
	o.cmdline_size = 0xffffffff;
	memset(line, 'a', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	CU_ASSERT_EQUAL(bz_boot(mem, &o, NULL, line, &s), -E2BIG);
	line[BOOT_CMDLINE_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(bz_boot(mem, &o, NULL, line, &s), 0);
	/* The kernel's own cmdline_size. */
	o.cmdline_size = 16;
	line[17] = '\0';
	CU_ASSERT_EQUAL(bz_boot(mem, &o, NULL, line, &s), -E2BIG);
	line[16] = '\0';
	CU_ASSERT_EQUAL(bz_boot(mem, &o, NULL, line, &s), 0);
	free(line);
	guest_mem_destroy(mem);
}

static CU_TestInfo bzimage_tests[] = {
	{ "valid image: boot_params, cmdline, initrd, e820", test_valid_image },
	{ "no initrd, no command line", test_no_initrd_no_cmdline },
	{ "initrd_addr_max and XLF_CAN_BE_LOADED_ABOVE_4G", test_initrd_addr_max },
	{ "non-relocatable kernel", test_not_relocatable },
	{ "kernel_alignment applied to pref_address", test_alignment },
	{ "bad header fields", test_bad_header_fields },
	{ "truncated images", test_truncated },
	{ "setup_sects past EOF", test_setup_sects_past_eof },
	{ "bad magic", test_bad_magic },
	{ "kernel too big for RAM", test_too_big_for_ram },
	{ "missing files", test_missing_files },
	{ "initrd too large", test_initrd_too_large },
	{ "command line too long", test_cmdline_too_long },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_bzimage", NULL, NULL, NULL, NULL, bzimage_tests },
	CU_SUITE_INFO_NULL,
};
