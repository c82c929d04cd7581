/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSI-X for the virtio-pci transport: the table and PBA in their own BAR,
 * one KVM MSI route per vector in use and, per interrupt source (each
 * queue's call eventfd, the config eventfd), an irqfd on that route while
 * the vector is enabled and unmasked.  Masking unbinds the irqfd: signals
 * then stay counted in the eventfd, read back as the PBA's pending bit,
 * and KVM injects at once when the irqfd is bound again.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "irq.h"
#include "log.h"
#include "virtio.h"
#include "virtio_pci_internal.h"

int virtio_pci_msix_init(struct virtio_pci *vp)
{
	vp->table = calloc(vp->nr_vectors, sizeof(vp->table[0]));
	vp->routed = calloc(vp->nr_vectors, sizeof(vp->routed[0]));
	vp->vector_gsi = calloc(vp->nr_vectors, sizeof(vp->vector_gsi[0]));
	if (!vp->table || !vp->routed || !vp->vector_gsi) {
		virtio_pci_msix_fini(vp);
		return -ENOMEM;
	}
	/* PCI 3.0 6.8.2.9: every entry comes out of reset masked. */
	for (unsigned v = 0; v < vp->nr_vectors; v++) {
		vp->table[v].ctrl = VIRTIO_PCI_MSIX_ENTRY_MASKED;
		vp->vector_gsi[v] = -1;
	}
	return 0;
}

void virtio_pci_msix_fini(struct virtio_pci *vp)
{
	free(vp->table);
	free(vp->routed);
	free(vp->vector_gsi);
	vp->table = vp->routed = NULL;
	vp->vector_gsi = NULL;
}

/* ---- which vectors matter ---- */

static bool msix_vector_used(const struct virtio_pci *vp, unsigned v)
{
	if (!vp->msix_enabled || v >= vp->nr_vectors)
		return false;
	if (vp->msix_config == v)
		return true;
	for (unsigned q = 0; q < vp->num_queues; q++)
		if (vp->queues[q].msix_vector == v)
			return true;
	return false;
}

static bool msix_vector_usable(const struct virtio_pci *vp, unsigned v)
{
	return msix_vector_used(vp, v) && !vp->msix_masked &&
	       !(vp->table[v].ctrl & VIRTIO_PCI_MSIX_ENTRY_MASKED);
}

static uint64_t msix_entry_addr(const struct virtio_pci_msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

/* ---- routes and irqfds ---- */

/* Bind fd to the route of vector v, or unbind it, as v's state says. */
static void msix_source_unbind_stale(struct virtio_pci *vp, unsigned v,
				     int fd, int *bound_gsi)
{
	if (*bound_gsi < 0)
		return;
	if (v < vp->nr_vectors && msix_vector_usable(vp, v) &&
	    vp->vector_gsi[v] == *bound_gsi)
		return;
	if (irq_router_unbind_irqfd(vp->irq, (unsigned)*bound_gsi, fd))
		log_warn("virtio-pci", "[%s] cannot unbind irqfd", vp->name);
	*bound_gsi = -1;
}

static void msix_source_bind(struct virtio_pci *vp, unsigned v, int fd,
			     int *bound_gsi)
{
	if (*bound_gsi >= 0 || v >= vp->nr_vectors ||
	    !msix_vector_usable(vp, v) || vp->vector_gsi[v] < 0)
		return;
	if (irq_router_bind_irqfd(vp->irq, (unsigned)vp->vector_gsi[v], fd))
		return;		/* logged; the source stays silent */
	*bound_gsi = vp->vector_gsi[v];
}

static void msix_route_update(struct virtio_pci *vp, unsigned v)
{
	struct virtio_pci_msix_entry *e = &vp->table[v];
	unsigned gsi;
	int ret;

	if (!msix_vector_used(vp, v)) {
		if (vp->vector_gsi[v] >= 0) {
			ret = irq_router_remove(vp->irq,
						(unsigned)vp->vector_gsi[v]);
			if (ret)
				log_warn("virtio-pci", "[%s] vector %u: "
					 "cannot remove route: %s", vp->name,
					 v, strerror(-ret));
			vp->vector_gsi[v] = -1;
		}
		return;
	}
	/*
	 * A masked vector keeps its route as it was: drivers rewrite
	 * address and data while masked, and the route only matters once
	 * an irqfd is bound, which needs the vector unmasked.
	 */
	if (!msix_vector_usable(vp, v))
		return;
	if (vp->vector_gsi[v] < 0) {
		ret = irq_router_add_msi(vp->irq, msix_entry_addr(e), e->data,
					 &gsi);
		if (ret) {
			log_warn("virtio-pci", "[%s] vector %u: no MSI route: %s",
				 vp->name, v, strerror(-ret));
			return;
		}
		vp->vector_gsi[v] = (int)gsi;
	} else if (vp->routed[v].addr_lo != e->addr_lo ||
		   vp->routed[v].addr_hi != e->addr_hi ||
		   vp->routed[v].data != e->data) {
		ret = irq_router_update_msi(vp->irq,
					    (unsigned)vp->vector_gsi[v],
					    msix_entry_addr(e), e->data);
		if (ret) {
			log_warn("virtio-pci", "[%s] vector %u: cannot update "
				 "MSI route: %s", vp->name, v, strerror(-ret));
			return;
		}
	}
	vp->routed[v] = *e;
}

void virtio_pci_msix_sync(struct virtio_pci *vp)
{
	if (!vp->irq)
		return;
	/* Unbind first, so no irqfd ever points at a removed route. */
	for (unsigned q = 0; q < vp->num_queues; q++)
		msix_source_unbind_stale(vp, vp->queues[q].msix_vector,
					 vp->queues[q].call_fd,
					 &vp->queues[q].irqfd_gsi);
	msix_source_unbind_stale(vp, vp->msix_config, vp->config_fd,
				 &vp->config_irqfd_gsi);
	for (unsigned v = 0; v < vp->nr_vectors; v++)
		msix_route_update(vp, v);
	for (unsigned q = 0; q < vp->num_queues; q++)
		msix_source_bind(vp, vp->queues[q].msix_vector,
				 vp->queues[q].call_fd,
				 &vp->queues[q].irqfd_gsi);
	msix_source_bind(vp, vp->msix_config, vp->config_fd,
			 &vp->config_irqfd_gsi);
}

void virtio_pci_msix_control(struct virtio_pci *vp, uint16_t control)
{
	pthread_mutex_lock(&vp->lock);
	vp->msix_enabled = control & VIRTIO_PCI_MSIX_CTRL_ENABLE;
	vp->msix_masked = control & VIRTIO_PCI_MSIX_CTRL_MASKALL;
	virtio_pci_msix_sync(vp);
	virtio_pci_intx_sync(vp);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- the PBA ---- */

static bool fd_signalled(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/*
 * A vector is pending when it is masked and one of its sources has been
 * signalled since (the eventfd counts it; nobody else reads it while no
 * irqfd is bound).  Computed on read: a poll() per source, only for
 * masked vectors in use, and only when the driver reads the PBA.
 */
static bool msix_vector_pending(const struct virtio_pci *vp, unsigned v)
{
	if (!msix_vector_used(vp, v) || msix_vector_usable(vp, v))
		return false;
	if (vp->msix_config == v && fd_signalled(vp->config_fd))
		return true;
	for (unsigned q = 0; q < vp->num_queues; q++)
		if (vp->queues[q].msix_vector == v &&
		    fd_signalled(vp->queues[q].call_fd))
			return true;
	return false;
}

/* ---- the BAR ---- */

static uint32_t msix_read_dword(struct virtio_pci *vp, uint64_t offset)
{
	uint64_t table_size = (uint64_t)vp->nr_vectors *
			      VIRTIO_PCI_MSIX_ENTRY_SIZE;
	uint32_t value = 0;

	if (offset < table_size) {
		const uint32_t *e = &vp->table[offset / 16].addr_lo;

		return e[(offset % 16) / 4];
	}
	if (offset >= vp->msix_pba_offset &&
	    offset < vp->msix_pba_offset + (vp->nr_vectors + 31) / 32 * 4) {
		unsigned first = (unsigned)(offset - vp->msix_pba_offset) * 8;

		for (unsigned i = 0; i < 32 && first + i < vp->nr_vectors; i++)
			if (msix_vector_pending(vp, first + i))
				value |= 1u << i;
	}
	return value;
}

static void msix_write_dword(struct virtio_pci *vp, uint64_t offset,
			     uint32_t value)
{
	uint64_t table_size = (uint64_t)vp->nr_vectors *
			      VIRTIO_PCI_MSIX_ENTRY_SIZE;
	struct virtio_pci_msix_entry *e;

	if (offset >= table_size)
		return;		/* the PBA is read-only */
	e = &vp->table[offset / 16];
	switch (offset % 16) {
	case 0:
		/* Message addresses are dword aligned: bits 1:0 read 0. */
		e->addr_lo = value & ~3u;
		break;
	case 4:
		e->addr_hi = value;
		break;
	case 8:
		e->data = value;
		break;
	default:
		e->ctrl = value & VIRTIO_PCI_MSIX_ENTRY_MASKED;
		break;
	}
	virtio_pci_msix_sync(vp);
}

/* PCI 3.0 6.8.2: dword or aligned qword accesses; others read 0, no-op. */
static uint64_t msix_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t value = 0;

	if ((size != 4 && size != 8) || offset % size)
		return 0;
	pthread_mutex_lock(&vp->lock);
	value = msix_read_dword(vp, offset);
	if (size == 8)
		value |= (uint64_t)msix_read_dword(vp, offset + 4) << 32;
	pthread_mutex_unlock(&vp->lock);
	return value;
}

static void msix_bar_write(void *opaque, uint64_t offset, uint64_t value,
			   unsigned size)
{
	struct virtio_pci *vp = opaque;

	if ((size != 4 && size != 8) || offset % size)
		return;
	pthread_mutex_lock(&vp->lock);
	msix_write_dword(vp, offset, (uint32_t)value);
	if (size == 8)
		msix_write_dword(vp, offset + 4, (uint32_t)(value >> 32));
	pthread_mutex_unlock(&vp->lock);
}

const struct bus_device_ops virtio_pci_msix_bar_ops = {
	.name = "virtio-pci-msix",
	.read = msix_bar_read,
	.write = msix_bar_write,
};

int virtio_pci_vector_gsi(struct virtio_pci *vp, unsigned vector)
{
	int gsi = -1;

	pthread_mutex_lock(&vp->lock);
	if (vector < vp->nr_vectors)
		gsi = vp->vector_gsi[vector];
	pthread_mutex_unlock(&vp->lock);
	return gsi;
}
