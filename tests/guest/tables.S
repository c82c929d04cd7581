/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The GDT, the per-CPU TSSs and the page tables of the low 4 GiB, built at
 * assembly and link time: filled in at run time they would cost thousands
 * of emulated CPL0 instructions (see entry.S).
 *
 * A descriptor splits its base address into bit fields that no x86-64
 * relocation can express; the linker script defines the fields of
 * tss_array as absolute symbols (tss_base_*).  The array is aligned so
 * that adding a slot offset to bits 15:0 never carries.
 */
#include "guest.h"

/* 16-byte 64-bit TSS descriptor for CPU \cpu (available, DPL 0). */
.macro TSS_DESC cpu
	.word	TSS_SIZE - 1				/* limit 15:0 */
	.word	tss_base_lo + ((\cpu) << TSS_SLOT_SHIFT)	/* base 15:0 */
	.byte	tss_base_b2				/* base 23:16 */
	.byte	0x89					/* P, type 9 */
	.byte	0					/* limit 19:16, flags */
	.byte	tss_base_b3				/* base 31:24 */
	.long	tss_base_hi				/* base 63:32 */
	.long	0
.endm

	.data
	.balign 16
	.globl	gdt
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* SEL_KCODE64: long mode, DPL 0 */
	.quad	0x00cf92000000ffff	/* SEL_KDATA: flat read/write, DPL 0 */
	.quad	0x00cff2000000ffff	/* SEL_UDATA: flat read/write, DPL 3 */
	.quad	0x00affa000000ffff	/* SEL_UCODE64: long mode, DPL 3 */
	.quad	0x00cf9a000000ffff	/* SEL_KCODE32: flat 32-bit, DPL 0 */
	.set	cpu, 0
	.rept	GUEST_MAX_CPUS
	TSS_DESC cpu
	.set	cpu, cpu + 1
	.endr
gdt_end:
	.if	gdt_end - gdt != GDT_SIZE
	.error	"GDT layout does not match GDT_SIZE"
	.endif

	/* lgdt operand; 32-bit code reads the low half of the base. */
	.balign 8
	.word	0
	.globl	gdt_ptr
gdt_ptr:
	.word	GDT_SIZE - 1
	.quad	gdt

/*
 * TSSs: only RSP0 matters (the CPL0 stack an interrupt from CPL3 switches
 * to).  The I/O bitmap offset points past the limit: no bitmap, IOPL 3
 * alone grants CPL3 every port.
 */
	.balign	(GUEST_MAX_CPUS << TSS_SLOT_SHIFT)
	.globl	tss_array
tss_array:
	.set	cpu, 0
	.rept	GUEST_MAX_CPUS
	.long	0				/* reserved */
	.quad	kstacks + (cpu + 1) * KSTACK_SIZE	/* RSP0 */
	.fill	88, 1, 0			/* RSP1-2, IST1-7, reserved */
	.word	0				/* reserved */
	.word	TSS_SIZE			/* I/O bitmap offset: none */
	.fill	(1 << TSS_SLOT_SHIFT) - TSS_SIZE, 1, 0
	.set	cpu, cpu + 1
	.endr

/*
 * Page tables: [0, 4 GiB) identity-mapped, user-accessible, writable, in
 * 2 MiB pages through pdpt_2m, or in 1 GiB pages through pdpt_1g, which
 * the entry code puts in pml4[0] when the CPU supports them.  paging.c
 * adds RAM above 4 GiB to whichever is in use.  Memory types are left
 * write-back everywhere: without assigned devices KVM ignores them.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl	pml4, pdpt_1g, pdpt_2m
pml4:
	.quad	pdpt_2m + PTE_TABLE
	.fill	511, 8, 0

pdpt_1g:
	.set	addr, 0
	.rept	4
	.quad	addr + PTE_LARGE
	.set	addr, addr + (1 << 30)
	.endr
	.fill	508, 8, 0

pdpt_2m:
	.set	i, 0
	.rept	4
	.quad	pd_low + i * 4096 + PTE_TABLE
	.set	i, i + 1
	.endr
	.fill	508, 8, 0

pd_low:
	.set	addr, 0
	.rept	4 * 512
	.quad	addr + PTE_LARGE
	.set	addr, addr + (1 << 21)
	.endr

	.section .note.GNU-stack, "", @progbits
