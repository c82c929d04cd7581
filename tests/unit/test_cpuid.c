/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm.h"
#include "unit.h"
#include "x86/cpuid.h"

#define NENT 9

static struct kvm_cpuid2 *fake_supported(void)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) +
					 NENT * sizeof(t->entries[0]));
	struct kvm_cpuid_entry2 *e = t->entries;

	t->nent = NENT;
	e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	/* leaf 1: CLFLUSH size 8 in EBX[15:8], host APIC id garbage. */
	e[1] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x7f200800,
					  .ecx = 0x1, .edx = 0 };
	e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 99 };
	e[3] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 99 };
	e[4] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
					  .eax = 0x40000010 };
	e[5] = (struct kvm_cpuid_entry2){ .function = 0x40000001,
					  .eax = 0xffffffff, .edx = 1 };
	e[6] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
					  .ecx = 0x7007 };
	e[7] = (struct kvm_cpuid_entry2){ .function = 0x8000001e,
					  .eax = 55 };
	e[8] = (struct kvm_cpuid_entry2){ .function = 0x80000001,
					  .ecx = 0 };
	return t;
}

static void test_leaf1(void)
{
	struct kvm_cpuid2 *sup = fake_supported(), *t;
	struct kvm_cpuid_entry2 *e;

	CU_ASSERT_FATAL(cpuid_build(sup, 2, 3, &t) == 0);
	e = cpuid_find(t, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT(e->ecx & (1u << 31));			/* hypervisor */
	CU_ASSERT_EQUAL(e->ecx & 1, 1);			/* others kept */
	CU_ASSERT_EQUAL(e->ebx >> 24, 2);		/* APIC id */
	CU_ASSERT_EQUAL((e->ebx >> 16) & 0xff, 4);	/* pow2 >= 3 */
	CU_ASSERT_EQUAL((e->ebx >> 8) & 0xff, 8);	/* CLFLUSH kept */
	CU_ASSERT(e->edx & (1u << 28));			/* HTT */
	/* The input table is left alone. */
	CU_ASSERT_EQUAL(sup->entries[1].ebx, 0x7f200800);
	free(t);

	CU_ASSERT_FATAL(cpuid_build(sup, 0, 1, &t) == 0);
	e = cpuid_find(t, 1, 0);
	CU_ASSERT_EQUAL(e->ebx >> 24, 0);
	CU_ASSERT_FALSE(e->edx & (1u << 28));
	free(t);
	free(sup);
}

static void test_topology_leaf(void)
{
	struct kvm_cpuid2 *sup = fake_supported(), *t;
	struct kvm_cpuid_entry2 *smt, *core;

	CU_ASSERT_FATAL(cpuid_build(sup, 5, 6, &t) == 0);
	smt = cpuid_find(t, 0xb, 0);
	core = cpuid_find(t, 0xb, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(smt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(core);
	CU_ASSERT_EQUAL(smt->edx, 5);			/* x2APIC id */
	CU_ASSERT_EQUAL(core->edx, 5);
	CU_ASSERT_EQUAL(smt->ebx, 1);			/* 1 thread/core */
	CU_ASSERT_EQUAL((smt->ecx >> 8) & 0xff, 1);	/* SMT level */
	CU_ASSERT_EQUAL(core->ebx, 6);			/* 6 cores */
	CU_ASSERT_EQUAL(core->eax & 0x1f, 3);		/* ids need 3 bits */
	CU_ASSERT_EQUAL((core->ecx >> 8) & 0xff, 2);	/* core level */
	free(t);
	free(sup);
}

static void test_kvm_and_amd_leaves(void)
{
	struct kvm_cpuid2 *sup = fake_supported(), *t;
	struct kvm_cpuid_entry2 *e;

	CU_ASSERT_FATAL(cpuid_build(sup, 1, 2, &t) == 0);
	e = cpuid_find(t, 0x40000000, 0);
	CU_ASSERT_EQUAL(e->eax, 0x40000001);
	e = cpuid_find(t, 0x40000001, 0);
	CU_ASSERT_FALSE(e->eax & (1u << 15));	/* MSI ext dest id */
	CU_ASSERT_FALSE(e->eax & (1u << 17));	/* migration control */
	CU_ASSERT(e->eax & 1);			/* kvmclock kept */
	CU_ASSERT_EQUAL(e->edx, 0);		/* no realtime hint */
	e = cpuid_find(t, 0x80000008, 0);
	CU_ASSERT_EQUAL(e->ecx & 0xff, 1);	/* NC = cores - 1 */
	CU_ASSERT_EQUAL((e->ecx >> 12) & 0xf, 1);
	e = cpuid_find(t, 0x8000001e, 0);
	CU_ASSERT_EQUAL(e->eax, 1);
	e = cpuid_find(t, 0x80000001, 0);
	CU_ASSERT(e->ecx & 2);			/* CmpLegacy */
	free(t);
	free(sup);
}

static void test_bad_args(void)
{
	struct kvm_cpuid2 *sup = fake_supported(), *t;

	CU_ASSERT_EQUAL(cpuid_build(sup, 2, 2, &t), -EINVAL);
	CU_ASSERT_EQUAL(cpuid_build(sup, 0, 0, &t), -EINVAL);
	free(sup);
}

/* kvm_find_missing_cap() against a fake kernel. */
static long fake_missing_cap;

static int fake_probe(void *ctx, long cap)
{
	return cap == fake_missing_cap ? 0 : 1;
}

static void test_missing_capability_named(void)
{
	const struct kvm_cap_req *m;

	fake_missing_cap = -1;
	CU_ASSERT_PTR_NULL(kvm_find_missing_cap(fake_probe, NULL));
	fake_missing_cap = KVM_CAP_IRQFD;
	m = kvm_find_missing_cap(fake_probe, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(m->name, "IRQFD");
	fake_missing_cap = KVM_CAP_IMMEDIATE_EXIT;
	m = kvm_find_missing_cap(fake_probe, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_STRING_EQUAL(m->name, "IMMEDIATE_EXIT");
}

static void test_phys_bits(void)
{
	struct kvm_cpuid2 *sup = fake_supported();

	/* No width in the leaf (EAX 0): the 36 of a CPU without it. */
	CU_ASSERT_EQUAL(cpuid_phys_bits(sup), 36);
	sup->entries[6].eax = 0x3028;		/* 48 virtual, 40 physical */
	CU_ASSERT_EQUAL(cpuid_phys_bits(sup), 40);
	sup->entries[6].function = 0x80000007;	/* leaf absent */
	CU_ASSERT_EQUAL(cpuid_phys_bits(sup), 36);
	free(sup);
}

static CU_TestInfo cpuid_tests[] = {
	{ "leaf 1: hypervisor bit, APIC id, count", test_leaf1 },
	{ "leaf 0xb topology", test_topology_leaf },
	{ "KVM paravirt and AMD leaves", test_kvm_and_amd_leaves },
	{ "bad arguments", test_bad_args },
	{ "guest physical address width", test_phys_bits },
	{ "missing KVM capability is named", test_missing_capability_named },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "cpuid", NULL, NULL, NULL, NULL, cpuid_tests },
	CU_SUITE_INFO_NULL,
};
