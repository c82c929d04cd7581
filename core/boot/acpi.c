/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ACPI tables for a hardware-reduced x86 platform, built in the BIOS area
 * [0xe0000, 0x100000) where a guest that is not handed the RSDP address
 * finds it by scanning: RSDP (first, 16-byte aligned), DSDT, then the
 * tables listed in the XSDT, then the XSDT.
 *
 * To add a table (MCFG for PCI, ...), write a builder and list it in
 * acpi_xsdt_tables[]; to add DSDT content, write an AML emitter (aml.h) and
 * list it in acpi_dsdt_parts[].  Builders use acpi_table_begin/append/end,
 * which handle placement, length and checksum.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"
#include "boot_internal.h"
#include "guest_mem.h"
#include "log.h"
#include "pci.h"
#include "platform.h"

#define ACPI_AREA_SIZE		(BOOT_ACPI_END - BOOT_ACPI_START)
#define ACPI_TABLE_ALIGN	16u
#define ACPI_MAX_TABLES		16u
#define ACPI_OEM_ID		"SPLTVM"	/* 6 bytes */
#define ACPI_OEM_TABLE_ID	"SPLITVM "	/* 8 bytes */
#define ACPI_OEM_REVISION	1u
#define ACPI_CREATOR_ID		"SPVM"		/* 4 bytes */
#define ACPI_CREATOR_REVISION	1u
/* FADT "hypervisor vendor identity": 8 bytes, all of them significant. */
#define ACPI_HYPERVISOR_ID	"SPLITVM "
#define ACPI_DSDT_REVISION	2	/* 64-bit AML integers */
#define ACPI_XSDT_REVISION	1
/* ISA IRQ 0 (the PIT) is wired to I/O APIC pin 2, as on every PC. */
#define ACPI_PIT_IRQ		0
#define ACPI_PIT_GSI		2
#define ACPI_NMI_LINT		1
/* Room for the host bridge's _CRS resource template. */
#define ACPI_CRS_MAX		256u

struct acpi_ctx {
	uint8_t *buf;		/* ACPI_AREA_SIZE bytes, copied to BOOT_ACPI_START */
	size_t used;
	size_t cur;		/* offset of the table being built */
	unsigned ncpus;
	uint64_t mmio64_start, mmio64_end;	/* the PCI 64-bit window */
	uint64_t dsdt_gpa;
	uint64_t tables[ACPI_MAX_TABLES];	/* XSDT entries */
	unsigned nr_tables;
};

static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)(0 - sum);
}

/* len more zeroed bytes of the table being built, or NULL when full. */
static void *acpi_append(struct acpi_ctx *c, size_t len)
{
	void *p;

	if (len > ACPI_AREA_SIZE - c->used)
		return NULL;
	p = c->buf + c->used;
	c->used += len;
	return p;
}

static struct acpi_header *acpi_table_begin(struct acpi_ctx *c,
					    const char *signature,
					    uint8_t revision, size_t size)
{
	size_t off = boot_align_up(c->used, ACPI_TABLE_ALIGN);
	struct acpi_header *h;

	if (off > ACPI_AREA_SIZE)
		return NULL;
	c->used = off;
	h = acpi_append(c, size);
	if (!h)
		return NULL;
	c->cur = off;
	memcpy(h->signature, signature, sizeof(h->signature));
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
	return h;
}

/* Seal the table being built: length and checksum; returns its address. */
static uint64_t acpi_table_end(struct acpi_ctx *c)
{
	struct acpi_header *h = (struct acpi_header *)(c->buf + c->cur);

	h->length = (uint32_t)(c->used - c->cur);
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
	return BOOT_ACPI_START + c->cur;
}

/*
 * \_S5_: the sleep type the OS writes to SLEEP_CONTROL_REG to power off.
 * ASL Name (_S5_, Package () { 5, 0, 0, 0 }) encodes as:
 *   08             NameOp
 *   5f 53 35 5f    NameString "_S5_" (at the root: the DSDT's scope)
 *   12             PackageOp
 *   07             PkgLength: the 7 bytes from here to the end
 *   04             NumElements
 *   0a 05          BytePrefix 5: SLP_TYPa, PLATFORM_ACPI_S5_TYP
 *   00 00 00       ZeroOp x3: SLP_TYPb and two reserved elements
 */
static void acpi_aml_sleep_states(const struct acpi_ctx *c, struct aml *a)
{
	size_t pkg;

	(void)c;
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, "_S5_");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, PLATFORM_ACPI_S5_TYP);	/* SLP_TYPa */
	for (int i = 0; i < 3; i++)
		aml_integer(a, 0);
	aml_package_end(a, pkg);
}

/*
 * What the root decodes, so the OS takes the BARs the core placed as
 * inside its windows (Linux's pci_root builds the root bus resources from
 * _CRS only): bus 0, the mechanism #1 ports, and the three BAR windows.
 * Legacy ports outside the I/O window are the platform's, not PCI's.
 * Both memory windows are non-cacheable: a prefetchable window could not
 * hold the non-prefetchable BARs the core also puts there.
 */
static int acpi_pci_crs(const struct acpi_ctx *c, uint8_t *buf, size_t cap,
			size_t *len)
{
	struct aml r;

	aml_init(&r, buf, cap);
	aml_rd_word_bus(&r, 0, 0);
	aml_rd_io(&r, PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_ADDRESS_PORT, 1, 8);
	aml_rd_word_io(&r, PCI_IO_WINDOW_START, PCI_IO_WINDOW_END - 1);
	aml_rd_dword_mem(&r, ACPI_RD_MEM_NON_CACHEABLE | ACPI_RD_MEM_RW,
			 PCI_MMIO32_WINDOW_START, PCI_MMIO32_WINDOW_END - 1);
	aml_rd_qword_mem(&r, ACPI_RD_MEM_NON_CACHEABLE | ACPI_RD_MEM_RW,
			 c->mmio64_start, c->mmio64_end - 1);
	aml_rd_end(&r, 0);
	*len = r.len;
	return r.error ? -ENOSPC : 0;
}

/*
 * _PRT (ACPI 6.5 6.2.13): where each slot's INTA#-INTD# arrive, for every
 * slot of bus 0 whether or not a function sits there (a hot-added one
 * would need it, and 128 entries are under 2 KiB).  Each entry is
 * Package () { (slot << 16) | 0xFFFF (any function), pin (0-3), Zero
 * (no link device: the last element is a GSI), GSI }.  A GSI entry
 * means level-triggered, active low, shared -- what Linux then programs
 * in the IOAPIC.  Without a _PRT an OS has only Interrupt Line to go on.
 */
static void acpi_aml_pci_routing(struct aml *a)
{
	size_t prt, entry;

	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, "_PRT");
	prt = aml_package_begin(a, PCI_MAX_SLOTS * PCI_INTX_PINS);
	for (unsigned slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			int gsi = pci_intx_gsi(slot, pin);

			if (gsi < 0)
				a->error = true;
			entry = aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);		/* Source */
			aml_integer(a, (uint64_t)gsi);	/* Source Index */
			aml_package_end(a, entry);
		}
	}
	aml_package_end(a, prt);
}

/*
 * Device (\_SB.PCI0): the PCI host bridge, segment 0, bus 0.  PNP0A03
 * (PCI), not PNP0A08 (PCIe): there is no MCFG and no _OSC to go with it.
 */
static void acpi_aml_pci_root(const struct acpi_ctx *c, struct aml *a)
{
	uint8_t crs[ACPI_CRS_MAX];
	size_t crs_len, dev;

	if (acpi_pci_crs(c, crs, sizeof(crs), &crs_len)) {
		a->error = true;
		return;
	}
	dev = aml_device_begin(a, "\\_SB_.PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A03");
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_ADR", 0);
	aml_name_buffer(a, "_CRS", crs, crs_len);
	acpi_aml_pci_routing(a);
	aml_device_end(a, dev);
}

/* DSDT content, in order. */
static void (*const acpi_dsdt_parts[])(const struct acpi_ctx *c,
				       struct aml *a) = {
	acpi_aml_sleep_states,
	acpi_aml_pci_root,
};

static int acpi_build_dsdt(struct acpi_ctx *c)
{
	struct aml a;

	if (!acpi_table_begin(c, "DSDT", ACPI_DSDT_REVISION,
			      sizeof(struct acpi_header)))
		return -ENOSPC;
	/* AML goes straight into the area, after the header. */
	aml_init(&a, c->buf + c->used, ACPI_AREA_SIZE - c->used);
	for (size_t i = 0; i < sizeof(acpi_dsdt_parts) / sizeof(acpi_dsdt_parts[0]); i++)
		acpi_dsdt_parts[i](c, &a);
	if (a.error || !acpi_append(c, a.len))
		return -ENOSPC;
	c->dsdt_gpa = acpi_table_end(c);
	return 0;
}

static struct acpi_gas acpi_io_byte(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SPACE_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = port,
	};
}

/*
 * Hardware-reduced: no PM1/GPE blocks, no SCI, no SMI; power-off goes
 * through the sleep control register.  Only X_DSDT is set (the 32-bit DSDT
 * field must then be ignored, and leaving it 0 avoids a mismatch warning).
 */
static int acpi_build_fadt(struct acpi_ctx *c, uint64_t *gpa)
{
	struct acpi_fadt *f;
	uint64_t vendor;

	f = (struct acpi_fadt *)acpi_table_begin(c, "FACP", ACPI_FADT_REVISION,
						 sizeof(*f));
	if (!f)
		return -ENOSPC;
	f->flags = ACPI_FADT_HW_REDUCED_ACPI;
	/* No VGA is emulated: tell the OS not to probe for one. */
	f->iapc_boot_arch = ACPI_FADT_BOOT_NO_VGA;
	f->minor_version = ACPI_FADT_MINOR;
	f->x_dsdt = c->dsdt_gpa;
	f->sleep_control_reg = acpi_io_byte(PLATFORM_ACPI_SLEEP_CTL_PORT);
	f->sleep_status_reg = acpi_io_byte(PLATFORM_ACPI_SLEEP_STS_PORT);
	memcpy(&vendor, ACPI_HYPERVISOR_ID, sizeof(vendor));
	f->hypervisor_vendor_id = vendor;
	*gpa = acpi_table_end(c);
	return 0;
}

/*
 * One enabled local APIC per vCPU (processor UID = APIC id = index), the
 * I/O APIC with GSIs from 0, the PIT override and LINT1 as NMI on all CPUs.
 */
static int acpi_build_madt(struct acpi_ctx *c, uint64_t *gpa)
{
	struct acpi_madt *m;
	struct acpi_madt_ioapic *io;
	struct acpi_madt_int_override *iso;
	struct acpi_madt_lapic_nmi *nmi;

	m = (struct acpi_madt *)acpi_table_begin(c, "APIC", ACPI_MADT_REVISION,
						 sizeof(*m));
	if (!m)
		return -ENOSPC;
	m->lapic_address = (uint32_t)PLATFORM_LAPIC_BASE;
	m->flags = ACPI_MADT_PCAT_COMPAT;

	for (unsigned i = 0; i < c->ncpus; i++) {
		struct acpi_madt_lapic *l = acpi_append(c, sizeof(*l));

		if (!l)
			return -ENOSPC;
		l->type = ACPI_MADT_TYPE_LAPIC;
		l->length = sizeof(*l);
		l->processor_uid = (uint8_t)i;
		l->apic_id = (uint8_t)i;
		l->flags = ACPI_MADT_LAPIC_ENABLED;
	}

	io = acpi_append(c, sizeof(*io));
	if (!io)
		return -ENOSPC;
	io->type = ACPI_MADT_TYPE_IOAPIC;
	io->length = sizeof(*io);
	io->ioapic_id = PLATFORM_IOAPIC_ID;
	io->address = (uint32_t)PLATFORM_IOAPIC_BASE;
	io->gsi_base = 0;

	iso = acpi_append(c, sizeof(*iso));
	if (!iso)
		return -ENOSPC;
	iso->type = ACPI_MADT_TYPE_INT_OVERRIDE;
	iso->length = sizeof(*iso);
	iso->bus = 0;
	iso->source = ACPI_PIT_IRQ;
	iso->gsi = ACPI_PIT_GSI;
	iso->flags = 0;

	nmi = acpi_append(c, sizeof(*nmi));
	if (!nmi)
		return -ENOSPC;
	nmi->type = ACPI_MADT_TYPE_LAPIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->processor_uid = ACPI_MADT_ALL_PROCESSORS;
	nmi->flags = 0;
	nmi->lint = ACPI_NMI_LINT;

	*gpa = acpi_table_end(c);
	return 0;
}

/* Tables the XSDT lists, in order; the FADT by convention first. */
static int (*const acpi_xsdt_tables[])(struct acpi_ctx *c, uint64_t *gpa) = {
	acpi_build_fadt,
	acpi_build_madt,
};

_Static_assert(sizeof(acpi_xsdt_tables) / sizeof(acpi_xsdt_tables[0]) <=
	       ACPI_MAX_TABLES, "XSDT room");

static int acpi_build_xsdt(struct acpi_ctx *c, uint64_t *gpa)
{
	uint64_t *entries;
	size_t len = c->nr_tables * sizeof(uint64_t);

	if (!acpi_table_begin(c, "XSDT", ACPI_XSDT_REVISION,
			      sizeof(struct acpi_header)))
		return -ENOSPC;
	entries = acpi_append(c, len);
	if (!entries)
		return -ENOSPC;
	/* The entries are not 8-byte aligned after the 36-byte header. */
	memcpy(entries, c->tables, len);
	*gpa = acpi_table_end(c);
	return 0;
}

static void acpi_fill_rsdp(struct acpi_rsdp *r, uint64_t xsdt_gpa)
{
	memcpy(r->signature, ACPI_RSDP_SIGNATURE, sizeof(r->signature));
	memcpy(r->oem_id, ACPI_OEM_ID, sizeof(r->oem_id));
	r->revision = ACPI_RSDP_REVISION;
	r->rsdt_address = 0;	/* XSDT only, as ACPI 2.0+ OSes expect */
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = acpi_checksum(r, ACPI_RSDP_V1_LENGTH);
	r->ext_checksum = acpi_checksum(r, sizeof(*r));
}

int boot_acpi_build(const struct guest_mem *mem, unsigned ncpus,
		    uint64_t *rsdp_gpa)
{
	struct acpi_ctx c = { .ncpus = ncpus };
	const struct guest_region *top;
	struct acpi_rsdp *rsdp;
	uint64_t xsdt;
	int ret;

	if (ncpus == 0 || ncpus > BOOT_ACPI_MAX_CPUS) {
		log_err(BOOT_TAG, "%u vCPUs: the ACPI MADT describes 1 to %u",
			ncpus, BOOT_ACPI_MAX_CPUS);
		return -EINVAL;
	}
	/* The window the PCI root decodes: above the highest RAM region. */
	top = guest_mem_region(mem, guest_mem_nr_regions(mem) - 1);
	ret = pci_mmio64_window(top->gpa + top->size, &c.mmio64_start,
				&c.mmio64_end);
	if (ret) {
		log_err(BOOT_TAG, "no room for the PCI 64-bit window above RAM");
		return ret;
	}
	c.buf = calloc(1, ACPI_AREA_SIZE);
	if (!c.buf)
		return -ENOMEM;

	/* BOOT_ACPI_START is 16-byte aligned: where scanners look first. */
	rsdp = acpi_append(&c, sizeof(*rsdp));
	ret = rsdp ? acpi_build_dsdt(&c) : -ENOSPC;
	for (size_t i = 0; !ret && i < sizeof(acpi_xsdt_tables) / sizeof(acpi_xsdt_tables[0]); i++)
		ret = acpi_xsdt_tables[i](&c, &c.tables[c.nr_tables++]);
	if (!ret)
		ret = acpi_build_xsdt(&c, &xsdt);
	if (ret) {
		log_err(BOOT_TAG, "ACPI tables do not fit in the %llu KiB BIOS area",
			(unsigned long long)(ACPI_AREA_SIZE >> 10));
		goto out;
	}
	acpi_fill_rsdp(rsdp, xsdt);

	/* The whole area, so no stale table of an earlier boot survives. */
	ret = guest_mem_write(mem, BOOT_ACPI_START, c.buf, ACPI_AREA_SIZE);
	if (ret) {
		log_err(BOOT_TAG, "no guest RAM at 0x%llx for the ACPI tables",
			(unsigned long long)BOOT_ACPI_START);
		goto out;
	}
	*rsdp_gpa = BOOT_ACPI_START;
out:
	free(c.buf);
	return ret;
}
