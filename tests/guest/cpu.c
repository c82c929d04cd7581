/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Port I/O, time-outs, the CPL0 gate, the debug exit and the fault report.
 */
#include "guest.h"
#include "platform.h"

/*
 * The guest enters CPL3 with IOPL 3, so that port I/O runs natively.  KVM's
 * PVM (the page-table-based KVM of our build hosts) runs guest user mode
 * with IOPL 0 whatever the guest asks; there every access goes through the
 * CPL0 gate instead, and the console writes whole FIFO loads per round trip.
 */
static bool io_iopl3;

void io_init(void)
{
	uint64_t rflags;

	__asm__ volatile("pushfq; popq %0" : "=r"(rflags));
	io_iopl3 = ((rflags >> 12) & 3) == 3;
}

/* At CPL0 (the fault handler) port I/O is always allowed. */
static bool io_native(void)
{
	uint16_t cs;

	if (io_iopl3)
		return true;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;
}

/*
 * One definition for every width: the instruction natively, or the gate
 * request with the port in %edx, the value in %ecx and the request (then
 * the value read) in %eax.
 */
#define GUEST_IO_OUT(name, type, gate, asm_out)			\
void name(uint16_t port, type v)					\
{									\
	uint32_t req = gate;						\
									\
	if (io_native())						\
		__asm__ volatile(asm_out : : "a"(v), "Nd"(port));	\
	else								\
		__asm__ volatile("call gate_entry"			\
				 : "+a"(req)				\
				 : "d"(port), "c"(v)			\
				 : "memory");				\
}

#define GUEST_IO_IN(name, type, gate, asm_in)				\
type name(uint16_t port)						\
{									\
	uint32_t v = gate;						\
									\
	if (io_native())						\
		__asm__ volatile(asm_in : "=a"(v) : "Nd"(port));	\
	else								\
		__asm__ volatile("call gate_entry"			\
				 : "+a"(v)				\
				 : "d"(port)				\
				 : "memory");				\
	return (type)v;							\
}

GUEST_IO_OUT(outb, uint8_t, GATE_OUTB, "outb %0, %1")
GUEST_IO_OUT(outw, uint16_t, GATE_OUTW, "outw %0, %1")
GUEST_IO_OUT(outl, uint32_t, GATE_OUTL, "outl %0, %1")
GUEST_IO_IN(inb, uint8_t, GATE_INB, "inb %1, %b0")
GUEST_IO_IN(inw, uint16_t, GATE_INW, "inw %1, %w0")
GUEST_IO_IN(inl, uint32_t, GATE_INL, "inl %1, %0")

void outsb(uint16_t port, const void *buf, size_t len)
{
	uint32_t req = GATE_OUTSB;

	if (io_native())
		__asm__ volatile("rep outsb"
				 : "+S"(buf), "+c"(len)
				 : "d"(port)
				 : "memory");
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(req), "+S"(buf), "+c"(len)
				 : "d"(port)
				 : "memory");
}

uint64_t tsc_deadline_ms(uint64_t ms)
{
	return rdtsc() + ms * TSC_CYCLES_PER_MS_MIN;
}

bool tsc_expired(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void gate_call(unsigned int request)
{
	__asm__ volatile("call gate_entry" : "+a"(request) : : "memory");
}

void guest_debug_exit(uint8_t status)
{
	outb(PLATFORM_DEBUG_EXIT_PORT, status);
	/* No debug-exit device: nothing else to do but stop. */
	for (;;)
		gate_call(GATE_PARK);
}

#define VEC_PF			14

/* At CPL0, from isr.S: slow (emulated) but only on the way out. */
void isr_fault(const struct isr_frame *f)
{
	unsigned int vector = (unsigned int)(f->vector & 0xff);
	uint64_t cr2 = 0;

	if (vector == VEC_PF)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	guest_printf("guest: exception vector=%u rip=0x%lx err=0x%lx cs=0x%lx rflags=0x%lx rsp=0x%lx cr2=0x%lx\n",
		     vector, f->rip, f->error, f->cs, f->rflags, f->rsp, cr2);
	guest_debug_exit(GUEST_STATUS_FAIL);
}
