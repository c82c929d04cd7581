/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot page tables (walked like the MMU would), the GDT in guest memory
 * and the boot vCPU state: the hidden segment state KVM gets must match
 * what the GDT says for each selector, for both entry protocols.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "guest_mem.h"
#include "unit.h"

#define MEM_SIZE	(64ull << 20)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

static uint64_t read_u64(struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v = 0;

	CU_ASSERT_FATAL(guest_mem_read(mem, gpa, &v, sizeof(v)) == 0);
	return v;
}

/* Translate va through the tables at cr3; returns ~0 when not mapped. */
static uint64_t walk(struct guest_mem *mem, uint64_t cr3, uint64_t va)
{
	uint64_t e;

	e = read_u64(mem, (cr3 & ~0xfffull) + ((va >> 39) & 511) * 8);
	if (!(e & 1) || !(e & 2))
		return ~0ull;
	e = read_u64(mem, (e & 0xffffffffff000ull) + ((va >> 30) & 511) * 8);
	if (!(e & 1) || !(e & 2) || (e & 0x80))	/* no 1 GiB pages used */
		return ~0ull;
	e = read_u64(mem, (e & 0xffffffffff000ull) + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 2) || !(e & 0x80))
		return ~0ull;
	return (e & 0xfffffffe00000ull) | (va & 0x1fffff);
}

static void test_identity_map(void)
{
	static const uint64_t probes[] = {
		0, 0x7000, 0x20000, 0xe0000, 0x100000, 0x1000200, 0x3ffffff,
		0x7fffffff, 0xbfffffff, 0xc0000000, 0xfec00000, 0xfee00000,
		0xffffffff,
	};
	struct guest_mem *mem;

	CU_ASSERT_FATAL(guest_mem_create(MEM_SIZE, 0, &mem) == 0);
	CU_ASSERT_EQUAL_FATAL(boot_paging_write(mem), 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		CU_ASSERT_EQUAL(walk(mem, BOOT_PML4_GPA, probes[i]), probes[i]);
	/* Every 2 MiB page of [0, 4 GiB), and nothing beyond. */
	for (uint64_t a = 0; a < (1ull << 32); a += 1ull << 21)
		if (walk(mem, BOOT_PML4_GPA, a + 0x1234) != a + 0x1234) {
			CU_FAIL("a 2 MiB page is not identity mapped");
			break;
		}
	CU_ASSERT_EQUAL(walk(mem, BOOT_PML4_GPA, 1ull << 32), ~0ull);
	CU_ASSERT_EQUAL(walk(mem, BOOT_PML4_GPA, 1ull << 39), ~0ull);
	/* The tables stay clear of the test guest's page. */
	CU_ASSERT(BOOT_PML4_GPA >= BOOT_GUEST_FREE_END);
	guest_mem_destroy(mem);
}

struct desc {
	uint32_t base, limit;
	unsigned type, s, dpl, p, avl, l, db, g;
};

static struct desc decode(uint64_t d)
{
	struct desc r = {
		.base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 56) << 24)),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.p = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};

	if (r.g)
		r.limit = (r.limit << 12) | 0xfff;
	return r;
}

/* The cached segment equals what loading its selector from the GDT gives. */
static void check_seg(struct guest_mem *mem, const struct kvm_sregs *sr,
		      const struct kvm_segment *seg)
{
	struct desc d;

	CU_ASSERT_FATAL(seg->selector != 0);
	CU_ASSERT_FATAL((uint64_t)seg->selector + 7 <= sr->gdt.limit);
	d = decode(read_u64(mem, sr->gdt.base + seg->selector));
	CU_ASSERT_EQUAL(seg->base, d.base);
	CU_ASSERT_EQUAL(seg->limit, d.limit);
	CU_ASSERT_EQUAL(seg->type, d.type);
	CU_ASSERT_EQUAL(seg->s, d.s);
	CU_ASSERT_EQUAL(seg->dpl, d.dpl);
	CU_ASSERT_EQUAL(seg->present, d.p);
	CU_ASSERT_EQUAL(seg->l, d.l);
	CU_ASSERT_EQUAL(seg->db, d.db);
	CU_ASSERT_EQUAL(seg->g, d.g);
	CU_ASSERT_EQUAL(seg->unusable, 0);
}

/* Registers as KVM might report them after reset, with markers to keep. */
static void reset_state(struct kvm_regs *r, struct kvm_sregs *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	r->rax = 0x1111;
	r->rsp = 0x2222;
	r->rflags = 0x202;
	s->cr0 = 0x60000010;
	s->apic_base = 0xfee00900;
	s->cr8 = 3;
	s->idt.limit = 0xffff;
	s->ldt.type = 2;
	s->ldt.present = 1;
}

static void check_common(struct guest_mem *mem, const struct kvm_regs *r,
			 const struct kvm_sregs *s)
{
	CU_ASSERT_EQUAL(s->gdt.base, BOOT_GDT_GPA);
	CU_ASSERT_EQUAL(s->gdt.limit, BOOT_GDT_SIZE - 1);
	check_seg(mem, s, &s->cs);
	check_seg(mem, s, &s->ds);
	check_seg(mem, s, &s->es);
	check_seg(mem, s, &s->ss);
	check_seg(mem, s, &s->tr);
	CU_ASSERT_EQUAL(s->ds.selector, BOOT_SEL_DATA);
	CU_ASSERT_EQUAL(s->es.selector, BOOT_SEL_DATA);
	CU_ASSERT_EQUAL(s->ss.selector, BOOT_SEL_DATA);
	CU_ASSERT_EQUAL(s->ds.type & 0xa, 0x2);		/* data, writable */
	CU_ASSERT_EQUAL(s->ds.base, 0);
	CU_ASSERT_EQUAL(s->ds.limit, 0xffffffff);
	/* TR: a busy 32-bit TSS, base 0, limit 0x67, a system segment. */
	CU_ASSERT_EQUAL(s->tr.selector, BOOT_SEL_TSS);
	CU_ASSERT_EQUAL(s->tr.type, 11);
	CU_ASSERT_EQUAL(s->tr.s, 0);
	CU_ASSERT_EQUAL(s->tr.base, 0);
	CU_ASSERT_EQUAL(s->tr.limit, 0x67);
	/* In long mode the TSS descriptor is 16 bytes: the upper half is 0. */
	CU_ASSERT_EQUAL(read_u64(mem, BOOT_GDT_GPA + BOOT_SEL_TSS + 8), 0);
	CU_ASSERT_EQUAL(read_u64(mem, BOOT_GDT_GPA), 0);
	CU_ASSERT_EQUAL(r->rflags, 2);
	/* Untouched. */
	CU_ASSERT_EQUAL(r->rax, 0x1111);
	CU_ASSERT_EQUAL(r->rsp, 0x2222);
	CU_ASSERT_EQUAL(s->apic_base, 0xfee00900);
	CU_ASSERT_EQUAL(s->cr8, 3);
	CU_ASSERT_EQUAL(s->ldt.type, 2);
}

static void test_linux64_state(void)
{
	struct boot_setup setup = {
		.protocol = BOOT_PROTOCOL_LINUX64,
		.entry = 0x1000200,
		.info_gpa = BOOT_PARAMS_GPA,
	};
	struct guest_mem *mem;
	struct kvm_regs r;
	struct kvm_sregs s;

	CU_ASSERT_FATAL(guest_mem_create(MEM_SIZE, 0, &mem) == 0);
	CU_ASSERT_EQUAL_FATAL(boot_gdt_write(mem), 0);
	CU_ASSERT_EQUAL_FATAL(boot_paging_write(mem), 0);
	reset_state(&r, &s);
	boot_vcpu_state(&setup, &r, &s);

	CU_ASSERT(s.cr0 & X86_CR0_PE);
	CU_ASSERT(s.cr0 & X86_CR0_PG);
	CU_ASSERT_FALSE(s.cr0 & (X86_CR0_CD | X86_CR0_NW));
	CU_ASSERT_EQUAL(s.cr3, BOOT_PML4_GPA);
	CU_ASSERT(s.cr4 & X86_CR4_PAE);
	CU_ASSERT_EQUAL(s.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	/* __BOOT_CS = 0x10, 64-bit; __BOOT_DS = 0x18. */
	CU_ASSERT_EQUAL(s.cs.selector, 0x10);
	CU_ASSERT_EQUAL(s.cs.l, 1);
	CU_ASSERT_EQUAL(s.cs.db, 0);
	CU_ASSERT_EQUAL(s.cs.type & 0x8, 0x8);		/* code */
	CU_ASSERT_EQUAL(s.ds.selector, 0x18);
	check_seg(mem, &s, &s.fs);
	check_seg(mem, &s, &s.gs);
	check_common(mem, &r, &s);
	CU_ASSERT_EQUAL(r.rip, 0x1000200);
	CU_ASSERT_EQUAL(r.rsi, BOOT_PARAMS_GPA);
	/* CR3 walks to an identity map covering entry and boot_params. */
	CU_ASSERT_EQUAL(walk(mem, s.cr3, r.rip), r.rip);
	CU_ASSERT_EQUAL(walk(mem, s.cr3, r.rsi), r.rsi);
	guest_mem_destroy(mem);
}

static void test_pvh_state(void)
{
	struct boot_setup setup = {
		.protocol = BOOT_PROTOCOL_PVH,
		.entry = 0x1000040,
		.info_gpa = BOOT_START_INFO_GPA,
	};
	struct guest_mem *mem;
	struct kvm_regs r;
	struct kvm_sregs s;

	CU_ASSERT_FATAL(guest_mem_create(MEM_SIZE, 0, &mem) == 0);
	CU_ASSERT_EQUAL_FATAL(boot_gdt_write(mem), 0);
	reset_state(&r, &s);
	s.cr4 = X86_CR4_PAE;
	s.efer = EFER_LME;
	boot_vcpu_state(&setup, &r, &s);

	/* Protected mode, paging off, every other writable CR0/CR4 bit clear. */
	CU_ASSERT_EQUAL(s.cr0 & ~(uint64_t)X86_CR0_ET, X86_CR0_PE);
	CU_ASSERT_EQUAL(s.cr4, 0);
	CU_ASSERT_EQUAL(s.efer, 0);
	/* 32-bit flat code at 0x08, flat data at 0x18. */
	CU_ASSERT_EQUAL(s.cs.selector, 0x08);
	CU_ASSERT_EQUAL(s.cs.l, 0);
	CU_ASSERT_EQUAL(s.cs.db, 1);
	CU_ASSERT_EQUAL(s.cs.base, 0);
	CU_ASSERT_EQUAL(s.cs.limit, 0xffffffff);
	CU_ASSERT_EQUAL(s.cs.type & 0xa, 0xa);		/* code, readable */
	check_common(mem, &r, &s);
	CU_ASSERT_EQUAL(r.rip, 0x1000040);
	CU_ASSERT_EQUAL(r.rbx, BOOT_START_INFO_GPA);
	guest_mem_destroy(mem);
}

static CU_TestInfo cpu_tests[] = {
	{ "page tables identity-map [0, 4 GiB)", test_identity_map },
	{ "LINUX64 vCPU state matches GDT and tables", test_linux64_state },
	{ "PVH vCPU state matches GDT", test_pvh_state },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_cpu", NULL, NULL, NULL, NULL, cpu_tests },
	CU_SUITE_INFO_NULL,
};
