/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry points of the test guest: PVH (32-bit, paging off), the Linux
 * 64-bit boot protocol, and the application processors' start-up code.
 *
 * Execution model.  On the hosts this guest was written for, KVM runs CPL3
 * natively but emulates every CPL0 instruction (about 1 us each) and cannot
 * emulate some at all (int3, xrstor, lock cmpxchg16b).  So CPL0 does as
 * little as it can, with plain instructions: the GDT, TSSs, IDT and the
 * page tables of the low 4 GiB are built at assembly and link time
 * (tables.S, isr.S); the entries load them and drop to CPL3 with IOPL 3,
 * where all the real work runs natively, mapping RAM above 4 GiB included
 * (paging.c), and port I/O where the hypervisor honours IOPL (cpu.c).
 * What stays at CPL0: interrupt handlers and a small gate for what CPL3
 * cannot do (isr.S).
 *
 * Every page is user-accessible, the page and descriptor tables too: this
 * guest tests a VMM, it protects nothing from itself.
 */
#include "guest.h"
#include "platform.h"

/*
 * PVH: the Xen ELF note naming the 32-bit entry point, in its own
 * allocated section so that the linker script puts it in a PT_NOTE segment
 * (linux64.ld discards it).
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f			/* namesz */
	.long 4f - 3f			/* descsz */
	.long GUEST_PVH_NOTE_TYPE
1:	.asciz "Xen"
2:	.balign 4
3:	.quad pvh_start32
4:	.balign 4

/*
 * Both entries start with a one-byte write to COM1: benchmarks timestamp
 * it as the guest's first instruction.
 */
.macro FIRST_BYTE_TO_COM1
	movl	$PLATFORM_COM1_PORT, %edx
	movb	$0x0a, %al			/* '\n' */
	outb	%al, %dx
.endm

/*
 * Map the low 4 GiB with 1 GiB pages when the CPU has them: 4 entries
 * instead of 4 page directories for the (shadow) MMU to walk.  Clobbers
 * %eax, %ebx, %ecx, %edx.
 */
.macro SELECT_PDPT
	movl	$CPUID_EXT_FEATURES, %eax
	cpuid
	btl	$CPUID_EDX_PDPE1GB_BIT, %edx
	jnc	.Lpdpt_2m\@
	movl	$(pdpt_1g + PTE_TABLE), pml4
.Lpdpt_2m\@:
.endm

/* 32-bit protected mode, paging off -> 64-bit mode at \target. */
.macro ENTER_LONG_MODE target
	movl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PE | CR0_PG), %eax
	movl	%eax, %cr0
	ljmp	$SEL_KCODE64, $\target
.endm

	.section .text.entry, "ax"

/* PVH: %ebx = physical address of struct pvh_start_info. */
	.code32
	.globl	pvh_start32
	.type	pvh_start32, @function
pvh_start32:
	FIRST_BYTE_TO_COM1
	movl	%ebx, %esi
	lgdt	gdt_ptr
	SELECT_PDPT
	ENTER_LONG_MODE pvh_start64

	.code64
pvh_start64:
	/* The upper halves of registers are undefined across the switch. */
	movl	%esi, %esi
	movl	$BOOT_PROTO_PVH, %edi
	jmp	start64
	.size	pvh_start32, . - pvh_start32

/*
 * Linux 64-bit boot protocol: long mode on the loader's page tables and
 * GDT, interrupts off, %rsi = physical address of struct boot_params.  The
 * stack is not ours to use until %rsp is set.
 */
	.globl	linux64_start
	.type	linux64_start, @function
linux64_start:
	FIRST_BYTE_TO_COM1
	movl	$BOOT_PROTO_LINUX64, %edi
	movq	$(kstacks + KSTACK_SIZE), %rsp
	lgdt	gdt_ptr(%rip)
	/*
	 * CR4 = PAE exactly: were SMEP or SMAP left on, this CPL0 code, which
	 * lives on user pages, would fault.
	 */
	movl	$CR4_PAE, %eax
	movq	%rax, %cr4
	SELECT_PDPT
	movl	$pml4, %eax
	movq	%rax, %cr3
	pushq	$SEL_KCODE64			/* reload CS from our GDT */
	pushq	$start64
	lretq
	.size	linux64_start, . - linux64_start

/*
 * Common to both entries, 64-bit, CPL0: %edi = BOOT_PROTO_*, %rsi = boot
 * structure.  Load the BSP's TSS and the IDT, then iretq to CPL3 with
 * interrupts on and IOPL 3.
 */
start64:
	movl	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	movq	$(kstacks + KSTACK_SIZE), %rsp
	movl	$SEL_TSS0, %eax
	ltr	%ax
	lidt	idt_ptr(%rip)
	/*
	 * Mask LINT0 before interrupts come on: a firmware that ran before us
	 * (QEMU's SeaBIOS) leaves the 8259 in virtual-wire mode with the PIT
	 * ticking on vector 8, which would look like a double fault.
	 */
	movq	lapic_lint0_reg(%rip), %rax
	movl	$LAPIC_LVT_MASKED, (%rax)
	pushq	$(SEL_UDATA | SEL_RPL3)
	pushq	$(user_stack + USTACK_SIZE)
	pushq	$(RFLAGS_FIXED | RFLAGS_IF | RFLAGS_IOPL3)
	pushq	$(SEL_UCODE64 | SEL_RPL3)
	pushq	$user_start
	iretq

	.text

/* CPL3 from here on; %edi and %rsi still hold guest_main()'s arguments. */
user_start:
	call	guest_main
	ud2

/*
 * Application processors.  smp.c copies [ap_trampoline, ap_trampoline_end)
 * to GUEST_AP_TRAMPOLINE and sends SIPI vector GUEST_AP_TRAMPOLINE >> 12:
 * the AP starts here in real mode with CS:IP = 0x0800:0000, so memory
 * operands are CS-relative.  It leaves the copy at once for the 32-bit
 * code below, in the image; ap_boot_cpu tells it which CPU it is (the BSP
 * starts one AP at a time).
 */
	.code16
	.globl	ap_trampoline, ap_trampoline_end
ap_trampoline:
	lgdtl	%cs:ap_gdt_ptr - ap_trampoline
	movl	$CR0_PE, %eax			/* also clears CD and NW */
	movl	%eax, %cr0
	ljmpl	$SEL_KCODE32, $ap_start32
	.balign 4
ap_gdt_ptr:
	.word	GDT_SIZE - 1
	.long	gdt
ap_trampoline_end:

	.code32
ap_start32:
	ENTER_LONG_MODE ap_start64

	.code64
ap_start64:
	movl	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	movl	ap_boot_cpu(%rip), %edi
	movl	%edi, %eax
	shll	$KSTACK_SHIFT, %eax
	leaq	(kstacks + KSTACK_SIZE)(%rax), %rsp
	movl	%edi, %eax
	shll	$4, %eax			/* 16-byte TSS descriptors */
	addl	$SEL_TSS0, %eax
	ltr	%ax
	lidt	idt_ptr(%rip)
	call	ap_main				/* does not return */

	.data
	.balign 4
	.globl	ap_boot_cpu
ap_boot_cpu:
	.long	0

	.bss
	.balign 4096
	.globl	kstacks
kstacks:					/* CPL0 stacks, one per CPU */
	.skip	GUEST_MAX_CPUS * KSTACK_SIZE
	.balign 16
user_stack:					/* the BSP's CPL3 stack */
	.skip	USTACK_SIZE

	.section .note.GNU-stack, "", @progbits
