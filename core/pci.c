/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The root of PCI bus 0: configuration mechanism #1, the slot table, BAR
 * placement and the windows through which BAR accesses reach devices.
 *
 * Why the root claims whole windows on the buses instead of registering
 * each BAR: a BAR moves when the guest writes config space, which happens
 * inside a port bus dispatch (and later an MMIO one, for MMCONFIG) that
 * holds that bus's lock for reading; registering a range there would need
 * the same lock for writing.  So the buses see three fixed ranges and the
 * root keeps its own table of decoding BARs under its own lock.
 *
 * Locking: the root's rwlock is taken for writing by config accesses and
 * (un)registration, for reading by BAR accesses.  Callers hold a bus lock
 * for reading first, so the order is always bus, then root.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "pci_internal.h"
#include "platform.h"

#define TAG "pci"

#define PCI_MAX_DEVFN		(PCI_MAX_SLOTS * PCI_MAX_FUNCTIONS)
#define PCI_CONF_PORTS		8	/* CONFIG_ADDRESS, CONFIG_DATA */

_Static_assert(PCI_INTX_GSI_FIRST + PCI_INTX_GSI_COUNT <= PLATFORM_IOAPIC_PINS,
	       "INTx GSIs are IOAPIC pins");

/* CONFIG_ADDRESS: enable, reserved, bus, devfn, register. */
#define PCI_CONF_RESERVED_MASK	0x70000000u
#define PCI_CONF_BUS(a)		(((a) >> 16) & 0xff)
#define PCI_CONF_DEVFN(a)	(((a) >> 8) & 0xff)
/*
 * Bits 27:24 extend the register number to 4 KiB (AMD's CF8 extended
 * config, which Linux uses on AMD CPUs when it has no MMCONFIG).  While
 * functions have 256 bytes such registers read as all ones: a guest
 * probing extended space finds none, instead of an alias of the header.
 */
#define PCI_CONF_REG(a)		(((a) & 0xfc) | (((a) >> 16) & 0xf00))

enum pci_window_id {
	PCI_WINDOW_IO,
	PCI_WINDOW_MMIO32,
	PCI_WINDOW_MMIO64,
	PCI_NR_WINDOWS,
};

struct pci_window {
	struct pci_root *root;
	enum pci_space space;
	uint64_t start, end;
	struct bus *bus;
	bool registered;
};

struct pci_root {
	pthread_rwlock_t lock;
	struct bus *pio;
	bool conf_registered;
	uint32_t config_address;
	struct pci_device *devices[PCI_MAX_DEVFN];
	struct pci_window windows[PCI_NR_WINDOWS];
	uint64_t next_free[PCI_NR_WINDOWS];	/* bump allocators */
	/* Decoding BARs, in no order. */
	struct pci_bar *maps[PCI_MAX_DEVFN * PCI_NUM_BARS];
	unsigned nr_maps;
	struct pci_device *host_bridge;
};

/* ---- BAR placement and decoding ---- */

static enum pci_window_id pci_bar_window(const struct pci_bar *bar)
{
	switch (bar->type) {
	case PCI_BAR_IO:
		return PCI_WINDOW_IO;
	case PCI_BAR_MEM64:
		return PCI_WINDOW_MMIO64;
	default:
		return PCI_WINDOW_MMIO32;
	}
}

static bool pci_window_holds(const struct pci_window *w, uint64_t addr,
			     uint64_t size)
{
	return size <= w->end - w->start && addr >= w->start &&
	       addr <= w->end - size;
}

/* Like firmware: every BAR naturally aligned, largest first. */
static int pci_alloc_bars(struct pci_root *root, struct pci_device *dev)
{
	uint64_t next[PCI_NR_WINDOWS], addr[PCI_NUM_BARS] = { 0 };
	bool done[PCI_NUM_BARS] = { false };

	memcpy(next, root->next_free, sizeof(next));
	for (;;) {
		const struct pci_window *w;
		unsigned pick = PCI_NUM_BARS;
		enum pci_window_id wid;
		uint64_t a, size;

		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			if (dev->bars[i].type == PCI_BAR_NONE || done[i])
				continue;
			if (pick == PCI_NUM_BARS ||
			    dev->bars[i].size > dev->bars[pick].size)
				pick = i;
		}
		if (pick == PCI_NUM_BARS)
			break;
		size = dev->bars[pick].size;
		wid = pci_bar_window(&dev->bars[pick]);
		w = &root->windows[wid];
		a = (next[wid] + size - 1) & ~(size - 1);
		if (a < next[wid] || !pci_window_holds(w, a, size)) {
			log_err(TAG, "%s: no room for BAR %u (0x%llx bytes) in [0x%llx, 0x%llx)",
				dev->name, pick, (unsigned long long)size,
				(unsigned long long)w->start,
				(unsigned long long)w->end);
			return -ENOSPC;
		}
		next[wid] = a + size;
		addr[pick] = a;
		done[pick] = true;
	}

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		unsigned reg = PCI_CFG_BAR0 + 4 * i;
		uint32_t type_bits = pci_config_get(dev, reg, 4) & 0xf;

		if (!done[i])
			continue;
		if (dev->bars[i].type == PCI_BAR_IO)
			type_bits &= 0x3;
		pci_config_set(dev, reg, 4, (uint32_t)addr[i] | type_bits);
		if (dev->bars[i].type == PCI_BAR_MEM64)
			pci_config_set(dev, reg + 4, 4,
				       (uint32_t)(addr[i] >> 32));
	}
	memcpy(root->next_free, next, sizeof(next));
	return 0;
}

/* Where BAR n should decode now, if anywhere. */
static bool pci_bar_wanted(const struct pci_root *root,
			   const struct pci_device *dev, unsigned n,
			   uint64_t *addr)
{
	const struct pci_bar *bar = &dev->bars[n];
	uint32_t cmd = pci_config_get(dev, PCI_CFG_COMMAND, 2);
	uint32_t enable = bar->type == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEMORY;

	if (bar->type == PCI_BAR_NONE || !(cmd & enable))
		return false;
	*addr = pci_device_bar_addr(dev, n);
	/* A 64-bit BAR may sit below 4 GiB too. */
	for (unsigned w = 0; w < PCI_NR_WINDOWS; w++) {
		if (root->windows[w].space == pci_bar_space(bar) &&
		    pci_window_holds(&root->windows[w], *addr, bar->size))
			return true;
	}
	return false;
}

static void pci_bar_unmap(struct pci_root *root, struct pci_device *dev,
			  unsigned n)
{
	struct pci_bar *bar = &dev->bars[n];

	for (unsigned i = 0; i < root->nr_maps; i++) {
		if (root->maps[i] == bar) {
			root->maps[i] = root->maps[--root->nr_maps];
			break;
		}
	}
	bar->mapped = false;
	log_debug(TAG, "%s: BAR %u off 0x%llx", dev->name, n,
		  (unsigned long long)bar->mapped_addr);
	if (dev->ops->bar_unmap)
		dev->ops->bar_unmap(dev->opaque, n, bar->mapped_addr,
				    bar->size);
}

static void pci_bar_map(struct pci_root *root, struct pci_device *dev,
			unsigned n, uint64_t addr)
{
	struct pci_bar *bar = &dev->bars[n];

	for (unsigned i = 0; i < root->nr_maps; i++) {
		const struct pci_bar *o = root->maps[i];

		if (pci_bar_space(o) != pci_bar_space(bar) ||
		    addr > o->mapped_addr + (o->size - 1) ||
		    o->mapped_addr > addr + (bar->size - 1))
			continue;
		/* Left off until the other one moves; say so once. */
		if (bar->conflict_addr != addr)
			log_warn(TAG, "%s: BAR %u at 0x%llx overlaps another BAR; not decoding it",
				 dev->name, n, (unsigned long long)addr);
		bar->conflict_addr = addr;
		return;
	}
	bar->conflict_addr = 0;
	bar->mapped = true;
	bar->mapped_addr = addr;
	root->maps[root->nr_maps++] = bar;
	log_debug(TAG, "%s: BAR %u at 0x%llx size 0x%llx", dev->name, n,
		  (unsigned long long)addr, (unsigned long long)bar->size);
	if (dev->ops->bar_map)
		dev->ops->bar_map(dev->opaque, n, addr, bar->size);
}

/*
 * Bring what decodes in line with COMMAND and the BAR registers of every
 * function: all unmaps first, so a BAR may move into space another one
 * just left, and BARs refused for an overlap are retried.
 */
static void pci_root_update(struct pci_root *root)
{
	uint64_t addr;

	for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
		struct pci_device *dev = root->devices[d];

		for (unsigned n = 0; dev && n < PCI_NUM_BARS; n++) {
			struct pci_bar *bar = &dev->bars[n];
			bool want = pci_bar_wanted(root, dev, n, &addr);

			if (bar->mapped && (!want || addr != bar->mapped_addr))
				pci_bar_unmap(root, dev, n);
		}
	}
	for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
		struct pci_device *dev = root->devices[d];

		for (unsigned n = 0; dev && n < PCI_NUM_BARS; n++) {
			if (!dev->bars[n].mapped &&
			    pci_bar_wanted(root, dev, n, &addr))
				pci_bar_map(root, dev, n, addr);
		}
	}
}

/* ---- BAR accesses, through the windows ---- */

static const struct pci_bar *pci_root_find(const struct pci_root *root,
					   enum pci_space space, uint64_t addr,
					   unsigned size)
{
	for (unsigned i = 0; i < root->nr_maps; i++) {
		const struct pci_bar *b = root->maps[i];
		uint64_t off = addr - b->mapped_addr;

		if (pci_bar_space(b) != space || addr < b->mapped_addr ||
		    off >= b->size)
			continue;
		/* Straddling the end of the BAR: nothing claims all of it. */
		return size <= b->size - off ? b : NULL;
	}
	return NULL;
}

static uint64_t pci_window_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_window *w = opaque;
	struct pci_root *root = w->root;
	uint64_t addr = w->start + offset, v = ~0ull;
	const struct pci_bar *b;

	pthread_rwlock_rdlock(&root->lock);
	b = pci_root_find(root, w->space, addr, size);
	if (b)
		v = b->ops->read(b->opaque, addr - b->mapped_addr, size);
	pthread_rwlock_unlock(&root->lock);
	return v;
}

static void pci_window_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
	struct pci_window *w = opaque;
	struct pci_root *root = w->root;
	uint64_t addr = w->start + offset;
	const struct pci_bar *b;

	pthread_rwlock_rdlock(&root->lock);
	b = pci_root_find(root, w->space, addr, size);
	if (b)
		b->ops->write(b->opaque, addr - b->mapped_addr, value, size);
	pthread_rwlock_unlock(&root->lock);
}

static const struct bus_device_ops pci_window_ops = {
	.name = "pci-window",
	.read = pci_window_read,
	.write = pci_window_write,
};

/* ---- configuration mechanism #1 ---- */

/* The function and register CONFIG_ADDRESS selects, or NULL. */
static struct pci_device *pci_conf_target(struct pci_root *root,
					   unsigned *reg)
{
	uint32_t a = root->config_address;
	struct pci_device *dev;

	if (!(a & PCI_CONFIG_ENABLE) || (a & PCI_CONF_RESERVED_MASK) ||
	    PCI_CONF_BUS(a) != 0)
		return NULL;
	dev = root->devices[PCI_CONF_DEVFN(a)];
	*reg = PCI_CONF_REG(a);
	return dev && *reg < dev->config_size ? dev : NULL;
}

static uint32_t pci_ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/*
 * Split an access to the 8 ports at pos..end into the pieces a chipset
 * would see: the CONFIG_ADDRESS bytes (any access but a whole dword there
 * is not a config cycle), naturally aligned CONFIG_DATA pieces, and bytes
 * past 0xcff of an access that straddles the end.
 */
static unsigned pci_conf_piece(unsigned pos, unsigned end)
{
	unsigned n;

	if (pos < 4)
		return (end < 4 ? end : 4) - pos;
	if (pos >= PCI_CONF_PORTS)
		return end - pos;
	if (end > PCI_CONF_PORTS)
		end = PCI_CONF_PORTS;
	for (n = 4; n > 1; n /= 2) {
		if (pos % n == 0 && pos + n <= end)
			break;
	}
	return n;
}

static uint32_t pci_conf_data_read(struct pci_root *root, unsigned byte,
				   unsigned size)
{
	unsigned reg;
	struct pci_device *dev = pci_conf_target(root, &reg);

	if (!dev)
		return pci_ones(size);
	return pci_config_guest_read(dev, reg + byte, size);
}

static void pci_conf_data_write(struct pci_root *root, unsigned byte,
				unsigned size, uint32_t value)
{
	unsigned reg;
	struct pci_device *dev = pci_conf_target(root, &reg);

	if (dev && pci_config_guest_write(dev, reg + byte, size, value))
		pci_root_update(root);
}

static uint64_t pci_conf_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_root *root = opaque;
	unsigned end = (unsigned)offset + size;
	uint64_t v = 0;

	if (offset >= PCI_CONF_PORTS || size > 8)
		return ~0ull;
	pthread_rwlock_wrlock(&root->lock);
	if (offset == 0 && size == 4) {
		v = root->config_address;
	} else {
		for (unsigned pos = (unsigned)offset, n; pos < end; pos += n) {
			uint32_t piece;

			n = pci_conf_piece(pos, end);
			if (pos >= 4 && pos < PCI_CONF_PORTS)
				piece = pci_conf_data_read(root, pos - 4, n);
			else
				piece = pci_ones(n);
			v |= (uint64_t)piece << (8 * (pos - offset));
		}
	}
	pthread_rwlock_unlock(&root->lock);
	return v;
}

static void pci_conf_write(void *opaque, uint64_t offset, uint64_t value,
			   unsigned size)
{
	struct pci_root *root = opaque;
	unsigned end = (unsigned)offset + size;

	if (offset >= PCI_CONF_PORTS || size > 8)
		return;
	pthread_rwlock_wrlock(&root->lock);
	if (offset == 0 && size == 4) {
		/* Bits 1:0 are read-only zeros. */
		root->config_address = (uint32_t)value & ~3u;
	} else {
		for (unsigned pos = (unsigned)offset, n; pos < end; pos += n) {
			uint32_t piece = (uint32_t)(value >> (8 * (pos - offset)));

			n = pci_conf_piece(pos, end);
			if (pos >= 4 && pos < PCI_CONF_PORTS)
				pci_conf_data_write(root, pos - 4, n,
						    piece & pci_ones(n));
		}
	}
	pthread_rwlock_unlock(&root->lock);
}

static const struct bus_device_ops pci_conf_ops = {
	.name = "pci-conf",
	.read = pci_conf_read,
	.write = pci_conf_write,
};

/* ---- devices ---- */

int pci_register_device(struct pci_root *root, int slot,
			struct pci_device *dev)
{
	unsigned devfn = 0;
	int ret = 0;

	pthread_rwlock_wrlock(&root->lock);
	if (dev->root) {
		ret = -EBUSY;
	} else if (slot == PCI_SLOT_AUTO) {
		ret = -ENOSPC;
		for (unsigned s = 0; s < PCI_MAX_SLOTS && ret; s++) {
			devfn = PCI_DEVFN(s, 0);
			if (!root->devices[devfn])
				ret = 0;
		}
	} else if (slot < 0 || slot >= PCI_MAX_SLOTS) {
		ret = -EINVAL;
	} else {
		devfn = PCI_DEVFN(slot, 0);
		if (root->devices[devfn])
			ret = -EEXIST;
	}
	if (!ret)
		ret = pci_alloc_bars(root, dev);
	if (!ret) {
		root->devices[devfn] = dev;
		dev->root = root;
		dev->devfn = devfn;
		pci_root_update(root);
	}
	pthread_rwlock_unlock(&root->lock);

	if (ret)
		log_err(TAG, "%s: cannot register in slot %d: %s", dev->name,
			slot, strerror(-ret));
	else
		log_debug(TAG, "%s at 00:%02x.%x", dev->name, devfn >> 3,
			  devfn & 7);
	return ret;
}

void pci_unregister_device(struct pci_device *dev)
{
	struct pci_root *root = dev->root;

	if (!root)
		return;
	pthread_rwlock_wrlock(&root->lock);
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		if (dev->bars[n].mapped)
			pci_bar_unmap(root, dev, n);
	}
	root->devices[dev->devfn] = NULL;
	dev->root = NULL;
	/* BARs that overlapped this one's may decode now. */
	pci_root_update(root);
	pthread_rwlock_unlock(&root->lock);
}

/* ---- the root ---- */

int pci_intx_gsi(unsigned slot, unsigned pin)
{
	if (slot >= PCI_MAX_SLOTS || pin >= PCI_INTX_PINS)
		return -EINVAL;
	return PCI_INTX_GSI_FIRST + (int)((slot + pin) % PCI_INTX_GSI_COUNT);
}

int pci_mmio64_window(uint64_t ram_end, uint64_t *start, uint64_t *end)
{
	uint64_t base = ram_end > PLATFORM_HIGH_RAM_START ?
			ram_end : PLATFORM_HIGH_RAM_START;

	base = (base + PCI_MMIO64_WINDOW_ALIGN - 1) &
	       ~(PCI_MMIO64_WINDOW_ALIGN - 1);
	if (base < ram_end || base + PCI_MMIO64_WINDOW_SIZE < base)
		return -EINVAL;
	*start = base;
	*end = base + PCI_MMIO64_WINDOW_SIZE;
	return 0;
}

static int pci_root_windows(struct pci_root *root,
			    const struct pci_root_config *cfg)
{
	uint64_t base, end;

	if (pci_mmio64_window(cfg->ram_end, &base, &end))
		return -EINVAL;
	root->windows[PCI_WINDOW_IO] = (struct pci_window){
		.root = root, .space = PCI_SPACE_IO, .bus = cfg->pio,
		.start = PCI_IO_WINDOW_START, .end = PCI_IO_WINDOW_END,
	};
	root->windows[PCI_WINDOW_MMIO32] = (struct pci_window){
		.root = root, .space = PCI_SPACE_MEM, .bus = cfg->mmio,
		.start = PCI_MMIO32_WINDOW_START, .end = PCI_MMIO32_WINDOW_END,
	};
	root->windows[PCI_WINDOW_MMIO64] = (struct pci_window){
		.root = root, .space = PCI_SPACE_MEM, .bus = cfg->mmio,
		.start = base, .end = end,
	};
	for (unsigned w = 0; w < PCI_NR_WINDOWS; w++) {
		struct pci_window *win = &root->windows[w];
		int ret;

		root->next_free[w] = win->start;
		ret = bus_register(win->bus, win->start, win->end - win->start,
				   &pci_window_ops, win);
		if (ret)
			return ret;
		win->registered = true;
	}
	return 0;
}

int pci_root_create(const struct pci_root_config *cfg, struct pci_root **out)
{
	static const struct pci_device_info host_bridge = {
		.name = "host-bridge",
		.vendor_id = PCI_HOST_BRIDGE_VENDOR_ID,
		.device_id = PCI_HOST_BRIDGE_DEVICE_ID,
		.class_code = PCI_CLASS_HOST_BRIDGE,
	};
	struct pci_root *root;
	int ret;

	if (!cfg || !cfg->pio || !cfg->mmio)
		return -EINVAL;
	root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	pthread_rwlock_init(&root->lock, NULL);
	root->pio = cfg->pio;

	ret = bus_register(cfg->pio, PCI_CONFIG_ADDRESS_PORT, PCI_CONF_PORTS,
			   &pci_conf_ops, root);
	if (!ret) {
		root->conf_registered = true;
		ret = pci_root_windows(root, cfg);
	}
	if (!ret)
		ret = pci_device_create(&host_bridge, NULL, NULL,
					&root->host_bridge);
	if (!ret)
		ret = pci_register_device(root, 0, root->host_bridge);
	if (ret) {
		log_err(TAG, "cannot set up the PCI root: %s", strerror(-ret));
		pci_root_destroy(root);
		return ret;
	}
	*out = root;
	return 0;
}

void pci_root_destroy(struct pci_root *root)
{
	if (!root)
		return;
	/* Devices owned elsewhere outlive the root, detached. */
	for (unsigned d = 0; d < PCI_MAX_DEVFN; d++) {
		if (root->devices[d])
			pci_unregister_device(root->devices[d]);
	}
	pci_device_destroy(root->host_bridge);
	for (unsigned w = 0; w < PCI_NR_WINDOWS; w++) {
		struct pci_window *win = &root->windows[w];

		if (win->registered && bus_unregister(win->bus, win->start))
			log_warn(TAG, "window at 0x%llx was not registered",
				 (unsigned long long)win->start);
	}
	if (root->conf_registered &&
	    bus_unregister(root->pio, PCI_CONFIG_ADDRESS_PORT))
		log_warn(TAG, "config ports were not registered");
	pthread_rwlock_destroy(&root->lock);
	free(root);
}

void pci_root_mmio64_window(const struct pci_root *root, uint64_t *start,
			    uint64_t *end)
{
	*start = root->windows[PCI_WINDOW_MMIO64].start;
	*end = root->windows[PCI_WINDOW_MMIO64].end;
}
