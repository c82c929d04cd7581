/* SPDX-License-Identifier: GPL-2.0-only */
#include "irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "platform.h"

#define IRQ_ISA_LINES		16
#define IRQ_PIT_GSI		0
#define IRQ_PIT_IOAPIC_PIN	2	/* the MADT's interrupt source override */
#define IRQ_CASCADE		2	/* PIC slave on master line 2 */
/* The PC routes (at most two per IOAPIC pin) plus every MSI route. */
#define IRQ_MAX_ROUTES		(2 * PLATFORM_IOAPIC_PINS + IRQ_MSI_GSI_COUNT)

_Static_assert(IRQ_MSI_GSI_FIRST >= PLATFORM_IOAPIC_PINS,
	       "MSI GSIs above the IOAPIC pins");
/* KVM_CAP_IRQ_ROUTING: the largest table and GSI x86 KVM takes. */
#define IRQ_KVM_MAX_ROUTES	4096
_Static_assert(IRQ_MSI_GSI_FIRST + IRQ_MSI_GSI_COUNT <= IRQ_KVM_MAX_ROUTES,
	       "MSI GSIs inside KVM's routing table");

struct irq_router {
	int vm_fd;
	pthread_mutex_t lock;		/* everything below */
	unsigned nr;
	struct kvm_irq_routing_entry *routes;
	bool msi_used[IRQ_MSI_GSI_COUNT];
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
	pthread_mutex_init(&r->lock, NULL);
	r->routes = calloc(IRQ_MAX_ROUTES, sizeof(r->routes[0]));
	if (!r->routes) {
		pthread_mutex_destroy(&r->lock);
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
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ---- MSI routes ---- */

static struct kvm_irq_routing_entry *irq_find_msi(struct irq_router *r,
						  unsigned gsi)
{
	if (gsi < IRQ_MSI_GSI_FIRST ||
	    gsi >= IRQ_MSI_GSI_FIRST + IRQ_MSI_GSI_COUNT ||
	    !r->msi_used[gsi - IRQ_MSI_GSI_FIRST])
		return NULL;
	for (unsigned i = 0; i < r->nr; i++)
		if (r->routes[i].gsi == gsi &&
		    r->routes[i].type == KVM_IRQ_ROUTING_MSI)
			return &r->routes[i];
	return NULL;
}

static void irq_set_msi(struct kvm_irq_routing_entry *e, unsigned gsi,
			uint64_t addr, uint32_t data)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

int irq_router_add_msi(struct irq_router *r, uint64_t addr, uint32_t data,
		       unsigned *gsi)
{
	unsigned n;
	int ret;

	pthread_mutex_lock(&r->lock);
	for (n = 0; n < IRQ_MSI_GSI_COUNT && r->msi_used[n]; n++)
		;
	if (n == IRQ_MSI_GSI_COUNT || r->nr == IRQ_MAX_ROUTES) {
		pthread_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	irq_set_msi(&r->routes[r->nr++], IRQ_MSI_GSI_FIRST + n, addr, data);
	ret = irq_router_commit(r);
	if (ret) {
		r->nr--;
	} else {
		r->msi_used[n] = true;
		*gsi = IRQ_MSI_GSI_FIRST + n;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_router_update_msi(struct irq_router *r, unsigned gsi, uint64_t addr,
			  uint32_t data)
{
	struct kvm_irq_routing_entry *e, old;
	int ret;

	pthread_mutex_lock(&r->lock);
	e = irq_find_msi(r, gsi);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	old = *e;
	irq_set_msi(e, gsi, addr, data);
	ret = irq_router_commit(r);
	if (ret)
		*e = old;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_router_remove(struct irq_router *r, unsigned gsi)
{
	struct kvm_irq_routing_entry *e, old;
	int ret;

	pthread_mutex_lock(&r->lock);
	e = irq_find_msi(r, gsi);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	/* Order does not matter to KVM: move the last entry into the hole. */
	old = *e;
	*e = r->routes[--r->nr];
	ret = irq_router_commit(r);
	if (ret) {
		r->routes[r->nr++] = *e;
		*e = old;
	} else {
		r->msi_used[gsi - IRQ_MSI_GSI_FIRST] = false;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq_router_lookup_msi(struct irq_router *r, unsigned gsi, uint64_t *addr,
			  uint32_t *data)
{
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&r->lock);
	e = irq_find_msi(r, gsi);
	if (e) {
		*addr = (uint64_t)e->u.msi.address_hi << 32 |
			e->u.msi.address_lo;
		*data = e->u.msi.data;
	}
	pthread_mutex_unlock(&r->lock);
	return e ? 0 : -ENOENT;
}

/* ---- lines ---- */

int irq_router_set_line(struct irq_router *r, unsigned gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	/* No table change: the router's lock is not needed. */
	if (ioctl(r->vm_fd, KVM_IRQ_LINE_STATUS, &irq) < 0)
		return -errno;
	return 0;
}

/* ---- irqfds ---- */

static int irq_irqfd(struct irq_router *r, unsigned gsi, int fd,
		     uint32_t flags)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = flags,
	};

	if (fd < 0)
		return -EBADF;
	if (ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

int irq_router_bind_irqfd(struct irq_router *r, unsigned gsi, int fd)
{
	int ret = irq_irqfd(r, gsi, fd, 0);

	if (ret)
		log_err("irq", "KVM_IRQFD gsi %u fd %d: %s", gsi, fd,
			strerror(-ret));
	return ret;
}

int irq_router_unbind_irqfd(struct irq_router *r, unsigned gsi, int fd)
{
	int ret = irq_irqfd(r, gsi, fd, KVM_IRQFD_FLAG_DEASSIGN);

	if (ret)
		log_err("irq", "KVM_IRQFD deassign gsi %u fd %d: %s", gsi, fd,
			strerror(-ret));
	return ret;
}
