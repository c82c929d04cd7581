/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ACPI tables as a guest sees them: the RSDP found by scanning the BIOS
 * area, every table reached through the XSDT with a valid checksum, the
 * FADT's hardware-reduced sleep registers, the DSDT's \_S5 package and
 * PCI host bridge with its _PRT (AML bytes read back, and iasl's
 * disassembly of the whole DSDT) and a MADT with one local APIC per vCPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi.h"
#include "boot/aml.h"
#include "boot/boot_internal.h"
#include "guest_mem.h"
#include "pci.h"
#include "platform.h"
#include "unit.h"

extern char **environ;

#define MEM_SIZE	(64ull << 20)

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

/* Where a guest scanning [0xe0000, 0x100000) on 16-byte steps finds the RSDP. */
static uint64_t scan_rsdp(struct guest_mem *mem)
{
	for (uint64_t a = PLATFORM_BIOS_START; a < PLATFORM_BIOS_END; a += 16) {
		const struct acpi_rsdp *r = guest_mem_ptr(mem, a, sizeof(*r));

		if (r && memcmp(r->signature, "RSD PTR ", 8) == 0 &&
		    sum(r, 20) == 0)
			return a;
	}
	return 0;
}

/* A table at gpa inside the BIOS area, with a good checksum, or NULL. */
static const struct acpi_header *table_at(struct guest_mem *mem, uint64_t gpa,
					  const char *sig)
{
	const struct acpi_header *h = guest_mem_ptr(mem, gpa, sizeof(*h));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT(gpa >= PLATFORM_BIOS_START);
	CU_ASSERT(gpa + h->length <= PLATFORM_BIOS_END);
	CU_ASSERT_PTR_NOT_NULL_FATAL(guest_mem_ptr(mem, gpa, h->length));
	CU_ASSERT_EQUAL(sum(h, h->length), 0);
	CU_ASSERT_EQUAL(memcmp(h->signature, sig, 4), 0);
	return h;
}

/* The XSDT entry with signature sig. */
static const struct acpi_header *find_table(struct guest_mem *mem,
					    const struct acpi_header *xsdt,
					    const char *sig)
{
	unsigned n = (xsdt->length - sizeof(*xsdt)) / 8;

	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa;
		const struct acpi_header *h;

		memcpy(&gpa, (const uint8_t *)(xsdt + 1) + 8 * i, 8);
		h = guest_mem_ptr(mem, gpa, sizeof(*h));
		if (h && memcmp(h->signature, sig, 4) == 0)
			return table_at(mem, gpa, sig);
	}
	return NULL;
}

static const struct acpi_header *build_sized(struct guest_mem **mem,
					    uint64_t mem_size, unsigned ncpus)
{
	const struct acpi_rsdp *r;
	uint64_t rsdp = 0;

	CU_ASSERT_FATAL(guest_mem_create(mem_size, 0, mem) == 0);
	CU_ASSERT_EQUAL_FATAL(boot_acpi_build(*mem, ncpus, &rsdp), 0);
	CU_ASSERT_EQUAL(scan_rsdp(*mem), rsdp);
	CU_ASSERT_EQUAL(rsdp & 15, 0);
	r = guest_mem_ptr(*mem, rsdp, sizeof(*r));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->revision, 2);
	CU_ASSERT_EQUAL(r->length, sizeof(*r));
	CU_ASSERT_EQUAL(sum(r, sizeof(*r)), 0);
	return table_at(*mem, r->xsdt_address, "XSDT");
}

static const struct acpi_header *build(struct guest_mem **mem, unsigned ncpus)
{
	return build_sized(mem, MEM_SIZE, ncpus);
}

/* The DSDT, through the FADT, as a guest finds it. */
static const struct acpi_header *find_dsdt(struct guest_mem *mem,
					   const struct acpi_header *xsdt)
{
	const struct acpi_fadt *f;

	f = (const struct acpi_fadt *)find_table(mem, xsdt, "FACP");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_FATAL(f->x_dsdt != 0);
	return table_at(mem, f->x_dsdt, "DSDT");
}

static void test_rsdp_xsdt(void)
{
	struct guest_mem *mem;
	const struct acpi_header *xsdt = build(&mem, 1);

	CU_ASSERT_EQUAL(xsdt->revision, 1);
	CU_ASSERT_EQUAL((xsdt->length - sizeof(*xsdt)) % 8, 0);
	/* Every listed table is whole and checksummed (asserted by find_table). */
	CU_ASSERT_PTR_NOT_NULL(find_table(mem, xsdt, "FACP"));
	CU_ASSERT_PTR_NOT_NULL(find_table(mem, xsdt, "APIC"));
	CU_ASSERT_EQUAL((xsdt->length - sizeof(*xsdt)) / 8, 2);
	guest_mem_destroy(mem);
}

static void test_fadt_dsdt(void)
{
	/* Name (_S5_, Package () { 5, 0, 0, 0 }) */
	static const uint8_t s5[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05,
		0x00, 0x00, 0x00,
	};
	struct guest_mem *mem;
	const struct acpi_header *xsdt = build(&mem, 2);
	const struct acpi_fadt *f;
	const struct acpi_header *dsdt;

	f = (const struct acpi_fadt *)find_table(mem, xsdt, "FACP");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->header.revision, 6);
	CU_ASSERT_EQUAL(f->header.length, 276);
	CU_ASSERT(f->flags & (1u << 20));		/* HW_REDUCED_ACPI */
	CU_ASSERT_EQUAL(f->sleep_control_reg.space_id, 1);	/* system I/O */
	CU_ASSERT_EQUAL(f->sleep_control_reg.bit_width, 8);
	CU_ASSERT_EQUAL(f->sleep_control_reg.bit_offset, 0);
	CU_ASSERT_EQUAL(f->sleep_control_reg.address, PLATFORM_ACPI_SLEEP_CTL_PORT);
	CU_ASSERT_EQUAL(f->sleep_status_reg.space_id, 1);
	CU_ASSERT_EQUAL(f->sleep_status_reg.bit_width, 8);
	CU_ASSERT_EQUAL(f->sleep_status_reg.address, PLATFORM_ACPI_SLEEP_STS_PORT);
	CU_ASSERT_EQUAL(memcmp(&f->hypervisor_vendor_id, "SPLITVM ", 8), 0);
	/* Nothing of the legacy fixed hardware. */
	CU_ASSERT_EQUAL(f->pm1a_evt_blk, 0);
	CU_ASSERT_EQUAL(f->pm1a_cnt_blk, 0);
	CU_ASSERT_EQUAL(f->x_pm1a_cnt_blk.address, 0);
	CU_ASSERT_EQUAL(f->smi_cmd, 0);

	CU_ASSERT_FATAL(f->x_dsdt != 0);
	dsdt = table_at(mem, f->x_dsdt, "DSDT");
	CU_ASSERT_EQUAL(dsdt->revision, 2);
	/* \_S5_ first, then the PCI host bridge (tested below). */
	CU_ASSERT_FATAL(dsdt->length > sizeof(*dsdt) + sizeof(s5));
	CU_ASSERT_EQUAL(memcmp(dsdt + 1, s5, sizeof(s5)), 0);
	/* SLP_TYPa is what the platform's sleep register powers off on. */
	CU_ASSERT_EQUAL(s5[9], PLATFORM_ACPI_S5_TYP);
	guest_mem_destroy(mem);
}

static void check_madt(unsigned ncpus)
{
	struct guest_mem *mem;
	const struct acpi_header *xsdt = build(&mem, ncpus);
	const struct acpi_madt *m;
	const uint8_t *p, *end;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	m = (const struct acpi_madt *)find_table(mem, xsdt, "APIC");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->lapic_address, 0xfee00000u);
	CU_ASSERT_EQUAL(m->flags, 1);			/* PCAT_COMPAT */
	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->header.length;
	while (p < end) {
		CU_ASSERT_FATAL(p + 2 <= end && p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case ACPI_MADT_TYPE_LAPIC: {
			const struct acpi_madt_lapic *l = (const void *)p;

			CU_ASSERT_EQUAL(l->length, 8);
			CU_ASSERT_EQUAL(l->processor_uid, lapics);
			CU_ASSERT_EQUAL(l->apic_id, lapics);
			CU_ASSERT_EQUAL(l->flags, 1);	/* enabled */
			lapics++;
			break;
		}
		case ACPI_MADT_TYPE_IOAPIC: {
			const struct acpi_madt_ioapic *io = (const void *)p;

			CU_ASSERT_EQUAL(io->length, 12);
			CU_ASSERT_EQUAL(io->address, 0xfec00000u);
			CU_ASSERT_EQUAL(io->gsi_base, 0);
			/* What KVM's IOAPIC ID register reads. */
			CU_ASSERT_EQUAL(io->ioapic_id, PLATFORM_IOAPIC_ID);
			ioapics++;
			break;
		}
		case ACPI_MADT_TYPE_INT_OVERRIDE: {
			const struct acpi_madt_int_override *o = (const void *)p;

			CU_ASSERT_EQUAL(o->length, 10);
			CU_ASSERT_EQUAL(o->bus, 0);
			CU_ASSERT_EQUAL(o->source, 0);
			CU_ASSERT_EQUAL(o->gsi, 2);
			CU_ASSERT_EQUAL(o->flags, 0);
			isos++;
			break;
		}
		case ACPI_MADT_TYPE_LAPIC_NMI: {
			const struct acpi_madt_lapic_nmi *n = (const void *)p;

			CU_ASSERT_EQUAL(n->length, 6);
			CU_ASSERT_EQUAL(n->processor_uid, 0xff);
			CU_ASSERT_EQUAL(n->lint, 1);
			nmis++;
			break;
		}
		default:
			CU_FAIL("unexpected MADT entry type");
		}
		p += p[1];
	}
	CU_ASSERT_PTR_EQUAL(p, end);
	CU_ASSERT_EQUAL(lapics, ncpus);
	CU_ASSERT_EQUAL(ioapics, 1);
	CU_ASSERT_EQUAL(isos, 1);
	CU_ASSERT_EQUAL(nmis, 1);
	guest_mem_destroy(mem);
}

static void test_madt_1(void)
{
	check_madt(1);
}

static void test_madt_4(void)
{
	check_madt(4);
}

static void test_madt_254(void)
{
	check_madt(BOOT_ACPI_MAX_CPUS);
}

static void test_bad_ncpus(void)
{
	struct guest_mem *mem;
	uint64_t rsdp;

	CU_ASSERT_FATAL(guest_mem_create(MEM_SIZE, 0, &mem) == 0);
	CU_ASSERT_EQUAL(boot_acpi_build(mem, 0, &rsdp), -EINVAL);
	CU_ASSERT_EQUAL(boot_acpi_build(mem, BOOT_ACPI_MAX_CPUS + 1, &rsdp), -EINVAL);
	guest_mem_destroy(mem);
}

/* A rebuild with fewer CPUs leaves no stale table behind for a scanner. */
static void test_rebuild_clears(void)
{
	struct guest_mem *mem;
	const struct acpi_header *xsdt = build(&mem, 200);
	const struct acpi_header *madt = find_table(mem, xsdt, "APIC");
	uint64_t madt_end, rsdp;
	const uint8_t *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(madt);
	madt_end = (uint64_t)((const uint8_t *)madt - (const uint8_t *)
			      guest_mem_ptr(mem, PLATFORM_BIOS_START, 1)) +
		   PLATFORM_BIOS_START + madt->length;
	CU_ASSERT_EQUAL_FATAL(boot_acpi_build(mem, 1, &rsdp), 0);
	p = guest_mem_ptr(mem, PLATFORM_BIOS_START,
			  PLATFORM_BIOS_END - PLATFORM_BIOS_START);
	/* The XSDT now follows a much shorter MADT; past it all is zero. */
	xsdt = table_at(mem, ((const struct acpi_rsdp *)p)->xsdt_address, "XSDT");
	{
		uint64_t used_end = ((const struct acpi_rsdp *)p)->xsdt_address +
				    xsdt->length;

		CU_ASSERT(used_end < madt_end);
		for (uint64_t a = used_end; a < madt_end; a++) {
			if (p[a - PLATFORM_BIOS_START]) {
				CU_FAIL("stale ACPI bytes after a rebuild");
				break;
			}
		}
	}
	guest_mem_destroy(mem);
}

/* ---- AML ---- */

static void check_pkg_length(size_t body, const uint8_t *want, size_t n)
{
	uint8_t out[4] = { 0 };

	CU_ASSERT_EQUAL_FATAL(aml_pkg_length_encode(body, out), n);
	CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
}

/* The encoded value counts the PkgLength bytes themselves (ACPI 20.2.4). */
static void test_aml_pkg_length(void)
{
	uint8_t out[4];

	/* 1 byte: 0 and 62 body bytes are 1 and 63 in all. */
	check_pkg_length(0, (const uint8_t[]){ 0x01 }, 1);
	check_pkg_length(62, (const uint8_t[]){ 0x3f }, 1);
	/* 2 bytes: 63 + 2 = 0x41: lead 0x40 | 0x1, then 0x41 >> 4. */
	check_pkg_length(63, (const uint8_t[]){ 0x41, 0x04 }, 2);
	/* 4093 + 2 = 0xfff, the largest 12-bit value. */
	check_pkg_length(4093, (const uint8_t[]){ 0x4f, 0xff }, 2);
	/* 3 bytes: 4094 + 3 = 0x1001: lead 0x80 | 0x1, then 0x00, 0x01. */
	check_pkg_length(4094, (const uint8_t[]){ 0x81, 0x00, 0x01 }, 3);
	/* 0xffffc + 3 = 0xfffff, the largest 20-bit value. */
	check_pkg_length(0xffffc, (const uint8_t[]){ 0x8f, 0xff, 0xff }, 3);
	/* 4 bytes: 0xffffd + 4 = 0x100001: lead 0xc1, then 00 00 01. */
	check_pkg_length(0xffffd, (const uint8_t[]){ 0xc1, 0x00, 0x00, 0x01 }, 4);
	/* 28 bits at most. */
	check_pkg_length(AML_PKG_LENGTH_MAX - 4,
			 (const uint8_t[]){ 0xcf, 0xff, 0xff, 0xff }, 4);
	CU_ASSERT_EQUAL(aml_pkg_length_encode(AML_PKG_LENGTH_MAX - 3, out), 0);
}

/* aml_pkg_end slides a body that needs a 2-byte PkgLength up. */
static void test_aml_pkg_insert(void)
{
	uint8_t buf[128];
	struct aml a;
	size_t pkg;

	aml_init(&a, buf, sizeof(buf));
	aml_byte(&a, AML_PACKAGE_OP);
	pkg = aml_pkg_begin(&a);
	for (int i = 0; i < 100; i++)
		aml_byte(&a, (uint8_t)i);
	aml_pkg_end(&a, pkg);
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, 103);
	/* 100 + 2 = 0x66: 0x46, 0x06. */
	CU_ASSERT_EQUAL(buf[1], 0x46);
	CU_ASSERT_EQUAL(buf[2], 0x06);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(buf[3 + i], i);

	/* No room for the length byte: an error, not an overrun. */
	aml_init(&a, buf, 4);
	pkg = aml_pkg_begin(&a);
	aml_bytes(&a, "abcd", 4);
	aml_pkg_end(&a, pkg);
	CU_ASSERT_TRUE(a.error);
}

static void test_aml_names_integers(void)
{
	static const uint8_t want[] = {
		0x08, '_', 'U', 'I', 'D', 0x00,		/* Name (_UID, Zero) */
		0x08, '_', 'A', 'D', 'R', 0x01,		/* Name (_ADR, One) */
		0x08, 'A', 'B', 'C', 'D', 0x0a, 0x05,	/* BytePrefix */
		0x08, 'A', 'B', 'C', 'D', 0x0b, 0x34, 0x12,
		0x08, 'A', 'B', 'C', 'D', 0x0c, 0x78, 0x56, 0x34, 0x12,
		0x08, 'A', 'B', 'C', 'D', 0x0e,
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		/* \_SB_.PCI0: RootChar, DualNamePrefix, two segments */
		0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		/* \A___.B___.C___: MultiNamePrefix, count 3 */
		0x5c, 0x2f, 0x03, 'A', '_', '_', '_', 'B', '_', '_', '_',
		'C', '_', '_', '_',
	};
	uint8_t buf[128];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_name_integer(&a, "_UID", 0);
	aml_name_integer(&a, "_ADR", 1);
	aml_name_integer(&a, "ABCD", 5);
	aml_name_integer(&a, "ABCD", 0x1234);
	aml_name_integer(&a, "ABCD", 0x12345678);
	aml_name_integer(&a, "ABCD", 0x0102030405060708ull);
	aml_name_string(&a, "\\_SB_.PCI0");
	aml_name_string(&a, "\\A___.B___.C___");
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);

	/* Segments are 4 characters, not starting with a digit. */
	aml_init(&a, buf, sizeof(buf));
	aml_name_string(&a, "\\_SB.PCI0");
	CU_ASSERT_TRUE(a.error);
	aml_init(&a, buf, sizeof(buf));
	aml_name_string(&a, "0ABC");
	CU_ASSERT_TRUE(a.error);
	aml_init(&a, buf, sizeof(buf));
	aml_name_string(&a, "");
	CU_ASSERT_TRUE(a.error);
}

/*
 * EISAID: 'P' 'N' 'P' are 16, 14, 16 in 5 bits each: 0 10000 01110 10000
 * = 0x41d0, then the digits 0x0a03; stored big-endian 41 d0 0a 03, so the
 * little-endian DWord is 0x030ad041.
 */
static void test_aml_eisaid(void)
{
	static const uint8_t want[] = {
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
	};
	uint8_t buf[16];
	struct aml a;

	CU_ASSERT_EQUAL(aml_eisaid("PNP0A03"), 0x030ad041u);
	CU_ASSERT_EQUAL(aml_eisaid("PNP0A08"), 0x080ad041u);
	CU_ASSERT_EQUAL(aml_eisaid("PNP0a03"), 0);
	CU_ASSERT_EQUAL(aml_eisaid("PNP0A0"), 0);
	aml_init(&a, buf, sizeof(buf));
	aml_name_eisaid(&a, "_HID", "PNP0A03");
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
}

/* Device (\_SB.PCI0) { Name (_UID, Zero) } */
static void test_aml_device(void)
{
	static const uint8_t want[] = {
		0x5b, 0x82,		/* ExtOpPrefix, DeviceOp */
		0x11,			/* PkgLength: 1 + 10 + 6 = 17 */
		0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		0x08, '_', 'U', 'I', 'D', 0x00,
	};
	uint8_t buf[64];
	struct aml a;
	size_t dev;

	aml_init(&a, buf, sizeof(buf));
	dev = aml_device_begin(&a, "\\_SB_.PCI0");
	aml_name_integer(&a, "_UID", 0);
	aml_device_end(&a, dev);
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
}

/* Name (_CRS, Buffer () { 1, 2, 3 }) */
static void test_aml_buffer(void)
{
	static const uint8_t want[] = {
		0x08, '_', 'C', 'R', 'S',
		0x11,			/* BufferOp */
		0x06,			/* PkgLength: 1 + 2 + 3 */
		0x0a, 0x03,		/* BufferSize: BytePrefix 3 */
		1, 2, 3,
	};
	uint8_t buf[32];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_name_buffer(&a, "_CRS", (const uint8_t[]){ 1, 2, 3 }, 3);
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof(want)), 0);
}

static void check_rd(const struct aml *a, const uint8_t *want, size_t n)
{
	CU_ASSERT_FALSE(a->error);
	CU_ASSERT_EQUAL_FATAL(a->len, n);
	CU_ASSERT_EQUAL(memcmp(a->buf, want, n), 0);
}

/*
 * Package () { 5, Zero }, and one of 64 Zeros whose PkgLength takes two
 * bytes: 67 = 2 + 1 + 64 -> 0x43 (n = 1, low nibble 3), 0x04.
 */
static void test_aml_package(void)
{
	static const uint8_t small[] = {
		0x12, 0x05, 0x02, 0x0a, 0x05, 0x00,
	};
	uint8_t buf[320];
	struct aml a;
	size_t pkg;

	aml_init(&a, buf, sizeof(buf));
	pkg = aml_package_begin(&a, 2);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_package_end(&a, pkg);
	check_rd(&a, small, sizeof(small));

	aml_init(&a, buf, sizeof(buf));
	pkg = aml_package_begin(&a, 64);
	for (int i = 0; i < 64; i++)
		aml_integer(&a, 0);
	aml_package_end(&a, pkg);
	CU_ASSERT_FALSE(a.error);
	CU_ASSERT_EQUAL_FATAL(a.len, 4 + 64);
	CU_ASSERT_EQUAL(buf[0], AML_PACKAGE_OP);
	CU_ASSERT_EQUAL(buf[1], 0x43);
	CU_ASSERT_EQUAL(buf[2], 0x04);
	CU_ASSERT_EQUAL(buf[3], 64);

	/* NumElements is one byte: 256 needs a VarPackage, refused. */
	aml_init(&a, buf, sizeof(buf));
	pkg = aml_package_begin(&a, 256);
	aml_package_end(&a, pkg);
	CU_ASSERT_TRUE(a.error);
}

/*
 * Address space descriptors: tag, 16-bit length of the rest, resource
 * type, general flags 0x0c (MaxFixed | MinFixed, PosDecode, bit 0 clear:
 * ResourceProducer), type-specific flags, then granularity, min, max,
 * translation offset and length, each 2, 4 or 8 bytes.
 */
static void test_aml_descriptors(void)
{
	/* WordBusNumber 0-0 */
	static const uint8_t bus[] = {
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	};
	/* IO (Decode16, 0x0cf8, 0x0cf8, 1, 8): small item 0x08, length 7 */
	static const uint8_t io[] = {
		0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	};
	/* WordIO 0xc000-0xffff, EntireRange (type-specific 3) */
	static const uint8_t word_io[] = {
		0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
		0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40,
	};
	/* DWordMemory 0xc0000000-0xefffffff, NonCacheable, ReadWrite */
	static const uint8_t dword_mem[] = {
		0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
		0x00, 0x00, 0x00, 0x00,		/* granularity */
		0x00, 0x00, 0x00, 0xc0,		/* min */
		0xff, 0xff, 0xff, 0xef,		/* max */
		0x00, 0x00, 0x00, 0x00,		/* translation */
		0x00, 0x00, 0x00, 0x30,		/* length */
	};
	/* QWordMemory 0x100000000-0x8ffffffff, NonCacheable, ReadWrite */
	static const uint8_t qword_mem[] = {
		0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,
		0, 0, 0, 0, 0, 0, 0, 0,				/* granularity */
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,	/* min */
		0xff, 0xff, 0xff, 0xff, 0x08, 0x00, 0x00, 0x00,	/* max */
		0, 0, 0, 0, 0, 0, 0, 0,				/* translation */
		0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,	/* length */
	};
	/* IO above, then End Tag: 0x47+0x01+0xf8+0x0c+0xf8+0x0c+0x01+0x08+0x79
	 * = 0x2d2, so the checksum is 0x100 - 0xd2 = 0x2e. */
	static const uint8_t io_end[] = {
		0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08, 0x79, 0x2e,
	};
	uint8_t buf[64];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_rd_word_bus(&a, 0, 0);
	check_rd(&a, bus, sizeof(bus));
	aml_init(&a, buf, sizeof(buf));
	aml_rd_io(&a, 0xcf8, 0xcf8, 1, 8);
	check_rd(&a, io, sizeof(io));
	aml_init(&a, buf, sizeof(buf));
	aml_rd_word_io(&a, 0xc000, 0xffff);
	check_rd(&a, word_io, sizeof(word_io));
	aml_init(&a, buf, sizeof(buf));
	aml_rd_dword_mem(&a, ACPI_RD_MEM_NON_CACHEABLE | ACPI_RD_MEM_RW,
			 0xc0000000u, 0xefffffffu);
	check_rd(&a, dword_mem, sizeof(dword_mem));
	aml_init(&a, buf, sizeof(buf));
	aml_rd_qword_mem(&a, ACPI_RD_MEM_NON_CACHEABLE | ACPI_RD_MEM_RW,
			 1ull << 32, (9ull << 32) - 1);
	check_rd(&a, qword_mem, sizeof(qword_mem));
	aml_init(&a, buf, sizeof(buf));
	aml_rd_io(&a, 0xcf8, 0xcf8, 1, 8);
	aml_rd_end(&a, 0);
	check_rd(&a, io_end, sizeof(io_end));
	CU_ASSERT_EQUAL(sum(buf, a.len), 0);

	/* An inverted range is refused. */
	aml_init(&a, buf, sizeof(buf));
	aml_rd_word_io(&a, 0xffff, 0xc000);
	CU_ASSERT_TRUE(a.error);
}

/* ---- reading AML back, as an OS's interpreter would ---- */

/*
 * The PkgLength at *p (its value counts its own bytes), advancing *p past
 * it; 0 when it does not fit before end.
 */
static size_t read_pkg_length(const uint8_t **p, const uint8_t *end)
{
	size_t n, v;

	if (*p >= end)
		return 0;
	n = **p >> 6;
	if ((size_t)(end - *p) < n + 1)
		return 0;
	v = n ? (**p & 0xfu) : (**p & 0x3fu);
	for (size_t i = 1; i <= n; i++)
		v |= (size_t)(*p)[i] << (4 + 8 * (i - 1));
	*p += n + 1;
	return v;
}

/* ZeroOp, OneOp or a Byte/Word/DWord/QWord constant at *p. */
static bool read_integer(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	static const struct { uint8_t op; unsigned len; } ops[] = {
		{ AML_BYTE_PREFIX, 1 }, { AML_WORD_PREFIX, 2 },
		{ AML_DWORD_PREFIX, 4 }, { AML_QWORD_PREFIX, 8 },
	};

	if (*p >= end)
		return false;
	if (**p == AML_ZERO_OP || **p == AML_ONE_OP) {
		*v = **p;
		(*p)++;
		return true;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (**p != ops[i].op)
			continue;
		if ((size_t)(end - *p) < 1 + ops[i].len)
			return false;
		*v = 0;
		for (unsigned b = 0; b < ops[i].len; b++)
			*v |= (uint64_t)(*p)[1 + b] << (8 * b);
		*p += 1 + ops[i].len;
		return true;
	}
	return false;
}

/*
 * Name (_PRT, Package () { ... }) filling [p, end) exactly: one entry per
 * slot and pin, slot-major, each { slot << 16 | 0xFFFF, pin, Zero,
 * pci_intx_gsi(slot, pin) }, every PkgLength spanning exactly its package.
 */
static void check_prt(const uint8_t *p, const uint8_t *end)
{
	static const uint8_t name[] = { AML_NAME_OP, '_', 'P', 'R', 'T',
					AML_PACKAGE_OP };
	const uint8_t *pkg, *entry;
	size_t len;

	CU_ASSERT_FATAL((size_t)(end - p) > sizeof(name));
	CU_ASSERT_EQUAL_FATAL(memcmp(p, name, sizeof(name)), 0);
	p += sizeof(name);
	pkg = p;
	len = read_pkg_length(&p, end);
	CU_ASSERT_TRUE(p - pkg > 1);		/* over 63 bytes: multi-byte */
	CU_ASSERT_EQUAL_FATAL(len, (size_t)(end - pkg));
	CU_ASSERT_FATAL(p < end);
	CU_ASSERT_EQUAL_FATAL(*p, PCI_MAX_SLOTS * PCI_INTX_PINS);
	p++;
	for (unsigned slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			uint64_t v[4];

			CU_ASSERT_FATAL(p < end && *p == AML_PACKAGE_OP);
			entry = ++p;
			len = read_pkg_length(&p, end);
			CU_ASSERT_FATAL(len && (size_t)(end - entry) >= len);
			CU_ASSERT_FATAL(p < end && *p == 4);
			p++;
			for (int i = 0; i < 4; i++)
				CU_ASSERT_FATAL(read_integer(&p, entry + len,
							     &v[i]));
			CU_ASSERT_EQUAL_FATAL(p, entry + len);
			CU_ASSERT_EQUAL(v[0], (uint64_t)slot << 16 | 0xffff);
			CU_ASSERT_EQUAL(v[1], pin);
			CU_ASSERT_EQUAL(v[2], 0);
			CU_ASSERT_EQUAL(v[3], (uint64_t)pci_intx_gsi(slot, pin));
		}
	}
	CU_ASSERT_EQUAL(p, end);
}

/*
 * The host bridge in the DSDT, byte for byte up to the _CRS contents (the
 * descriptors themselves are checked above and by iasl below), the 64-bit
 * window in it is the one the PCI root decodes, and the _PRT after it
 * routes every slot and pin where the transports drive them.
 */
static void test_dsdt_pci_root(void)
{
	static const uint8_t dev_op[] = { 0x5b, 0x82 };	/* Device */
	static const uint8_t head[] = {
		0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
		0x08, '_', 'U', 'I', 'D', 0x00,
		0x08, '_', 'S', 'E', 'G', 0x00,
		0x08, '_', 'B', 'B', 'N', 0x00,
		0x08, '_', 'A', 'D', 'R', 0x00,
		/* Buffer, PkgLength 0x46 0x07: 0x76 = 118 = 2 + 2 + 114,
		 * BufferSize 0x72 = 114 = 16 + 8 + 16 + 26 + 46 + 2 */
		0x08, '_', 'C', 'R', 'S', 0x11, 0x46, 0x07, 0x0a, 0x72,
	};
	const size_t s5_len = 13, crs_len = 114;
	struct guest_mem *mem;
	const struct acpi_header *xsdt, *dsdt;
	const uint8_t *p, *crs, *dev, *aml_end;
	size_t dev_len;
	struct acpi_rd_qword_addr q;
	const struct guest_region *top;
	uint64_t start, end;

	/* Two statements: argument evaluation order is unspecified. */
	xsdt = build_sized(&mem, 6ull << 30, 1);
	dsdt = find_dsdt(mem, xsdt);
	/* The Device runs to the end of the DSDT. */
	p = (const uint8_t *)(dsdt + 1) + s5_len;
	aml_end = (const uint8_t *)dsdt + dsdt->length;
	CU_ASSERT_FATAL(dsdt->length > sizeof(*dsdt) + s5_len + sizeof(dev_op) +
			2 + sizeof(head) + crs_len);
	CU_ASSERT_EQUAL(memcmp(p, dev_op, sizeof(dev_op)), 0);
	p += sizeof(dev_op);
	dev = p;
	dev_len = read_pkg_length(&p, aml_end);
	CU_ASSERT_EQUAL_FATAL(dev_len, (size_t)(aml_end - dev));
	CU_ASSERT_EQUAL(memcmp(p, head, sizeof(head)), 0);
	crs = p + sizeof(head);
	check_prt(crs + crs_len, aml_end);
	CU_ASSERT_EQUAL(sum(crs, crs_len), 0);		/* End Tag checksum */
	CU_ASSERT_EQUAL(crs[crs_len - 2], ACPI_RD_END_TAG);

	memcpy(&q, crs + 16 + 8 + 16 + 26, sizeof(q));
	CU_ASSERT_EQUAL(q.head.tag, ACPI_RD_QWORD_ADDR);
	top = guest_mem_region(mem, guest_mem_nr_regions(mem) - 1);
	CU_ASSERT_EQUAL_FATAL(pci_mmio64_window(top->gpa + top->size, &start,
						&end), 0);
	CU_ASSERT_EQUAL(q.min, start);
	CU_ASSERT_EQUAL(q.max, end - 1);
	CU_ASSERT_EQUAL(q.length, PCI_MMIO64_WINDOW_SIZE);
	guest_mem_destroy(mem);
}

/* ---- the DSDT through iasl ---- */

/* The whole of a file, NUL-terminated, or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/*
 * The n hex values iasl prints after the first occurrence of macro (a
 * descriptor's name and its opening parenthesis), in order: for an address
 * descriptor granularity, min, max, translation, length.
 */
static void check_dsl_values(const char *dsl, const char *macro,
			     const uint64_t *want, unsigned n)
{
	const char *p = strstr(dsl, macro);

	CU_ASSERT_PTR_NOT_NULL(p);
	if (!p) {
		fprintf(stderr, "iasl output lacks \"%s\"\n", macro);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t v;

		p = strstr(p, "0x");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		v = strtoull(p, (char **)&p, 16);
		if (v != want[i])
			fprintf(stderr, "%s value %u: 0x%llx, want 0x%llx\n",
				macro, i, (unsigned long long)v,
				(unsigned long long)want[i]);
		CU_ASSERT_EQUAL(v, want[i]);
	}
}

/* The next integer iasl printed at or after *p: Zero, One or 0x... */
static bool dsl_integer(const char **p, uint64_t *v)
{
	*p += strspn(*p, " \t\r\n,");
	if (strncmp(*p, "Zero", 4) == 0 || strncmp(*p, "One", 3) == 0) {
		*v = **p == 'O';
		*p += *v ? 3 : 4;
		return true;
	}
	if (strncmp(*p, "0x", 2) != 0)
		return false;
	*v = strtoull(*p, (char **)p, 16);
	return true;
}

/*
 * iasl's _PRT: Package (0x80) of entries Package (0x04) { address, pin,
 * Zero, GSI }, each where pci_intx_gsi() says, and no other Package after
 * it (it is the last thing in the DSDT).
 */
static void check_dsl_prt(const char *dsl)
{
	const char *p = strstr(dsl, "Name (_PRT, Package (0x80)");
	unsigned bad = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p = strchr(p, '{');
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (unsigned slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			uint64_t v[4], want[4] = {
				(uint64_t)slot << 16 | 0xffff, pin, 0,
				(uint64_t)pci_intx_gsi(slot, pin),
			};

			p = strstr(p, "Package (0x04)");
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			p = strchr(p, '{');
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			p++;
			for (int i = 0; i < 4; i++) {
				CU_ASSERT_FATAL(dsl_integer(&p, &v[i]));
				if (v[i] != want[i] && bad++ < 4)
					fprintf(stderr, "_PRT slot %u pin %u "
						"element %d: 0x%llx, want 0x%llx\n",
						slot, pin, i,
						(unsigned long long)v[i],
						(unsigned long long)want[i]);
				CU_ASSERT_EQUAL(v[i], want[i]);
			}
		}
	}
	CU_ASSERT_PTR_NULL(strstr(p, "Package"));
}

/* iasl -d dir/dsdt.aml, output in dir/dsdt.dsl, messages in dir/iasl.log. */
static int run_iasl(const char *dir)
{
	char aml[256], prefix[256], log[256];
	char *argv[] = { "iasl", "-p", prefix, "-d", aml, NULL };
	posix_spawn_file_actions_t fa;
	int ret, status;
	pid_t pid;

	snprintf(aml, sizeof(aml), "%s/dsdt.aml", dir);
	snprintf(prefix, sizeof(prefix), "%s/dsdt", dir);
	snprintf(log, sizeof(log), "%s/iasl.log", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	ret = posix_spawnp(&pid, "iasl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret)
		return -ret;
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The real check of the AML: ACPICA's own disassembler reads the DSDT a
 * guest gets and finds every name and range where we meant them to be.
 * A missing iasl fails the test rather than skipping it: quickstart
 * installs acpica-tools, and a skip would silently drop the only check of
 * the AML that is not our own reading of the spec.
 */
static void check_iasl(uint64_t mem_size, uint64_t win64_start)
{
	char dir[] = "/tmp/splitvm-acpi-XXXXXX";
	unsigned failures = CU_get_number_of_failures();
	char path[256];
	struct guest_mem *mem;
	const struct acpi_header *xsdt, *dsdt;
	char *dsl, *log;
	FILE *f;
	int ret;

	/* Two statements: argument evaluation order is unspecified. */
	xsdt = build_sized(&mem, mem_size, 1);
	dsdt = find_dsdt(mem, xsdt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(dsdt, 1, dsdt->length, f), dsdt->length);
	CU_ASSERT_EQUAL(fclose(f), 0);
	guest_mem_destroy(mem);

	ret = run_iasl(dir);
	if (ret == -ENOENT) {
		fprintf(stderr, "iasl not found in PATH: install acpica-tools "
			"(contrib/quickstart does); the DSDT cannot be checked\n");
		CU_FAIL("iasl not found: install acpica-tools");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/iasl.log", dir);
	log = slurp(path);
	if (ret)
		fprintf(stderr, "iasl -d exited %d:\n%s\n", ret, log ? log : "");
	CU_ASSERT_EQUAL(ret, 0);
	/* iasl reports a malformed table on its output, not always in its status. */
	CU_ASSERT(log && strstr(log, "Disassembly completed") &&
		  !strstr(log, "Error") && !strstr(log, "Warning"));
	free(log);

	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dsl);
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_S5, Package (0x04)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Device (\\_SB.PCI0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_HID, EisaId (\"PNP0A03\")"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_UID, Zero)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_SEG, Zero)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_BBN, Zero)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_ADR, Zero)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_CRS, ResourceTemplate ()"));
	check_dsl_values(dsl,
		"WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
		(const uint64_t[]){ 0, 0, 0, 0, 1 }, 5);
	check_dsl_values(dsl, "IO (Decode16,",
		(const uint64_t[]){ 0xcf8, 0xcf8, 1, 8 }, 4);
	check_dsl_values(dsl,
		"WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		(const uint64_t[]){ 0, 0xc000, 0xffff, 0, 0x4000 }, 5);
	check_dsl_values(dsl,
		"DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
		(const uint64_t[]){ 0, 0xc0000000, 0xefffffff, 0, 0x30000000 }, 5);
	check_dsl_values(dsl,
		"QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
		(const uint64_t[]){ 0, win64_start,
				    win64_start + (32ull << 30) - 1, 0,
				    32ull << 30 }, 5);
	/* Spot checks of the text, then every entry. */
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "Name (_PRT, Package (0x80)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "0xFFFF, \n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dsl, "0x001FFFFF, \n"));
	check_dsl_prt(dsl);
	free(dsl);
out:
	if (CU_get_number_of_failures() != failures) {
		fprintf(stderr, "iasl input and output kept in %s\n", dir);
		return;
	}
	for (const char *const *n = (const char *const[]){ "dsdt.aml",
			"dsdt.dsl", "iasl.log", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

/* All RAM below 4 GiB: the 64-bit window starts at 4 GiB. */
static void test_iasl_512m(void)
{
	check_iasl(512ull << 20, 4ull << 30);
}

/* 3 GiB low, 3 GiB from 4 GiB: RAM ends at 7 GiB and the window there. */
static void test_iasl_6g(void)
{
	check_iasl(6ull << 30, 7ull << 30);
}

static CU_TestInfo acpi_tests[] = {
	{ "RSDP by scanning, XSDT, checksums", test_rsdp_xsdt },
	{ "FADT sleep registers, DSDT \\_S5", test_fadt_dsdt },
	{ "MADT for 1 vCPU", test_madt_1 },
	{ "MADT for 4 vCPUs", test_madt_4 },
	{ "MADT for 254 vCPUs", test_madt_254 },
	{ "vCPU count out of range", test_bad_ncpus },
	{ "rebuild leaves nothing stale", test_rebuild_clears },
	{ "AML PkgLength of 1 to 4 bytes", test_aml_pkg_length },
	{ "AML PkgLength inserted before its body", test_aml_pkg_insert },
	{ "AML names and integers", test_aml_names_integers },
	{ "AML EISAID", test_aml_eisaid },
	{ "AML Device", test_aml_device },
	{ "AML Buffer", test_aml_buffer },
	{ "AML Package", test_aml_package },
	{ "resource descriptors and End Tag", test_aml_descriptors },
	{ "DSDT PCI host bridge bytes", test_dsdt_pci_root },
	{ "iasl -d of the DSDT, 512 MiB", test_iasl_512m },
	{ "iasl -d of the DSDT, 6 GiB", test_iasl_6g },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_acpi", NULL, NULL, NULL, NULL, acpi_tests },
	CU_SUITE_INFO_NULL,
};
