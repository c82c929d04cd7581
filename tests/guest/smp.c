/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Application processors: the BSP (CPL3) starts them one at a time with
 * INIT / SIPI / SIPI; each comes up through entry.S at CPL0, says so in
 * its slot of smp_alive and parks.  No locked instructions: one writer
 * per slot, and x86 stores are ordered.
 */
#include "guest.h"

#define SMP_ALIVE		(1u << 31)
/*
 * No 10 ms wait between INIT and SIPI: like Linux on modern CPUs and
 * hypervisors, whose INIT completes before a later SIPI is looked at.  The
 * second SIPI goes out only if the AP is not up after the first (an AP
 * that already runs ignores it).
 */
#define SMP_SIPI_RETRY_MS	10
#define SMP_START_TIMEOUT_MS	10000

static volatile uint32_t smp_alive[GUEST_MAX_CPUS];

/* At CPL0, on the AP's own stack (entry.S). */
void ap_main(uint32_t cpu)
{
	lapic_enable();
	smp_alive[cpu] = SMP_ALIVE | lapic_id();
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

static bool smp_wait_alive(uint32_t cpu, uint64_t ms)
{
	uint64_t deadline = tsc_deadline_ms(ms);

	while (!(smp_alive[cpu] & SMP_ALIVE)) {
		if (tsc_expired(deadline))
			return false;
		cpu_relax();
	}
	return true;
}

static bool smp_start_one(uint32_t cpu, uint32_t apic_id)
{
	smp_alive[cpu] = 0;
	ap_boot_cpu = cpu;
	if (!lapic_send_ipi(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_ASSERT))
		return false;
	for (int sipi = 0; sipi < 2; sipi++) {
		if (!lapic_send_ipi(apic_id, LAPIC_ICR_STARTUP |
				    (GUEST_AP_TRAMPOLINE >> 12)))
			return false;
		if (smp_wait_alive(cpu, sipi == 0 ? SMP_SIPI_RETRY_MS :
				   SMP_START_TIMEOUT_MS))
			return true;
	}
	return false;
}

unsigned int smp_start_aps(const struct acpi_info *ai, uint32_t bsp_apic_id)
{
	unsigned int n = ai->madt_cpus < GUEST_MAX_CPUS ? ai->madt_cpus :
							  GUEST_MAX_CPUS;
	uint32_t cpu = 1;
	unsigned int up = 1;

	memcpy((void *)(uintptr_t)GUEST_AP_TRAMPOLINE, ap_trampoline,
	       (size_t)(ap_trampoline_end - ap_trampoline));

	for (unsigned int i = 0; i < n && cpu < GUEST_MAX_CPUS; i++) {
		uint32_t id = ai->apic_ids[i];

		if (id == bsp_apic_id)
			continue;
		if (id > 0xfe) {
			/* Beyond xAPIC physical destinations. */
			guest_printf("guest: cpu %u apic_id=%u not started: needs x2APIC\n",
				     cpu, id);
		} else if (smp_start_one(cpu, id)) {
			guest_printf("guest: cpu %u apic_id=%u up\n", cpu,
				     smp_alive[cpu] & ~SMP_ALIVE);
			up++;
		} else {
			guest_printf("guest: cpu %u apic_id=%u did not start\n",
				     cpu, id);
		}
		cpu++;
	}
	return up;
}
