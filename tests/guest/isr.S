/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Interrupt entry and the CPL0 gate, at CPL0 (emulated: every instruction
 * here costs about 1 us, so the hot paths are a handful of instructions).
 *
 * isr_stubs holds one 16-byte stub per vector, and the IDT is built at
 * assembly time from it: gate \vec points to isr_stubs + 16 * \vec.  The
 * linker script splits the address of isr_stubs into the gate's offset
 * fields (isr_stubs_lo/mid/hi); the page-aligned 4 KiB block never crosses
 * a 64 KiB boundary, so adding the stub offset to bits 15:0 never carries.
 */
#include "guest.h"

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) \
	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
	 (v) == 29 || (v) == 30)

	.text
	.balign 4096
	.globl	isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
1:
	.if	vec == VEC_TIMER
	jmp	timer_isr
	.elseif	vec == VEC_VIRTIO
	jmp	virtio_isr
	.elseif	vec == VEC_VIRTIO_INTX
	jmp	virtio_intx_isr
	.elseif	vec == VEC_UD
	jmp	ud_isr
	.elseif	vec == VEC_SPURIOUS
	iretq					/* no EOI for spurious */
	.else
	.if	!HAS_ERROR_CODE(vec)
	pushq	$0				/* one frame layout for all */
	.endif
	pushq	$vec
	jmp	isr_fault_entry
	.endif
	.org	1b + (1 << ISR_STUB_SHIFT), 0xcc
	.set	vec, vec + 1
	.endr

/*
 * The PIT tick, through IOAPIC pin 2.  CPL3 reads timer_ticks; only the
 * BSP takes this interrupt, so a plain increment is enough.
 */
timer_isr:
	incq	timer_ticks(%rip)
	pushq	%rax
	movq	lapic_eoi_reg(%rip), %rax
	movl	$0, (%rax)
	popq	%rax
	iretq

/*
 * A virtio MSI-X vector (virtio_msix_enable), to the BSP only: count it
 * for CPL3 and EOI, nothing else.  Edge-triggered, so no device register
 * needs touching here.
 */
virtio_isr:
	incq	virtio_irq_count(%rip)
	pushq	%rax
	movq	lapic_eoi_reg(%rip), %rax
	movl	$0, (%rax)
	popq	%rax
	iretq

/*
 * A virtio INTx line (guest.blk_irq=intx), level-triggered: the ISR read
 * clears the device's ISR and deasserts the line before the EOI, or the
 * IOAPIC would deliver it again at once.  Counted like MSI-X.
 */
virtio_intx_isr:
	pushq	%rax
	movq	virtio_intx_isr_reg(%rip), %rax
	movb	(%rax), %al
	incq	virtio_irq_count(%rip)
	movq	lapic_eoi_reg(%rip), %rax
	movl	$0, (%rax)
	popq	%rax
	iretq

/*
 * The gate to CPL0: call gate_entry with a GATE_* request in %eax.
 * A software interrupt would be the natural gate, but KVM's PVM (the
 * page-table-based KVM of our build hosts) turns `int n` at CPL3 into #UD;
 * a #UD at this one address works everywhere.
 */
	.globl	gate_entry
	.type	gate_entry, @function
gate_entry:
	ud2
	ret
	.size	gate_entry, . - gate_entry

ud_isr:
	cmpq	$gate_entry, (%rsp)		/* the faulting RIP */
	jne	.Lud_fault
	addq	$2, (%rsp)			/* resume after the ud2 */
	/*
	 * Port I/O first: the frequent requests where the hypervisor denies
	 * CPL3 its IOPL (cpu.c).  Unknown requests park.
	 */
	cmpl	$GATE_OUTSB, %eax
	je	.Loutsb
	cmpl	$GATE_INB, %eax
	je	.Linb
	cmpl	$GATE_OUTB, %eax
	je	.Loutb
	cmpl	$GATE_INL, %eax
	je	.Linl
	cmpl	$GATE_OUTL, %eax
	je	.Loutl
	cmpl	$GATE_INW, %eax
	je	.Linw
	cmpl	$GATE_OUTW, %eax
	je	.Loutw
	cmpl	$GATE_TRIPLE_FAULT, %eax
	je	.Ltriple
	cmpl	$GATE_INTERNAL_ERROR, %eax
	je	.Linternal
.Lpark:
	cli
	hlt
	jmp	.Lpark
.Loutsb:
	rep outsb
	iretq
.Linb:
	inb	%dx, %al
	iretq
.Loutb:
	movl	%ecx, %eax
	outb	%al, %dx
	iretq
.Linw:
	inw	%dx, %ax
	iretq
.Loutw:
	movl	%ecx, %eax
	outw	%ax, %dx
	iretq
.Linl:
	inl	%dx, %eax
	iretq
.Loutl:
	movl	%ecx, %eax
	outl	%eax, %dx
	iretq
.Ltriple:
	/* #UD with an empty IDT: #GP, then #DF, cannot be delivered. */
	lidt	null_idt_ptr(%rip)
	ud2
.Linternal:
	/*
	 * KVM on hosts without VT-x/AMD-V cannot emulate int3 at CPL0 and
	 * stops the VM with KVM_EXIT_INTERNAL_ERROR.  Elsewhere this is a
	 * plain #BP, which isr_fault() reports as a failure.
	 */
	int3
	jmp	.Lpark
.Lud_fault:
	pushq	$0
	pushq	$VEC_UD
	/* fall through */

/*
 * Unexpected vector: the stack holds vector, error code and the CPU's
 * frame (struct isr_frame).  isr_fault() reports and exits the VM.
 */
isr_fault_entry:
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	isr_fault
	jmp	.Lpark

	.data
	.balign 16
idt:
	.set	vec, 0
	.rept	256
	.word	isr_stubs_lo + (vec << ISR_STUB_SHIFT)	/* offset 15:0 */
	.word	SEL_KCODE64
	.byte	0					/* no IST */
	.byte	0x8e				/* P, DPL 0, interrupt gate */
	.word	isr_stubs_mid				/* offset 31:16 */
	.long	isr_stubs_hi				/* offset 63:32 */
	.long	0
	.set	vec, vec + 1
	.endr

	.balign 8
	.word	0
	.globl	idt_ptr
idt_ptr:
	.word	256 * 16 - 1
	.quad	idt

	.balign 8
	.word	0
null_idt_ptr:
	.word	0
	.quad	0

	.bss
	.balign 8
	.globl	timer_ticks
timer_ticks:
	.skip	8
	.globl	virtio_irq_count
virtio_irq_count:
	.skip	8

	.section .note.GNU-stack, "", @progbits
