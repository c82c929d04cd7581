/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Layouts of the ACPI tables splitvm gives a guest (ACPI 6.5 chapter 5):
 * built by core/boot/acpi.c, parsed back by the unit tests.
 */
#ifndef SPLITVM_ACPI_H
#define SPLITVM_ACPI_H

#include <stdint.h>

#define ACPI_RSDP_SIGNATURE	"RSD PTR "
#define ACPI_RSDP_REVISION	2	/* ACPI 2.0+: has the XSDT */
#define ACPI_RSDP_V1_LENGTH	20	/* what the first checksum covers */

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SPACE_IO	1
#define ACPI_GAS_ACCESS_BYTE	1

#define ACPI_FADT_REVISION	6
#define ACPI_FADT_MINOR		5
#define ACPI_FADT_HW_REDUCED_ACPI	(1u << 20)
#define ACPI_FADT_BOOT_NO_VGA	(1u << 2)	/* IAPC_BOOT_ARCH */

struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

#define ACPI_MADT_REVISION	5
#define ACPI_MADT_PCAT_COMPAT	(1u << 0)

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

enum acpi_madt_type {
	ACPI_MADT_TYPE_LAPIC = 0,
	ACPI_MADT_TYPE_IOAPIC = 1,
	ACPI_MADT_TYPE_INT_OVERRIDE = 2,
	ACPI_MADT_TYPE_LAPIC_NMI = 4,
};

#define ACPI_MADT_LAPIC_ENABLED	(1u << 0)
#define ACPI_MADT_ALL_PROCESSORS	0xff

struct acpi_madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct acpi_madt_int_override {
	uint8_t type;
	uint8_t length;
	uint8_t bus;		/* 0: ISA */
	uint8_t source;		/* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;		/* 0: polarity and trigger of the bus */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/*
 * AML (ACPI 6.5 chapter 20): the opcodes and prefixes the DSDT uses.
 * Integers are little-endian; PkgLength (20.2.4) counts its own bytes.
 */
#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_QWORD_PREFIX	0x0e
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		0x5c	/* '\\' */
#define AML_NAME_SEG_SIZE	4
/* PkgLength: 1 byte up to 63, then 2-4 bytes holding 12, 20 or 28 bits. */
#define AML_PKG_LENGTH_MAX	((1u << 28) - 1)

/*
 * Resource data (ACPI 6.5 6.4): the descriptors a host bridge's _CRS is
 * built from.  Large items carry a 16-bit length of what follows it.
 */
#define ACPI_RD_IO_PORT		0x47	/* small item 0x08, length 7 */
#define ACPI_RD_END_TAG		0x79	/* small item 0x0f, length 1 */
#define ACPI_RD_DWORD_ADDR	0x87
#define ACPI_RD_WORD_ADDR	0x88
#define ACPI_RD_QWORD_ADDR	0x8a

#define ACPI_RD_IO_DECODE16	(1u << 0)

/* Address space descriptors: resource type. */
#define ACPI_RD_SPACE_MEM	0
#define ACPI_RD_SPACE_IO	1
#define ACPI_RD_SPACE_BUS	2
/* General flags; bit 0 clear means ResourceProducer (a bridge window). */
#define ACPI_RD_CONSUMER	(1u << 0)
#define ACPI_RD_SUB_DECODE	(1u << 1)
#define ACPI_RD_MIN_FIXED	(1u << 2)
#define ACPI_RD_MAX_FIXED	(1u << 3)
/* Type-specific flags of a memory range. */
#define ACPI_RD_MEM_RW		(1u << 0)
#define ACPI_RD_MEM_NON_CACHEABLE	(0u << 1)
#define ACPI_RD_MEM_CACHEABLE	(1u << 1)
#define ACPI_RD_MEM_PREFETCHABLE	(3u << 1)
/* Type-specific flags of an I/O range: decodes ISA and non-ISA ranges. */
#define ACPI_RD_IO_ENTIRE_RANGE	3u

struct acpi_rd_io_port {
	uint8_t tag;		/* ACPI_RD_IO_PORT */
	uint8_t info;
	uint16_t min;
	uint16_t max;
	uint8_t align;
	uint8_t length;
} __attribute__((packed));

/* The fields every address space descriptor starts with. */
struct acpi_rd_addr_head {
	uint8_t tag;
	uint16_t length;	/* bytes after this field */
	uint8_t space;
	uint8_t flags;
	uint8_t type_flags;
} __attribute__((packed));

struct acpi_rd_word_addr {
	struct acpi_rd_addr_head head;
	uint16_t granularity;
	uint16_t min;
	uint16_t max;
	uint16_t translation;
	uint16_t length;
} __attribute__((packed));

struct acpi_rd_dword_addr {
	struct acpi_rd_addr_head head;
	uint32_t granularity;
	uint32_t min;
	uint32_t max;
	uint32_t translation;
	uint32_t length;
} __attribute__((packed));

struct acpi_rd_qword_addr {
	struct acpi_rd_addr_head head;
	uint64_t granularity;
	uint64_t min;
	uint64_t max;
	uint64_t translation;
	uint64_t length;
} __attribute__((packed));

struct acpi_rd_end_tag {
	uint8_t tag;		/* ACPI_RD_END_TAG */
	uint8_t checksum;	/* the whole template sums to 0 */
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_header) == 36, "table header layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC layout");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC layout");
_Static_assert(sizeof(struct acpi_madt_int_override) == 10, "MADT ISO layout");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI layout");

_Static_assert(sizeof(struct acpi_rd_io_port) == 8, "IO descriptor layout");
_Static_assert(sizeof(struct acpi_rd_word_addr) == 16, "Word Address layout");
_Static_assert(sizeof(struct acpi_rd_dword_addr) == 26, "DWord Address layout");
_Static_assert(sizeof(struct acpi_rd_qword_addr) == 46, "QWord Address layout");
_Static_assert(sizeof(struct acpi_rd_end_tag) == 2, "End Tag layout");

#endif
