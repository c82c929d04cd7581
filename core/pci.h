/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI: the root of bus 0 (configuration mechanism #1 at ports 0xcf8-0xcff,
 * the host bridge at 00:00.0, BAR windows and their dispatch) and the
 * device model PCI functions are built from (config space, BARs, capabilities).
 */
#ifndef SPLITVM_PCI_H
#define SPLITVM_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;
struct bus_device_ops;
struct pci_device;
struct pci_root;

/*
 * Configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): a dword
 * CONFIG_ADDRESS at 0xcf8 and the CONFIG_DATA dword at 0xcfc.  These, the
 * windows and the register layout below are guest ABI; they could move to
 * protocol/ (platform.h, a pci.h) so the test guest shares them.
 */
#define PCI_CONFIG_ADDRESS_PORT		0xcf8
#define PCI_CONFIG_DATA_PORT		0xcfc
#define PCI_CONFIG_ENABLE		0x80000000u

/*
 * Where the core puts BARs, as firmware would; the guest may move them
 * anywhere inside the windows, and BARs outside them do not decode.
 * 32-bit: the PCI hole from 3 GiB up to 0xf0000000, which leaves
 * [0xf0000000, 0xfec00000) for MMCONFIG and fixed platform MMIO and stays
 * clear of the IOAPIC, the local APICs and KVM's TSS/identity pages.
 * 64-bit: PCI_MMIO64_WINDOW_SIZE bytes from the first aligned address at
 * or above both 4 GiB and the end of RAM.
 */
#define PCI_IO_WINDOW_START		0xc000ull
#define PCI_IO_WINDOW_END		0x10000ull
#define PCI_MMIO32_WINDOW_START		0xc0000000ull
#define PCI_MMIO32_WINDOW_END		0xf0000000ull
#define PCI_MMIO64_WINDOW_ALIGN		(1ull << 30)
#define PCI_MMIO64_WINDOW_SIZE		(32ull << 30)

/* Bus 0 only, for now. */
#define PCI_MAX_SLOTS			32
#define PCI_MAX_FUNCTIONS		8
#define PCI_DEVFN(slot, fn)		((unsigned)(slot) << 3 | (unsigned)(fn))
#define PCI_SLOT_AUTO			(-1)

/*
 * Config space.  The mechanism #1 ports reach the first 256 bytes; the
 * device model keeps a size so PCIe's 4 KiB (MMCONFIG) can come later.
 */
#define PCI_CONFIG_SPACE_SIZE		256
#define PCIE_CONFIG_SPACE_SIZE		4096

/* Type 0 header offsets (spelled apart from Linux's pci_regs.h names). */
#define PCI_CFG_VENDOR_ID		0x00	/* 16 bits */
#define PCI_CFG_DEVICE_ID		0x02	/* 16 bits */
#define PCI_CFG_COMMAND			0x04	/* 16 bits */
#define PCI_CFG_STATUS			0x06	/* 16 bits */
#define PCI_CFG_REVISION		0x08
#define PCI_CFG_CLASS_PROG		0x09	/* class code: 24 bits */
#define PCI_CFG_CACHE_LINE_SIZE		0x0c
#define PCI_CFG_LATENCY_TIMER		0x0d
#define PCI_CFG_HEADER_TYPE		0x0e
#define PCI_CFG_BIST			0x0f
#define PCI_CFG_BAR0			0x10	/* 6 dwords */
#define PCI_CFG_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_CFG_SUBSYSTEM_ID		0x2e
#define PCI_CFG_ROM_ADDRESS		0x30
#define PCI_CFG_CAPABILITY_LIST		0x34
#define PCI_CFG_INTERRUPT_LINE		0x3c
#define PCI_CFG_INTERRUPT_PIN		0x3d
#define PCI_CFG_HEADER_END		0x40	/* capabilities start here */

#define PCI_CMD_IO			0x0001
#define PCI_CMD_MEMORY			0x0002
#define PCI_CMD_MASTER			0x0004
#define PCI_CMD_PARITY			0x0040
#define PCI_CMD_SERR			0x0100
#define PCI_CMD_INTX_DISABLE		0x0400

#define PCI_STS_INTERRUPT		0x0008
#define PCI_STS_CAP_LIST		0x0010
/* Error bits 8 and 11-15: write one to clear. */
#define PCI_STS_W1C_MASK		0xf900

#define PCI_HEADER_TYPE_NORMAL		0x00
#define PCI_HEADER_TYPE_MULTIFUNCTION	0x80

/* Low bits of a BAR register. */
#define PCI_BAR_REG_IO			0x1
#define PCI_BAR_REG_MEM64		0x4
#define PCI_BAR_REG_PREFETCH		0x8
#define PCI_BAR_REG_MEM_ADDR_MASK	(~0xfull)
#define PCI_BAR_REG_IO_ADDR_MASK	(~0x3ull)
#define PCI_NUM_BARS			6

#define PCI_CAPID_MSI			0x05
#define PCI_CAPID_VENDOR		0x09
#define PCI_CAPID_PCIE			0x10
#define PCI_CAPID_MSIX			0x11

#define PCI_CLASS_HOST_BRIDGE		0x060000

/*
 * 00:00.0.  Red Hat allocates 0x1b36 device ids for QEMU's virtual
 * hardware; 0x0008 is the generic PCIe host bridge (pci.ids: "QEMU PCIe Host
 * bridge").  With class 0x060000 it is what Linux's type 1 sanity check
 * looks for; we know of no Linux driver or quirk keyed on it.
 */
#define PCI_HOST_BRIDGE_VENDOR_ID	0x1b36
#define PCI_HOST_BRIDGE_DEVICE_ID	0x0008

/*
 * INTx wiring of bus 0, the one formula the transports and the DSDT's
 * _PRT share.  pin 0-3 is INTA#-INTD# (the Interrupt Pin register minus
 * one) of any function in slot; it reaches IOAPIC pin
 * PCI_INTX_GSI_FIRST + (slot + pin) % PCI_INTX_GSI_COUNT (rotated by
 * slot as bridges rotate pins), so neighbouring slots and the pins of
 * one slot spread over different lines.  Those GSIs have no MADT interrupt
 * source override: level-triggered, active low, as _PRT entries with a
 * GSI (Source 0) imply.  Returns the GSI, or -EINVAL for a slot or pin
 * out of range.
 */
#define PCI_INTX_PINS			4
#define PCI_INTX_GSI_FIRST		16
#define PCI_INTX_GSI_COUNT		8
int pci_intx_gsi(unsigned slot, unsigned pin)
	__attribute__((warn_unused_result));

/* ---- the device model ---- */

struct pci_device_info {
	const char *name;		/* log tag, copied ("virtio-net0") */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_id;
	uint8_t revision;
	uint32_t class_code;		/* base << 16 | sub << 8 | prog-if */
	uint8_t interrupt_pin;		/* 0: none, 1-4: INTA#-INTD# */
};

/*
 * What a device adds to the generic config-space behaviour; every member
 * is optional.  All run on vCPU threads with the root's lock held for
 * writing: they may use the pci_config_* accessors of their own device
 * and make KVM calls (ioeventfds), but must not (un)register PCI devices
 * or bus ranges: the caller holds a bus lock already.  opaque is the one
 * given to pci_device_create().
 */
struct pci_device_ops {
	/*
	 * A guest read of [offset, offset + size): naturally aligned, size
	 * 1, 2 or 4.  *value holds what config space says; change it to
	 * override (registers computed on the fly).
	 */
	void (*config_read)(void *opaque, unsigned offset, unsigned size,
			    uint32_t *value);
	/*
	 * A guest write, after it was applied through the write masks: old
	 * is what the bytes held before, value what the guest wrote.  For
	 * registers with side effects (MSI-X Message Control, ...).
	 */
	void (*config_write)(void *opaque, unsigned offset, unsigned size,
			     uint32_t old, uint32_t value);
	/*
	 * BAR `bar` starts decoding [addr, addr + size) (COMMAND enabled its
	 * space and the address lies in a window), or stops.  Accesses are
	 * dispatched by the core to the BAR's ops either way; these are for
	 * what lives outside the buses: ioeventfds at a notify address.
	 * A moved BAR is unmapped at the old address, then mapped at the new.
	 */
	void (*bar_map)(void *opaque, unsigned bar, uint64_t addr,
			uint64_t size);
	void (*bar_unmap)(void *opaque, unsigned bar, uint64_t addr,
			  uint64_t size);
};

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,		/* 4 to 256 bytes, 16-bit port addresses */
	PCI_BAR_MEM32,		/* 16 bytes to 2 GiB */
	PCI_BAR_MEM64,		/* 16 bytes to 2^62; takes two registers */
};

struct pci_bar_config {
	enum pci_bar_type type;
	bool prefetchable;		/* memory BARs only */
	uint64_t size;			/* a power of two */
	/*
	 * Accesses inside the BAR while it decodes: offset from the BAR's
	 * base.  They run on several vCPU threads at once (a device with
	 * state locks it), with the root's lock held for reading: they may
	 * read their device's config space but not write it.
	 */
	const struct bus_device_ops *ops;
	void *opaque;
};

/* A function with a type 0 header and no BARs or capabilities yet. */
int pci_device_create(const struct pci_device_info *info,
		      const struct pci_device_ops *ops, void *opaque,
		      struct pci_device **out)
	__attribute__((warn_unused_result));
/* Unregisters it first if it is still on a bus. */
void pci_device_destroy(struct pci_device *dev);

/*
 * Before registration.  -EINVAL for a bad index, type or size (or a 64-bit
 * BAR at index 5, or one overlapping a BAR already set), -EBUSY once the
 * device is registered.
 */
int pci_device_set_bar(struct pci_device *dev, unsigned bar,
		       const struct pci_bar_config *cfg)
	__attribute__((warn_unused_result));

/*
 * Append a capability (PCI 3.0, 6.7) and set the status CAP_LIST bit.
 * bytes[0..len) is the whole capability; its first two bytes (ID and next
 * pointer) are filled in.  Read-only to the guest until the device makes
 * fields writable with pci_config_set_wmask().  Returns its offset in
 * config space, -EINVAL for len < 2, -ENOSPC when it does not fit, -EBUSY
 * once registered.
 */
int pci_add_capability(struct pci_device *dev, uint8_t id, const void *bytes,
		       size_t len)
	__attribute__((warn_unused_result));

/*
 * The device's own access to its config space, bypassing the masks: at
 * setup, and from its callbacks.  offset + size must lie inside config
 * space and size be 1, 2 or 4 (an invariant of the caller: asserted).
 */
uint32_t pci_config_get(const struct pci_device *dev, unsigned offset,
			unsigned size);
void pci_config_set(struct pci_device *dev, unsigned offset, unsigned size,
		    uint32_t value);
/* Bits the guest may write; and bits it clears by writing one. */
void pci_config_set_wmask(struct pci_device *dev, unsigned offset,
			  unsigned size, uint32_t mask);
void pci_config_set_w1cmask(struct pci_device *dev, unsigned offset,
			    unsigned size, uint32_t mask);

/*
 * The address the BAR register holds now (64-bit BARs: both halves); like
 * the pci_config_* accessors, for setup and the device's callbacks.
 */
uint64_t pci_device_bar_addr(const struct pci_device *dev, unsigned bar);
/* Its devfn on bus 0, or -1 while unregistered. */
int pci_device_devfn(const struct pci_device *dev);

/* ---- the root ---- */

struct pci_root_config {
	struct bus *pio;		/* 0xcf8-0xcff, the I/O window */
	struct bus *mmio;		/* the memory windows */
	uint64_t ram_end;		/* end of the highest RAM region */
};

/*
 * Registers the config ports and the windows on the buses and puts the
 * host bridge at 00:00.0.
 */
int pci_root_create(const struct pci_root_config *cfg, struct pci_root **out)
	__attribute__((warn_unused_result));
/*
 * Unregisters everything from the buses (which must still exist) and
 * detaches the devices still registered; it destroys only the host bridge.
 */
void pci_root_destroy(struct pci_root *root);

/*
 * Plug dev in as function 0 of slot (0-31) or of the first free slot
 * (PCI_SLOT_AUTO), and give its BARs addresses in the windows (decoding
 * stays off until the guest sets COMMAND).  -EEXIST: slot taken; -EINVAL:
 * bad slot; -EBUSY: dev already registered; -ENOSPC: no free slot, or a BAR
 * does not fit its window.
 */
int pci_register_device(struct pci_root *root, int slot,
			struct pci_device *dev)
	__attribute__((warn_unused_result));
/* Unmaps its BARs and frees its slot (the BAR space is not reused). */
void pci_unregister_device(struct pci_device *dev);

/*
 * The 64-bit window for RAM ending at ram_end, [*start, *end): what the
 * root decodes and what the ACPI _CRS reports.  -EINVAL if it would wrap.
 */
int pci_mmio64_window(uint64_t ram_end, uint64_t *start, uint64_t *end)
	__attribute__((warn_unused_result));

/* Where the 64-bit window landed: [*start, *end). */
void pci_root_mmio64_window(const struct pci_root *root, uint64_t *start,
			    uint64_t *end);

#endif
