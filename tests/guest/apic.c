/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Local APIC and IOAPIC, xAPIC MMIO.  Called at CPL3, and at CPL0 by the
 * APs (lapic_enable, lapic_id): every page is user-accessible.
 */
#include "guest.h"
#include "platform.h"

#define LAPIC_ID		0x020
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_ICR_LOW		0x300
#define LAPIC_ICR_HIGH		0x310
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_SVR_ENABLE	(1u << 8)
#define LAPIC_ICR_BUSY		(1u << 12)
#define LAPIC_IPI_TIMEOUT_MS	100

#define IOAPIC_REGSEL		0x00
#define IOAPIC_WINDOW		0x10
#define IOAPIC_VERSION		0x01
#define IOAPIC_REDIR(pin)	(0x10 + 2 * (pin))
#define IOAPIC_REDIR_MASKED	(1u << 16)
#define IOAPIC_REDIR_LEVEL	(1u << 15)
#define IOAPIC_REDIR_ACTIVE_LOW	(1u << 13)

/*
 * For assembly (isr.S, entry.S), which cannot use platform.h's constants
 * (their ull suffix is C).
 */
const uint64_t lapic_eoi_reg = PLATFORM_LAPIC_BASE + LAPIC_EOI;
const uint64_t lapic_lint0_reg = PLATFORM_LAPIC_BASE + LAPIC_LVT_LINT0;

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(PLATFORM_LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(PLATFORM_LAPIC_BASE + reg, v);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	/*
	 * Cut the 8259's virtual wire (KVM resets the BSP's LINT0 to ExtINT):
	 * the PIT also drives the 8259's IRQ 0.
	 */
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
}

/* Physical destination; false if the ICR stays busy. */
bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	uint64_t deadline;

	lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	deadline = tsc_deadline_ms(LAPIC_IPI_TIMEOUT_MS);
	while (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_BUSY) {
		if (tsc_expired(deadline))
			return false;
		cpu_relax();
	}
	return true;
}

static uint32_t ioapic_read(uint64_t base, uint32_t reg)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	return mmio_read32(base + IOAPIC_WINDOW);
}

static void ioapic_write(uint64_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WINDOW, v);
}

unsigned int ioapic_pins(uint64_t base)
{
	return ((ioapic_read(base, IOAPIC_VERSION) >> 16) & 0xff) + 1;
}

/* Fixed delivery, physical destination, active high, edge, unmasked. */
void ioapic_route(uint64_t base, uint32_t pin, uint8_t vector,
		  uint32_t apic_id)
{
	ioapic_write(base, IOAPIC_REDIR(pin) + 1, apic_id << 24);
	ioapic_write(base, IOAPIC_REDIR(pin), vector);
}

/*
 * A PCI INTx pin: level-triggered, active low as PCI lines are on PCs
 * (pins 16-23 have no MADT override).  KVM's IOAPIC ignores polarity and
 * takes the VMM's KVM_IRQ_LINE level 1 as asserted either way; level
 * matters, so the pin fires again while the device holds it.
 */
void ioapic_route_level(uint64_t base, uint32_t pin, uint8_t vector,
			uint32_t apic_id)
{
	ioapic_write(base, IOAPIC_REDIR(pin) + 1, apic_id << 24);
	ioapic_write(base, IOAPIC_REDIR(pin), IOAPIC_REDIR_LEVEL |
		     IOAPIC_REDIR_ACTIVE_LOW | vector);
}

void ioapic_mask(uint64_t base, uint32_t pin)
{
	ioapic_write(base, IOAPIC_REDIR(pin), IOAPIC_REDIR_MASKED);
}
