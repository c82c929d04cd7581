/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The boot GDT and the boot vCPU's entry state.  One table of descriptors
 * produces both the GDT bytes in guest memory and the hidden segment state
 * KVM is given, so the two cannot disagree: a guest that reloads a
 * selector gets exactly what it started with.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "boot_internal.h"

/* IA32_EFER bits (the UAPI headers do not carry msr-index.h). */
#define BOOT_EFER_LME	(1ull << 8)
#define BOOT_EFER_LMA	(1ull << 10)
#define BOOT_RFLAGS_FIXED	0x2ull	/* bit 1 always reads as 1 */

#define SEG_TYPE_CODE_RX_ACCESSED	0xb
#define SEG_TYPE_DATA_RW_ACCESSED	0x3
#define SEG_TYPE_TSS_BUSY		0xb	/* system segment (s = 0) */
#define SEG_LIMIT_4G			0xfffff	/* in 4 KiB units (g = 1) */
#define SEG_TSS_LIMIT			0x67	/* smallest 32-bit TSS */

struct gdt_desc {
	uint32_t base;
	uint32_t limit;		/* 20 bits, in pages when g is set */
	uint8_t type, s, dpl, p, avl, l, db, g;
};

/*
 * 0x08 and 0x18 give PVH its flat 32-bit segments, 0x10 and 0x18 are the
 * __BOOT_CS/__BOOT_DS the 64-bit boot protocol requires.  Accessed bits are
 * preset so the CPU never writes to the table.  The TSS is marked busy, as
 * LTR would leave it; in long mode its descriptor is 16 bytes, so slot 5 is
 * its (zero) upper half and the same entry is valid in both modes.
 */
static const struct gdt_desc boot_gdt[] = {
	[0] = { 0 },
	[BOOT_SEL_CODE32 >> 3] = {
		.limit = SEG_LIMIT_4G, .type = SEG_TYPE_CODE_RX_ACCESSED,
		.s = 1, .p = 1, .db = 1, .g = 1,
	},
	[BOOT_SEL_CODE64 >> 3] = {
		.limit = SEG_LIMIT_4G, .type = SEG_TYPE_CODE_RX_ACCESSED,
		.s = 1, .p = 1, .l = 1, .g = 1,
	},
	[BOOT_SEL_DATA >> 3] = {
		.limit = SEG_LIMIT_4G, .type = SEG_TYPE_DATA_RW_ACCESSED,
		.s = 1, .p = 1, .db = 1, .g = 1,
	},
	[BOOT_SEL_TSS >> 3] = {
		.limit = SEG_TSS_LIMIT, .type = SEG_TYPE_TSS_BUSY, .p = 1,
	},
	[(BOOT_SEL_TSS >> 3) + 1] = { 0 },
};

_Static_assert(sizeof(boot_gdt) / sizeof(boot_gdt[0]) * 8 == BOOT_GDT_SIZE,
	       "GDT size in layout.h");

static uint64_t gdt_encode(const struct gdt_desc *d)
{
	return (uint64_t)(d->limit & 0xffff) |
	       (uint64_t)(d->base & 0xffffff) << 16 |
	       (uint64_t)(d->type & 0xf) << 40 |
	       (uint64_t)d->s << 44 |
	       (uint64_t)(d->dpl & 3) << 45 |
	       (uint64_t)d->p << 47 |
	       (uint64_t)((d->limit >> 16) & 0xf) << 48 |
	       (uint64_t)d->avl << 52 |
	       (uint64_t)d->l << 53 |
	       (uint64_t)d->db << 54 |
	       (uint64_t)d->g << 55 |
	       (uint64_t)(d->base >> 24) << 56;
}

static struct kvm_segment gdt_segment(uint16_t selector)
{
	const struct gdt_desc *d = &boot_gdt[selector >> 3];

	return (struct kvm_segment){
		.base = d->base,
		/* KVM wants the limit in bytes, granularity applied. */
		.limit = d->g ? (d->limit << 12) | 0xfff : d->limit,
		.selector = selector,
		.type = d->type,
		.present = d->p,
		.dpl = d->dpl,
		.db = d->db,
		.s = d->s,
		.l = d->l,
		.g = d->g,
		.avl = d->avl,
	};
}

int boot_gdt_write(const struct guest_mem *mem)
{
	uint64_t gdt[sizeof(boot_gdt) / sizeof(boot_gdt[0])];

	for (size_t i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
		gdt[i] = gdt_encode(&boot_gdt[i]);
	return guest_mem_write(mem, BOOT_GDT_GPA, gdt, sizeof(gdt));
}

void boot_vcpu_state(const struct boot_setup *setup, struct kvm_regs *regs,
		     struct kvm_sregs *sregs)
{
	bool lm = setup->protocol == BOOT_PROTOCOL_LINUX64;
	struct kvm_segment data = gdt_segment(BOOT_SEL_DATA);

	sregs->cs = gdt_segment(lm ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	sregs->tr = gdt_segment(BOOT_SEL_TSS);
	sregs->gdt.base = BOOT_GDT_GPA;
	sregs->gdt.limit = BOOT_GDT_SIZE - 1;

	if (lm) {
		/* 64-bit boot protocol: long mode, the identity map loaded. */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
		sregs->cr3 = BOOT_PML4_GPA;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
		regs->rsi = setup->info_gpa;
	} else {
		/*
		 * PVH: protected mode, paging off, every writable CR0 and CR4
		 * bit but PE clear (ET is read-only 1 on any 64-bit CPU).
		 */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr4 = 0;
		sregs->efer = 0;
		regs->rbx = setup->info_gpa;
	}
	/* Interrupts off, no trap flag, no virtual-8086 mode. */
	regs->rflags = BOOT_RFLAGS_FIXED;
	regs->rip = setup->entry;
}
