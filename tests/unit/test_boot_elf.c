/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ELF kernel loading: a synthetic ELF64 executable with one PT_LOAD
 * segment (with bss) and a PT_NOTE segment that may carry the PVH entry
 * note.  Checks the protocol choice, segment contents, start_info or
 * boot_params, and that each malformed variant is refused.
 */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "guest_mem.h"
#include "pvh.h"
#include "unit.h"

#define MEM_SIZE	(64ull << 20)
#define SEG_PADDR	0x200000ull
#define SEG_OFF		0x1000u
#define SEG_FILESZ	0x2000u
#define SEG_MEMSZ	0x3000u
#define NOTE_OFF	0x3000u
#define ENTRY64		(SEG_PADDR + 0x100)
#define ENTRY_PVH	(SEG_PADDR + 0x40)
#define IMG_MAX		0x4000u
/* The first note (a GNU build id) is 32 bytes; the Xen note follows. */
#define XEN_NOTE_OFF	(NOTE_OFF + 32)

struct img {
	uint8_t buf[IMG_MAX];
	size_t len;
};

static Elf64_Ehdr *img_ehdr(struct img *m)
{
	return (Elf64_Ehdr *)m->buf;
}

static Elf64_Phdr *img_phdr(struct img *m, unsigned i)
{
	return (Elf64_Phdr *)(m->buf + sizeof(Elf64_Ehdr)) + i;
}

static Elf64_Nhdr *img_xen_note(struct img *m)
{
	return (Elf64_Nhdr *)(m->buf + XEN_NOTE_OFF);
}

static uint8_t seg_byte(size_t i)
{
	return (uint8_t)(i * 11 + 1);
}

static size_t put_note(uint8_t *p, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1,
		.n_descsz = descsz,
		.n_type = type,
	};
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, nh.n_namesz);
	off += (nh.n_namesz + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

/*
 * pvh_desc: 0 no Xen note, 4 or 8 the entry note with that descriptor
 * size, anything else a malformed descriptor size.  xen_type lets a test
 * use another Xen note type.
 */
static void img_make(struct img *m, uint32_t pvh_desc, uint32_t xen_type)
{
	Elf64_Ehdr *eh = img_ehdr(m);
	uint8_t build_id[16];
	uint64_t entry = ENTRY_PVH;
	size_t notes;

	memset(m, 0, sizeof(*m));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ENTRY64;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;

	*img_phdr(m, 0) = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X,
		.p_offset = SEG_OFF,
		.p_vaddr = 0xffffffff80000000ull + SEG_PADDR,
		.p_paddr = SEG_PADDR,
		.p_filesz = SEG_FILESZ, .p_memsz = SEG_MEMSZ,
		.p_align = 0x1000,
	};
	for (size_t i = 0; i < SEG_FILESZ; i++)
		m->buf[SEG_OFF + i] = seg_byte(i);

	memset(build_id, 0x11, sizeof(build_id));
	notes = put_note(m->buf + NOTE_OFF, "GNU", NT_GNU_BUILD_ID, build_id,
			 sizeof(build_id));
	if (pvh_desc)
		notes += put_note(m->buf + NOTE_OFF + notes, PVH_NOTE_NAME,
				  xen_type, &entry,
				  pvh_desc <= 8 ? pvh_desc : 8);
	if (pvh_desc && pvh_desc != 4 && pvh_desc != 8)
		img_xen_note(m)->n_descsz = pvh_desc;
	*img_phdr(m, 1) = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_filesz = notes,
		.p_memsz = notes, .p_align = 4,
	};
	m->len = NOTE_OFF + notes;
}

static struct guest_mem *mem_new(void)
{
	struct guest_mem *mem = NULL;

	if (guest_mem_create(MEM_SIZE, 0, &mem))
		return NULL;
	return mem;
}

static int write_tmp(const void *buf, size_t len, char *path, size_t n)
{
	const char *dir = getenv("TMPDIR");
	ssize_t w;
	int fd;

	snprintf(path, n, "%s/splitvm-test-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	w = write(fd, buf, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

static int boot_buf(struct guest_mem *mem, const void *buf, size_t len,
		    const char *initrd, const char *cmdline,
		    struct boot_setup *s)
{
	struct boot_config cfg = {
		.initrd_path = initrd, .cmdline = cmdline, .ncpus = 1,
	};
	char path[256];
	int ret;

	if (write_tmp(buf, len, path, sizeof(path)))
		return -EIO;
	cfg.kernel_path = path;
	ret = boot_load(mem, &cfg, s);
	unlink(path);
	return ret;
}

static int boot_img(struct guest_mem *mem, const struct img *m,
		    const char *initrd, const char *cmdline,
		    struct boot_setup *s)
{
	return boot_buf(mem, m->buf, m->len, initrd, cmdline, s);
}

static int make_initrd(size_t size, char *path, size_t n)
{
	uint8_t *buf = malloc(size);
	int ret;

	if (!buf)
		return -1;
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i ^ 0x3c);
	ret = write_tmp(buf, size, path, n);
	free(buf);
	return ret;
}

static void check_segment(struct guest_mem *mem)
{
	uint8_t *p = guest_mem_ptr(mem, SEG_PADDR, SEG_MEMSZ);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (size_t i = 0; i < SEG_FILESZ; i++) {
		if (p[i] != seg_byte(i)) {
			CU_FAIL("segment contents differ");
			return;
		}
	}
	for (size_t i = SEG_FILESZ; i < SEG_MEMSZ; i++) {
		if (p[i]) {
			CU_FAIL("bss not zeroed");
			return;
		}
	}
}

static void check_e820(const struct boot_e820_entry *e, unsigned n)
{
	static const struct { uint64_t addr, size; uint32_t type; } want[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x400, E820_RESERVED },
		{ 0xe0000, 0x20000, E820_RESERVED },
		{ 0x100000, MEM_SIZE - 0x100000, E820_RAM },
	};

	CU_ASSERT_EQUAL_FATAL(n, 4);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(e[i].addr, want[i].addr);
		CU_ASSERT_EQUAL(e[i].size, want[i].size);
		CU_ASSERT_EQUAL(e[i].type, want[i].type);
	}
}

/* No PVH note: 64-bit entry at e_entry with a minimal boot_params. */
static void test_linux64(void)
{
	struct guest_mem *mem = mem_new();
	const char *cmdline = "console=ttyS0";
	struct boot_params bp;
	struct boot_setup s;
	struct img m;
	char initrd[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_FATAL(make_initrd(5000, initrd, sizeof(initrd)) == 0);
	/* Stale bytes where the bss goes. */
	memset(guest_mem_ptr(mem, SEG_PADDR, SEG_MEMSZ), 0xcc, SEG_MEMSZ);
	img_make(&m, 0, 0);
	CU_ASSERT_EQUAL_FATAL(boot_img(mem, &m, initrd, cmdline, &s), 0);
	CU_ASSERT_EQUAL(s.protocol, BOOT_PROTOCOL_LINUX64);
	CU_ASSERT_EQUAL(s.entry, ENTRY64);
	CU_ASSERT_EQUAL(s.info_gpa, BOOT_PARAMS_GPA);
	CU_ASSERT_EQUAL(s.kernel_start, SEG_PADDR);
	CU_ASSERT_EQUAL(s.kernel_end, SEG_PADDR + SEG_MEMSZ);
	check_segment(mem);

	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_PARAMS_GPA, &bp, sizeof(bp)) == 0);
	CU_ASSERT_EQUAL(bp.hdr.header, 0x53726448);
	CU_ASSERT_EQUAL(bp.hdr.boot_flag, 0xaa55);
	CU_ASSERT_EQUAL(bp.hdr.type_of_loader, 0xff);
	CU_ASSERT_EQUAL(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_image, (MEM_SIZE - 5000) & ~0xfffull);
	CU_ASSERT_EQUAL(bp.hdr.ramdisk_size, 5000);
	CU_ASSERT_EQUAL(bp.acpi_rsdp_addr, s.rsdp_gpa);
	CU_ASSERT_EQUAL(bp.acpi_rsdp_addr, 0xe0000);
	check_e820(bp.e820_table, bp.e820_entries);
	CU_ASSERT_EQUAL(memcmp(guest_mem_ptr(mem, BOOT_CMDLINE_GPA, 14), cmdline, 14), 0);
	{
		const uint8_t *p = guest_mem_ptr(mem, s.initrd_gpa, 5000);

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		for (size_t i = 0; i < 5000; i++) {
			if (p[i] != (uint8_t)(i ^ 0x3c)) {
				CU_FAIL("initrd bytes differ");
				break;
			}
		}
	}
	unlink(initrd);
	guest_mem_destroy(mem);
}

static void check_pvh(uint32_t desc)
{
	struct guest_mem *mem = mem_new();
	struct pvh_start_info si;
	struct pvh_modlist_entry mod;
	struct pvh_memmap_entry map[4];
	struct boot_e820_entry e820[4];
	struct boot_params bp;
	struct boot_setup s;
	struct img m;
	char initrd[256];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_FATAL(make_initrd(8192, initrd, sizeof(initrd)) == 0);
	img_make(&m, desc, PVH_NOTE_PHYS32_ENTRY);
	CU_ASSERT_EQUAL_FATAL(boot_img(mem, &m, initrd, "pvh=1", &s), 0);
	CU_ASSERT_EQUAL(s.protocol, BOOT_PROTOCOL_PVH);
	CU_ASSERT_EQUAL(s.entry, ENTRY_PVH);
	CU_ASSERT_EQUAL(s.info_gpa, BOOT_START_INFO_GPA);
	check_segment(mem);

	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_START_INFO_GPA, &si, sizeof(si)) == 0);
	CU_ASSERT_EQUAL(si.magic, PVH_START_MAGIC);
	CU_ASSERT_EQUAL(si.version, 1);
	CU_ASSERT_EQUAL(si.flags, 0);
	CU_ASSERT_EQUAL(si.cmdline_paddr, BOOT_CMDLINE_GPA);
	CU_ASSERT_EQUAL(si.rsdp_paddr, 0xe0000);
	CU_ASSERT_EQUAL(si.nr_modules, 1);
	CU_ASSERT_EQUAL(si.memmap_entries, 4);
	CU_ASSERT_FATAL(guest_mem_read(mem, si.modlist_paddr, &mod, sizeof(mod)) == 0);
	CU_ASSERT_EQUAL(mod.paddr, s.initrd_gpa);
	CU_ASSERT_EQUAL(mod.paddr, MEM_SIZE - 8192);
	CU_ASSERT_EQUAL(mod.size, 8192);
	CU_ASSERT_EQUAL(mod.cmdline_paddr, 0);
	CU_ASSERT_FATAL(guest_mem_read(mem, si.memmap_paddr, map, sizeof(map)) == 0);
	for (unsigned i = 0; i < 4; i++) {
		e820[i].addr = map[i].addr;
		e820[i].size = map[i].size;
		e820[i].type = map[i].type;
		CU_ASSERT_EQUAL(map[i].reserved, 0);
	}
	check_e820(e820, si.memmap_entries);
	CU_ASSERT_STRING_EQUAL((char *)guest_mem_ptr(mem, si.cmdline_paddr, 6), "pvh=1");
	/* No boot_params for a PVH guest to misread. */
	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_PARAMS_GPA, &bp, sizeof(bp)) == 0);
	CU_ASSERT_EQUAL(bp.hdr.header, 0);

	/* Without an initrd there are no modules. */
	CU_ASSERT_EQUAL_FATAL(boot_img(mem, &m, NULL, NULL, &s), 0);
	CU_ASSERT_FATAL(guest_mem_read(mem, BOOT_START_INFO_GPA, &si, sizeof(si)) == 0);
	CU_ASSERT_EQUAL(si.nr_modules, 0);
	CU_ASSERT_EQUAL(s.initrd_size, 0);
	unlink(initrd);
	guest_mem_destroy(mem);
}

static void test_pvh_desc4(void)
{
	check_pvh(4);
}

static void test_pvh_desc8(void)
{
	check_pvh(8);
}

/* Another Xen note type is not the entry point. */
static void test_other_xen_note(void)
{
	struct guest_mem *mem = mem_new();
	struct boot_setup s;
	struct img m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	img_make(&m, 8, 5);
	CU_ASSERT_EQUAL(boot_img(mem, &m, NULL, "", &s), 0);
	CU_ASSERT_EQUAL(s.protocol, BOOT_PROTOCOL_LINUX64);
	CU_ASSERT_EQUAL(s.entry, ENTRY64);
	guest_mem_destroy(mem);
}

static void expect(const struct img *m, int err)
{
	struct guest_mem *mem = mem_new();
	struct boot_setup s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	CU_ASSERT_EQUAL(boot_img(mem, m, NULL, "", &s), err);
	guest_mem_destroy(mem);
}

static void test_bad_notes(void)
{
	struct img m;

	img_make(&m, 6, PVH_NOTE_PHYS32_ENTRY);		/* bad desc size */
	expect(&m, -ENOEXEC);

	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	img_xen_note(&m)->n_namesz = 0xffffffff;	/* name size overflow */
	expect(&m, -ENOEXEC);

	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	img_xen_note(&m)->n_descsz = 0xfffffff8;	/* desc size overflow */
	expect(&m, -ENOEXEC);

	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	img_phdr(&m, 1)->p_filesz -= 4;		/* desc cut by the segment end */
	expect(&m, -ENOEXEC);

	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	img_phdr(&m, 1)->p_filesz = 0x10000;	/* note segment past EOF */
	expect(&m, -ENOEXEC);

	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	img_phdr(&m, 1)->p_offset = ~0ull - 8;	/* offset + size wraps */
	expect(&m, -ENOEXEC);
}

static void test_bad_header(void)
{
	struct img m;

	img_make(&m, 0, 0);
	m.len = 32;					/* truncated header */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_machine = EM_386;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_machine = EM_AARCH64;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_ident[EI_CLASS] = ELFCLASS32;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_type = ET_DYN;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_phoff = m.len - 8;		/* table past EOF */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_phoff = ~0ull - 16;		/* offset wraps */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_phnum = 0;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_phentsize = 32;
	expect(&m, -ENOEXEC);
}

static void test_bad_segments(void)
{
	struct img m;

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_memsz = SEG_FILESZ - 16;	/* p_filesz > p_memsz */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_offset = m.len - 16;	/* data past EOF */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_paddr = 0x80000000;	/* beyond 64 MiB of RAM */
	img_ehdr(&m)->e_entry = 0x80000100;
	expect(&m, -EFBIG);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_paddr = MEM_SIZE - 0x1000;	/* straddles the end */
	expect(&m, -EFBIG);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_paddr = ~0ull - 0x1000;	/* address wraps */
	expect(&m, -EFBIG);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_paddr = 0x7000;		/* over boot_params */
	img_ehdr(&m)->e_entry = 0x7100;
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_phdr(&m, 0)->p_type = PT_NULL;		/* nothing to load */
	expect(&m, -ENOEXEC);

	img_make(&m, 0, 0);
	img_ehdr(&m)->e_entry = 0x100000;		/* entry outside segments */
	expect(&m, -ENOEXEC);

	/* PVH entry outside segments. */
	img_make(&m, 8, PVH_NOTE_PHYS32_ENTRY);
	{
		uint64_t bad = 0x1000;

		memcpy(m.buf + XEN_NOTE_OFF + sizeof(Elf64_Nhdr) + 4, &bad,
		       sizeof(bad));
	}
	expect(&m, -ENOEXEC);
}

static CU_TestInfo elf_tests[] = {
	{ "ELF without PVH note: 64-bit entry, boot_params", test_linux64 },
	{ "PVH note, 4-byte descriptor: start_info", test_pvh_desc4 },
	{ "PVH note, 8-byte descriptor: start_info", test_pvh_desc8 },
	{ "other Xen note types ignored", test_other_xen_note },
	{ "malformed notes", test_bad_notes },
	{ "malformed ELF header", test_bad_header },
	{ "malformed segments", test_bad_segments },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_elf", NULL, NULL, NULL, NULL, elf_tests },
	CU_SUITE_INFO_NULL,
};
