/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI bus 0 through configuration mechanism #1, assuming no slot: each
 * function's ids and class, its BARs sized the way firmware and Linux do
 * it, and its capability list.  Whatever a device answers, this ends: BAR
 * and capability walks are bounded, and sizing restores what it changed.
 *
 * Report lines (tests/pylib/svmtest.py parses them):
 *   guest: pci 00:<dd>.<f> vendor=0x<04x> device=0x<04x> class=0x<06x>
 *   guest: pci 00:<dd>.<f> bar<n> addr=0x<llx> size=0x<llx> type=mem32|mem64|io
 *   guest: pci 00:<dd>.<f> cap=0x<02x>
 *   guest: pci devices=<functions found> | pci none
 */
#include "guest.h"

/* PCI Local Bus 3.0; the VMM's side is core/pci.h (not visible here). */
#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u

#define PCI_SLOTS		32
#define PCI_FUNCTIONS		8

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_CLASS_REVISION	0x08
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_CAPABILITY_LIST	0x34
#define PCI_HEADER_END		0x40

#define PCI_COMMAND_IO		0x1
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_HEADER_MULTI	0x80
#define PCI_HEADER_LAYOUT	0x7f
#define PCI_BAR_IO		0x1
#define PCI_BAR_MEM_TYPE_MASK	0x6
#define PCI_BAR_MEM_TYPE_64	0x4

/* (256 - 64) / 4 capabilities fit; more means the list loops (Linux: 48). */
#define PCI_CAP_MAX		48

struct pci_fn {
	unsigned int slot, fn;
};

static uint32_t pci_address(const struct pci_fn *f, unsigned int reg)
{
	return PCI_CONFIG_ENABLE | f->slot << 11 | f->fn << 8 | (reg & 0xfc);
}

static uint32_t pci_read32(const struct pci_fn *f, unsigned int reg)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(f, reg));
	return inl(PCI_CONFIG_DATA);
}

static uint16_t pci_read16(const struct pci_fn *f, unsigned int reg)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(f, reg));
	return inw((uint16_t)(PCI_CONFIG_DATA + (reg & 2)));
}

static uint8_t pci_read8(const struct pci_fn *f, unsigned int reg)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(f, reg));
	return inb((uint16_t)(PCI_CONFIG_DATA + (reg & 3)));
}

static void pci_write32(const struct pci_fn *f, unsigned int reg, uint32_t v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(f, reg));
	outl(PCI_CONFIG_DATA, v);
}

static void pci_write16(const struct pci_fn *f, unsigned int reg, uint16_t v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(f, reg));
	outw((uint16_t)(PCI_CONFIG_DATA + (reg & 2)), v);
}

/* Linux's check: CONFIG_ADDRESS keeps what is written to it. */
static bool pci_mechanism_present(void)
{
	uint32_t saved = inl(PCI_CONFIG_ADDRESS);
	bool ok;

	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE);
	ok = inl(PCI_CONFIG_ADDRESS) == PCI_CONFIG_ENABLE;
	outl(PCI_CONFIG_ADDRESS, saved);
	return ok;
}

struct pci_bar_info {
	uint64_t addr;
	uint64_t size;		/* 0: not implemented */
	const char *type;
	unsigned int regs;	/* BAR registers it takes: 1 or 2 */
	bool consistent;	/* the mask is ones from the top down to size */
	bool restored;
};

/*
 * Write all ones, read back which address bits stick, restore.  Decoding
 * is off while this runs (the caller), so the device never answers at
 * the all-ones address.
 */
static void pci_size_bar(const struct pci_fn *f, unsigned int n,
			 unsigned int nbars, struct pci_bar_info *b)
{
	unsigned int reg = PCI_BAR0 + 4 * n;
	uint32_t orig = pci_read32(f, reg), orig_hi = 0, lo, hi = 0;
	uint64_t mask, want;

	b->regs = 1;
	if (orig & PCI_BAR_IO) {
		pci_write32(f, reg, 0xffffffffu);
		lo = pci_read32(f, reg);
		pci_write32(f, reg, orig);
		b->restored = pci_read32(f, reg) == orig;
		b->type = "io";
		b->addr = orig & ~3u;
		mask = lo & ~3u;
		b->size = mask & (~mask + 1);
		/* A 16-bit decoder leaves the upper half zero. */
		want = (~(b->size - 1) & 0xfffcu) | (mask & 0xffff0000u);
		b->consistent = (mask >> 16 == 0 || mask >> 16 == 0xffff) &&
				mask == want;
		return;
	}
	if ((orig & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 &&
	    n + 1 < nbars) {
		b->regs = 2;
		orig_hi = pci_read32(f, reg + 4);
	}
	pci_write32(f, reg, 0xffffffffu);
	if (b->regs == 2)
		pci_write32(f, reg + 4, 0xffffffffu);
	lo = pci_read32(f, reg);
	if (b->regs == 2)
		hi = pci_read32(f, reg + 4);
	pci_write32(f, reg, orig);
	b->restored = pci_read32(f, reg) == orig;
	if (b->regs == 2) {
		pci_write32(f, reg + 4, orig_hi);
		b->restored = b->restored && pci_read32(f, reg + 4) == orig_hi;
	}

	b->type = b->regs == 2 ? "mem64" : "mem32";
	b->addr = (orig & ~0xfull) | (uint64_t)orig_hi << 32;
	mask = (lo & ~0xfull) | (uint64_t)hi << 32;
	b->size = mask & (~mask + 1);
	want = ~(b->size - 1) & ~0xfull;
	if (b->regs == 1)
		want &= 0xffffffffu;
	b->consistent = mask == want;
}

static const char *pci_report_bars(const struct pci_fn *f, unsigned int nbars)
{
	const char *reason = NULL;
	uint16_t cmd = pci_read16(f, PCI_COMMAND);

	pci_write16(f, PCI_COMMAND,
		    cmd & (uint16_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (unsigned int n = 0; n < nbars;) {
		struct pci_bar_info b = { .size = 0 };

		pci_size_bar(f, n, nbars, &b);
		if (b.size) {
			guest_printf("guest: pci 00:%02x.%x bar%u addr=0x%llx size=0x%llx type=%s\n",
				     f->slot, f->fn, n,
				     (unsigned long long)b.addr,
				     (unsigned long long)b.size, b.type);
			if (!b.consistent || b.addr % b.size) {
				guest_printf("guest: warning: pci 00:%02x.%x bar%u sizing mask is not a power of two, or the address not aligned to it\n",
					     f->slot, f->fn, n);
				reason = "PCI BAR sizing inconsistent";
			}
		}
		if (!b.restored) {
			guest_printf("guest: warning: pci 00:%02x.%x bar%u lost its address while sized\n",
				     f->slot, f->fn, n);
			reason = "PCI BAR not restored";
		}
		n += b.regs;
	}
	pci_write16(f, PCI_COMMAND, cmd);
	if (pci_read16(f, PCI_COMMAND) != cmd) {
		guest_printf("guest: warning: pci 00:%02x.%x COMMAND not restored\n",
			     f->slot, f->fn);
		reason = "PCI COMMAND not restored";
	}
	return reason;
}

static const char *pci_report_caps(const struct pci_fn *f)
{
	unsigned int ptr, count = 0;

	if (!(pci_read16(f, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return NULL;
	for (ptr = pci_read8(f, PCI_CAPABILITY_LIST) & 0xfcu; ptr;
	     ptr = pci_read8(f, ptr + 1) & 0xfcu) {
		if (ptr < PCI_HEADER_END) {
			guest_printf("guest: warning: pci 00:%02x.%x capability pointer 0x%02x points into the header\n",
				     f->slot, f->fn, ptr);
			return "PCI capability pointer into the header";
		}
		if (count++ == PCI_CAP_MAX) {
			guest_printf("guest: warning: pci 00:%02x.%x capability list longer than %u entries (a loop?)\n",
				     f->slot, f->fn, PCI_CAP_MAX);
			return "PCI capability list does not end";
		}
		guest_printf("guest: pci 00:%02x.%x cap=0x%02x\n", f->slot,
			     f->fn, pci_read8(f, ptr));
	}
	return NULL;
}

static const char *pci_report_function(const struct pci_fn *f,
				       uint16_t vendor, uint8_t header)
{
	const char *reason, *caps;
	unsigned int nbars;

	guest_printf("guest: pci 00:%02x.%x vendor=0x%04x device=0x%04x class=0x%06x\n",
		     f->slot, f->fn, vendor, pci_read16(f, PCI_DEVICE_ID),
		     pci_read32(f, PCI_CLASS_REVISION) >> 8);
	/* Type 0 has six BARs, a PCI-PCI bridge two; CardBus is not walked. */
	switch (header & PCI_HEADER_LAYOUT) {
	case 0:
		nbars = 6;
		break;
	case 1:
		nbars = 2;
		break;
	default:
		return NULL;
	}
	reason = pci_report_bars(f, nbars);
	caps = pci_report_caps(f);
	return reason ? reason : caps;
}

const char *pci_report(void)
{
	const char *reason = NULL;
	unsigned int found = 0;

	if (!pci_mechanism_present()) {
		guest_printf("guest: pci none\n");
		return NULL;
	}
	for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
		struct pci_fn f = { slot, 0 };
		unsigned int fns = 1;

		if (pci_read16(&f, PCI_VENDOR_ID) == 0xffff)
			continue;
		if (pci_read8(&f, PCI_HEADER_TYPE) & PCI_HEADER_MULTI)
			fns = PCI_FUNCTIONS;
		for (f.fn = 0; f.fn < fns; f.fn++) {
			uint16_t vendor = pci_read16(&f, PCI_VENDOR_ID);
			const char *r;

			if (vendor == 0xffff)
				continue;
			found++;
			r = pci_report_function(&f, vendor,
						pci_read8(&f, PCI_HEADER_TYPE));
			if (!reason)
				reason = r;
		}
	}
	guest_printf("guest: pci devices=%u\n", found);
	return reason;
}

/* ---- drivers: find a function, size its BARs, reach its registers ---- */

uint8_t pci_cfg_read8(const struct pci_dev *d, unsigned int reg)
{
	struct pci_fn f = { d->slot, d->fn };

	return pci_read8(&f, reg);
}

uint16_t pci_cfg_read16(const struct pci_dev *d, unsigned int reg)
{
	struct pci_fn f = { d->slot, d->fn };

	return pci_read16(&f, reg);
}

uint32_t pci_cfg_read32(const struct pci_dev *d, unsigned int reg)
{
	struct pci_fn f = { d->slot, d->fn };

	return pci_read32(&f, reg);
}

void pci_cfg_write16(const struct pci_dev *d, unsigned int reg, uint16_t v)
{
	struct pci_fn f = { d->slot, d->fn };

	pci_write16(&f, reg, v);
}

/* A type 0 function's BARs, sized with decoding off as pci_report_bars(). */
static void pci_dev_fill(const struct pci_fn *f, struct pci_dev *d)
{
	uint16_t cmd = pci_read16(f, PCI_COMMAND);

	d->slot = f->slot;
	d->fn = f->fn;
	d->vendor = pci_read16(f, PCI_VENDOR_ID);
	d->device = pci_read16(f, PCI_DEVICE_ID);
	d->revision = (uint8_t)pci_read32(f, PCI_CLASS_REVISION);
	pci_write16(f, PCI_COMMAND,
		    cmd & (uint16_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (unsigned int n = 0; n < PCI_DEV_BARS;) {
		struct pci_bar_info b = { .size = 0 };

		pci_size_bar(f, n, PCI_DEV_BARS, &b);
		d->bar[n].addr = b.addr;
		d->bar[n].size = b.consistent ? b.size : 0;
		d->bar[n].io = b.type[0] == 'i';
		if (b.regs == 2)
			d->bar[n + 1] = (struct pci_dev_bar){ 0, 0, false };
		n += b.regs;
	}
	pci_write16(f, PCI_COMMAND, cmd);
}

bool pci_find(uint16_t vendor, uint16_t device, unsigned int nth,
	      struct pci_dev *d)
{
	if (!pci_mechanism_present())
		return false;
	for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
		struct pci_fn f = { slot, 0 };
		unsigned int fns = 1;

		if (pci_read16(&f, PCI_VENDOR_ID) == 0xffff)
			continue;
		if (pci_read8(&f, PCI_HEADER_TYPE) & PCI_HEADER_MULTI)
			fns = PCI_FUNCTIONS;
		for (f.fn = 0; f.fn < fns; f.fn++) {
			if (pci_read16(&f, PCI_VENDOR_ID) != vendor ||
			    pci_read16(&f, PCI_DEVICE_ID) != device ||
			    (pci_read8(&f, PCI_HEADER_TYPE) &
			     PCI_HEADER_LAYOUT) != 0)
				continue;
			if (nth--)
				continue;
			pci_dev_fill(&f, d);
			return true;
		}
	}
	return false;
}

void pci_enable_mem_master(const struct pci_dev *d)
{
	struct pci_fn f = { d->slot, d->fn };

	pci_write16(&f, PCI_COMMAND, pci_read16(&f, PCI_COMMAND) |
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* The first capability with this id at or after `from` (0: the start). */
unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id,
			  unsigned int from)
{
	struct pci_fn f = { d->slot, d->fn };
	unsigned int ptr, count = 0;

	if (!(pci_read16(&f, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	ptr = from ? pci_read8(&f, from + 1) & 0xfcu :
		     pci_read8(&f, PCI_CAPABILITY_LIST) & 0xfcu;
	for (; ptr >= PCI_HEADER_END && count++ < PCI_CAP_MAX;
	     ptr = pci_read8(&f, ptr + 1) & 0xfcu) {
		if (pci_read8(&f, ptr) == id)
			return ptr;
	}
	return 0;
}
