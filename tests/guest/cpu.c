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

void outb(uint16_t port, uint8_t v)
{
	uint32_t req = GATE_OUTB;

	if (io_native())
		__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(req)
				 : "d"(port), "c"(v)
				 : "memory");
}

uint8_t inb(uint16_t port)
{
	uint32_t v = GATE_INB;

	if (io_native())
		__asm__ volatile("inb %1, %b0" : "=a"(v) : "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(v)
				 : "d"(port)
				 : "memory");
	return (uint8_t)v;
}

void outw(uint16_t port, uint16_t v)
{
	uint32_t req = GATE_OUTW;

	if (io_native())
		__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(req)
				 : "d"(port), "c"(v)
				 : "memory");
}

uint16_t inw(uint16_t port)
{
	uint32_t v = GATE_INW;

	if (io_native())
		__asm__ volatile("inw %1, %w0" : "=a"(v) : "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(v)
				 : "d"(port)
				 : "memory");
	return (uint16_t)v;
}

void outl(uint16_t port, uint32_t v)
{
	uint32_t req = GATE_OUTL;

	if (io_native())
		__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(req)
				 : "d"(port), "c"(v)
				 : "memory");
}

uint32_t inl(uint16_t port)
{
	uint32_t v = GATE_INL;

	if (io_native())
		__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	else
		__asm__ volatile("call gate_entry"
				 : "+a"(v)
				 : "d"(port)
				 : "memory");
	return v;
}

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
