/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixed x86 platform splitvm presents to a guest: the I/O ports and
 * physical addresses the core emulates and the test guest relies on.
 */
#ifndef SPLITVM_PLATFORM_H
#define SPLITVM_PLATFORM_H

/* 16550 UART, COM1, ISA IRQ 4. */
#define PLATFORM_COM1_PORT		0x3f8
#define PLATFORM_COM1_IRQ		4

/* i8042 keyboard controller: writing 0xfe to the command port resets. */
#define PLATFORM_I8042_DATA_PORT	0x60
#define PLATFORM_I8042_CMD_PORT		0x64
#define PLATFORM_I8042_CMD_RESET	0xfe

/* POST diagnostic port, written by Linux as an I/O delay. */
#define PLATFORM_POST_PORT		0x80

/* CMOS real-time clock index and data ports, ISA IRQ 8. */
#define PLATFORM_RTC_PORT		0x70
#define PLATFORM_RTC_IRQ		8

/*
 * ACPI hardware-reduced sleep registers (FADT SLEEP_CONTROL_REG and
 * SLEEP_STATUS_REG), one byte each.  Writing SLP_EN with SLP_TYP 5 (the
 * value the DSDT's \_S5 package names) powers the VM off.
 */
#define PLATFORM_ACPI_SLEEP_CTL_PORT	0x3c0
#define PLATFORM_ACPI_SLEEP_STS_PORT	0x3c1
#define PLATFORM_ACPI_SLP_EN		(1u << 5)
#define PLATFORM_ACPI_SLP_TYP_SHIFT	2
#define PLATFORM_ACPI_SLP_TYP_MASK	(7u << 2)
#define PLATFORM_ACPI_S5_TYP		5

/*
 * Debug exit, for tests: a one-byte write of status S ends the VM and
 * splitvm exits with status S.  QEMU's isa-debug-exit at the same port
 * exits with (S << 1) | 1 instead.
 */
#define PLATFORM_DEBUG_EXIT_PORT	0xf4

/* Interrupt controllers (in-kernel KVM irqchip). */
#define PLATFORM_LAPIC_BASE		0xfee00000ull
#define PLATFORM_IOAPIC_BASE		0xfec00000ull
#define PLATFORM_IOAPIC_PINS		24
/*
 * KVM's in-kernel IOAPIC resets its (4-bit) ID register to 0 and the MADT
 * must name what a guest reads back.  IOAPIC and local APIC ids are
 * separate namespaces on xAPIC systems, so sharing 0 with CPU 0 is fine.
 */
#define PLATFORM_IOAPIC_ID		0

/* Guest RAM above 3 GiB moves to 4 GiB: [3 GiB, 4 GiB) is the PCI hole. */
#define PLATFORM_PCI_HOLE_START		0xc0000000ull
#define PLATFORM_HIGH_RAM_START		0x100000000ull

/* Legacy BIOS area holding the ACPI tables; scanned by guests for the RSDP. */
#define PLATFORM_BIOS_START		0xe0000ull
#define PLATFORM_BIOS_END		0x100000ull

#endif
