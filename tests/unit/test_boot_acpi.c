/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ACPI tables as a guest sees them: the RSDP found by scanning the BIOS
 * area, every table reached through the XSDT with a valid checksum, the
 * FADT's hardware-reduced sleep registers, the DSDT's \_S5 package and a
 * MADT with one local APIC per vCPU.
 */
#include <errno.h>
#include <string.h>

#include "acpi.h"
#include "boot/boot_internal.h"
#include "guest_mem.h"
#include "platform.h"
#include "unit.h"

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

static const struct acpi_header *build(struct guest_mem **mem, unsigned ncpus)
{
	const struct acpi_rsdp *r;
	uint64_t rsdp = 0;

	CU_ASSERT_FATAL(guest_mem_create(MEM_SIZE, 0, mem) == 0);
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
	CU_ASSERT_EQUAL_FATAL(dsdt->length, sizeof(*dsdt) + sizeof(s5));
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

static CU_TestInfo acpi_tests[] = {
	{ "RSDP by scanning, XSDT, checksums", test_rsdp_xsdt },
	{ "FADT sleep registers, DSDT \\_S5", test_fadt_dsdt },
	{ "MADT for 1 vCPU", test_madt_1 },
	{ "MADT for 4 vCPUs", test_madt_4 },
	{ "MADT for 254 vCPUs", test_madt_254 },
	{ "vCPU count out of range", test_bad_ncpus },
	{ "rebuild leaves nothing stale", test_rebuild_clears },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_acpi", NULL, NULL, NULL, NULL, acpi_tests },
	CU_SUITE_INFO_NULL,
};
