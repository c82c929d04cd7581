/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between pci.c (the root: config mechanism, slots, windows, dispatch) and
 * pci_config.c (one function's config space as the guest sees it).
 */
#ifndef SPLITVM_PCI_INTERNAL_H
#define SPLITVM_PCI_INTERNAL_H

#include "pci.h"

enum pci_space {
	PCI_SPACE_IO,
	PCI_SPACE_MEM,
};

struct pci_bar {
	enum pci_bar_type type;		/* NONE for a 64-bit upper half */
	bool prefetchable;
	uint64_t size;
	const struct bus_device_ops *ops;
	void *opaque;

	/* The root's view, under its lock. */
	bool mapped;
	uint64_t mapped_addr;
	uint64_t conflict_addr;		/* last overlap logged */
};

struct pci_device {
	char name[32];
	const struct pci_device_ops *ops;
	void *opaque;

	unsigned config_size;		/* PCI_CONFIG_SPACE_SIZE for now */
	uint8_t *config;		/* what the guest reads */
	uint8_t *wmask;			/* bits it may write */
	uint8_t *w1cmask;		/* bits it clears by writing one */
	unsigned cap_free;		/* next free offset for a capability */
	unsigned cap_last;		/* offset of the last one, 0: none */

	struct pci_bar bars[PCI_NUM_BARS];

	struct pci_root *root;		/* NULL while unregistered */
	unsigned devfn;

	uint8_t space[];		/* config, wmask, w1cmask */
};

/*
 * A guest access through a config mechanism: offset naturally aligned for
 * size 1, 2 or 4 and inside config space (callers check).  The write
 * returns true when it touched COMMAND or a BAR register, which may change
 * what decodes.
 */
uint32_t pci_config_guest_read(struct pci_device *dev, unsigned offset,
			       unsigned size);
bool pci_config_guest_write(struct pci_device *dev, unsigned offset,
			    unsigned size, uint32_t value);

static inline enum pci_space pci_bar_space(const struct pci_bar *bar)
{
	return bar->type == PCI_BAR_IO ? PCI_SPACE_IO : PCI_SPACE_MEM;
}

#endif
