/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio 1.2 over PCI, modern interface only (4.1), and split (2.7) or
 * packed (2.8) virtqueues behind one API, for the test guest's device
 * tests.  Everything runs at CPL3 and polls: MMIO is native there,
 * interrupts would run emulated at CPL0.  No indirect descriptors and no
 * event index, in either layout.
 * Opt-in: virtio_msix_enable() routes queue interrupts to VEC_VIRTIO,
 * whose CPL0 handler (isr.S) only counts them.
 *
 * Device-provided values are checked before use: capabilities must lie
 * inside an implemented memory BAR below 4 GiB (the part that is mapped),
 * queue notify offsets inside the notify window, used ids must name a
 * chain in flight, a split ring's used index may only move forward and
 * never by more than the ring.  Anomalies are counted per queue (a test
 * that tolerates lost frames still reports them).  Every wait has a TSC
 * time-out.
 */
#include "guest.h"
#include "virtio.h"

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

/* Polls of used->idx between looks at device_status (an MMIO exit). */
#define VIRTQ_STATUS_POLL_EVERY	(1u << 16)
#define VIRTIO_RESET_TIMEOUT_MS	4000

/*
 * One page per queue: descriptors, then the driver area at 1 KiB, the
 * device area at 2 KiB; far beyond the 16, 2 and 4 bytes of alignment
 * the split ring needs (2.7) and the 16, 4, 4 of the packed one (2.8.10).
 * A packed ring's descriptors have the split ones' size; its areas are
 * the 4-byte event suppression structures.
 */
#define VIRTQ_PAGE		4096
#define VIRTQ_AVAIL_OFF		1024
#define VIRTQ_USED_OFF		2048
/*
 * Pages are never given back, and every layout takes one per queue: net
 * multiqueue's 8 pairs and control queue (17), or a net reset's second
 * set of queues, besides blk's (and its reset's).
 */
#define VIRTQ_POOL		32
_Static_assert(VIRTQ_SIZE_MAX <= VIRTQ_AVAIL_OFF / sizeof(struct vring_desc),
	       "descriptor table fits");
_Static_assert(VIRTQ_AVAIL_OFF + 6 + 2 * VIRTQ_SIZE_MAX <= VIRTQ_USED_OFF,
	       "driver area fits");
_Static_assert(VIRTQ_USED_OFF + 6 + 8 * VIRTQ_SIZE_MAX <= VIRTQ_PAGE,
	       "device area fits");

_Static_assert(sizeof(struct vring_packed_desc) == sizeof(struct vring_desc),
	       "packed descriptors fit where split ones do");

enum virtio_ring_mode virtio_ring_mode = VIRTIO_RING_AUTO;

static uint8_t virtq_pool[VIRTQ_POOL][VIRTQ_PAGE]
	__attribute__((aligned(VIRTQ_PAGE)));
static unsigned int virtq_pool_used;

/*
 * x86 keeps stores in order and loads in order, so most ordering the
 * spec asks for needs only the compiler not to move accesses; the store
 * of avail->idx before the load of used->flags needs a real fence.
 */
static inline void virtio_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void virtio_mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

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

/* ---- virtqueues: setup ---- */

static void cc_write64(struct virtio_dev *vd, unsigned int lo, uint64_t v)
{
	mmio_write32(cc(vd, lo), (uint32_t)v);
	mmio_write32(cc(vd, lo + 4), (uint32_t)(v >> 32));
}

/* Split: the descriptor free list links through next. */
static void virtq_init_split(struct virtq *vq, uint8_t *mem)
{
	vq->desc = (struct vring_desc *)mem;
	vq->avail = (struct vring_avail *)(mem + VIRTQ_AVAIL_OFF);
	vq->used = (struct vring_used *)(mem + VIRTQ_USED_OFF);
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
}

/*
 * Packed (2.8.1): a zeroed ring is all "not available" to a device
 * expecting wrap counter 1, which both sides start with.  Buffer ids
 * come from their own free list.
 */
static void virtq_init_packed(struct virtq *vq, uint8_t *mem)
{
	vq->packed = true;
	vq->ring = (struct vring_packed_desc *)mem;
	vq->driver_event = (struct vring_packed_desc_event *)(mem + VIRTQ_AVAIL_OFF);
	vq->device_event = (struct vring_packed_desc_event *)(mem + VIRTQ_USED_OFF);
	vq->avail_wrap = true;
	vq->used_wrap = true;
	for (uint16_t i = 0; i < vq->size; i++)
		vq->next_id[i] = (uint16_t)(i + 1);
}

const char *virtq_setup(struct virtio_dev *vd, struct virtq *vq,
			uint16_t index)
{
	uint16_t size, noff;
	uint64_t notify_off;
	uint8_t *mem;

	if (virtq_pool_used == VIRTQ_POOL)
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

	mem = virtq_pool[virtq_pool_used++];
	memset(mem, 0, VIRTQ_PAGE);
	memset(vq, 0, sizeof(*vq));
	vq->dev = vd;
	vq->index = index;
	vq->size = size;
	vq->notify_addr = vd->notify + notify_off;
	vq->num_free = size;
	if (vd->features & (1ull << VIRTIO_F_RING_PACKED))
		virtq_init_packed(vq, mem);
	else
		virtq_init_split(vq, mem);

	/* Both layouts: descriptors, driver area, device area (4.1.4.3). */
	mmio_write16(cc(vd, VIRTIO_PCI_COMMON_Q_SIZE), size);
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_DESCLO, (uintptr_t)mem);
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_AVAILLO,
		   (uintptr_t)(mem + VIRTQ_AVAIL_OFF));
	cc_write64(vd, VIRTIO_PCI_COMMON_Q_USEDLO,
		   (uintptr_t)(mem + VIRTQ_USED_OFF));
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

void virtq_no_interrupts(struct virtq *vq)
{
	if (vq->packed)
		*(volatile uint16_t *)&vq->driver_event->flags =
			VRING_PACKED_EVENT_FLAG_DISABLE;
	else
		*(volatile uint16_t *)&vq->avail->flags =
			VRING_AVAIL_F_NO_INTERRUPT;
}

/* ---- split virtqueues (2.7) ---- */

static int virtq_add_split(struct virtq *vq, const struct virtq_buf *bufs,
			   unsigned int n)
{
	uint16_t head = vq->free_head, i = head, last = head;

	for (unsigned int k = 0; k < n; k++) {
		struct vring_desc *d = &vq->desc[i];

		d->addr = (uintptr_t)bufs[k].addr;
		d->len = bufs[k].len;
		d->flags = (uint16_t)((bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = d->next;		/* the free list links through next */
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint16_t)n;
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	vq->avail_idx++;
	return head;
}

static void virtq_kick_split(struct virtq *vq)
{
	/* Descriptors and ring entries before the index (2.7.13.3.1). */
	virtio_barrier();
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
	/* The index before the flags read that decides to notify (2.7.13.4). */
	virtio_mb();
	if (*(volatile uint16_t *)&vq->used->flags & VRING_USED_F_NO_NOTIFY) {
		vq->kicks_suppressed++;
		return;
	}
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

/*
 * The element at last_used, which the caller saw published.  An id out
 * of range or naming a chain not in flight (returned twice) is counted
 * and skipped: the ring goes on with the next element.
 */
static const char *virtq_take_split(struct virtq *vq, uint16_t *head,
				    uint32_t *len)
{
	struct vring_used_elem e;
	uint16_t id, i;

	/* The index before the element it covers (2.7.14). */
	virtio_barrier();
	e = vq->used->ring[vq->last_used % vq->size];
	vq->last_used++;
	if (e.id >= vq->size || !vq->chain_len[e.id]) {
		if (e.id >= vq->size)
			vq->used_bad_id++;
		else
			vq->used_twice++;
		guest_printf("guest: warning: virtio queue %u used id=%u is not a chain in flight\n",
			     vq->index, e.id);
		return "virtio used ring names a descriptor not in flight";
	}
	id = (uint16_t)e.id;
	i = id;
	for (uint16_t k = 1; k < vq->chain_len[id]; k++)
		i = vq->desc[i].next;
	vq->desc[i].next = vq->free_head;
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free + vq->chain_len[id]);
	vq->chain_len[id] = 0;
	*head = id;
	*len = e.len;
	return NULL;
}

/* ---- packed virtqueues (2.8) ---- */

/*
 * AVAIL and USED flag bits of a descriptor made available (2.8.1): AVAIL
 * equal to the driver's wrap counter, USED its inverse.  Used (2.8.2):
 * both equal to the wrap counter the driver expects for used ones.
 */
static uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? VIRTIO_PACKED_DESC_F_AVAIL : VIRTIO_PACKED_DESC_F_USED;
}

static bool packed_is_used(uint16_t flags, bool wrap)
{
	bool avail = flags & VIRTIO_PACKED_DESC_F_AVAIL;
	bool used = flags & VIRTIO_PACKED_DESC_F_USED;

	return avail == used && used == wrap;
}

/*
 * Every descriptor of the chain carries the id; the head's flags are
 * written last (2.8.21.1), and the first head since the last kick is held
 * back until that kick, so virtq_kick() publishes a batch as the split
 * ring's index store does.  Later heads may be written at once: the
 * device stops at the held one, whose old flags (zero, or AVAIL/USED of
 * the previous lap) never read as available.
 */
static int virtq_add_packed(struct virtq *vq, const struct virtq_buf *bufs,
			    unsigned int n)
{
	uint16_t id = vq->free_head, pos = vq->next_avail, head_pos = pos;
	uint16_t avail = packed_avail_bits(vq->avail_wrap), head_flags = 0;

	for (unsigned int k = 0; k < n; k++) {
		struct vring_packed_desc *d = &vq->ring[pos];
		uint16_t flags = (uint16_t)(avail |
			(bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
			(k + 1 < n ? VRING_DESC_F_NEXT : 0));

		d->addr = (uintptr_t)bufs[k].addr;
		d->len = bufs[k].len;
		d->id = id;
		if (k)
			d->flags = flags;
		else
			head_flags = flags;
		if (++pos == vq->size) {
			pos = 0;
			vq->avail_wrap = !vq->avail_wrap;
			avail = packed_avail_bits(vq->avail_wrap);
		}
	}
	vq->next_avail = pos;
	vq->free_head = vq->next_id[id];
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[id] = (uint16_t)n;
	if (!vq->held) {
		vq->held = true;
		vq->held_pos = head_pos;
		vq->held_flags = head_flags;
	} else {
		virtio_barrier();
		*(volatile uint16_t *)&vq->ring[head_pos].flags = head_flags;
	}
	return id;
}

static void virtq_kick_packed(struct virtq *vq)
{
	uint16_t flags;

	if (vq->held) {
		/* The chains' other fields before the held head's flags. */
		virtio_barrier();
		*(volatile uint16_t *)&vq->ring[vq->held_pos].flags =
			vq->held_flags;
		vq->held = false;
	}
	/* The flags store before the read that decides to notify (2.8.21.3). */
	virtio_mb();
	flags = *(volatile uint16_t *)&vq->device_event->flags;
	/* DESC (2.8.10) needs EVENT_IDX, never negotiated here: notify. */
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE) {
		vq->kicks_suppressed++;
		return;
	}
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

static bool virtq_packed_ready(const struct virtq *vq)
{
	return packed_is_used(*(volatile uint16_t *)&vq->ring[vq->used_pos].flags,
			      vq->used_wrap);
}

/*
 * One used descriptor per chain, with its id (2.8.7): the next one is
 * that chain's length further on.  The id must name a chain in flight.
 */
static const char *virtq_take_packed(struct virtq *vq, uint16_t *head,
				     uint32_t *len)
{
	const struct vring_packed_desc *d = &vq->ring[vq->used_pos];
	uint16_t id, n;

	/* The flags before the id and length they cover (2.8.21.2). */
	virtio_barrier();
	id = d->id;
	if (id >= vq->size || !vq->chain_len[id]) {
		/* Its chain length is unknown: the ring cannot go on. */
		if (id >= vq->size)
			vq->used_bad_id++;
		else
			vq->used_twice++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used id=%u at %u is not a chain in flight\n",
			     vq->index, id, vq->used_pos);
		return "virtio used ring names a descriptor not in flight";
	}
	*len = d->len;
	*head = id;
	n = vq->chain_len[id];
	vq->used_pos = (uint16_t)(vq->used_pos + n);
	if (vq->used_pos >= vq->size) {
		vq->used_pos = (uint16_t)(vq->used_pos - vq->size);
		vq->used_wrap = !vq->used_wrap;
	}
	vq->last_used++;
	vq->next_id[id] = vq->free_head;
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->chain_len[id] = 0;
	return NULL;
}

/* ---- virtqueues: either layout ---- */

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int n)
{
	if (!n || n > vq->num_free)
		return -1;
	return vq->packed ? virtq_add_packed(vq, bufs, n) :
			    virtq_add_split(vq, bufs, n);
}

void virtq_kick(struct virtq *vq)
{
	if (vq->packed)
		virtq_kick_packed(vq);
	else
		virtq_kick_split(vq);
}

void virtq_notify(struct virtq *vq)
{
	/* What virtq_kick() published before the doorbell. */
	virtio_mb();
	vq->kicks++;
	mmio_write16(vq->notify_addr, vq->index);
}

uint16_t virtq_used_idx(const struct virtq *vq)
{
	uint16_t pos, count = 0;
	bool wrap;

	if (!vq->packed)
		return *(volatile uint16_t *)&vq->used->idx;
	/* Walk the used descriptors as virtq_take_packed() would. */
	pos = vq->used_pos;
	wrap = vq->used_wrap;
	while (count < vq->size &&
	       packed_is_used(*(volatile uint16_t *)&vq->ring[pos].flags,
			      wrap)) {
		uint16_t id;

		virtio_barrier();
		id = vq->ring[pos].id;
		if (id >= vq->size || !vq->chain_len[id])
			break;		/* virtq_wait() reports it */
		count++;
		pos = (uint16_t)(pos + vq->chain_len[id]);
		if (pos >= vq->size) {
			pos = (uint16_t)(pos - vq->size);
			wrap = !wrap;
		}
	}
	return (uint16_t)(vq->last_used + count);
}

bool virtq_used_ready(const struct virtq *vq)
{
	return vq->packed ? virtq_packed_ready(vq) :
	       *(volatile uint16_t *)&vq->used->idx != vq->last_used;
}

/*
 * Split: used->idx may only move forward, by at most the ring size past
 * the chains taken (2.7.8).  Anything else is counted once and the queue
 * is broken: nothing more is taken from it.
 */
static const char *virtq_split_idx_check(struct virtq *vq, uint16_t used_idx)
{
	if ((int16_t)(used_idx - vq->used_seen) < 0) {
		vq->used_idx_back++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used idx moved back from %u to %u\n",
			     vq->index, vq->used_seen, used_idx);
		return "virtio used index moved backwards";
	}
	if ((uint16_t)(used_idx - vq->last_used) > vq->size) {
		vq->used_idx_jump++;
		vq->used_broken = true;
		guest_printf("guest: warning: virtio queue %u used idx %u is more than the ring (%u) past the %u taken\n",
			     vq->index, used_idx, vq->size, vq->last_used);
		return "virtio used index ran ahead of the ring";
	}
	vq->used_seen = used_idx;
	return NULL;
}

int virtq_poll(struct virtq *vq, uint16_t *head, uint32_t *len,
	       const char **why)
{
	uint16_t used_idx;

	if (vq->used_broken) {
		*why = "virtio used ring broken by an earlier anomaly";
		return -1;
	}
	if (vq->packed) {
		if (!virtq_packed_ready(vq))
			return 0;
		*why = virtq_take_packed(vq, head, len);
		return *why ? -1 : 1;
	}
	used_idx = *(volatile uint16_t *)&vq->used->idx;
	if (used_idx == vq->last_used && used_idx == vq->used_seen)
		return 0;
	*why = virtq_split_idx_check(vq, used_idx);
	if (*why)
		return -1;
	if (used_idx == vq->last_used)
		return 0;
	*why = virtq_take_split(vq, head, len);
	return *why ? -1 : 1;
}

uint64_t virtq_used_anomalies(const struct virtq *vq)
{
	return vq->used_bad_id + vq->used_twice + vq->used_idx_back +
	       vq->used_idx_jump;
}

const char *virtq_wait(struct virtq *vq, uint16_t *head, uint32_t *len,
		       uint64_t timeout_ms)
{
	uint64_t deadline = tsc_deadline_ms(timeout_ms);
	uint32_t polls = 0;
	const char *why;

	for (;;) {
		int r = virtq_poll(vq, head, len, &why);

		if (r > 0)
			return NULL;
		if (r < 0)
			return why;
		if (++polls % VIRTQ_STATUS_POLL_EVERY == 0 &&
		    virtio_status(vq->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return "virtio device needs reset";
		if (tsc_expired(deadline)) {
			guest_printf("guest: warning: virtio queue %u time-out: %s avail=%u used=%u taken=%u status=0x%02x\n",
				     vq->index, vq->packed ? "packed" : "split",
				     vq->packed ? vq->next_avail : vq->avail_idx,
				     virtq_used_idx(vq), vq->last_used,
				     virtio_status(vq->dev));
			return virtio_status(vq->dev) & VIRTIO_CONFIG_S_NEEDS_RESET ?
			       "virtio device needs reset" :
			       "virtio request timed out";
		}
		cpu_relax();
	}
}
