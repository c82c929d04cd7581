/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PCI root driven through ports 0xcf8-0xcff and the buses as a guest
 * would: the host bridge, empty slots, every access width at every offset,
 * read-only and write-one-to-clear bits, BAR sizing, placement and
 * decoding (with the device's map callbacks), capabilities, slots.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "pci.h"
#include "testutil.h"
#include "unit.h"

#define RAM_END		(5ull << 30)	/* 64-bit window from 5 GiB */
#define MMIO64_BASE	(5ull << 30)

/* The test device's BARs and where the root places them (largest first). */
#define BAR0_SIZE	0x1000ull	/* mem32 */
#define BAR1_SIZE	0x40ull		/* io */
#define BAR2_SIZE	0x4000ull	/* mem64, prefetchable */
#define BAR4_SIZE	(8ull << 30)	/* mem64 */
#define BAR0_ADDR	PCI_MMIO32_WINDOW_START
#define BAR1_ADDR	PCI_IO_WINDOW_START
#define BAR4_ADDR	(8ull << 30)	/* 8 GiB aligned, above 5 GiB */
#define BAR2_ADDR	(BAR4_ADDR + BAR4_SIZE)

#define ADDR		PCI_CONFIG_ADDRESS_PORT
#define DATA		PCI_CONFIG_DATA_PORT

static struct bus *pio, *mmio;
static struct pci_root *root;

/* ---- a configurable fake device ---- */

struct map_event {
	bool map;
	unsigned bar;
	uint64_t addr, size;
};

struct fake_dev;

struct fake_bar {
	struct fake_dev *dev;
	unsigned n;
	unsigned reads, writes, last_size;
	uint64_t last_offset, last_value;
};

struct fake_dev {
	struct pci_device *pci;
	struct fake_bar bars[PCI_NUM_BARS];
	struct map_event events[64];
	unsigned nr_events;
	unsigned cfg_writes, last_wr_offset, last_wr_size;
	uint32_t last_wr_old, last_wr_value;
	unsigned override_offset;	/* config_read: 0 = none */
	uint32_t override_value;
};

static uint64_t fake_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fake_bar *b = opaque;

	b->reads++;
	b->last_offset = offset;
	b->last_size = size;
	return 0xb0000000u | b->n << 16 | (uint32_t)offset;
}

static void fake_bar_write(void *opaque, uint64_t offset, uint64_t value,
			   unsigned size)
{
	struct fake_bar *b = opaque;

	b->writes++;
	b->last_offset = offset;
	b->last_value = value;
	b->last_size = size;
}

static const struct bus_device_ops fake_bar_ops = {
	.name = "fake-bar",
	.read = fake_bar_read,
	.write = fake_bar_write,
};

static void fake_config_read(void *opaque, unsigned offset, unsigned size,
			     uint32_t *value)
{
	struct fake_dev *d = opaque;

	if (d->override_offset && offset == d->override_offset)
		*value = d->override_value;
}

static void fake_config_write(void *opaque, unsigned offset, unsigned size,
			      uint32_t old, uint32_t value)
{
	struct fake_dev *d = opaque;

	d->cfg_writes++;
	d->last_wr_offset = offset;
	d->last_wr_size = size;
	d->last_wr_old = old;
	d->last_wr_value = value;
}

static void fake_event(struct fake_dev *d, bool map, unsigned bar,
		       uint64_t addr, uint64_t size)
{
	if (d->nr_events < sizeof(d->events) / sizeof(d->events[0]))
		d->events[d->nr_events++] = (struct map_event){ map, bar, addr,
								size };
}

static void fake_bar_map(void *opaque, unsigned bar, uint64_t addr,
			 uint64_t size)
{
	fake_event(opaque, true, bar, addr, size);
}

static void fake_bar_unmap(void *opaque, unsigned bar, uint64_t addr,
			   uint64_t size)
{
	fake_event(opaque, false, bar, addr, size);
}

static const struct pci_device_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.bar_map = fake_bar_map,
	.bar_unmap = fake_bar_unmap,
};

static const struct pci_device_info fake_info = {
	.name = "fake",
	.vendor_id = 0x1af4,
	.device_id = 0x1041,
	.subsystem_vendor_id = 0x1af4,
	.subsystem_id = 0x0001,
	.revision = 0x01,
	.class_code = 0x020000,
	.interrupt_pin = 1,
};

static void fake_create(struct fake_dev *d)
{
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		d->bars[i] = (struct fake_bar){ .dev = d, .n = i };
	CU_ASSERT_FATAL(pci_device_create(&fake_info, &fake_ops, d, &d->pci) == 0);
}

static void fake_set_bar(struct fake_dev *d, unsigned n,
			 enum pci_bar_type type, bool prefetchable,
			 uint64_t size)
{
	struct pci_bar_config cfg = {
		.type = type,
		.prefetchable = prefetchable,
		.size = size,
		.ops = &fake_bar_ops,
		.opaque = &d->bars[n],
	};

	CU_ASSERT_EQUAL_FATAL(pci_device_set_bar(d->pci, n, &cfg), 0);
}

/* BAR0 mem32 4K, BAR1 io 64, BAR2/3 mem64 16K prefetchable, BAR4/5 mem64 8G. */
static void fake_create_with_bars(struct fake_dev *d)
{
	fake_create(d);
	fake_set_bar(d, 0, PCI_BAR_MEM32, false, BAR0_SIZE);
	fake_set_bar(d, 1, PCI_BAR_IO, false, BAR1_SIZE);
	fake_set_bar(d, 2, PCI_BAR_MEM64, true, BAR2_SIZE);
	fake_set_bar(d, 4, PCI_BAR_MEM64, false, BAR4_SIZE);
}

static const struct map_event *last_event(const struct fake_dev *d)
{
	return d->nr_events ? &d->events[d->nr_events - 1] : NULL;
}

static bool has_event(const struct fake_dev *d, unsigned from, bool map,
		      unsigned bar, uint64_t addr, uint64_t size)
{
	for (unsigned i = from; i < d->nr_events; i++) {
		const struct map_event *e = &d->events[i];

		if (e->map == map && e->bar == bar && e->addr == addr &&
		    e->size == size)
			return true;
	}
	return false;
}

/* ---- the guest's side of the ports ---- */

static void port_write(uint16_t port, unsigned size, uint32_t v)
{
	uint8_t b[4];

	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	CU_ASSERT_TRUE(bus_write(pio, port, b, size));
}

static uint32_t port_read(uint16_t port, unsigned size)
{
	uint8_t b[4];
	uint32_t v = 0;

	bus_read(pio, port, b, size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static uint32_t cfg_addr(unsigned devfn, unsigned reg)
{
	return PCI_CONFIG_ENABLE | devfn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read(unsigned devfn, unsigned reg, unsigned size)
{
	port_write(ADDR, 4, cfg_addr(devfn, reg));
	return port_read((uint16_t)(DATA + (reg & 3)), size);
}

static void cfg_write(unsigned devfn, unsigned reg, unsigned size, uint32_t v)
{
	port_write(ADDR, 4, cfg_addr(devfn, reg));
	port_write((uint16_t)(DATA + (reg & 3)), size, v);
}

static uint64_t mem_read(uint64_t addr, unsigned size, bool *claimed)
{
	uint64_t v = 0;

	*claimed = bus_read(mmio, addr, &v, size);
	return v;
}

/* ---- fixture ---- */

static void setup(void)
{
	CU_ASSERT_FATAL(test_pci_machine_create(RAM_END, &pio, &mmio,
						&root) == 0);
}

static void teardown(void)
{
	test_pci_machine_destroy(pio, mmio, root);
}

/* ---- tests ---- */

static void test_host_bridge(void)
{
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_VENDOR_ID, 2), PCI_HOST_BRIDGE_VENDOR_ID);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_DEVICE_ID, 2), PCI_HOST_BRIDGE_DEVICE_ID);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 4), 0x00081b36);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_REVISION, 4) >> 8, 0x060000);
	/* What Linux's type 1 sanity check reads. */
	CU_ASSERT_EQUAL(cfg_read(0, 0x0a, 2), 0x0600);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_HEADER_TYPE, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST, 0);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_CAPABILITY_LIST, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_INTERRUPT_PIN, 1), 0);
	/* No BARs: each reads 0 and sizes to 0. */
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		cfg_write(0, PCI_CFG_BAR0 + 4 * i, 4, 0xffffffff);
		CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_BAR0 + 4 * i, 4), 0);
	}
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_ROM_ADDRESS, 4), 0);
}

static void test_empty_slots(void)
{
	for (unsigned slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(slot, 0), 0, 4), 0xffffffff);
		CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(slot, 0), 0x0e, 1), 0xff);
	}
	for (unsigned fn = 1; fn < PCI_MAX_FUNCTIONS; fn++)
		CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(0, fn), 0, 4), 0xffffffff);
	/* Writes there go nowhere, and do not disturb anything. */
	cfg_write(PCI_DEVFN(5, 0), PCI_CFG_COMMAND, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(5, 0), PCI_CFG_COMMAND, 2), 0xffff);
	CU_ASSERT_EQUAL(cfg_read(0, PCI_CFG_COMMAND, 2), 0);

	/* Bus 1 does not exist. */
	port_write(ADDR, 4, PCI_CONFIG_ENABLE | 1 << 16);
	CU_ASSERT_EQUAL(port_read(DATA, 4), 0xffffffff);
	/* Reserved bits 30:28 set: no cycle. */
	port_write(ADDR, 4, PCI_CONFIG_ENABLE | 0x10000000);
	CU_ASSERT_EQUAL(port_read(DATA, 4), 0xffffffff);
	/* AMD's extended register bits: register 0x100, beyond 256 bytes. */
	port_write(ADDR, 4, PCI_CONFIG_ENABLE | 0x01000000);
	CU_ASSERT_EQUAL(port_read(DATA, 4), 0xffffffff);
	port_write(DATA, 4, 0);
	CU_ASSERT_EQUAL(cfg_read(0, 0, 4), 0x00081b36);
}

static void test_config_address(void)
{
	uint32_t saved;

	port_write(ADDR, 4, PCI_CONFIG_ENABLE);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), PCI_CONFIG_ENABLE);
	/* Bits 1:0 read as zero. */
	port_write(ADDR, 4, 0x8000ff07);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), 0x8000ff04);

	/* Byte and word accesses to 0xcf8-0xcfb are not CONFIG_ADDRESS. */
	port_write(ADDR, 1, 0x00);
	port_write(ADDR, 2, 0x0000);
	port_write(ADDR + 2, 2, 0x0000);
	for (unsigned p = 0; p < 4; p++)
		port_write((uint16_t)(ADDR + p), 1, 0x00);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), 0x8000ff04);
	CU_ASSERT_EQUAL(port_read(ADDR, 1), 0xff);
	CU_ASSERT_EQUAL(port_read(ADDR + 1, 1), 0xff);
	CU_ASSERT_EQUAL(port_read(ADDR, 2), 0xffff);
	CU_ASSERT_EQUAL(port_read(ADDR + 2, 2), 0xffff);

	/* Linux's probe for mechanism #1. */
	port_write(0xcfb, 1, 0x01);
	saved = port_read(ADDR, 4);
	port_write(ADDR, 4, 0x80000000);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), 0x80000000);
	port_write(ADDR, 4, saved);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), 0x8000ff04);
}

static void test_disabled_address(void)
{
	struct fake_dev d;

	fake_create(&d);
	CU_ASSERT_EQUAL(pci_register_device(root, 2, d.pci), 0);
	/* Enable bit clear: reads all ones, writes land nowhere. */
	port_write(ADDR, 4, PCI_DEVFN(2, 0) << 8 | PCI_CFG_CACHE_LINE_SIZE);
	CU_ASSERT_EQUAL(port_read(DATA, 4), 0xffffffff);
	port_write(DATA, 1, 0x10);
	CU_ASSERT_EQUAL(d.cfg_writes, 0);
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(2, 0), PCI_CFG_CACHE_LINE_SIZE, 1), 0);
	cfg_write(PCI_DEVFN(2, 0), PCI_CFG_CACHE_LINE_SIZE, 1, 0x10);
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(2, 0), PCI_CFG_CACHE_LINE_SIZE, 1), 0x10);
	pci_device_destroy(d.pci);
}

/* What an access at 0xcfc + off of size bytes returns around dword v. */
static uint32_t expect_window(uint32_t v, unsigned off, unsigned size)
{
	uint32_t want = 0;

	for (unsigned i = 0; i < size; i++) {
		unsigned p = off + i;
		uint32_t byte = p < 4 ? (v >> (8 * p)) & 0xff : 0xff;

		want |= byte << (8 * i);
	}
	return want;
}

static void test_data_window_widths(void)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	static const uint8_t scratch_cap[8] = { 0 };
	const unsigned devfn = PCI_DEVFN(3, 0);
	struct fake_dev d;
	int cap;

	/* Reads: the host bridge's ids, every width at every offset. */
	for (unsigned o = 0; o < 4; o++) {
		for (unsigned s = 0; s < 3; s++) {
			port_write(ADDR, 4, cfg_addr(0, 0));
			CU_ASSERT_EQUAL(port_read((uint16_t)(DATA + o), sizes[s]),
					expect_window(0x00081b36, o, sizes[s]));
		}
	}

	/* Writes: a capability whose dword at +4 is all writable. */
	fake_create(&d);
	cap = pci_add_capability(d.pci, PCI_CAPID_VENDOR, scratch_cap,
				 sizeof(scratch_cap));
	CU_ASSERT_FATAL(cap > 0);
	pci_config_set_wmask(d.pci, (unsigned)cap + 4, 4, 0xffffffff);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 3, d.pci), 0);
	for (unsigned o = 0; o < 4; o++) {
		for (unsigned s = 0; s < 3; s++) {
			uint32_t want = 0;

			pci_config_set(d.pci, (unsigned)cap + 4, 4, 0);
			port_write(ADDR, 4, cfg_addr(devfn, (unsigned)cap + 4));
			port_write((uint16_t)(DATA + o), sizes[s], 0xaabbccdd);
			for (unsigned i = 0; i < sizes[s] && o + i < 4; i++)
				want |= ((0xaabbccddu >> (8 * i)) & 0xff) << (8 * (o + i));
			CU_ASSERT_EQUAL(pci_config_get(d.pci, (unsigned)cap + 4, 4),
					want);
			/* The device hook sees naturally aligned pieces only. */
			CU_ASSERT(d.last_wr_size == 1 || d.last_wr_size == 2 ||
				  d.last_wr_size == 4);
			CU_ASSERT_EQUAL(d.last_wr_offset % d.last_wr_size, 0);
		}
	}
	/* A misaligned word at 0xcfd is two byte cycles: 0xcfd, 0xcfe. */
	pci_config_set(d.pci, (unsigned)cap + 4, 4, 0);
	port_write(ADDR, 4, cfg_addr(devfn, (unsigned)cap + 4));
	port_write(DATA + 1, 2, 0x1234);
	CU_ASSERT_EQUAL(pci_config_get(d.pci, (unsigned)cap + 4, 4), 0x00123400);
	CU_ASSERT_EQUAL(d.last_wr_offset, (unsigned)cap + 6);
	CU_ASSERT_EQUAL(d.last_wr_size, 1);
	pci_device_destroy(d.pci);
}

static void test_ports_cf9_cfb(void)
{
	uint32_t before;

	port_write(ADDR, 4, cfg_addr(0, PCI_CFG_COMMAND));
	before = cfg_read(0, PCI_CFG_COMMAND, 4);
	port_write(ADDR, 4, cfg_addr(0, PCI_CFG_COMMAND));
	/* Not config data: reads are all ones, writes change nothing. */
	for (uint16_t p = 0xcf9; p <= 0xcfb; p++) {
		CU_ASSERT_EQUAL(port_read(p, 1), 0xff);
		port_write(p, 1, 0x06);		/* a PIIX reset, elsewhere */
	}
	CU_ASSERT_EQUAL(port_read(0xcfa, 2), 0xffff);
	port_write(0xcfa, 2, 0x0000);
	CU_ASSERT_EQUAL(port_read(ADDR, 4), cfg_addr(0, PCI_CFG_COMMAND));
	CU_ASSERT_EQUAL(port_read(DATA, 4), before);
	/* A dword at 0xcfa straddles both registers: only 0xcfc-0xcfd is data. */
	CU_ASSERT_EQUAL(port_read(0xcfa, 4), 0x0000ffff | (before & 0xffff) << 16);
}

static void test_read_only_fields(void)
{
	const unsigned devfn = PCI_DEVFN(4, 0);
	struct fake_dev d;
	uint32_t id, class_rev, subsys;

	fake_create(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 4, d.pci), 0);
	id = cfg_read(devfn, 0, 4);
	class_rev = cfg_read(devfn, PCI_CFG_REVISION, 4);
	subsys = cfg_read(devfn, PCI_CFG_SUBSYSTEM_VENDOR_ID, 4);
	CU_ASSERT_EQUAL(id, 0x10411af4);
	CU_ASSERT_EQUAL(class_rev, 0x02000001);
	CU_ASSERT_EQUAL(subsys, 0x00011af4);

	cfg_write(devfn, 0, 4, 0xffffffff);
	cfg_write(devfn, 2, 2, 0);
	cfg_write(devfn, PCI_CFG_REVISION, 4, 0xffffffff);
	cfg_write(devfn, PCI_CFG_HEADER_TYPE, 1, 0xff);
	cfg_write(devfn, PCI_CFG_BIST, 1, 0xff);
	cfg_write(devfn, PCI_CFG_SUBSYSTEM_VENDOR_ID, 4, 0);
	cfg_write(devfn, PCI_CFG_CAPABILITY_LIST, 1, 0x40);
	cfg_write(devfn, PCI_CFG_INTERRUPT_PIN, 1, 4);
	cfg_write(devfn, PCI_CFG_ROM_ADDRESS, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0, 4), id);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_REVISION, 4), class_rev);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_HEADER_TYPE, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BIST, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_SUBSYSTEM_VENDOR_ID, 4), subsys);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_CAPABILITY_LIST, 1), 0);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_INTERRUPT_PIN, 1), 1);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_ROM_ADDRESS, 4), 0);

	/* The writable ones. */
	cfg_write(devfn, PCI_CFG_CACHE_LINE_SIZE, 2, 0x4010);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_CACHE_LINE_SIZE, 2), 0x4010);
	cfg_write(devfn, PCI_CFG_INTERRUPT_LINE, 1, 11);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_INTERRUPT_LINE, 1), 11);
	cfg_write(devfn, PCI_CFG_COMMAND, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_COMMAND, 2),
			PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER |
			PCI_CMD_PARITY | PCI_CMD_SERR | PCI_CMD_INTX_DISABLE);
	cfg_write(devfn, PCI_CFG_COMMAND, 2, 0);

	/* STATUS: error bits clear on a one, others are read-only. */
	pci_config_set(d.pci, PCI_CFG_STATUS, 2, 0x2000 | 0x0100 | PCI_STS_CAP_LIST);
	cfg_write(devfn, PCI_CFG_STATUS, 2, 0);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_STATUS, 2), 0x2110);
	cfg_write(devfn, PCI_CFG_STATUS, 2, 0x2000);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_STATUS, 2), 0x0110);
	cfg_write(devfn, PCI_CFG_STATUS, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_STATUS, 2), PCI_STS_CAP_LIST);
	/* A dword write to COMMAND must not clear STATUS bits it does not set. */
	pci_config_set(d.pci, PCI_CFG_STATUS, 2, 0x8000);
	cfg_write(devfn, PCI_CFG_COMMAND, 4, PCI_CMD_MASTER);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_COMMAND, 4), 0x80000000u | PCI_CMD_MASTER);
	pci_device_destroy(d.pci);
}

static void test_config_hooks(void)
{
	const unsigned devfn = PCI_DEVFN(6, 0);
	struct fake_dev d;

	fake_create(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 6, d.pci), 0);
	cfg_write(devfn, PCI_CFG_INTERRUPT_LINE, 1, 5);
	cfg_write(devfn, PCI_CFG_INTERRUPT_LINE, 1, 9);
	CU_ASSERT_EQUAL(d.last_wr_offset, PCI_CFG_INTERRUPT_LINE);
	CU_ASSERT_EQUAL(d.last_wr_size, 1);
	CU_ASSERT_EQUAL(d.last_wr_old, 5);
	CU_ASSERT_EQUAL(d.last_wr_value, 9);
	/* Read-only bytes still reach the hook with what the guest wrote. */
	cfg_write(devfn, PCI_CFG_VENDOR_ID, 2, 0x1234);
	CU_ASSERT_EQUAL(d.last_wr_old, 0x1af4);
	CU_ASSERT_EQUAL(d.last_wr_value, 0x1234);

	d.override_offset = 0x44;
	d.override_value = 0xfeedf00d;
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x44, 4), 0xfeedf00d);
	/* Narrower accesses see only their bytes of an override. */
	d.override_offset = 0x46;
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x46, 2), 0xf00d);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x44, 2), 0);
	pci_device_destroy(d.pci);
}

static void test_bar_sizing(void)
{
	const unsigned devfn = PCI_DEVFN(7, 0);
	struct {
		unsigned reg;
		uint32_t mask;
	} want[] = {
		{ PCI_CFG_BAR0, 0xfffff000 },			/* mem32 4K */
		{ PCI_CFG_BAR0 + 4, 0x0000ffc1 },		/* io 64, 16-bit */
		{ PCI_CFG_BAR0 + 8, 0xffffc00c },		/* mem64 pf 16K */
		{ PCI_CFG_BAR0 + 12, 0xffffffff },		/* its upper half */
		{ PCI_CFG_BAR0 + 16, 0x00000004 },		/* mem64 8G */
		{ PCI_CFG_BAR0 + 20, 0xfffffffe },
	};
	struct fake_dev d;

	fake_create_with_bars(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 7, d.pci), 0);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint32_t orig = cfg_read(devfn, want[i].reg, 4);

		cfg_write(devfn, want[i].reg, 4, 0xffffffff);
		CU_ASSERT_EQUAL(cfg_read(devfn, want[i].reg, 4), want[i].mask);
		cfg_write(devfn, want[i].reg, 4, orig);
		CU_ASSERT_EQUAL(cfg_read(devfn, want[i].reg, 4), orig);
	}
	/* Both halves of a 64-bit BAR at once, as Linux does it. */
	cfg_write(devfn, PCI_CFG_BAR0 + 16, 4, 0xffffffff);
	cfg_write(devfn, PCI_CFG_BAR0 + 20, 4, 0xffffffff);
	CU_ASSERT_EQUAL(~(((uint64_t)cfg_read(devfn, PCI_CFG_BAR0 + 20, 4) << 32 |
			   (cfg_read(devfn, PCI_CFG_BAR0 + 16, 4) & ~0xfu))) + 1,
			BAR4_SIZE);
	/* Decoding was off throughout: nothing was mapped. */
	CU_ASSERT_EQUAL(d.nr_events, 0);
	pci_device_destroy(d.pci);
}

static void test_bar_placement(void)
{
	const unsigned devfn = PCI_DEVFN(8, 0);
	uint64_t start, end;
	struct fake_dev d;

	pci_root_mmio64_window(root, &start, &end);
	CU_ASSERT_EQUAL(start, MMIO64_BASE);
	CU_ASSERT_EQUAL(end, MMIO64_BASE + PCI_MMIO64_WINDOW_SIZE);

	fake_create_with_bars(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 8, d.pci), 0);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 0), BAR0_ADDR);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 1), BAR1_ADDR);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 2), BAR2_ADDR);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 4), BAR4_ADDR);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 3), 0);	/* upper half */
	/* What the guest reads: address and type bits. */
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0, 4), (uint32_t)BAR0_ADDR);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0 + 4, 4), (uint32_t)BAR1_ADDR | 1);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0 + 8, 4), (uint32_t)BAR2_ADDR | 0xc);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0 + 12, 4), BAR2_ADDR >> 32);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0 + 16, 4), (uint32_t)BAR4_ADDR | 0x4);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_BAR0 + 20, 4), BAR4_ADDR >> 32);
	/* Reset state: nothing decodes until the guest says so. */
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_COMMAND, 2), 0);
	pci_device_destroy(d.pci);
}

static void test_bar_decoding(void)
{
	const unsigned devfn = PCI_DEVFN(9, 0);
	struct fake_dev d;
	bool claimed;
	unsigned mark;
	uint64_t v;
	uint8_t b[2];

	fake_create_with_bars(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 9, d.pci), 0);

	/* Decoding off: the window claims the access, nothing answers. */
	v = mem_read(BAR0_ADDR + 0x10, 4, &claimed);
	CU_ASSERT_TRUE(claimed);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(d.bars[0].reads, 0);

	/* Memory on: the three memory BARs map, the I/O one does not. */
	cfg_write(devfn, PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY);
	CU_ASSERT_EQUAL(d.nr_events, 3);
	CU_ASSERT_TRUE(has_event(&d, 0, true, 0, BAR0_ADDR, BAR0_SIZE));
	CU_ASSERT_TRUE(has_event(&d, 0, true, 2, BAR2_ADDR, BAR2_SIZE));
	CU_ASSERT_TRUE(has_event(&d, 0, true, 4, BAR4_ADDR, BAR4_SIZE));
	v = mem_read(BAR0_ADDR + 0x10, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xb0000010);
	CU_ASSERT_EQUAL(d.bars[0].last_offset, 0x10);
	CU_ASSERT_EQUAL(d.bars[0].last_size, 4);
	v = 0x1122334455667788ull;
	CU_ASSERT_TRUE(bus_write(mmio, BAR2_ADDR + 8, &v, 8));
	CU_ASSERT_EQUAL(d.bars[2].last_offset, 8);
	CU_ASSERT_EQUAL(d.bars[2].last_value, 0x1122334455667788ull);
	v = mem_read(BAR4_ADDR + BAR4_SIZE - 4, 4, &claimed);
	CU_ASSERT_EQUAL(d.bars[4].last_offset, BAR4_SIZE - 4);
	/* Straddling the end of a BAR reaches nothing. */
	v = mem_read(BAR0_ADDR + BAR0_SIZE - 2, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(d.bars[0].reads, 1);

	/* I/O on too. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_IO);
	CU_ASSERT_EQUAL(d.nr_events, mark + 1);
	CU_ASSERT_TRUE(has_event(&d, mark, true, 1, BAR1_ADDR, BAR1_SIZE));
	CU_ASSERT_TRUE(bus_read(pio, BAR1_ADDR + 4, b, 2));
	CU_ASSERT_EQUAL(d.bars[1].last_offset, 4);
	CU_ASSERT_EQUAL(b[0] | b[1] << 8, 0x0004);

	/* Memory off: each memory BAR unmaps where it was. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_COMMAND, 2, PCI_CMD_IO);
	CU_ASSERT_EQUAL(d.nr_events, mark + 3);
	CU_ASSERT_TRUE(has_event(&d, mark, false, 0, BAR0_ADDR, BAR0_SIZE));
	CU_ASSERT_TRUE(has_event(&d, mark, false, 2, BAR2_ADDR, BAR2_SIZE));
	CU_ASSERT_TRUE(has_event(&d, mark, false, 4, BAR4_ADDR, BAR4_SIZE));
	v = mem_read(BAR0_ADDR, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xffffffff);
	CU_ASSERT_EQUAL(d.bars[0].reads, 1);
	/* Writing COMMAND with the same value changes nothing. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_COMMAND, 2, PCI_CMD_IO);
	CU_ASSERT_EQUAL(d.nr_events, mark);
	pci_device_destroy(d.pci);
}

static void test_bar_moves(void)
{
	const unsigned devfn = PCI_DEVFN(10, 0);
	const uint64_t new0 = 0xc0100000, low2 = 0xd0000000;
	struct fake_dev d;
	const struct map_event *e;
	bool claimed;
	unsigned mark;
	uint64_t v;

	fake_create_with_bars(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 10, d.pci), 0);
	cfg_write(devfn, PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY);

	/* Moved while decoding: unmapped at the old address, mapped at the new. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_BAR0, 4, (uint32_t)new0);
	CU_ASSERT_EQUAL(d.nr_events, mark + 2);
	CU_ASSERT_TRUE(d.events[mark].map == false &&
		       d.events[mark].addr == BAR0_ADDR);
	CU_ASSERT_TRUE(d.events[mark + 1].map == true &&
		       d.events[mark + 1].addr == new0);
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 0), new0);
	v = mem_read(new0 + 8, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xb0000008);
	v = mem_read(BAR0_ADDR + 8, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xffffffff);

	/* Outside the windows: stops decoding; the bus does not claim it. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_BAR0, 4, 0xfeb00000);
	CU_ASSERT_EQUAL(d.nr_events, mark + 1);
	CU_ASSERT_FALSE(last_event(&d)->map);
	v = mem_read(0xfeb00000, 4, &claimed);
	CU_ASSERT_FALSE(claimed);
	/* Address bits below the size are read-only: the last 4K of the window. */
	cfg_write(devfn, PCI_CFG_BAR0, 4, (uint32_t)(PCI_MMIO32_WINDOW_END - 0x800));
	CU_ASSERT_EQUAL(pci_device_bar_addr(d.pci, 0), PCI_MMIO32_WINDOW_END - 0x1000);
	CU_ASSERT_EQUAL(d.nr_events, mark + 2);
	CU_ASSERT_TRUE(last_event(&d)->map);
	cfg_write(devfn, PCI_CFG_BAR0, 4, (uint32_t)new0);

	/* A 64-bit BAR moved below 4 GiB, one half at a time. */
	cfg_write(devfn, PCI_CFG_BAR0 + 8, 4, (uint32_t)low2);
	cfg_write(devfn, PCI_CFG_BAR0 + 12, 4, 0);
	e = last_event(&d);
	CU_ASSERT_TRUE(e->map && e->bar == 2 && e->addr == low2 && e->size == BAR2_SIZE);
	v = mem_read(low2 + 0x20, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xb0020020);

	/* BAR0 onto BAR2: refused while they overlap ... */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_BAR0, 4, (uint32_t)low2);
	CU_ASSERT_EQUAL(d.nr_events, mark + 1);		/* only the unmap */
	CU_ASSERT_FALSE(last_event(&d)->map);
	v = mem_read(low2, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xb0020000);
	/* ... and decodes once BAR2 leaves. */
	mark = d.nr_events;
	cfg_write(devfn, PCI_CFG_BAR0 + 8, 4, (uint32_t)(low2 + 0x100000));
	CU_ASSERT_TRUE(has_event(&d, mark, true, 0, low2, BAR0_SIZE));
	CU_ASSERT_TRUE(has_event(&d, mark, true, 2, low2 + 0x100000, BAR2_SIZE));
	v = mem_read(low2, 4, &claimed);
	CU_ASSERT_EQUAL(v, 0xb0000000);
	pci_device_destroy(d.pci);
}

static void test_capabilities(void)
{
	const unsigned devfn = PCI_DEVFN(11, 0);
	uint8_t vendor[8] = { 0xaa, 0xbb, 8, 1, 2, 3, 4, 5 };
	uint8_t msix[12] = { 0 };
	uint8_t tiny[3] = { 0, 0, 0x77 };
	uint8_t huge[200] = { 0 };
	struct fake_dev d, plain;
	int c0, c1, c2;

	fake_create(&d);
	CU_ASSERT_EQUAL(pci_add_capability(d.pci, PCI_CAPID_VENDOR, vendor, 1), -EINVAL);
	c0 = pci_add_capability(d.pci, PCI_CAPID_VENDOR, vendor, sizeof(vendor));
	c1 = pci_add_capability(d.pci, PCI_CAPID_MSIX, msix, sizeof(msix));
	c2 = pci_add_capability(d.pci, PCI_CAPID_VENDOR, tiny, sizeof(tiny));
	CU_ASSERT_EQUAL(c0, 0x40);
	CU_ASSERT_EQUAL(c1, 0x48);
	CU_ASSERT_EQUAL(c2, 0x54);
	CU_ASSERT_EQUAL(pci_add_capability(d.pci, PCI_CAPID_VENDOR, huge, sizeof(huge)),
			-ENOSPC);
	/* The next one would start dword aligned after the 3-byte one. */
	CU_ASSERT_EQUAL(pci_add_capability(d.pci, PCI_CAPID_VENDOR, huge, 0x100 - 0x58),
			0x58);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 11, d.pci), 0);
	CU_ASSERT_EQUAL(pci_add_capability(d.pci, PCI_CAPID_VENDOR, vendor, 2), -EBUSY);

	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST,
			PCI_STS_CAP_LIST);
	CU_ASSERT_EQUAL(cfg_read(devfn, PCI_CFG_CAPABILITY_LIST, 1), 0x40);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x40, 2), 0x4800 | PCI_CAPID_VENDOR);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x48, 2), 0x5400 | PCI_CAPID_MSIX);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x54, 2), 0x5800 | PCI_CAPID_VENDOR);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x58, 2), 0x0000 | PCI_CAPID_VENDOR);
	/* The body is what the device gave. */
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x42, 2), 0x0108);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x44, 4), 0x05040302);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x56, 1), 0x77);
	/* Read-only to the guest, the links included. */
	cfg_write(devfn, 0x40, 4, 0);
	cfg_write(devfn, 0x44, 4, 0);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x40, 4), 0x01084809);
	CU_ASSERT_EQUAL(cfg_read(devfn, 0x44, 4), 0x05040302);

	/* A device without capabilities keeps the status bit clear. */
	fake_create(&plain);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 12, plain.pci), 0);
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(12, 0), PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST, 0);
	pci_device_destroy(plain.pci);
	pci_device_destroy(d.pci);
}

static void test_slots(void)
{
	struct fake_dev a, b, c, big;
	struct pci_bar_config huge = {
		.type = PCI_BAR_MEM32, .size = 1ull << 30, .ops = &fake_bar_ops,
	};

	fake_create(&a);
	fake_create(&b);
	fake_create(&c);
	CU_ASSERT_EQUAL(pci_register_device(root, 0, a.pci), -EEXIST);
	CU_ASSERT_EQUAL(pci_register_device(root, 32, a.pci), -EINVAL);
	CU_ASSERT_EQUAL(pci_register_device(root, -2, a.pci), -EINVAL);
	CU_ASSERT_EQUAL(pci_device_devfn(a.pci), -1);

	CU_ASSERT_EQUAL(pci_register_device(root, 31, a.pci), 0);
	CU_ASSERT_EQUAL(pci_device_devfn(a.pci), PCI_DEVFN(31, 0));
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(31, 0), 0, 4), 0x10411af4);
	CU_ASSERT_EQUAL(pci_register_device(root, 31, b.pci), -EEXIST);
	CU_ASSERT_EQUAL(pci_register_device(root, 5, a.pci), -EBUSY);

	/* Auto: the first free slot after the host bridge. */
	CU_ASSERT_EQUAL(pci_register_device(root, PCI_SLOT_AUTO, b.pci), 0);
	CU_ASSERT_EQUAL(pci_device_devfn(b.pci), PCI_DEVFN(1, 0));

	/* Unregistered: the slot is empty again, and reusable. */
	pci_unregister_device(a.pci);
	CU_ASSERT_EQUAL(pci_device_devfn(a.pci), -1);
	CU_ASSERT_EQUAL(cfg_read(PCI_DEVFN(31, 0), 0, 4), 0xffffffff);
	CU_ASSERT_EQUAL(pci_register_device(root, 31, c.pci), 0);

	/* A BAR larger than its window. */
	fake_create(&big);
	huge.opaque = &big.bars[0];
	CU_ASSERT_EQUAL(pci_device_set_bar(big.pci, 0, &huge), 0);
	CU_ASSERT_EQUAL(pci_register_device(root, PCI_SLOT_AUTO, big.pci), -ENOSPC);
	CU_ASSERT_EQUAL(pci_device_devfn(big.pci), -1);

	pci_device_destroy(big.pci);
	pci_device_destroy(a.pci);
	pci_device_destroy(b.pci);
	pci_device_destroy(c.pci);
}

static void test_set_bar_validation(void)
{
	struct fake_dev d;
	struct pci_bar_config cfg = { .ops = &fake_bar_ops };
	struct pci_device_info bad = fake_info;
	struct pci_device *p;

	fake_create(&d);
#define TRY(n, t, pf, sz) \
	(cfg.type = (t), cfg.prefetchable = (pf), cfg.size = (sz), \
	 pci_device_set_bar(d.pci, (n), &cfg))
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_MEM32, false, 0x3000), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_MEM32, false, 8), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_MEM32, false, 4ull << 30), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_IO, false, 512), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_IO, false, 2), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_IO, true, 16), -EINVAL);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_NONE, false, 16), -EINVAL);
	CU_ASSERT_EQUAL(TRY(5, PCI_BAR_MEM64, false, 16), -EINVAL);
	CU_ASSERT_EQUAL(TRY(6, PCI_BAR_MEM32, false, 16), -EINVAL);
	CU_ASSERT_EQUAL(TRY(2, PCI_BAR_MEM64, false, 0x1000), 0);
	CU_ASSERT_EQUAL(TRY(3, PCI_BAR_MEM32, false, 16), -EINVAL);	/* upper half */
	CU_ASSERT_EQUAL(TRY(2, PCI_BAR_MEM32, false, 16), -EINVAL);	/* taken */
	CU_ASSERT_EQUAL(TRY(4, PCI_BAR_MEM32, false, 16), 0);
	CU_ASSERT_EQUAL(TRY(3, PCI_BAR_MEM64, false, 16), -EINVAL);	/* 4 is set */
	cfg.ops = NULL;
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_MEM32, false, 16), -EINVAL);
	cfg.ops = &fake_bar_ops;
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 13, d.pci), 0);
	CU_ASSERT_EQUAL(TRY(0, PCI_BAR_MEM32, false, 16), -EBUSY);
#undef TRY
	pci_device_destroy(d.pci);

	bad.vendor_id = 0xffff;
	CU_ASSERT_EQUAL(pci_device_create(&bad, NULL, NULL, &p), -EINVAL);
	bad = fake_info;
	bad.interrupt_pin = 5;
	CU_ASSERT_EQUAL(pci_device_create(&bad, NULL, NULL, &p), -EINVAL);
	bad = fake_info;
	bad.class_code = 0x1000000;
	CU_ASSERT_EQUAL(pci_device_create(&bad, NULL, NULL, &p), -EINVAL);
}

static void test_root_lifecycle(void)
{
	struct pci_root_config cfg = { .pio = pio, .mmio = mmio, .ram_end = RAM_END };
	struct pci_root *second;
	struct fake_dev d;
	uint8_t b = 0;

	/* The ports are taken: a second root fails and leaves nothing behind. */
	CU_ASSERT_EQUAL(pci_root_create(&cfg, &second), -EEXIST);
	cfg.pio = NULL;
	CU_ASSERT_EQUAL(pci_root_create(&cfg, &second), -EINVAL);

	/* Destroying the root detaches a device, unmapping its BARs. */
	fake_create_with_bars(&d);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 14, d.pci), 0);
	cfg_write(PCI_DEVFN(14, 0), PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_IO);
	CU_ASSERT_EQUAL(d.nr_events, 4);
	pci_root_destroy(root);
	root = NULL;
	CU_ASSERT_EQUAL(d.nr_events, 8);
	CU_ASSERT_EQUAL(pci_device_devfn(d.pci), -1);
	CU_ASSERT_FALSE(bus_read(pio, ADDR, &b, 1));
	CU_ASSERT_FALSE(bus_read(mmio, BAR0_ADDR, &b, 1));
	pci_device_destroy(d.pci);

	/* The buses are free again: a new root fits; RAM below 4 GiB. */
	cfg.pio = pio;
	cfg.ram_end = 1ull << 30;
	CU_ASSERT_EQUAL_FATAL(pci_root_create(&cfg, &root), 0);
	{
		uint64_t start, end;

		pci_root_mmio64_window(root, &start, &end);
		CU_ASSERT_EQUAL(start, 4ull << 30);
	}
}

/* vCPU threads: BAR accesses racing with decode toggles must stay sane. */
struct race {
	unsigned devfn;
	atomic_bool stop;
	atomic_uint bad;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		uint32_t v = 0;

		bus_read(mmio, BAR0_ADDR + 4, &v, 4);
		if (v != 0xb0000004 && v != 0xffffffff)
			atomic_fetch_add(&r->bad, 1);
	}
	return NULL;
}

/* Stateless: BAR handlers run concurrently on several vCPU threads. */
static uint64_t race_bar_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0xb0000000u | (uint32_t)offset;
}

static const struct bus_device_ops race_bar_ops = {
	.name = "race-bar",
	.read = race_bar_read,
	.write = fake_bar_write,
};

static void test_concurrent_access(void)
{
	struct race r = { .devfn = PCI_DEVFN(15, 0) };
	struct pci_bar_config bar = {
		.type = PCI_BAR_MEM32, .size = BAR0_SIZE, .ops = &race_bar_ops,
	};
	struct fake_dev d;
	pthread_t t[2];

	fake_create(&d);
	CU_ASSERT_EQUAL_FATAL(pci_device_set_bar(d.pci, 0, &bar), 0);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 15, d.pci), 0);
	for (unsigned i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race_reader, &r), 0);
	for (unsigned i = 0; i < 2000; i++)
		cfg_write(r.devfn, PCI_CFG_COMMAND, 2, i & 1 ? PCI_CMD_MEMORY : 0);
	atomic_store(&r.stop, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&r.bad), 0);
	pci_device_destroy(d.pci);
}

/*
 * INTx swizzle: INTA of slot s on 16 + s % 8 (what the transports have
 * always used), each further pin one line up, wrapping within 16-23; a
 * few values written out, then the rule over every slot and pin.
 */
static void test_intx_gsi(void)
{
	static const struct { unsigned slot, pin; int gsi; } known[] = {
		{ 0, 0, 16 }, { 0, 3, 19 }, { 1, 0, 17 }, { 3, 0, 19 },
		{ 5, 3, 16 }, { 7, 1, 16 }, { 8, 0, 16 }, { 31, 0, 23 },
		{ 31, 1, 16 }, { 31, 3, 18 },
	};
	unsigned per_gsi[PCI_INTX_GSI_COUNT] = { 0 };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		CU_ASSERT_EQUAL(pci_intx_gsi(known[i].slot, known[i].pin),
				known[i].gsi);
	for (unsigned slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		CU_ASSERT_EQUAL(pci_intx_gsi(slot, 0), 16 + (int)(slot % 8));
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			int gsi = pci_intx_gsi(slot, pin);

			CU_ASSERT_FATAL(gsi >= 16 && gsi <= 23);
			/* One line up from the previous pin, wrapping. */
			if (pin)
				CU_ASSERT_EQUAL(gsi - 16,
					(pci_intx_gsi(slot, pin - 1) - 16 + 1) % 8);
			per_gsi[gsi - 16]++;
		}
	}
	/* 128 slot/pin pairs spread evenly over the 8 lines. */
	for (unsigned g = 0; g < PCI_INTX_GSI_COUNT; g++)
		CU_ASSERT_EQUAL(per_gsi[g], PCI_MAX_SLOTS * PCI_INTX_PINS /
					    PCI_INTX_GSI_COUNT);
	CU_ASSERT_EQUAL(pci_intx_gsi(PCI_MAX_SLOTS, 0), -EINVAL);
	CU_ASSERT_EQUAL(pci_intx_gsi(0, PCI_INTX_PINS), -EINVAL);
	CU_ASSERT_EQUAL(pci_intx_gsi(~0u, ~0u), -EINVAL);
}

static CU_TestInfo pci_tests[] = {
	{ "host bridge ids and class", test_host_bridge },
	{ "empty slots, other buses read all ones", test_empty_slots },
	{ "CONFIG_ADDRESS: dword only, Linux's probe", test_config_address },
	{ "CONFIG_ADDRESS enable bit clear", test_disabled_address },
	{ "CONFIG_DATA: every width at every offset", test_data_window_widths },
	{ "0xcf9-0xcfb are not config data", test_ports_cf9_cfb },
	{ "read-only, writable and RW1C fields", test_read_only_fields },
	{ "device config hooks", test_config_hooks },
	{ "BAR sizing: mem32, io, mem64 halves", test_bar_sizing },
	{ "BAR placement in the windows", test_bar_placement },
	{ "BAR decoding follows COMMAND, callbacks", test_bar_decoding },
	{ "BAR moves, outside windows, overlaps", test_bar_moves },
	{ "capability list", test_capabilities },
	{ "slots: taken, 31, auto, unregister, no room", test_slots },
	{ "BAR and device validation", test_set_bar_validation },
	{ "root create and destroy", test_root_lifecycle },
	{ "BAR accesses racing decode changes", test_concurrent_access },
	{ "INTx GSI swizzle", test_intx_gsi },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "pci", NULL, NULL, setup, teardown, pci_tests },
	CU_SUITE_INFO_NULL,
};
