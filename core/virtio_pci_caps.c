/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The capability list a virtio-pci device shows the driver: common,
 * notify, ISR and device config structures in BAR 0, the PCI_CFG access
 * window, and MSI-X (virtio 1.2, 4.1.4).
 */
#include <stddef.h>
#include <string.h>

#include "pci.h"
#include "virtio.h"
#include "virtio_pci_internal.h"

static int vp_add_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset,
		      uint32_t length, size_t cap_len, uint32_t extra)
{
	uint8_t bytes[sizeof(struct virtio_pci_notify_cap) >
		      sizeof(struct virtio_pci_cfg_cap) ?
		      sizeof(struct virtio_pci_notify_cap) :
		      sizeof(struct virtio_pci_cfg_cap)] = { 0 };
	struct virtio_pci_cap *cap = (void *)bytes;

	cap->cap_len = (uint8_t)cap_len;
	cap->cfg_type = type;
	cap->bar = VIRTIO_PCI_BAR;
	cap->offset = offset;
	cap->length = length;
	/* notify_off_multiplier; the PCI_CFG window's data starts as 0. */
	if (cap_len > sizeof(*cap))
		memcpy(bytes + sizeof(*cap), &extra, sizeof(extra));
	return pci_add_capability(vp->pci, PCI_CAPID_VENDOR, bytes, cap_len);
}

static int vp_add_msix_cap(struct virtio_pci *vp)
{
	uint8_t bytes[VIRTIO_PCI_MSIX_CAP_LEN] = { 0 };
	uint16_t control = (uint16_t)(vp->nr_vectors - 1);
	uint32_t table = VIRTIO_PCI_MSIX_TABLE_OFFSET | VIRTIO_PCI_MSIX_BAR;
	uint32_t pba = vp->msix_pba_offset | VIRTIO_PCI_MSIX_BAR;
	int off;

	memcpy(bytes + 2, &control, 2);
	memcpy(bytes + 4, &table, 4);
	memcpy(bytes + 8, &pba, 4);
	off = pci_add_capability(vp->pci, PCI_CAPID_MSIX, bytes, sizeof(bytes));
	if (off < 0)
		return off;
	vp->cap_msix = (unsigned)off;
	pci_config_set_wmask(vp->pci, vp->cap_msix + 2, 2,
			     VIRTIO_PCI_MSIX_CTRL_ENABLE |
			     VIRTIO_PCI_MSIX_CTRL_MASKALL);
	return 0;
}

int virtio_pci_caps_add(struct virtio_pci *vp)
{
	int ret;

	ret = vp_add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG,
			 VIRTIO_PCI_COMMON_OFFSET,
			 VIRTIO_PCI_COMMON_CFG_SIZE_1_2,
			 sizeof(struct virtio_pci_cap), 0);
	if (ret >= 0)
		ret = vp_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG,
				 VIRTIO_PCI_NOTIFY_OFFSET,
				 vp->num_queues * VIRTIO_PCI_NOTIFY_MULTIPLIER,
				 sizeof(struct virtio_pci_notify_cap),
				 VIRTIO_PCI_NOTIFY_MULTIPLIER);
	if (ret >= 0)
		ret = vp_add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG,
				 VIRTIO_PCI_ISR_OFFSET, 1,
				 sizeof(struct virtio_pci_cap), 0);
	if (ret >= 0 && vp->config_size)
		ret = vp_add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG,
				 VIRTIO_PCI_DEVICE_OFFSET, vp->config_size,
				 sizeof(struct virtio_pci_cap), 0);
	if (ret >= 0) {
		/* bar, offset and length select; data reaches the BAR. */
		ret = vp_add_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
				 sizeof(struct virtio_pci_cfg_cap), 0);
		if (ret >= 0) {
			vp->cap_pci_cfg = (unsigned)ret;
			pci_config_set(vp->pci, vp->cap_pci_cfg +
				       VP_CFG_CAP_BAR, 1, 0);
			pci_config_set_wmask(vp->pci, vp->cap_pci_cfg +
					     VP_CFG_CAP_BAR, 1, 0xff);
			pci_config_set_wmask(vp->pci, vp->cap_pci_cfg +
					     VP_CFG_CAP_OFFSET, 4, 0xffffffff);
			pci_config_set_wmask(vp->pci, vp->cap_pci_cfg +
					     VP_CFG_CAP_LENGTH, 4, 0xffffffff);
			pci_config_set_wmask(vp->pci, vp->cap_pci_cfg +
					     VP_CFG_CAP_DATA, 4, 0xffffffff);
		}
	}
	if (ret >= 0)
		ret = vp_add_msix_cap(vp);
	return ret < 0 ? ret : 0;
}
