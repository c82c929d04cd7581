/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ACPI, read at CPL3: RSDP -> XSDT (or RSDT) -> MADT for the CPUs, the
 * IOAPIC and the PIT's GSI, FADT for the sleep control register.
 *
 * The layouts are restated here from the ACPI specification on purpose,
 * rather than shared with the VMM that builds the tables: an independent
 * reader is what catches a layout bug in the builder.
 */
#include "guest.h"
#include "platform.h"

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;		/* 2+: the fields below exist */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;		/* over length bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
	char signature[4];
	uint32_t length;		/* header included */
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_header) == 36, "table header layout");

#define ACPI_RSDP_V1_LENGTH	20
#define ACPI_RSDP_ALIGN		16

/* MADT: header, local APIC address, flags, then entries. */
#define MADT_ENTRIES		44
#define MADT_LAPIC		0	/* uid u8 @2, APIC id u8 @3, flags u32 @4 */
#define MADT_IOAPIC		1	/* address u32 @4, GSI base u32 @8 */
#define MADT_OVERRIDE		2	/* bus u8 @2, IRQ u8 @3, GSI u32 @4 */
#define MADT_X2APIC		9	/* x2APIC id u32 @4, flags u32 @8 */
#define MADT_CPU_ENABLED	(1u << 0)

/* FADT (ACPI 5+): SLEEP_CONTROL_REG, a Generic Address Structure. */
#define FADT_SLEEP_CONTROL	244
#define GAS_SIZE		12
#define GAS_SPACE_MEMORY	0
#define GAS_SPACE_IO		1

/* ISA IRQ 0 without a MADT override: pin 2, as on every PC. */
#define ACPI_DEFAULT_TIMER_GSI	2

static uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static bool acpi_rsdp_valid(uint64_t addr)
{
	const struct acpi_rsdp *r = (const void *)(uintptr_t)addr;

	if (memcmp(r->signature, "RSD PTR ", 8) != 0 ||
	    acpi_sum(r, ACPI_RSDP_V1_LENGTH) != 0)
		return false;
	return r->revision < 2 || (r->length >= sizeof(*r) &&
				   acpi_sum(r, r->length) == 0);
}

static uint64_t acpi_find_rsdp(uint64_t hint)
{
	if (hint)
		return acpi_rsdp_valid(hint) ? hint : 0;
	for (uint64_t a = PLATFORM_BIOS_START; a < PLATFORM_BIOS_END;
	     a += ACPI_RSDP_ALIGN) {
		if (acpi_rsdp_valid(a))
			return a;
	}
	return 0;
}

/* The table at addr if its length and checksum are sane, else NULL. */
static const struct acpi_header *acpi_table(uint64_t addr)
{
	const struct acpi_header *h = (const void *)(uintptr_t)addr;

	if (!addr || h->length < sizeof(*h))
		return NULL;
	if (acpi_sum(h, h->length) != 0) {
		guest_printf("guest: warning: ACPI table %.4s at 0x%llx has a bad checksum\n",
			     h->signature, (unsigned long long)addr);
		return NULL;
	}
	return h;
}

static void acpi_add_cpu(struct acpi_info *ai, uint32_t apic_id,
			 uint32_t flags)
{
	if (!(flags & MADT_CPU_ENABLED))
		return;
	if (ai->madt_cpus < GUEST_MAX_CPUS)
		ai->apic_ids[ai->madt_cpus] = apic_id;
	ai->madt_cpus++;
}

static void acpi_parse_madt(const struct acpi_header *h, struct acpi_info *ai)
{
	const uint8_t *t = (const uint8_t *)h;
	uint32_t off = MADT_ENTRIES;

	while (off + 2 <= h->length) {
		const uint8_t *e = t + off;
		uint8_t len = e[1];

		if (len < 2 || off + len > h->length)
			break;
		switch (e[0]) {
		case MADT_LAPIC:
			if (len >= 8)
				acpi_add_cpu(ai, e[3], get_le32(e + 4));
			break;
		case MADT_X2APIC:
			if (len >= 16)
				acpi_add_cpu(ai, get_le32(e + 4), get_le32(e + 8));
			break;
		case MADT_IOAPIC:
			/* The first one; it serves the ISA interrupts. */
			if (len >= 12 && !ai->ioapic_addr) {
				ai->ioapic_addr = get_le32(e + 4);
				ai->ioapic_gsi_base = get_le32(e + 8);
			}
			break;
		case MADT_OVERRIDE:
			if (len >= 10 && e[2] == 0 && e[3] == 0)
				ai->timer_gsi = get_le32(e + 4);
			break;
		default:
			break;
		}
		off += len;
	}
}

static void acpi_parse_fadt(const struct acpi_header *h, struct acpi_info *ai)
{
	const uint8_t *gas = (const uint8_t *)h + FADT_SLEEP_CONTROL;
	uint64_t addr;

	if (h->length < FADT_SLEEP_CONTROL + GAS_SIZE)
		return;
	addr = get_le64(gas + 4);
	if (!addr)
		return;
	if (gas[0] == GAS_SPACE_IO)
		ai->sleep_ctl_space = ACPI_SLEEP_IO;
	else if (gas[0] == GAS_SPACE_MEMORY)
		ai->sleep_ctl_space = ACPI_SLEEP_MMIO;
	else
		return;
	ai->sleep_ctl_addr = addr;
}

void acpi_probe(uint64_t rsdp_hint, struct acpi_info *ai)
{
	const struct acpi_rsdp *rsdp;
	const struct acpi_header *root;
	unsigned int entry_size;
	uint64_t root_addr;

	memset(ai, 0, sizeof(*ai));
	ai->timer_gsi = ACPI_DEFAULT_TIMER_GSI;
	ai->rsdp = acpi_find_rsdp(rsdp_hint);
	if (!ai->rsdp)
		return;
	rsdp = (const void *)(uintptr_t)ai->rsdp;
	if (rsdp->revision >= 2 && rsdp->xsdt) {
		root_addr = rsdp->xsdt;
		entry_size = 8;
	} else {
		root_addr = rsdp->rsdt;
		entry_size = 4;
	}
	root = acpi_table(root_addr);
	if (!root)
		return;

	for (uint32_t off = sizeof(*root); off + entry_size <= root->length;
	     off += entry_size) {
		const uint8_t *p = (const uint8_t *)root + off;
		const struct acpi_header *h;

		h = acpi_table(entry_size == 8 ? get_le64(p) : get_le32(p));
		if (!h)
			continue;
		if (memcmp(h->signature, "APIC", 4) == 0)
			acpi_parse_madt(h, ai);
		else if (memcmp(h->signature, "FACP", 4) == 0)
			acpi_parse_fadt(h, ai);
	}
}
