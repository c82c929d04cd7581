/* SPDX-License-Identifier: GPL-2.0-only */
#include "irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "platform.h"

#define IRQ_ISA_LINES		16
#define IRQ_PIT_GSI		0
#define IRQ_PIT_IOAPIC_PIN	2	/* the MADT's interrupt source override */
#define IRQ_CASCADE		2	/* PIC slave on master line 2 */
#define IRQ_MAX_ROUTES		1024

struct irq_router {
	int vm_fd;
	unsigned nr;
	struct kvm_irq_routing_entry *routes;
};

static void irq_add_route(struct irq_router *r, unsigned gsi, unsigned chip,
			  unsigned pin)
{
	struct kvm_irq_routing_entry *e = &r->routes[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int irq_router_commit(struct irq_router *r)
{
	struct kvm_irq_routing *table;
	int ret = 0;

	table = calloc(1, sizeof(*table) + r->nr * sizeof(r->routes[0]));
	if (!table)
		return -ENOMEM;
	table->nr = r->nr;
	memcpy(table->entries, r->routes, r->nr * sizeof(r->routes[0]));
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table) < 0) {
		ret = -errno;
		log_err("irq", "KVM_SET_GSI_ROUTING: %s", strerror(-ret));
	}
	free(table);
	return ret;
}

int irq_router_create(int vm_fd, struct irq_router **out)
{
	struct irq_router *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->vm_fd = vm_fd;
	r->routes = calloc(IRQ_MAX_ROUTES, sizeof(r->routes[0]));
	if (!r->routes) {
		free(r);
		return -ENOMEM;
	}

	/*
	 * KVM's default table wires GSI n to IOAPIC pin n.  PCs (and our
	 * MADT) put the PIT's ISA IRQ 0 on IOAPIC pin 2 instead, and the
	 * slave PIC's cascade line 2 has no IOAPIC pin of its own.
	 */
	for (unsigned gsi = 0; gsi < PLATFORM_IOAPIC_PINS; gsi++) {
		if (gsi < IRQ_ISA_LINES)
			irq_add_route(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
						      : KVM_IRQCHIP_PIC_SLAVE,
				      gsi % 8);
		if (gsi == IRQ_PIT_GSI)
			irq_add_route(r, gsi, KVM_IRQCHIP_IOAPIC,
				      IRQ_PIT_IOAPIC_PIN);
		else if (gsi != IRQ_CASCADE)
			irq_add_route(r, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	ret = irq_router_commit(r);
	if (ret) {
		irq_router_destroy(r);
		return ret;
	}
	*out = r;
	return 0;
}

void irq_router_destroy(struct irq_router *r)
{
	if (!r)
		return;
	free(r->routes);
	free(r);
}
