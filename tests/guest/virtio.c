/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio 1.2 over PCI, modern interface only (4.1), for the test guest's
 * device tests: capabilities, status and feature negotiation, MSI-X,
 * device configuration, and the registers that place each virtqueue.
 * The queues themselves, split (2.7) or packed (2.8) behind one API,
 * are virtq.c's.  Everything runs at CPL3 and polls: MMIO is native
 * there, interrupts would run emulated at CPL0.
 * Opt-in: virtio_msix_enable() routes queue interrupts to VEC_VIRTIO,
 * whose CPL0 handler (isr.S) only counts them.
 *
 * Device-provided values are checked before use: capabilities must lie
 * inside an implemented memory BAR below 4 GiB (the part that is mapped),
 * queue notify offsets inside the notify window.  Every wait has a TSC
 * time-out.
 */
#include "guest.h"
#include "virtio.h"
#include "virtq_internal.h"

#define LOW_4G			0x100000000ull

/* MSI-X capability (PCI 3.0 6.8.2) and its table entries. */
#define PCI_CAP_ID_MSIX		0x11

uint64_t virtio_intx_isr_reg;
#define MSIX_CTRL		2
#define MSIX_CTRL_SIZE_MASK	0x07ff
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_TABLE		4
#define MSIX_TABLE_BIR_MASK	7u
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_ADDR_LO	0
#define MSIX_ENTRY_ADDR_HI	4
#define MSIX_ENTRY_DATA		8
#define MSIX_ENTRY_CTRL		12
#define MSIX_ENTRY_MASKED	1u
#define MSI_ADDR_BASE		0xfee00000u
#define MSI_ADDR_DEST_SHIFT	12	/* physical destination APIC id */
#define VIRTIO_QUEUE_MSIX_ENTRY	0

#define VIRTIO_RESET_TIMEOUT_MS	4000

enum virtio_ring_mode virtio_ring_mode = VIRTIO_RING_AUTO;

/* ---- capabilities ---- */

static const char *virtio_cap_region(const struct virtio_dev *vd,
				     unsigned int cap, unsigned int type,
				     uint64_t *addr, uint32_t *len)
{
	const struct pci_dev *pd = &vd->pci;
	unsigned int bar = pci_cfg_read8(pd, cap + VIRTIO_PCI_CAP_BAR);
	uint32_t off = pci_cfg_read32(pd, cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t length = pci_cfg_read32(pd, cap + VIRTIO_PCI_CAP_LENGTH);
	const struct pci_dev_bar *b;

	if (bar >= PCI_DEV_BARS || !pd->bar[bar].size || pd->bar[bar].io) {
		guest_printf("guest: warning: virtio 00:%02x.%x cap type %u names BAR %u, not an implemented memory BAR\n",
			     pd->slot, pd->fn, type, bar);
		return "virtio capability names no memory BAR";
	}
	b = &pd->bar[bar];
	if ((uint64_t)off + length > b->size) {
		guest_printf("guest: warning: virtio 00:%02x.%x cap type %u offset=0x%x length=0x%x beyond BAR %u size=0x%llx\n",
			     pd->slot, pd->fn, type, off, length, bar,
			     (unsigned long long)b->size);
		return "virtio capability outside its BAR";
	}
	if (!b->addr || b->addr + b->size > LOW_4G) {
		guest_printf("guest: warning: virtio 00:%02x.%x BAR %u at 0x%llx is unassigned or above 4 GiB\n",
			     pd->slot, pd->fn, bar,
			     (unsigned long long)b->addr);
		return "virtio BAR unassigned or above 4 GiB";
	}
	*addr = b->addr + off;
	*len = length;
	return NULL;
}

/* The first usable capability of each type (4.1.4); PCI_CFG is not used. */
const char *virtio_pci_open(const struct pci_dev *pd, struct virtio_dev *vd)
{
	uint32_t common_len = 0, isr_len = 0;
	const char *r;

	memset(vd, 0, sizeof(*vd));
	vd->pci = *pd;
	for (unsigned int cap = pci_find_cap(pd, PCI_CAP_ID_VNDR, 0); cap;
	     cap = pci_find_cap(pd, PCI_CAP_ID_VNDR, cap)) {
		unsigned int type = pci_cfg_read8(pd, cap + VIRTIO_PCI_CAP_CFG_TYPE);
		unsigned int cap_len = pci_cfg_read8(pd, cap + VIRTIO_PCI_CAP_LEN);
		uint64_t addr;
		uint32_t len;

		if (type < VIRTIO_PCI_CAP_COMMON_CFG ||
		    type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue;
		if (cap_len < sizeof(struct virtio_pci_cap) ||
		    (type == VIRTIO_PCI_CAP_NOTIFY_CFG &&
		     cap_len < sizeof(struct virtio_pci_notify_cap)))
			return "virtio capability too short";
		r = virtio_cap_region(vd, cap, type, &addr, &len);
		if (r)
			return r;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!vd->common) {
				vd->common = addr;
				common_len = len;
			}
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!vd->notify) {
				vd->notify = addr;
				vd->notify_len = len;
				vd->notify_mult = pci_cfg_read32(pd,
					cap + offsetof(struct virtio_pci_notify_cap,
						       notify_off_multiplier));
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!vd->isr) {
				vd->isr = addr;
				isr_len = len;
			}
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!vd->device) {
				vd->device = addr;
				vd->device_len = len;
			}
			break;
		}
	}
	if (!vd->common || !vd->notify || !vd->isr)
		return "virtio common, notify or ISR capability missing";
	if (common_len < VIRTIO_PCI_COMMON_Q_USEDHI + 4)
		return "virtio common config window too small";
	if (vd->notify_len < 2 || !isr_len)
		return "virtio notify or ISR window too small";
	pci_enable_mem_master(pd);
	return NULL;
}

/* ---- common configuration ---- */

static uint64_t cc(const struct virtio_dev *vd, unsigned int off)
{
	return vd->common + off;
}

uint8_t virtio_status(const struct virtio_dev *vd)
{
	return mmio_read8(cc(vd, VIRTIO_PCI_COMMON_STATUS));
}

static void virtio_set_status(struct virtio_dev *vd, uint8_t bits)
{
	mmio_write8(cc(vd, VIRTIO_PCI_COMMON_STATUS), virtio_status(vd) | bits);
}

static const char *virtio_fail(struct virtio_dev *vd, const char *why)
{
	virtio_set_status(vd, VIRTIO_CONFIG_S_FAILED);
	return why;
}

const char *virtio_reset(struct virtio_dev *vd)
{
	uint64_t deadline = tsc_deadline_ms(VIRTIO_RESET_TIMEOUT_MS);

	mmio_write8(cc(vd, VIRTIO_PCI_COMMON_STATUS), 0);
	while (virtio_status(vd) != 0) {
		if (tsc_expired(deadline))
			return "virtio reset did not complete";
		cpu_relax();
	}
	return NULL;
}

const char *virtio_negotiate(struct virtio_dev *vd, uint64_t want)
{
	const char *r = virtio_reset(vd);

	if (r)
		return r;
	virtio_set_status(vd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_set_status(vd, VIRTIO_CONFIG_S_DRIVER);
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_DFSELECT), 0);
	vd->offered = mmio_read32(cc(vd, VIRTIO_PCI_COMMON_DF));
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_DFSELECT), 1);
	vd->offered |= (uint64_t)mmio_read32(cc(vd, VIRTIO_PCI_COMMON_DF)) << 32;
	if (!(vd->offered & (1ull << VIRTIO_F_VERSION_1)))
		return virtio_fail(vd, "virtio device does not offer VERSION_1");
	if (virtio_ring_mode == VIRTIO_RING_PACKED &&
	    !(vd->offered & (1ull << VIRTIO_F_RING_PACKED)))
		return virtio_fail(vd, "virtio device does not offer RING_PACKED (guest.ring=packed)");
	want |= 1ull << VIRTIO_F_VERSION_1;
	if (virtio_ring_mode != VIRTIO_RING_SPLIT)
		want |= 1ull << VIRTIO_F_RING_PACKED;
	vd->features = vd->offered & want;
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_GFSELECT), 0);
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_GF), (uint32_t)vd->features);
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_GFSELECT), 1);
	mmio_write32(cc(vd, VIRTIO_PCI_COMMON_GF),
		     (uint32_t)(vd->features >> 32));
	virtio_set_status(vd, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(virtio_status(vd) & VIRTIO_CONFIG_S_FEATURES_OK))
		return virtio_fail(vd, "virtio device refused FEATURES_OK");
	return NULL;
}

const char *virtio_ring_name(const struct virtio_dev *vd)
{
	return vd->features & (1ull << VIRTIO_F_RING_PACKED) ? "packed" :
							       "split";
}

const char *virtio_driver_ok(struct virtio_dev *vd)
{
	uint8_t s;

	mmio_write16(cc(vd, VIRTIO_PCI_COMMON_MSIX), VIRTIO_MSI_NO_VECTOR);
	virtio_set_status(vd, VIRTIO_CONFIG_S_DRIVER_OK);
	s = virtio_status(vd);
	if (s & VIRTIO_CONFIG_S_NEEDS_RESET)
		return virtio_fail(vd, "virtio device needs reset");
	if (!(s & VIRTIO_CONFIG_S_DRIVER_OK))
		return virtio_fail(vd, "virtio DRIVER_OK did not stick");
	return NULL;
}

/* ---- MSI-X ---- */

const char *virtio_msix_enable(struct virtio_dev *vd, uint32_t apic_id)
{
	const struct pci_dev *pd = &vd->pci;
	unsigned int cap = pci_find_cap(pd, PCI_CAP_ID_MSIX, 0);
	uint16_t ctrl;
	uint32_t tbl, bir, off, entries;
	const struct pci_dev_bar *b;
	uint64_t e;

	if (!cap)
		return "virtio function has no MSI-X capability";
	ctrl = pci_cfg_read16(pd, cap + MSIX_CTRL);
	tbl = pci_cfg_read32(pd, cap + MSIX_TABLE);
	entries = (ctrl & MSIX_CTRL_SIZE_MASK) + 1u;
	bir = tbl & MSIX_TABLE_BIR_MASK;
	off = tbl & ~MSIX_TABLE_BIR_MASK;
	if (bir >= PCI_DEV_BARS || !pd->bar[bir].size || pd->bar[bir].io) {
		guest_printf("guest: warning: virtio 00:%02x.%x MSI-X table names BAR %u, not an implemented memory BAR\n",
			     pd->slot, pd->fn, bir);
		return "MSI-X table names no memory BAR";
	}
	b = &pd->bar[bir];
	if ((uint64_t)off + (uint64_t)entries * MSIX_ENTRY_SIZE > b->size ||
	    !b->addr || b->addr + b->size > LOW_4G) {
		guest_printf("guest: warning: virtio 00:%02x.%x MSI-X table offset=0x%x entries=%u outside BAR %u addr=0x%llx size=0x%llx\n",
			     pd->slot, pd->fn, off, entries, bir,
			     (unsigned long long)b->addr,
			     (unsigned long long)b->size);
		return "MSI-X table outside its BAR";
	}
	/* Function masked while the entry is written, then unmasked. */
	pci_cfg_write16(pd, cap + MSIX_CTRL, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	e = b->addr + off + VIRTIO_QUEUE_MSIX_ENTRY * MSIX_ENTRY_SIZE;
	mmio_write32(e + MSIX_ENTRY_CTRL, MSIX_ENTRY_MASKED);
	mmio_write32(e + MSIX_ENTRY_ADDR_LO,
		     MSI_ADDR_BASE | (apic_id & 0xff) << MSI_ADDR_DEST_SHIFT);
	mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(e + MSIX_ENTRY_DATA, VEC_VIRTIO);	/* fixed, edge */
	mmio_write32(e + MSIX_ENTRY_CTRL, 0);
	pci_cfg_write16(pd, cap + MSIX_CTRL, MSIX_CTRL_ENABLE);
	if ((pci_cfg_read16(pd, cap + MSIX_CTRL) &
	     (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)) != MSIX_CTRL_ENABLE)
		return "MSI-X enable did not stick";
	if (mmio_read32(e + MSIX_ENTRY_DATA) != VEC_VIRTIO ||
	    mmio_read32(e + MSIX_ENTRY_CTRL) & MSIX_ENTRY_MASKED)
		return "MSI-X table entry did not keep what was written";
	vd->msix = true;
	vd->msix_entries = (uint16_t)entries;
	return NULL;
}

/* ---- device configuration ---- */

uint8_t virtio_cfg_read8(const struct virtio_dev *vd, uint32_t off)
{
	return mmio_read8(vd->device + off);
}

uint32_t virtio_cfg_read32(const struct virtio_dev *vd, uint32_t off)
{
	return mmio_read32(vd->device + off);
}

/* Two 32-bit halves are not atomic: retry until the generation holds. */
uint64_t virtio_cfg_read64(const struct virtio_dev *vd, uint32_t off)
{
	uint8_t gen, again;
	uint64_t v;

	do {
		gen = mmio_read8(cc(vd, VIRTIO_PCI_COMMON_CFGGENERATION));
		v = mmio_read32(vd->device + off) |
		    (uint64_t)mmio_read32(vd->device + off + 4) << 32;
		again = mmio_read8(cc(vd, VIRTIO_PCI_COMMON_CFGGENERATION));
	} while (gen != again);
	return v;
}

/* ---- virtqueues: where the device finds them ---- */

static void cc_write64(struct virtio_dev *vd, unsigned int lo, uint64_t v)
{
	mmio_write32(cc(vd, lo), (uint32_t)v);
	mmio_write32(cc(vd, lo + 4), (uint32_t)(v >> 32));
}

const char *virtq_setup(struct virtio_dev *vd, struct virtq *vq,
			uint16_t index)
{
	uint16_t size, noff;
	uint64_t notify_off;
	struct virtq_areas areas;

	if (virtq_pool_exhausted())
		return virtio_fail(vd, "guest virtqueue pool exhausted");
	if (index >= mmio_read16(cc(vd, VIRTIO_PCI_COMMON_NUMQ)))
		return virtio_fail(vd, "virtio device has too few queues");
	mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_SELECT), index);
	size = mmio_read16(cc(vd, VIRTIO_PCI_COMMON_Q_SIZE));
	if (!size)
		return virtio_fail(vd, "virtio queue not available");
	if (mmio_read16(cc(vd, VIRTIO_PCI_COMMON_Q_ENABLE)))
		return virtio_fail(vd, "virtio queue enabled before setup");
	if (size > VIRTQ_SIZE_MAX)
		size = VIRTQ_SIZE_MAX;

	noff = mmio_read16(cc(vd, VIRTIO_PCI_COMMON_Q_NOFF));
	notify_off = (uint64_t)noff * vd->notify_mult;
	if (notify_off + 2 > vd->notify_len) {
		guest_printf("guest: warning: virtio 00:%02x.%x queue %u notify offset 0x%llx beyond the notify window (0x%x)\n",
			     vd->pci.slot, vd->pci.fn, index,
			     (unsigned long long)notify_off, vd->notify_len);
		return virtio_fail(vd, "virtio queue notify address outside its window");
	}

	memset(vq, 0, sizeof(*vq));
	vq->dev = vd;
	vq->index = index;
	vq->size = size;
	vq->notify_addr = vd->notify + notify_off;
	vq->num_free = size;
	virtq_ring_init(vq, vd->features & (1ull << VIRTIO_F_RING_PACKED),
			&areas);

	/* Both layouts: descriptors, driver area, device area (4.1.4.3). */
	mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_SIZE), size);
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_DESCLO, areas.desc);
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_AVAILLO, areas.driver);
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_USEDLO, areas.device);
	if (vd->msix) {
		/* Read back: NO_VECTOR means the device refused (4.1.5.1.3). */
		uint16_t v;

		mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_MSIX),
			     VIRTIO_QUEUE_MSIX_ENTRY);
		v = mmio_read16(cc(vd, VIRTIO_PCI_COMMON_Q_MSIX));
		if (v != VIRTIO_QUEUE_MSIX_ENTRY) {
			guest_printf("guest: warning: virtio 00:%02x.%x queue %u msix vector %u reads back 0x%04x\n",
				     vd->pci.slot, vd->pci.fn, index,
				     VIRTIO_QUEUE_MSIX_ENTRY, v);
			return virtio_fail(vd, "virtio device refused the queue's MSI-X vector");
		}
	} else {
		mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_MSIX),
			     VIRTIO_MSI_NO_VECTOR);
	}
	mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_ENABLE), 1);
	return NULL;
}
