/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-pci modern transport: the PCI function with its virtio
 * capabilities, common config and the device status machine (virtio 1.2
 * 4.1.4, 2.1, 3.1), the ISR and device config windows, notifications
 * (ioeventfd per queue, and the BAR write as a slow path) and the
 * VIRTIO_PCI_CAP_PCI_CFG access window.  Guest values are validated
 * before use; a misprogrammed device sets DEVICE_NEEDS_RESET.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"
#include "pci.h"
#include "virtio.h"
#include "virtio_pci_internal.h"

#define VP_BAR0_SIZE		0x4000
_Static_assert(VIRTIO_PCI_NOTIFY_OFFSET + VIRTIO_PCI_MAX_QUEUES *
	       VIRTIO_PCI_NOTIFY_MULTIPLIER <= VP_BAR0_SIZE, "notify fits");
_Static_assert(VIRTIO_PCI_DEVICE_CFG_MAX <=
	       VIRTIO_PCI_NOTIFY_OFFSET - VIRTIO_PCI_DEVICE_OFFSET,
	       "device config fits");

#define VP_PAGE			0x1000u
#define VP_SUBSYSTEM_ID		0x1100	/* >= 0x40 for modern devices */
/* Every function uses INTA# (pci_intx_gsi pin 0). */
#define VP_INTX_PIN		0

/* Transport features this transport implements (bits 24-40 and up). */
#define VP_TRANSPORT_FEATURES	(1ull << VIRTIO_RING_F_INDIRECT_DESC | \
				 1ull << VIRTIO_RING_F_EVENT_IDX | \
				 1ull << VIRTIO_F_VERSION_1 | \
				 1ull << VIRTIO_F_RING_PACKED | \
				 1ull << VIRTIO_F_IN_ORDER | \
				 1ull << VIRTIO_F_ORDER_PLATFORM)
/* Device-specific bits: 0-23 and from 41 up (virtio 1.2 6). */
#define VP_DEVICE_FEATURES	(0xffffffull | ~((1ull << 41) - 1))

#define VP_STATUS_DRIVER_BITS	(VIRTIO_CONFIG_S_ACKNOWLEDGE | \
				 VIRTIO_CONFIG_S_DRIVER | \
				 VIRTIO_CONFIG_S_FEATURES_OK | \
				 VIRTIO_CONFIG_S_DRIVER_OK | \
				 VIRTIO_CONFIG_S_FAILED)

static uint32_t vp_class_code(uint16_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000;	/* network, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000;	/* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000;	/* communication, other */
	default:
		return 0xff0000;	/* unassigned class */
	}
}

static void vp_drain(int fd)
{
	eventfd_t v;

	while (eventfd_read(fd, &v) == 0)
		;
}

static void vp_signal(int fd)
{
	if (eventfd_write(fd, 1) < 0)
		log_warn("virtio-pci", "eventfd write: %s", strerror(errno));
}

/*
 * The configuration change interrupt (4.1.4.5): the ISR bit, then the
 * line in INTx mode, or the config eventfd, which stays counted until an
 * irqfd binds it to the msix_config vector.  Lock held.
 */
static void vp_config_interrupt(struct virtio_pci *vp)
{
	if (!virtio_pci_intx_raise(vp, VIRTIO_PCI_ISR_CONFIG))
		vp_signal(vp->config_fd);
}

/* ---- status ---- */

/*
 * Set DEVICE_NEEDS_RESET (virtio 1.2 2.1.2), logged once per reset at
 * level.  Lock held.
 */
static void vp_set_needs_reset(struct virtio_pci *vp, enum log_level level,
			       const char *why)
{
	if (!vp->warned_reset) {
		log_msg(level, "virtio-pci", "[%s] device needs reset: %s",
			vp->name, why);
		vp->warned_reset = true;
	}
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* After DRIVER_OK the driver learns of it by a config change. */
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vp_config_interrupt(vp);
}

/* The driver misprogrammed the device: it must reset it (virtio 2.1.1). */
static void vp_needs_reset(struct virtio_pci *vp, const char *why)
{
	vp_set_needs_reset(vp, LOG_LEVEL_WARN, why);
}

static void vp_reset(struct virtio_pci *vp)
{
	if (vp->status && vp->ops->reset)
		vp->ops->reset(vp->opaque);
	vp->status = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->driver_features = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_select = 0;
	vp->isr = 0;
	vp->warned_reset = false;
	for (unsigned q = 0; q < vp->num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];

		vq->size = vp->queue_size_max;
		vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
		vq->enabled = false;
		vq->desc = vq->driver = vq->device = 0;
	}
	/* Unbind every irqfd before dropping what was signalled. */
	virtio_pci_msix_sync(vp);
	virtio_pci_intx_sync(vp);	/* deasserts the line */
	for (unsigned q = 0; q < vp->num_queues; q++) {
		vp_drain(vp->queues[q].kick_fd);
		vp_drain(vp->queues[q].call_fd);
	}
	vp_drain(vp->config_fd);
}

static bool vp_features_ok(const struct virtio_pci *vp)
{
	return !(vp->driver_features & ~vp->device_features) &&
	       (vp->driver_features & 1ull << VIRTIO_F_VERSION_1);
}

static void vp_driver_ok(struct virtio_pci *vp)
{
	int ret;

	for (unsigned q = 0; q < vp->num_queues; q++) {
		const struct virtio_pci_queue *vq = &vp->queues[q];
		struct virtio_pci_queue_info *qi = &vp->queue_info[q];

		*qi = (struct virtio_pci_queue_info){
			.enabled = vq->enabled,
			.msix_vector = VIRTIO_MSI_NO_VECTOR,
			.kick_fd = vq->kick_fd,
			.call_fd = vq->call_fd,
		};
		if (!vq->enabled)
			continue;
		qi->size = vq->size;
		qi->msix_vector = vq->msix_vector;
		qi->desc = vq->desc;
		qi->driver = vq->driver;
		qi->device = vq->device;
	}
	vp->status |= VIRTIO_CONFIG_S_DRIVER_OK;
	virtio_pci_intx_sync(vp);
	if (!vp->ops->driver_ok)
		return;
	ret = vp->ops->driver_ok(vp->opaque, vp->driver_features,
				 vp->queue_info, vp->num_queues);
	/* The device logged why; a second warning would say nothing new. */
	if (ret)
		vp_set_needs_reset(vp, LOG_LEVEL_INFO,
				   "the device could not start its queues");
}

static void vp_write_status(struct virtio_pci *vp, uint8_t value)
{
	uint8_t set;

	if (value == 0) {
		vp_reset(vp);
		return;
	}
	/* NEEDS_RESET belongs to the device; the driver only adds bits. */
	value &= VP_STATUS_DRIVER_BITS;
	if (vp->status & VP_STATUS_DRIVER_BITS & ~value) {
		vp_needs_reset(vp, "status bits cleared without a reset");
		return;
	}
	set = value & ~vp->status;
	if (set & VIRTIO_CONFIG_S_FAILED)
		vp->status |= VIRTIO_CONFIG_S_FAILED;
	if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	if (set & VIRTIO_CONFIG_S_ACKNOWLEDGE)
		vp->status |= VIRTIO_CONFIG_S_ACKNOWLEDGE;
	if (set & VIRTIO_CONFIG_S_DRIVER) {
		if (!(vp->status & VIRTIO_CONFIG_S_ACKNOWLEDGE)) {
			vp_needs_reset(vp, "DRIVER before ACKNOWLEDGE");
			return;
		}
		vp->status |= VIRTIO_CONFIG_S_DRIVER;
	}
	if (set & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (!(vp->status & VIRTIO_CONFIG_S_DRIVER)) {
			vp_needs_reset(vp, "FEATURES_OK before DRIVER");
			return;
		}
		/* Refused by leaving the bit clear (virtio 3.1.1 step 6). */
		if (vp_features_ok(vp))
			vp->status |= VIRTIO_CONFIG_S_FEATURES_OK;
		else
			log_info("virtio-pci", "[%s] features %#llx refused",
				 vp->name,
				 (unsigned long long)vp->driver_features);
	}
	if (set & VIRTIO_CONFIG_S_DRIVER_OK) {
		if (!(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			vp_needs_reset(vp, "DRIVER_OK without FEATURES_OK");
			return;
		}
		vp_driver_ok(vp);
	}
}

/* ---- queues ---- */

static struct virtio_pci_queue *vp_selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->num_queues ?
	       &vp->queues[vp->queue_select] : NULL;
}

static bool vp_area_ok(uint64_t addr, uint64_t size, uint64_t align)
{
	return addr % align == 0 && addr + size > addr;
}

static void vp_queue_enable(struct virtio_pci *vp, struct virtio_pci_queue *vq)
{
	bool packed = vp->driver_features & 1ull << VIRTIO_F_RING_PACKED;
	uint64_t driver_size, device_size;
	unsigned n = vq->size;

	if (!(vp->status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		vp_needs_reset(vp, "queue enabled outside of setup");
		return;
	}
	/* Split rings need a power of two (virtio 2.7); packed ones do not. */
	if (n == 0 || n > vp->queue_size_max ||
	    (!packed && (n & (n - 1)))) {
		vp_needs_reset(vp, "bad queue size");
		return;
	}
	if (packed) {
		driver_size = device_size =
			sizeof(struct vring_packed_desc_event);
	} else {
		driver_size = virtio_split_avail_size(n);
		device_size = virtio_split_used_size(n);
	}
	/* virtio 1.2 2.7.2 and 2.8.10.1: 16, 2 (packed: 4) and 4 bytes. */
	if (!vp_area_ok(vq->desc, virtio_split_desc_size(n), 16) ||
	    !vp_area_ok(vq->driver, driver_size, packed ? 4 : 2) ||
	    !vp_area_ok(vq->device, device_size, 4)) {
		vp_needs_reset(vp, "bad queue address");
		return;
	}
	vq->enabled = true;
}

/* ---- common config ---- */

/* The whole structure as the driver reads it now. */
static void vp_common_image(struct virtio_pci *vp, uint8_t *img)
{
	struct virtio_pci_common_cfg *c = (void *)img;
	const struct virtio_pci_queue *vq = vp_selected(vp);

	memset(img, 0, VIRTIO_PCI_COMMON_CFG_SIZE_1_2);
	c->device_feature_select = vp->device_feature_select;
	if (vp->device_feature_select < 2)
		c->device_feature = (uint32_t)(vp->device_features >>
					       (32 * vp->device_feature_select));
	c->guest_feature_select = vp->driver_feature_select;
	if (vp->driver_feature_select < 2)
		c->guest_feature = (uint32_t)(vp->driver_features >>
					      (32 * vp->driver_feature_select));
	c->msix_config = vp->msix_config;
	c->num_queues = vp->num_queues;
	c->device_status = vp->status;
	c->config_generation = vp->config_generation;
	c->queue_select = vp->queue_select;
	if (!vq)
		return;		/* queue_size 0: no such queue */
	c->queue_size = vq->size;
	c->queue_msix_vector = vq->msix_vector;
	c->queue_enable = vq->enabled;
	c->queue_notify_off = vp->queue_select;
	c->queue_desc_lo = (uint32_t)vq->desc;
	c->queue_desc_hi = (uint32_t)(vq->desc >> 32);
	c->queue_avail_lo = (uint32_t)vq->driver;
	c->queue_avail_hi = (uint32_t)(vq->driver >> 32);
	c->queue_used_lo = (uint32_t)vq->device;
	c->queue_used_hi = (uint32_t)(vq->device >> 32);
}

static uint64_t vp_common_read(struct virtio_pci *vp, uint64_t offset,
			       unsigned size)
{
	uint8_t img[VIRTIO_PCI_COMMON_CFG_SIZE_1_2];
	uint64_t value = 0;

	if (offset + size > sizeof(img))
		return 0;
	vp_common_image(vp, img);
	memcpy(&value, img + offset, size);
	return value;
}

static void vp_set_half(uint64_t *field, unsigned half, uint32_t value)
{
	unsigned shift = 32 * half;

	*field = (*field & ~(0xffffffffull << shift)) |
		 (uint64_t)value << shift;
}

static void vp_queue_addr_write(struct virtio_pci *vp, uint64_t offset,
				uint64_t value, unsigned size)
{
	struct virtio_pci_queue *vq = vp_selected(vp);
	unsigned rel = (unsigned)offset - VIRTIO_PCI_COMMON_Q_DESCLO;
	uint64_t *field;

	if (!vq)
		return;
	if (vq->enabled) {
		vp_needs_reset(vp, "enabled queue reprogrammed");
		return;
	}
	field = rel < 8 ? &vq->desc : rel < 16 ? &vq->driver : &vq->device;
	if (size == 8)
		*field = value;
	else
		vp_set_half(field, rel % 8 / 4, (uint32_t)value);
}

static uint16_t vp_vector(const struct virtio_pci *vp, uint64_t value)
{
	/* A vector the table lacks reads back as NO_VECTOR (4.1.5.1.2). */
	return value < vp->nr_vectors ? (uint16_t)value : VIRTIO_MSI_NO_VECTOR;
}

static void vp_common_write(struct virtio_pci *vp, uint64_t offset,
			    uint64_t value, unsigned size)
{
	struct virtio_pci_queue *vq = vp_selected(vp);

	/* 64-bit queue addresses: two dwords, or one aligned qword. */
	if (offset >= VIRTIO_PCI_COMMON_Q_DESCLO &&
	    offset < VIRTIO_PCI_COMMON_Q_NDATA &&
	    (size == 4 || (size == 8 && offset % 8 == 0))) {
		vp_queue_addr_write(vp, offset, value, size);
		return;
	}
	switch (offset << 4 | size) {
	case VIRTIO_PCI_COMMON_DFSELECT << 4 | 4:
		vp->device_feature_select = (uint32_t)value;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT << 4 | 4:
		vp->driver_feature_select = (uint32_t)value;
		break;
	case VIRTIO_PCI_COMMON_GF << 4 | 4:
		/* Fixed once FEATURES_OK is set (virtio 3.1.1). */
		if (vp->driver_feature_select < 2 &&
		    !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			vp_set_half(&vp->driver_features,
				    vp->driver_feature_select,
				    (uint32_t)value);
		break;
	case VIRTIO_PCI_COMMON_MSIX << 4 | 2:
		vp->msix_config = vp_vector(vp, value);
		virtio_pci_msix_sync(vp);
		break;
	case VIRTIO_PCI_COMMON_STATUS << 4 | 1:
		vp_write_status(vp, (uint8_t)value);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT << 4 | 2:
		vp->queue_select = (uint16_t)value;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE << 4 | 2:
		if (vq && vq->enabled)
			vp_needs_reset(vp, "enabled queue resized");
		else if (vq)
			vq->size = (uint16_t)value;	/* checked on enable */
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX << 4 | 2:
		if (vq) {
			vq->msix_vector = vp_vector(vp, value);
			virtio_pci_msix_sync(vp);
		}
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE << 4 | 2:
		/* Writing 0 is not allowed to the driver: ignore it. */
		if (vq && value == 1 && !vq->enabled)
			vp_queue_enable(vp, vq);
		break;
	default:
		/* Read-only fields, queue_reset (RING_RESET not offered). */
		log_debug("virtio-pci", "[%s] common config write %#llx/%u "
			  "ignored", vp->name, (unsigned long long)offset, size);
		break;
	}
}

/* ---- BAR 0 ---- */

static uint64_t vp_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct virtio_pci *vp = opaque;
	uint64_t value = 0;

	if (offset >= VIRTIO_PCI_NOTIFY_OFFSET)
		return 0;
	pthread_mutex_lock(&vp->lock);
	if (offset < VIRTIO_PCI_ISR_OFFSET) {
		value = vp_common_read(vp, offset, size);
	} else if (offset == VIRTIO_PCI_ISR_OFFSET) {
		/* Read to clear, and deassert INTx (4.1.4.5). */
		value = virtio_pci_intx_read_isr(vp);
	} else if (offset >= VIRTIO_PCI_DEVICE_OFFSET) {
		uint32_t off = (uint32_t)(offset - VIRTIO_PCI_DEVICE_OFFSET);

		/* Larger fields are read as two dwords (4.1.3.1). */
		if (off + size <= vp->config_size && size <= 4 &&
		    vp->ops->config_read)
			value = vp->ops->config_read(vp->opaque, off, size);
	}
	pthread_mutex_unlock(&vp->lock);
	return value;
}

static void vp_bar_write(void *opaque, uint64_t offset, uint64_t value,
			 unsigned size)
{
	struct virtio_pci *vp = opaque;

	if (offset >= VIRTIO_PCI_NOTIFY_OFFSET) {
		/* The slow path when no ioeventfd caught the write. */
		uint64_t q = (offset - VIRTIO_PCI_NOTIFY_OFFSET) /
			     VIRTIO_PCI_NOTIFY_MULTIPLIER;

		if (q < vp->num_queues)
			vp_signal(vp->queues[q].kick_fd);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (offset < VIRTIO_PCI_ISR_OFFSET) {
		vp_common_write(vp, offset, value, size);
	} else if (offset >= VIRTIO_PCI_DEVICE_OFFSET) {
		uint32_t off = (uint32_t)(offset - VIRTIO_PCI_DEVICE_OFFSET);

		if (off + size <= vp->config_size && size <= 4 &&
		    vp->ops->config_write)
			vp->ops->config_write(vp->opaque, off, (uint32_t)value,
					      size);
	}
	pthread_mutex_unlock(&vp->lock);
}

static const struct bus_device_ops vp_bar_ops = {
	.name = "virtio-pci",
	.read = vp_bar_read,
	.write = vp_bar_write,
};

/* ---- ioeventfds ---- */

static int vp_ioeventfd(struct virtio_pci *vp, unsigned q, uint64_t base,
			bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = base + VIRTIO_PCI_NOTIFY_OFFSET +
			(uint64_t)q * VIRTIO_PCI_NOTIFY_MULTIPLIER,
		/* The driver writes the 16-bit queue index (4.1.5.2). */
		.len = 2,
		.fd = vp->queues[q].kick_fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	if (ioctl(vp->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

static void vp_pci_bar_map(void *opaque, unsigned bar, uint64_t addr,
			   uint64_t size)
{
	struct virtio_pci *vp = opaque;
	int ret;

	(void)size;
	if (bar != VIRTIO_PCI_BAR || vp->vm_fd < 0)
		return;
	pthread_mutex_lock(&vp->lock);
	vp->notify_base = addr;
	for (unsigned q = 0; q < vp->num_queues; q++) {
		ret = vp_ioeventfd(vp, q, addr, true);
		if (ret)	/* the BAR write still signals the kick fd */
			log_warn("virtio-pci", "[%s] queue %u: no ioeventfd: %s",
				 vp->name, q, strerror(-ret));
		vp->queues[q].ioeventfd = !ret;
	}
	pthread_mutex_unlock(&vp->lock);
}

static void vp_ioeventfds_remove(struct virtio_pci *vp)
{
	int ret;

	for (unsigned q = 0; q < vp->num_queues; q++) {
		if (!vp->queues[q].ioeventfd)
			continue;
		ret = vp_ioeventfd(vp, q, vp->notify_base, false);
		if (ret)
			log_warn("virtio-pci", "[%s] queue %u: cannot remove "
				 "ioeventfd: %s", vp->name, q, strerror(-ret));
		vp->queues[q].ioeventfd = false;
	}
	vp->notify_base = 0;
}

static void vp_pci_bar_unmap(void *opaque, unsigned bar, uint64_t addr,
			     uint64_t size)
{
	struct virtio_pci *vp = opaque;

	(void)addr;
	(void)size;
	if (bar != VIRTIO_PCI_BAR || vp->vm_fd < 0)
		return;
	pthread_mutex_lock(&vp->lock);
	vp_ioeventfds_remove(vp);
	pthread_mutex_unlock(&vp->lock);
}

/* ---- config space: MSI-X control, the PCI_CFG window ---- */

static bool vp_overlaps(unsigned off, unsigned size, unsigned field,
			unsigned field_size)
{
	return off < field + field_size && field < off + size;
}


/*
 * The window's target: a 1, 2 or 4 byte access aligned to its length
 * inside one of our BARs (4.1.4.9.1); false when the driver set up
 * anything else, and the access does nothing.
 */
static bool vp_cfg_window(struct virtio_pci *vp, unsigned *bar,
			  uint32_t *offset, uint32_t *len)
{
	unsigned c = vp->cap_pci_cfg;
	uint64_t bar_size;

	*bar = pci_config_get(vp->pci, c + VP_CFG_CAP_BAR, 1);
	*offset = pci_config_get(vp->pci, c + VP_CFG_CAP_OFFSET, 4);
	*len = pci_config_get(vp->pci, c + VP_CFG_CAP_LENGTH, 4);
	if (*bar == VIRTIO_PCI_BAR)
		bar_size = VP_BAR0_SIZE;
	else if (*bar == VIRTIO_PCI_MSIX_BAR)
		bar_size = vp->msix_bar_size;
	else
		return false;
	return (*len == 1 || *len == 2 || *len == 4) && *offset % *len == 0 &&
	       (uint64_t)*offset + *len <= bar_size;
}

static void vp_pci_config_read(void *opaque, unsigned offset, unsigned size,
			       uint32_t *value)
{
	struct virtio_pci *vp = opaque;
	unsigned data = vp->cap_pci_cfg + VP_CFG_CAP_DATA, bar;
	uint32_t off, len, v = 0;

	if (!vp_overlaps(offset, size, data, 4))
		return;
	if (vp_cfg_window(vp, &bar, &off, &len))
		v = (uint32_t)(bar == VIRTIO_PCI_BAR ?
			       vp_bar_read(vp, off, len) :
			       virtio_pci_msix_bar_ops.read(vp, off, len));
	pci_config_set(vp->pci, data, 4, v);
	*value = pci_config_get(vp->pci, offset, size);
}

static void vp_pci_config_write(void *opaque, unsigned offset, unsigned size,
				uint32_t old, uint32_t value)
{
	struct virtio_pci *vp = opaque;
	unsigned data = vp->cap_pci_cfg + VP_CFG_CAP_DATA, bar;
	uint32_t off, len, v;

	(void)old;
	(void)value;
	if (vp_overlaps(offset, size, vp->cap_msix + 2, 2))
		virtio_pci_msix_control(vp, (uint16_t)pci_config_get(
						vp->pci, vp->cap_msix + 2, 2));
	if (vp_overlaps(offset, size, data, 4) &&
	    vp_cfg_window(vp, &bar, &off, &len)) {
		v = pci_config_get(vp->pci, data, 4);
		if (bar == VIRTIO_PCI_BAR)
			vp_bar_write(vp, off, v, len);
		else
			virtio_pci_msix_bar_ops.write(vp, off, v, len);
	}
}

static const struct pci_device_ops vp_pci_ops = {
	.config_read = vp_pci_config_read,
	.config_write = vp_pci_config_write,
	.bar_map = vp_pci_bar_map,
	.bar_unmap = vp_pci_bar_unmap,
};

/* ---- construction ---- */

static int vp_set_bars(struct virtio_pci *vp)
{
	struct pci_bar_config bar0 = {
		.type = PCI_BAR_MEM32,
		.size = VP_BAR0_SIZE,
		.ops = &vp_bar_ops,
		.opaque = vp,
	};
	struct pci_bar_config bar1 = {
		.type = PCI_BAR_MEM32,
		.ops = &virtio_pci_msix_bar_ops,
		.opaque = vp,
	};
	uint64_t table = (uint64_t)vp->nr_vectors * VIRTIO_PCI_MSIX_ENTRY_SIZE;
	uint64_t end;
	int ret;

	vp->msix_pba_offset = (uint32_t)((table + VP_PAGE - 1) & ~(VP_PAGE - 1));
	end = vp->msix_pba_offset + (vp->nr_vectors + 63) / 64 * 8;
	for (vp->msix_bar_size = VP_PAGE; vp->msix_bar_size < end;)
		vp->msix_bar_size <<= 1;
	bar1.size = vp->msix_bar_size;
	ret = pci_device_set_bar(vp->pci, VIRTIO_PCI_BAR, &bar0);
	if (!ret)
		ret = pci_device_set_bar(vp->pci, VIRTIO_PCI_MSIX_BAR, &bar1);
	return ret;
}

static int vp_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *fd < 0 ? -errno : 0;
}

int virtio_pci_create(const struct virtio_pci_config *cfg,
		      const struct virtio_pci_device_ops *ops, void *opaque,
		      struct virtio_pci **out)
{
	struct pci_device_info info = {
		.vendor_id = VIRTIO_PCI_VENDOR_ID,
		.device_id = (uint16_t)VIRTIO_PCI_DEVICE_ID_MODERN(cfg->device_id),
		.subsystem_vendor_id = VIRTIO_PCI_VENDOR_ID,
		.subsystem_id = VP_SUBSYSTEM_ID,
		.revision = VIRTIO_PCI_REVISION_MODERN,
		.class_code = vp_class_code(cfg->device_id),
		/* The line is chosen at registration, from the slot. */
		.interrupt_pin = VP_INTX_PIN + 1,
	};
	struct virtio_pci *vp;
	int ret;

	if (!cfg->num_queues || cfg->num_queues > VIRTIO_PCI_MAX_QUEUES ||
	    !cfg->queue_size_max ||
	    cfg->queue_size_max > VIRTIO_QUEUE_SIZE_MAX ||
	    cfg->config_size > VIRTIO_PCI_DEVICE_CFG_MAX ||
	    cfg->device_id >= 0x40 || (cfg->vm_fd < 0) != !cfg->irq)
		return -EINVAL;
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	snprintf(vp->name, sizeof(vp->name), "%s", cfg->name ? cfg->name :
		 "virtio");
	info.name = vp->name;
	vp->ops = ops;
	vp->opaque = opaque;
	vp->vm_fd = cfg->vm_fd;
	vp->irq = cfg->irq;
	vp->device_features = (cfg->features &
			       (VP_DEVICE_FEATURES | VP_TRANSPORT_FEATURES)) |
			      1ull << VIRTIO_F_VERSION_1;
	vp->num_queues = cfg->num_queues;
	vp->queue_size_max = cfg->queue_size_max;
	vp->config_size = cfg->config_size;
	vp->nr_vectors = cfg->num_queues + 1u;	/* one each, and config */
	vp->config_fd = vp->config_irqfd_gsi = -1;
	vp->intx_gsi = vp->intx_event_fd = -1;
	vp->set_intx = cfg->set_intx;
	vp->intx_ctx = cfg->intx_ctx;
	pthread_mutex_init(&vp->lock, NULL);

	vp->queues = calloc(vp->num_queues, sizeof(vp->queues[0]));
	vp->queue_info = calloc(vp->num_queues, sizeof(vp->queue_info[0]));
	if (!vp->queues || !vp->queue_info) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (unsigned q = 0; q < vp->num_queues; q++) {
		vp->queues[q].kick_fd = vp->queues[q].call_fd = -1;
		vp->queues[q].irqfd_gsi = -1;
	}
	for (unsigned q = 0; q < vp->num_queues; q++) {
		ret = vp_eventfd(&vp->queues[q].kick_fd);
		if (!ret)
			ret = vp_eventfd(&vp->queues[q].call_fd);
		if (ret)
			goto err_fds;
	}
	ret = vp_eventfd(&vp->config_fd);
	if (!ret)
		ret = vp_eventfd(&vp->intx_event_fd);
	if (ret)
		goto err_fds;
	ret = virtio_pci_msix_init(vp);
	if (ret)
		goto err_fds;
	ret = pci_device_create(&info, &vp_pci_ops, vp, &vp->pci);
	if (ret)
		goto err_msix;
	ret = vp_set_bars(vp);
	if (!ret)
		ret = virtio_pci_caps_add(vp);
	if (ret)
		goto err_pci;
	vp_reset(vp);
	*out = vp;
	return 0;

err_pci:
	pci_device_destroy(vp->pci);
err_msix:
	virtio_pci_msix_fini(vp);
err_fds:
	for (unsigned q = 0; q < vp->num_queues; q++) {
		if (vp->queues[q].kick_fd >= 0)
			close(vp->queues[q].kick_fd);
		if (vp->queues[q].call_fd >= 0)
			close(vp->queues[q].call_fd);
	}
	if (vp->config_fd >= 0)
		close(vp->config_fd);
	if (vp->intx_event_fd >= 0)
		close(vp->intx_event_fd);
err_free:
	free(vp->queue_info);
	free(vp->queues);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
	return ret;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	/* Unregistering unmaps the BARs: the ioeventfds go there. */
	pci_device_destroy(vp->pci);
	pthread_mutex_lock(&vp->lock);
	vp_reset(vp);
	vp->msix_enabled = false;
	virtio_pci_msix_sync(vp);	/* every irqfd and route goes */
	pthread_mutex_unlock(&vp->lock);
	virtio_pci_msix_fini(vp);
	for (unsigned q = 0; q < vp->num_queues; q++) {
		close(vp->queues[q].kick_fd);
		close(vp->queues[q].call_fd);
	}
	close(vp->config_fd);
	close(vp->intx_event_fd);
	free(vp->queue_info);
	free(vp->queues);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

int virtio_pci_register(struct virtio_pci *vp, struct pci_root *root,
			int slot)
{
	int ret = pci_register_device(root, slot, vp->pci);
	int gsi;

	if (ret)
		return ret;
	/* Interrupt Line: the GSI, i.e. the IOAPIC pin, as PC firmware does. */
	gsi = pci_intx_gsi((unsigned)pci_device_devfn(vp->pci) >> 3,
			   VP_INTX_PIN);
	if (gsi < 0) {			/* registered: the slot is valid */
		pci_unregister_device(vp->pci);
		return gsi;
	}
	pci_config_set(vp->pci, PCI_CFG_INTERRUPT_LINE, 1, (uint32_t)gsi);
	pthread_mutex_lock(&vp->lock);
	vp->intx_gsi = gsi;
	pthread_mutex_unlock(&vp->lock);
	return 0;
}

struct pci_device *virtio_pci_device(struct virtio_pci *vp)
{
	return vp->pci;
}

int virtio_pci_queue_kick_fd(const struct virtio_pci *vp, unsigned q)
{
	return q < vp->num_queues ? vp->queues[q].kick_fd : -1;
}

int virtio_pci_queue_call_fd(const struct virtio_pci *vp, unsigned q)
{
	return q < vp->num_queues ? vp->queues[q].call_fd : -1;
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	vp->config_generation++;
	vp_config_interrupt(vp);
	pthread_mutex_unlock(&vp->lock);
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp, const char *why)
{
	pthread_mutex_lock(&vp->lock);
	vp_set_needs_reset(vp, LOG_LEVEL_DEBUG, why);
	pthread_mutex_unlock(&vp->lock);
}
