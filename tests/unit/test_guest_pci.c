/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test guest's PCI enumeration (tests/guest/pci.c), built for the host
 * with its port I/O routed to the core's PCI root: what it reports for
 * real BARs and capabilities, that sizing leaves every register as it was,
 * and that broken devices (a capability loop, a BAR mask with holes) are
 * reported without hanging.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../guest/guest.h"
#include "bus.h"
#include "pci.h"
#include "testutil.h"
#include "unit.h"

static struct bus *pio, *mmio;
static struct pci_root *root;
static char out[64 * 1024];
static size_t out_len;

/* ---- what guest/pci.c calls: console and ports ---- */

void guest_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_len += (size_t)n < sizeof(out) - out_len ?
			   (size_t)n : sizeof(out) - out_len - 1;
}

static void port_out(uint16_t port, unsigned size, uint32_t v)
{
	uint8_t b[4];

	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	bus_write(pio, port, b, size);
}

static uint32_t port_in(uint16_t port, unsigned size)
{
	uint8_t b[4];
	uint32_t v = 0;

	bus_read(pio, port, b, size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

void outb(uint16_t port, uint8_t v)
{
	port_out(port, 1, v);
}

uint8_t inb(uint16_t port)
{
	return (uint8_t)port_in(port, 1);
}

void outw(uint16_t port, uint16_t v)
{
	port_out(port, 2, v);
}

uint16_t inw(uint16_t port)
{
	return (uint16_t)port_in(port, 2);
}

void outl(uint16_t port, uint32_t v)
{
	port_out(port, 4, v);
}

uint32_t inl(uint16_t port)
{
	return port_in(port, 4);
}

/* ---- devices ---- */

struct dev {
	struct pci_device *pci;
	unsigned maps, unmaps;
	/* config_read override: at offset, return value (0: none). */
	unsigned override_offset;
	uint32_t override_value;
	bool override_if_all_ones;	/* only when the register reads ~0 */
};

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void bar_write(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size)
{
}

static const struct bus_device_ops bar_ops = {
	.name = "bar",
	.read = bar_read,
	.write = bar_write,
};

static void dev_config_read(void *opaque, unsigned offset, unsigned size,
			    uint32_t *value)
{
	struct dev *d = opaque;

	if (!d->override_offset || offset != d->override_offset)
		return;
	if (d->override_if_all_ones && *value != 0xffffffffu &&
	    (*value & ~0xfu) != 0xfffff000u)
		return;
	*value = d->override_value;
}

static void dev_map(void *opaque, unsigned bar, uint64_t addr, uint64_t size)
{
	((struct dev *)opaque)->maps++;
}

static void dev_unmap(void *opaque, unsigned bar, uint64_t addr,
		      uint64_t size)
{
	((struct dev *)opaque)->unmaps++;
}

static const struct pci_device_ops dev_ops = {
	.config_read = dev_config_read,
	.bar_map = dev_map,
	.bar_unmap = dev_unmap,
};

static void dev_create(struct dev *d, uint16_t device_id)
{
	const struct pci_device_info info = {
		.name = "test",
		.vendor_id = 0x1af4,
		.device_id = device_id,
		.class_code = 0x010000,
	};

	memset(d, 0, sizeof(*d));
	CU_ASSERT_FATAL(pci_device_create(&info, &dev_ops, d, &d->pci) == 0);
}

static void dev_bar(struct dev *d, unsigned n, enum pci_bar_type type,
		    uint64_t size)
{
	const struct pci_bar_config cfg = {
		.type = type, .size = size, .ops = &bar_ops, .opaque = d,
	};

	CU_ASSERT_FATAL(pci_device_set_bar(d->pci, n, &cfg) == 0);
}

static bool has_line(const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "%s\n", line);
	return strstr(out, want) != NULL;
}

static unsigned count_lines(const char *prefix)
{
	unsigned n = 0;

	for (const char *p = out; (p = strstr(p, prefix)); p++)
		n++;
	return n;
}

static void setup(void)
{
	out_len = 0;
	out[0] = '\0';
	CU_ASSERT_FATAL(test_pci_machine_create(1ull << 30, &pio, &mmio,
						&root) == 0);
}

static void teardown(void)
{
	test_pci_machine_destroy(pio, mmio, root);
}

/* ---- tests ---- */

static void test_host_bridge_only(void)
{
	CU_ASSERT_PTR_NULL(pci_report());
	CU_ASSERT_STRING_EQUAL(out,
		"guest: pci 00:00.0 vendor=0x1b36 device=0x0008 class=0x060000\n"
		"guest: pci devices=1\n");
}

static void test_no_mechanism(void)
{
	pci_root_destroy(root);
	root = NULL;
	CU_ASSERT_PTR_NULL(pci_report());
	CU_ASSERT_STRING_EQUAL(out, "guest: pci none\n");
}

static void test_bars_and_caps(void)
{
	static const uint8_t cap[4] = { 0 };
	struct dev d;
	uint32_t regs[6], cmd;

	dev_create(&d, 0x1042);
	dev_bar(&d, 0, PCI_BAR_MEM32, 0x1000);
	dev_bar(&d, 1, PCI_BAR_IO, 0x20);
	dev_bar(&d, 2, PCI_BAR_MEM64, 0x4000);
	dev_bar(&d, 5, PCI_BAR_MEM32, 0x100000);
	CU_ASSERT(pci_add_capability(d.pci, PCI_CAPID_MSIX, cap, sizeof(cap)) > 0);
	CU_ASSERT(pci_add_capability(d.pci, PCI_CAPID_VENDOR, cap, sizeof(cap)) > 0);
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 3, d.pci), 0);
	/* Decoding on, as a driver would leave it: sizing turns it off. */
	outl(PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_ENABLE | PCI_DEVFN(3, 0) << 8 |
				      PCI_CFG_COMMAND);
	outw(PCI_CONFIG_DATA_PORT, PCI_CMD_MEMORY | PCI_CMD_IO);
	CU_ASSERT_EQUAL(d.maps, 4);
	for (unsigned i = 0; i < 6; i++)
		regs[i] = pci_config_get(d.pci, PCI_CFG_BAR0 + 4 * i, 4);
	cmd = pci_config_get(d.pci, PCI_CFG_COMMAND, 2);

	CU_ASSERT_PTR_NULL(pci_report());
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 vendor=0x1af4 device=0x1042 class=0x010000"));
	/* Largest first: BAR5 at the window's start, then BAR2 (64-bit window). */
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 bar0 addr=0xc0100000 size=0x1000 type=mem32"));
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 bar1 addr=0xc000 size=0x20 type=io"));
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 bar2 addr=0x100000000 size=0x4000 type=mem64"));
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 bar5 addr=0xc0000000 size=0x100000 type=mem32"));
	CU_ASSERT_EQUAL(count_lines(" bar"), 4);
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 cap=0x11"));
	CU_ASSERT_TRUE(has_line("guest: pci 00:03.0 cap=0x09"));
	CU_ASSERT_TRUE(strstr(out, "cap=0x11\nguest: pci 00:03.0 cap=0x09\n") != NULL);
	CU_ASSERT_TRUE(has_line("guest: pci devices=2"));
	CU_ASSERT_PTR_NULL(strstr(out, "warning"));

	/* Everything restored; decoding was off while BARs held all ones. */
	for (unsigned i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(pci_config_get(d.pci, PCI_CFG_BAR0 + 4 * i, 4), regs[i]);
	CU_ASSERT_EQUAL(pci_config_get(d.pci, PCI_CFG_COMMAND, 2), cmd);
	/* Unmapped for the sizing, mapped again by the restore. */
	CU_ASSERT_EQUAL(d.unmaps, 4);
	CU_ASSERT_EQUAL(d.maps, 8);
	pci_device_destroy(d.pci);
}

static void test_capability_loop(void)
{
	static const uint8_t cap[4] = { 0 };
	struct dev d;
	int off;

	dev_create(&d, 0x1043);
	off = pci_add_capability(d.pci, PCI_CAPID_VENDOR, cap, sizeof(cap));
	CU_ASSERT_FATAL(off > 0);
	/* The next pointer of the capability points back at itself. */
	d.override_offset = (unsigned)off + 1;
	d.override_value = (uint32_t)off;
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 4, d.pci), 0);

	CU_ASSERT_STRING_EQUAL(pci_report(), "PCI capability list does not end");
	CU_ASSERT_EQUAL(count_lines("guest: pci 00:04.0 cap=0x09"), 48);
	CU_ASSERT_TRUE(strstr(out, "guest: warning: pci 00:04.0 capability list longer than 48") != NULL);
	CU_ASSERT_TRUE(has_line("guest: pci devices=2"));
	pci_device_destroy(d.pci);
}

static void test_capability_into_header(void)
{
	static const uint8_t cap[4] = { 0 };
	struct dev d;

	dev_create(&d, 0x1044);
	CU_ASSERT(pci_add_capability(d.pci, PCI_CAPID_VENDOR, cap, sizeof(cap)) > 0);
	d.override_offset = PCI_CFG_CAPABILITY_LIST;
	d.override_value = 0x10;
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 5, d.pci), 0);
	CU_ASSERT_STRING_EQUAL(pci_report(), "PCI capability pointer into the header");
	CU_ASSERT_EQUAL(count_lines("cap="), 0);
	pci_device_destroy(d.pci);
}

static void test_bar_mask_with_holes(void)
{
	struct dev d;

	dev_create(&d, 0x1045);
	dev_bar(&d, 0, PCI_BAR_MEM32, 0x1000);
	/* Sized, BAR0 answers a mask that is not ones down to its size. */
	d.override_offset = PCI_CFG_BAR0;
	d.override_value = 0xff0ff000;
	d.override_if_all_ones = true;
	CU_ASSERT_EQUAL_FATAL(pci_register_device(root, 6, d.pci), 0);
	CU_ASSERT_STRING_EQUAL(pci_report(), "PCI BAR sizing inconsistent");
	CU_ASSERT_TRUE(strstr(out, "guest: warning: pci 00:06.0 bar0") != NULL);
	pci_device_destroy(d.pci);
}

static CU_TestInfo guest_pci_tests[] = {
	{ "host bridge only", test_host_bridge_only },
	{ "no configuration mechanism", test_no_mechanism },
	{ "BARs sized and restored, capabilities", test_bars_and_caps },
	{ "capability loop is bounded", test_capability_loop },
	{ "capability pointer into the header", test_capability_into_header },
	{ "BAR mask with holes", test_bar_mask_with_holes },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "guest_pci", NULL, NULL, setup, teardown, guest_pci_tests },
	CU_SUITE_INFO_NULL,
};
