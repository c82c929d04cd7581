/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio 1.2 PCI transport (modern, non-transitional): config space
 * capabilities, common config and its status machine, notifications
 * through ioeventfds and MSI-X through KVM MSI routes and irqfds.  What
 * runs the queues (the vhost-user glue) plugs in through the ops.
 */
#ifndef SPLITVM_VIRTIO_PCI_H
#define SPLITVM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct irq_router;
struct pci_device;
struct pci_root;
struct virtio_pci;

/* Limits of this transport (they size the BARs). */
#define VIRTIO_PCI_MAX_QUEUES		1024
#define VIRTIO_PCI_DEVICE_CFG_MAX	0x1000

/*
 * BAR layout.  BAR 0 (mem32) holds the virtio structures, one page each so
 * a later change of one does not move the others; BAR 1 (mem32) holds the
 * MSI-X table and PBA, apart from registers with side effects as PCI 3.0
 * 6.8.2 recommends, and locked by their own rules.
 */
#define VIRTIO_PCI_BAR			0
#define VIRTIO_PCI_COMMON_OFFSET	0x0000
#define VIRTIO_PCI_ISR_OFFSET		0x1000
#define VIRTIO_PCI_DEVICE_OFFSET	0x2000
#define VIRTIO_PCI_NOTIFY_OFFSET	0x3000
/* Queue q is notified at NOTIFY_OFFSET + q * multiplier (queue_notify_off = q). */
#define VIRTIO_PCI_NOTIFY_MULTIPLIER	4
#define VIRTIO_PCI_MSIX_BAR		1
#define VIRTIO_PCI_MSIX_TABLE_OFFSET	0x0000
/* The PBA follows the table on the next page boundary. */

/* What the transport tells the device about one queue at DRIVER_OK. */
struct virtio_pci_queue_info {
	bool enabled;			/* the others are 0 when not */
	uint16_t size;
	uint16_t msix_vector;		/* VIRTIO_MSI_NO_VECTOR: none */
	uint64_t desc, driver, device;	/* guest physical */
	int kick_fd;			/* signalled on each notification */
	int call_fd;			/* signal to interrupt the driver */
};

/*
 * The device behind the transport.  Every hook runs on a vCPU thread with
 * the transport's lock held: it must not call back into the transport
 * except virtio_pci_queue_*_fd(), which take no lock.
 */
struct virtio_pci_device_ops {
	/*
	 * Device config space, [offset, offset + size) inside config_size,
	 * size 1, 2 or 4 (checked by the transport).  Little-endian.
	 */
	uint32_t (*config_read)(void *opaque, uint32_t offset, unsigned size);
	void (*config_write)(void *opaque, uint32_t offset, uint32_t value,
			     unsigned size);
	/*
	 * The driver set DRIVER_OK: start the queues.  features is what
	 * was negotiated; queues[0..nr) is indexed by queue number.  A
	 * non-zero return sets DEVICE_NEEDS_RESET; the device logs why.
	 */
	int (*driver_ok)(void *opaque, uint64_t features,
			 const struct virtio_pci_queue_info *queues,
			 unsigned nr);
	/*
	 * The driver reset the device (wrote status 0 after setting any
	 * bit) or the transport is destroyed while the driver uses it: stop
	 * every queue.  Called whether or not driver_ok ran or succeeded.
	 */
	void (*reset)(void *opaque);
};

struct virtio_pci_config {
	const char *name;		/* log tag, copied */
	uint16_t device_id;		/* VIRTIO_ID_* */
	/*
	 * Offered features.  The transport adds VIRTIO_F_VERSION_1 and
	 * drops the transport features it does not implement
	 * (ACCESS_PLATFORM, SR_IOV, NOTIFICATION_DATA, NOTIF_CONFIG_DATA,
	 * RING_RESET).
	 */
	uint64_t features;
	uint16_t num_queues;		/* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size_max;	/* 1..VIRTIO_QUEUE_SIZE_MAX */
	uint32_t config_size;		/* 0..VIRTIO_PCI_DEVICE_CFG_MAX */
	/*
	 * KVM: ioeventfds go on vm_fd, MSI routes and irqfds on irq.  -1 and
	 * NULL (unit tests) leave notifications on the slow path and
	 * interrupts undelivered, with all guest-visible state still kept.
	 */
	int vm_fd;
	struct irq_router *irq;
	/*
	 * INTx: drive the function's line (its GSI, level true: asserted).
	 * Called with the transport's lock held, from any thread.  NULL:
	 * irq_router_set_line() on irq when there is one, else nothing.
	 */
	void (*set_intx)(void *ctx, unsigned gsi, bool level);
	void *intx_ctx;
};

/*
 * Builds the PCI function (vendor 0x1af4, device 0x1040 + id, revision 1,
 * class by type) with its BARs and capabilities, and its eventfds; it is
 * not registered.  -EINVAL for a config out of the limits above.
 */
int virtio_pci_create(const struct virtio_pci_config *cfg,
		      const struct virtio_pci_device_ops *ops, void *opaque,
		      struct virtio_pci **out)
	__attribute__((warn_unused_result));
/* Unregisters it first if needed, then unbinds and closes everything. */
void virtio_pci_destroy(struct virtio_pci *vp);

/*
 * INTx (virtio 1.2 4.1.4.5, 4.1.5.3-4).  Every function has pin INTA; at
 * registration Interrupt Line gets pci_intx_gsi(slot, INTA), the GSI the
 * DSDT's _PRT names for it.  Interrupt Line stays writable (firmware and
 * OSes write it back), but it is only a note for software: the transport
 * always drives that GSI.
 */
/* pci_register_device() on the root; see there for the errors. */
int virtio_pci_register(struct virtio_pci *vp, struct pci_root *root,
			int slot)
	__attribute__((warn_unused_result));
struct pci_device *virtio_pci_device(struct virtio_pci *vp);

/*
 * The per-queue eventfds, fixed for the transport's lifetime so the glue
 * can hand them to a backend once: kick (the transport's ioeventfd, or
 * its slow path, signals it) and call (the backend signals it; bound as
 * an irqfd to the queue's MSI-X vector while that vector is usable).
 * -1 for q >= num_queues.
 */
int virtio_pci_queue_kick_fd(const struct virtio_pci *vp, unsigned q);
int virtio_pci_queue_call_fd(const struct virtio_pci *vp, unsigned q);

/*
 * The device's config changed: bump config_generation, set the ISR
 * config bit and interrupt through the msix_config vector.  Thread safe.
 */
void virtio_pci_config_changed(struct virtio_pci *vp);

/*
 * The device failed and needs the driver to reset it (its back-end went
 * away, say): set DEVICE_NEEDS_RESET and, once DRIVER_OK is set, raise
 * the configuration change interrupt (ISR config bit, msix_config
 * vector) as virtio 1.2 2.1.2 asks; config_generation does not move.
 * Before DRIVER_OK only the bit is set: the driver sees it in the
 * status it reads back, and the status machine accepts nothing more
 * until a reset, which clears it.  Logs why at debug level only: the
 * caller reports the cause in its own words.  Thread safe; takes the transport's lock,
 * so never from a device hook.
 */
void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why);

/*
 * INTx mode (MSI-X disabled, DRIVER_OK set) needs someone to watch the
 * queues' call eventfds, which are not bound as irqfds then.  The main
 * event loop does it: the transport signals intx_event_fd() whenever the
 * mode may have changed (from a vCPU thread); the loop then calls
 * virtio_pci_intx_poll_mode(), which drains it and says whether the call
 * fds must be watched now, and virtio_pci_intx_call() when call fd q is
 * readable.  That one drains the fd, sets ISR bit 0 and asserts the line
 * (nothing, and the fd kept as is, outside INTx mode).  Thread safe.
 */
int virtio_pci_intx_event_fd(const struct virtio_pci *vp);
bool virtio_pci_intx_poll_mode(struct virtio_pci *vp);
void virtio_pci_intx_call(struct virtio_pci *vp, unsigned q);
/* For tests: the GSI, -1 while unregistered. */
int virtio_pci_intx_gsi(struct virtio_pci *vp);

/*
 * For tests and debugging: the GSI of the MSI route vector uses now, or
 * -1 (no route: MSI-X off, vector unused or never unmasked).
 */
int virtio_pci_vector_gsi(struct virtio_pci *vp, unsigned vector);

#endif
