/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's GSI routing table.  KVM_SET_GSI_ROUTING replaces the whole
 * table, so one owner keeps it: the ISA/IOAPIC lines, and the MSI routes
 * of virtio-pci vectors with the irqfds bound to them.
 */
#ifndef SPLITVM_IRQ_H
#define SPLITVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_router;

/*
 * MSI routes take GSIs from IRQ_MSI_GSI_FIRST up, above the IOAPIC pins,
 * so they never shadow a line a device raises with KVM_IRQ_LINE.
 */
#define IRQ_MSI_GSI_FIRST	24
#define IRQ_MSI_GSI_COUNT	1000

/* Install the PC routes: ISA IRQ 0 -> IOAPIC pin 2, others 1:1. */
int irq_router_create(int vm_fd, struct irq_router **out)
	__attribute__((warn_unused_result));
/* Every irqfd still bound must have been unbound by its owner first. */
void irq_router_destroy(struct irq_router *router);

/*
 * All of the following are thread safe (vCPU threads write MSI-X tables)
 * and commit the table to KVM once per call; on failure the table is as
 * it was.  addr is the 64-bit MSI address, data the message data.
 */

/* A new MSI route on a free GSI.  -ENOSPC when none is left. */
int irq_router_add_msi(struct irq_router *router, uint64_t addr,
		       uint32_t data, unsigned *gsi)
	__attribute__((warn_unused_result));
/* -ENOENT unless gsi is an MSI route added here. */
int irq_router_update_msi(struct irq_router *router, unsigned gsi,
			  uint64_t addr, uint32_t data)
	__attribute__((warn_unused_result));
/* Drop an MSI route and free its GSI.  -ENOENT as above. */
int irq_router_remove(struct irq_router *router, unsigned gsi)
	__attribute__((warn_unused_result));
/* What an MSI route holds now: 0, or -ENOENT. */
int irq_router_lookup_msi(struct irq_router *router, unsigned gsi,
			  uint64_t *addr, uint32_t *data)
	__attribute__((warn_unused_result));

/*
 * KVM_IRQ_LINE_STATUS: drive gsi, level true meaning asserted.  KVM's
 * IOAPIC takes the level as the line's logical state and ignores the
 * redirection entry's polarity bit, so a PCI INTx line (active low on the
 * wire) is asserted with true whatever polarity the guest programs.
 */
int irq_router_set_line(struct irq_router *router, unsigned gsi, bool level)
	__attribute__((warn_unused_result));

/*
 * KVM_IRQFD: signalling eventfd fd injects gsi from then on (an fd that
 * is already signalled injects at once).  Unbinding an fd that is not
 * bound succeeds, as KVM does.
 */
int irq_router_bind_irqfd(struct irq_router *router, unsigned gsi, int fd)
	__attribute__((warn_unused_result));
int irq_router_unbind_irqfd(struct irq_router *router, unsigned gsi, int fd)
	__attribute__((warn_unused_result));

#endif
