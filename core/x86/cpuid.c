/* SPDX-License-Identifier: GPL-2.0-only */
#include "x86/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CPUID_1_ECX_HYPERVISOR		(1u << 31)
#define CPUID_1_EDX_HTT			(1u << 28)
#define CPUID_80000001_ECX_CMP_LEGACY	(1u << 1)

/* KVM paravirt leaf 0x40000001 EAX bits we do not back in user space. */
#define KVM_PV_FEATURE_MSI_EXT_DEST_ID	(1u << 15)
#define KVM_PV_FEATURE_MIGRATION_CONTROL	(1u << 17)

/* Topology levels in leaves 0xB / 0x1F. */
#define CPUID_TOPO_LEVEL_SMT		1
#define CPUID_TOPO_LEVEL_CORE		2

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *table,
				    unsigned function, unsigned index)
{
	for (unsigned i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Bits needed to number n items (0 for n <= 1). */
static unsigned cpuid_order(unsigned n)
{
	unsigned bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void cpuid_set_topology_leaf(struct kvm_cpuid_entry2 *e,
				    unsigned apic_id, unsigned ncpus)
{
	/*
	 * One thread per core, ncpus cores per package: sub-leaf 0 is the
	 * SMT level, 1 the core level, anything above is invalid (type 0).
	 */
	e->edx = apic_id;
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (CPUID_TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = cpuid_order(ncpus);
		e->ebx = ncpus;
		e->ecx = (CPUID_TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

static void cpuid_filter_entry(struct kvm_cpuid_entry2 *e, unsigned apic_id,
			       unsigned ncpus)
{
	unsigned order = cpuid_order(ncpus);

	switch (e->function) {
	case 0x1:
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		/* EBX: initial APIC id [31:24], addressable ids [23:16]. */
		e->ebx = (e->ebx & 0xffff) | (apic_id << 24) |
			 ((1u << order) << 16);
		if (ncpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 0x4:
		/* Cores per package - 1 in [31:26]; caches are per core except
		 * the last level, shared by the package. */
		e->eax &= 0x3fff;
		e->eax |= ((1u << order) - 1) << 26;
		if (((e->eax >> 5) & 7) >= 3)
			e->eax |= ((1u << order) - 1) << 14;
		break;
	case 0xb:
	case 0x1f:
		cpuid_set_topology_leaf(e, apic_id, ncpus);
		break;
	case 0x40000000:
		/* "KVMKVMKVM" signature stays; we implement up to 0x40000001. */
		e->eax = 0x40000001;
		break;
	case 0x40000001:
		e->eax &= ~(KVM_PV_FEATURE_MSI_EXT_DEST_ID |
			    KVM_PV_FEATURE_MIGRATION_CONTROL);
		e->edx = 0;	/* no KVM_HINTS_REALTIME: vCPUs share cores */
		break;
	case 0x80000001:
		if (ncpus > 1)
			e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
		else
			e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
		break;
	case 0x80000008:
		/* AMD: NC = cores - 1 [7:0], ApicIdCoreIdSize [15:12]. */
		e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1) | (order << 12);
		break;
	case 0x8000001e:
		/* AMD topology extensions: extended APIC id, core id. */
		e->eax = apic_id;
		e->ebx = apic_id & 0xff;
		e->ecx = 0;
		break;
	default:
		break;
	}
}

int cpuid_build(const struct kvm_cpuid2 *supported, unsigned apic_id,
		unsigned ncpus, struct kvm_cpuid2 **out)
{
	size_t size = sizeof(*supported) +
		      supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *table;

	if (!ncpus || apic_id >= ncpus)
		return -EINVAL;
	table = malloc(size);
	if (!table)
		return -ENOMEM;
	memcpy(table, supported, size);
	for (unsigned i = 0; i < table->nent; i++)
		cpuid_filter_entry(&table->entries[i], apic_id, ncpus);
	*out = table;
	return 0;
}

unsigned cpuid_phys_bits(const struct kvm_cpuid2 *table)
{
	for (unsigned i = 0; i < table->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &table->entries[i];

		if (e->function == 0x80000008 && (e->eax & 0xff))
			return e->eax & 0xff;
	}
	return 36;
}
