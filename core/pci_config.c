/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One PCI function's config space: the header, BAR registers and the
 * capability list, with per-byte write masks so whatever the guest writes
 * lands only on bits it may change.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "pci_internal.h"

#define PCI_CMD_WRITABLE	(PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | \
				 PCI_CMD_PARITY | PCI_CMD_SERR | \
				 PCI_CMD_INTX_DISABLE)

#define PCI_IO_BAR_MIN		4
#define PCI_IO_BAR_MAX		256	/* PCI 2.2 on, 6.2.5.1 */
#define PCI_MEM_BAR_MIN		16
#define PCI_MEM32_BAR_MAX	(2ull << 30)
#define PCI_MEM64_BAR_MAX	(1ull << 62)

static uint32_t pci_load_le(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void pci_store_le(uint8_t *p, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void pci_config_check(const struct pci_device *dev, unsigned offset,
			     unsigned size)
{
	assert(size == 1 || size == 2 || size == 4);
	assert(offset < dev->config_size && size <= dev->config_size - offset);
	(void)dev;
	(void)offset;
	(void)size;
}

uint32_t pci_config_get(const struct pci_device *dev, unsigned offset,
			unsigned size)
{
	pci_config_check(dev, offset, size);
	return pci_load_le(dev->config + offset, size);
}

void pci_config_set(struct pci_device *dev, unsigned offset, unsigned size,
		    uint32_t value)
{
	pci_config_check(dev, offset, size);
	pci_store_le(dev->config + offset, size, value);
}

void pci_config_set_wmask(struct pci_device *dev, unsigned offset,
			  unsigned size, uint32_t mask)
{
	pci_config_check(dev, offset, size);
	pci_store_le(dev->wmask + offset, size, mask);
}

void pci_config_set_w1cmask(struct pci_device *dev, unsigned offset,
			    unsigned size, uint32_t mask)
{
	pci_config_check(dev, offset, size);
	pci_store_le(dev->w1cmask + offset, size, mask);
}

int pci_device_create(const struct pci_device_info *info,
		      const struct pci_device_ops *ops, void *opaque,
		      struct pci_device **out)
{
	static const struct pci_device_ops no_ops;
	const unsigned size = PCI_CONFIG_SPACE_SIZE;
	struct pci_device *dev;

	/* 0xffff is what an empty slot reads: never a real vendor. */
	if (!info || info->vendor_id == 0xffff ||
	    info->class_code > 0xffffff || info->interrupt_pin > 4)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev) + 3 * size);
	if (!dev)
		return -ENOMEM;
	snprintf(dev->name, sizeof(dev->name), "%s",
		 info->name ? info->name : "pci");
	dev->ops = ops ? ops : &no_ops;
	dev->opaque = opaque;
	dev->config_size = size;
	dev->config = dev->space;
	dev->wmask = dev->space + size;
	dev->w1cmask = dev->space + 2 * size;
	dev->cap_free = PCI_CFG_HEADER_END;

	pci_config_set(dev, PCI_CFG_VENDOR_ID, 2, info->vendor_id);
	pci_config_set(dev, PCI_CFG_DEVICE_ID, 2, info->device_id);
	pci_config_set(dev, PCI_CFG_REVISION, 1, info->revision);
	pci_config_set(dev, PCI_CFG_CLASS_PROG, 1, info->class_code & 0xff);
	pci_config_set(dev, PCI_CFG_CLASS_PROG + 1, 2, info->class_code >> 8);
	pci_config_set(dev, PCI_CFG_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL);
	pci_config_set(dev, PCI_CFG_SUBSYSTEM_VENDOR_ID, 2,
		       info->subsystem_vendor_id);
	pci_config_set(dev, PCI_CFG_SUBSYSTEM_ID, 2, info->subsystem_id);
	pci_config_set(dev, PCI_CFG_INTERRUPT_PIN, 1, info->interrupt_pin);

	/* Everything else (ids, class, header type, ROM, BIST) is read-only. */
	pci_config_set_wmask(dev, PCI_CFG_COMMAND, 2, PCI_CMD_WRITABLE);
	pci_config_set_w1cmask(dev, PCI_CFG_STATUS, 2, PCI_STS_W1C_MASK);
	pci_config_set_wmask(dev, PCI_CFG_CACHE_LINE_SIZE, 1, 0xff);
	pci_config_set_wmask(dev, PCI_CFG_LATENCY_TIMER, 1, 0xff);
	pci_config_set_wmask(dev, PCI_CFG_INTERRUPT_LINE, 1, 0xff);

	*out = dev;
	return 0;
}

void pci_device_destroy(struct pci_device *dev)
{
	if (!dev)
		return;
	if (dev->root)
		pci_unregister_device(dev);
	free(dev);
}

static bool pci_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int pci_bar_check(const struct pci_device *dev, unsigned bar,
			 const struct pci_bar_config *cfg)
{
	uint64_t min, max;

	if (bar >= PCI_NUM_BARS || !cfg || !cfg->ops || !cfg->ops->read ||
	    !cfg->ops->write)
		return -EINVAL;
	switch (cfg->type) {
	case PCI_BAR_IO:
		if (cfg->prefetchable)
			return -EINVAL;
		min = PCI_IO_BAR_MIN;
		max = PCI_IO_BAR_MAX;
		break;
	case PCI_BAR_MEM32:
		min = PCI_MEM_BAR_MIN;
		max = PCI_MEM32_BAR_MAX;
		break;
	case PCI_BAR_MEM64:
		if (bar == PCI_NUM_BARS - 1 ||
		    dev->bars[bar + 1].type != PCI_BAR_NONE)
			return -EINVAL;
		min = PCI_MEM_BAR_MIN;
		max = PCI_MEM64_BAR_MAX;
		break;
	default:
		return -EINVAL;
	}
	if (!pci_is_pow2(cfg->size) || cfg->size < min || cfg->size > max)
		return -EINVAL;
	/* Taken, or the upper half of a 64-bit BAR. */
	if (dev->bars[bar].type != PCI_BAR_NONE ||
	    (bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64))
		return -EINVAL;
	return 0;
}

int pci_device_set_bar(struct pci_device *dev, unsigned bar,
		       const struct pci_bar_config *cfg)
{
	unsigned reg = PCI_CFG_BAR0 + 4 * bar;
	uint64_t addr_mask;
	uint32_t low, mem_mask;
	int ret;

	if (dev->root)
		return -EBUSY;
	ret = pci_bar_check(dev, bar, cfg);
	if (ret)
		return ret;

	dev->bars[bar] = (struct pci_bar){
		.type = cfg->type,
		.prefetchable = cfg->prefetchable,
		.size = cfg->size,
		.ops = cfg->ops,
		.opaque = cfg->opaque,
	};
	/*
	 * Sizing works through the write mask alone: address bits below the
	 * size are read-only zeros, so writing all ones reads back ~(size-1)
	 * with the read-only type bits.
	 */
	addr_mask = ~(cfg->size - 1);
	mem_mask = (uint32_t)(addr_mask & PCI_BAR_REG_MEM_ADDR_MASK);
	switch (cfg->type) {
	case PCI_BAR_IO:
		/* x86 ports are 16 bits: the upper half reads as zero. */
		pci_config_set(dev, reg, 4, PCI_BAR_REG_IO);
		pci_config_set_wmask(dev, reg, 4,
				     (uint32_t)addr_mask & 0xfffc);
		break;
	case PCI_BAR_MEM32:
		low = cfg->prefetchable ? PCI_BAR_REG_PREFETCH : 0;
		pci_config_set(dev, reg, 4, low);
		pci_config_set_wmask(dev, reg, 4, mem_mask);
		break;
	case PCI_BAR_MEM64:
		low = PCI_BAR_REG_MEM64 |
		      (cfg->prefetchable ? PCI_BAR_REG_PREFETCH : 0);
		pci_config_set(dev, reg, 4, low);
		pci_config_set_wmask(dev, reg, 4, mem_mask);
		pci_config_set(dev, reg + 4, 4, 0);
		pci_config_set_wmask(dev, reg + 4, 4,
				     (uint32_t)(addr_mask >> 32));
		break;
	case PCI_BAR_NONE:
		break;
	}
	return 0;
}

uint64_t pci_device_bar_addr(const struct pci_device *dev, unsigned bar)
{
	unsigned reg = PCI_CFG_BAR0 + 4 * bar;
	uint64_t low;

	if (bar >= PCI_NUM_BARS)
		return 0;
	low = pci_config_get(dev, reg, 4);
	switch (dev->bars[bar].type) {
	case PCI_BAR_IO:
		return low & PCI_BAR_REG_IO_ADDR_MASK;
	case PCI_BAR_MEM32:
		return low & PCI_BAR_REG_MEM_ADDR_MASK;
	case PCI_BAR_MEM64:
		return (low & PCI_BAR_REG_MEM_ADDR_MASK) |
		       (uint64_t)pci_config_get(dev, reg + 4, 4) << 32;
	case PCI_BAR_NONE:
		break;
	}
	return 0;
}

int pci_device_devfn(const struct pci_device *dev)
{
	return dev->root ? (int)dev->devfn : -1;
}

int pci_add_capability(struct pci_device *dev, uint8_t id, const void *bytes,
		       size_t len)
{
	unsigned off = dev->cap_free;
	uint32_t status;

	if (dev->root)
		return -EBUSY;
	if (!bytes || len < 2)
		return -EINVAL;
	/* Standard capabilities live in the first 256 bytes, always. */
	if (off >= PCI_CONFIG_SPACE_SIZE || len > PCI_CONFIG_SPACE_SIZE - off)
		return -ENOSPC;

	memcpy(dev->config + off, bytes, len);
	dev->config[off] = id;
	dev->config[off + 1] = 0;
	if (dev->cap_last)
		dev->config[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->config[PCI_CFG_CAPABILITY_LIST] = (uint8_t)off;
	dev->cap_last = off;
	/* The next one dword aligned: the low two pointer bits are reserved. */
	dev->cap_free = (unsigned)((off + len + 3) & ~(size_t)3);
	status = pci_config_get(dev, PCI_CFG_STATUS, 2);
	pci_config_set(dev, PCI_CFG_STATUS, 2, status | PCI_STS_CAP_LIST);
	return (int)off;
}

uint32_t pci_config_guest_read(struct pci_device *dev, unsigned offset,
			       unsigned size)
{
	uint32_t v = pci_load_le(dev->config + offset, size);

	if (dev->ops->config_read) {
		dev->ops->config_read(dev->opaque, offset, size, &v);
		if (size < 4)
			v &= (1u << (8 * size)) - 1;
	}
	return v;
}

static bool pci_ranges_overlap(unsigned a, unsigned alen, unsigned b,
			       unsigned blen)
{
	return a < b + blen && b < a + alen;
}

bool pci_config_guest_write(struct pci_device *dev, unsigned offset,
			    unsigned size, uint32_t value)
{
	uint32_t old = pci_load_le(dev->config + offset, size);

	for (unsigned i = 0; i < size; i++) {
		unsigned o = offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		uint8_t c = dev->config[o];

		c = (uint8_t)((c & ~dev->wmask[o]) | (b & dev->wmask[o]));
		c &= (uint8_t)~(b & dev->w1cmask[o]);
		dev->config[o] = c;
	}
	if (dev->ops->config_write)
		dev->ops->config_write(dev->opaque, offset, size, old, value);
	return pci_ranges_overlap(offset, size, PCI_CFG_COMMAND, 2) ||
	       pci_ranges_overlap(offset, size, PCI_CFG_BAR0, 4 * PCI_NUM_BARS);
}
