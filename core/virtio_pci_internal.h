/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between virtio_pci.c (capabilities, common config, status, notify) and
 * virtio_pci_msix.c (the MSI-X table, its KVM routes and irqfds).
 */
#ifndef SPLITVM_VIRTIO_PCI_INTERNAL_H
#define SPLITVM_VIRTIO_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio_pci.h"

struct virtio_pci_queue {
	/* Guest-programmed, validated when the queue is enabled. */
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;

	int kick_fd;			/* both for the transport's lifetime */
	int call_fd;
	int irqfd_gsi;			/* where call_fd is bound, -1: nowhere */
	bool ioeventfd;			/* kick_fd is registered with KVM */
};

struct virtio_pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

/* PCI 3.0 6.8.2: Message Control and Vector Control bits. */
#define VIRTIO_PCI_MSIX_CTRL_ENABLE	0x8000
#define VIRTIO_PCI_MSIX_CTRL_MASKALL	0x4000
#define VIRTIO_PCI_MSIX_ENTRY_MASKED	0x1
#define VIRTIO_PCI_MSIX_ENTRY_SIZE	16
#define VIRTIO_PCI_MSIX_CAP_LEN		12

struct virtio_pci {
	char name[32];
	const struct virtio_pci_device_ops *ops;
	void *opaque;
	struct pci_device *pci;
	int vm_fd;
	struct irq_router *irq;

	uint64_t device_features;
	uint16_t num_queues;
	uint16_t queue_size_max;
	uint32_t config_size;
	unsigned cap_msix;		/* config-space offsets */
	unsigned cap_pci_cfg;
	uint64_t msix_bar_size;
	uint32_t msix_pba_offset;

	/*
	 * Everything below: BAR accesses run on several vCPU threads at
	 * once.  Lock order: the PCI root's lock, this one, the router's.
	 */
	pthread_mutex_t lock;
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint64_t driver_features;
	uint16_t msix_config;
	uint8_t status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint8_t isr;
	/* INTx: see virtio_pci_intx.c. */
	bool intx_mode;			/* !msix_enabled && DRIVER_OK */
	bool intx_level;		/* what the line was last set to */
	int intx_gsi;			/* -1 until registered */
	int intx_event_fd;		/* the mode may have changed */
	void (*set_intx)(void *ctx, unsigned gsi, bool level);
	void *intx_ctx;
	bool warned_reset;		/* DEVICE_NEEDS_RESET logged */
	struct virtio_pci_queue *queues;
	struct virtio_pci_queue_info *queue_info;	/* for driver_ok */
	int config_fd;			/* the config-change interrupt */
	int config_irqfd_gsi;
	uint64_t notify_base;		/* BAR 0 while it decodes, else 0 */

	unsigned nr_vectors;
	bool msix_enabled;
	bool msix_masked;		/* function mask */
	struct virtio_pci_msix_entry *table;
	int *vector_gsi;		/* route per vector, -1: none */
	struct virtio_pci_msix_entry *routed;	/* what each route holds */
};

/* Field offsets of the PCI_CFG access capability, in config space. */
#define VP_CFG_CAP_BAR		offsetof(struct virtio_pci_cap, bar)
#define VP_CFG_CAP_OFFSET	offsetof(struct virtio_pci_cap, offset)
#define VP_CFG_CAP_LENGTH	offsetof(struct virtio_pci_cap, length)
#define VP_CFG_CAP_DATA		offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

/* virtio_pci_caps.c: the vendor capabilities and MSI-X capability. */
int virtio_pci_caps_add(struct virtio_pci *vp)
	__attribute__((warn_unused_result));

/* virtio_pci_msix.c; all with vp->lock held unless said otherwise. */
extern const struct bus_device_ops virtio_pci_msix_bar_ops;
int virtio_pci_msix_init(struct virtio_pci *vp)
	__attribute__((warn_unused_result));
void virtio_pci_msix_fini(struct virtio_pci *vp);
/* The MSI-X capability's Message Control changed (root lock held). */
void virtio_pci_msix_control(struct virtio_pci *vp, uint16_t control);
/*
 * Bring the KVM routes and irqfds in line with the table, the function
 * mask and enable, and the vectors the queues and msix_config name.
 */
void virtio_pci_msix_sync(struct virtio_pci *vp);

/* virtio_pci_intx.c; all with vp->lock held. */
/* Follow a change of msix_enabled or of DRIVER_OK. */
void virtio_pci_intx_sync(struct virtio_pci *vp);
/* Set ISR bits; in INTx mode assert the line; true if it did. */
bool virtio_pci_intx_raise(struct virtio_pci *vp, uint8_t isr_bits);
/* The driver read the ISR: clear it and deassert the line. */
uint8_t virtio_pci_intx_read_isr(struct virtio_pci *vp);

#endif
