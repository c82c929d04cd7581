/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's GSI routing table.  KVM_SET_GSI_ROUTING replaces the whole
 * table, so one owner keeps it: the ISA/IOAPIC lines now, MSI routes for
 * virtio-pci later.
 */
#ifndef SPLITVM_IRQ_H
#define SPLITVM_IRQ_H

struct irq_router;

/* Install the PC routes: ISA IRQ 0 -> IOAPIC pin 2, others 1:1. */
int irq_router_create(int vm_fd, struct irq_router **out)
	__attribute__((warn_unused_result));
void irq_router_destroy(struct irq_router *router);

#endif
