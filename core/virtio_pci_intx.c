/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * INTx for the virtio-pci transport (virtio 1.2 4.1.4.5, 4.1.5.3-4): while
 * the driver leaves MSI-X disabled, queue and config interrupts set ISR
 * bits and assert the function's level-triggered line; reading the ISR
 * clears it and deasserts the line.
 *
 * The line is a GSI among IOAPIC pins 16-23, which the MADT leaves without
 * overrides: level-triggered, and active low by PC convention for PCI.
 * KVM's IOAPIC ignores the polarity bit and takes KVM_IRQ_LINE level 1 as
 * asserted, so a guest may program either polarity; it must program the
 * pin level-triggered, or a line held high between two ISR reads would be
 * delivered once only.
 *
 * The queues' call eventfds are bound as irqfds only to usable MSI-X
 * vectors.  In INTx mode someone must read them: the main event loop,
 * which vCPU threads cannot reconfigure, so a mode change is announced
 * on intx_event_fd and the loop adds or removes the call fds itself.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "irq.h"
#include "log.h"
#include "virtio.h"
#include "virtio_pci_internal.h"

static void intx_set_line(struct virtio_pci *vp, bool level)
{
	int ret;

	if (vp->intx_level == level || vp->intx_gsi < 0)
		return;
	vp->intx_level = level;
	if (vp->set_intx) {
		vp->set_intx(vp->intx_ctx, (unsigned)vp->intx_gsi, level);
		return;
	}
	if (!vp->irq)
		return;
	ret = irq_router_set_line(vp->irq, (unsigned)vp->intx_gsi, level);
	if (ret)
		log_warn("virtio-pci", "[%s] INTx gsi %d: %s", vp->name,
			 vp->intx_gsi, strerror(-ret));
}

void virtio_pci_intx_sync(struct virtio_pci *vp)
{
	bool mode = !vp->msix_enabled &&
		    (vp->status & VIRTIO_CONFIG_S_DRIVER_OK);

	if (mode == vp->intx_mode)
		return;
	vp->intx_mode = mode;
	/* MSI-X on, or a reset: INTx stops (4.1.5.3). */
	if (!mode)
		intx_set_line(vp, false);
	else if (vp->isr)
		intx_set_line(vp, true);
	if (eventfd_write(vp->intx_event_fd, 1) < 0) {
		/* Only EAGAIN at 2^64-1: it is signalled already. */
	}
}

bool virtio_pci_intx_raise(struct virtio_pci *vp, uint8_t isr_bits)
{
	vp->isr |= isr_bits;
	if (!vp->intx_mode)
		return false;
	intx_set_line(vp, true);
	return true;
}

uint8_t virtio_pci_intx_read_isr(struct virtio_pci *vp)
{
	uint8_t isr = vp->isr;

	vp->isr = 0;
	intx_set_line(vp, false);
	return isr;
}

int virtio_pci_intx_event_fd(const struct virtio_pci *vp)
{
	return vp->intx_event_fd;
}

bool virtio_pci_intx_poll_mode(struct virtio_pci *vp)
{
	eventfd_t v;
	bool mode;

	/* Drain first: a change after this signals the fd again. */
	(void)eventfd_read(vp->intx_event_fd, &v);
	pthread_mutex_lock(&vp->lock);
	mode = vp->intx_mode;
	pthread_mutex_unlock(&vp->lock);
	return mode;
}

void virtio_pci_intx_call(struct virtio_pci *vp, unsigned q)
{
	eventfd_t v;

	if (q >= vp->num_queues)
		return;
	pthread_mutex_lock(&vp->lock);
	/*
	 * Outside INTx mode the fd belongs to KVM (an irqfd) or waits for
	 * one: leave its count alone.  The loop hears of the change on
	 * intx_event_fd and stops watching.
	 */
	if (vp->intx_mode && eventfd_read(vp->queues[q].call_fd, &v) == 0)
		virtio_pci_intx_raise(vp, VIRTIO_PCI_ISR_QUEUE);
	pthread_mutex_unlock(&vp->lock);
}

int virtio_pci_intx_gsi(struct virtio_pci *vp)
{
	int gsi;

	pthread_mutex_lock(&vp->lock);
	gsi = vp->intx_gsi;
	pthread_mutex_unlock(&vp->lock);
	return gsi;
}
