/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPUID table a vCPU sees: KVM's supported set, filtered for one
 * socket of ncpus single-thread cores with APIC id = vCPU index.
 */
#ifndef SPLITVM_X86_CPUID_H
#define SPLITVM_X86_CPUID_H

#include <linux/kvm.h>

/*
 * Allocate (free() it) the table for the vCPU with the given APIC id.
 * Pure: no ioctl, so it is unit-tested against synthetic tables.
 */
int cpuid_build(const struct kvm_cpuid2 *supported, unsigned apic_id,
		unsigned ncpus, struct kvm_cpuid2 **out)
	__attribute__((warn_unused_result));

/* Entry for (function, index) in table, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *table,
				    unsigned function, unsigned index);

/*
 * The guest-physical address width the table describes (CPUID
 * 0x80000008 EAX[7:0]); 36, what a CPU without that leaf has, if absent.
 */
unsigned cpuid_phys_bits(const struct kvm_cpuid2 *table);

#endif
