/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-pci transport driven as a guest driver would: PCI config
 * ports, capability walk, BAR MMIO on a real PCI root, with a fake device
 * behind it that records what the transport tells it.  No KVM here: the
 * transport runs without a VM fd (tests/kvm/test_virtio_pci_kvm.c has the
 * ioeventfds, routes and irqfds).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>

#include "bus.h"
#include "pci.h"
#include "testutil.h"
#include "unit.h"
#include "virtio.h"
#include "virtio_pci.h"

#define NQ		3
#define QMAX		256
#define CFG_SIZE	8
#define DEVFN		PCI_DEVFN(3, 0)
#define FEATURES	(1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_F_RING_PACKED |\
			 1ull << VIRTIO_RING_F_EVENT_IDX | \
			 1ull << VIRTIO_F_ACCESS_PLATFORM | \
			 1ull << VIRTIO_F_RING_RESET)

static struct bus *pio, *mmio;
static struct pci_root *root;
static struct virtio_pci *vp;
static uint64_t bar0, bar1;

/* ---- the fake device ---- */

static struct {
	unsigned driver_ok, reset;
	int driver_ok_ret;
	uint64_t features;
	unsigned nr;
	struct virtio_pci_queue_info q[NQ];
	uint8_t config[CFG_SIZE];
} fake;

/* The INTx line as the transport last drove it, and how often. */
static struct {
	int gsi;
	bool level;
	unsigned raised;
} line;

static void fake_set_intx(void *ctx, unsigned gsi, bool level)
{
	(void)ctx;
	line.gsi = (int)gsi;
	line.level = level;
	line.raised += level;
}

static uint32_t fake_config_read(void *opaque, uint32_t offset, unsigned size)
{
	uint32_t v = 0;

	(void)opaque;
	memcpy(&v, fake.config + offset, size);
	return v;
}

static void fake_config_write(void *opaque, uint32_t offset, uint32_t value,
			      unsigned size)
{
	(void)opaque;
	memcpy(fake.config + offset, &value, size);
}

static int fake_driver_ok(void *opaque, uint64_t features,
			  const struct virtio_pci_queue_info *queues,
			  unsigned nr)
{
	(void)opaque;
	fake.driver_ok++;
	fake.features = features;
	fake.nr = nr;
	memcpy(fake.q, queues, nr * sizeof(queues[0]));
	return fake.driver_ok_ret;
}

static void fake_reset(void *opaque)
{
	(void)opaque;
	fake.reset++;
}

static const struct virtio_pci_device_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.driver_ok = fake_driver_ok,
	.reset = fake_reset,
};

/* ---- the guest's accessors ---- */

static uint32_t cfg_read(unsigned reg, unsigned size)
{
	return test_pci_cfg_read(pio, DEVFN, reg, size);
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
	test_pci_cfg_write(pio, DEVFN, reg, size, v);
}

static uint64_t rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	CU_ASSERT_TRUE(bus_read(mmio, addr, &v, size));
	return v;
}

static void wr(uint64_t addr, unsigned size, uint64_t v)
{
	CU_ASSERT_TRUE(bus_write(mmio, addr, &v, size));
}

#define COMMON(off)	(bar0 + VIRTIO_PCI_COMMON_OFFSET + (off))

static uint8_t status(void)
{
	return (uint8_t)rd(COMMON(VIRTIO_PCI_COMMON_STATUS), 1);
}

static void set_status(uint8_t s)
{
	wr(COMMON(VIRTIO_PCI_COMMON_STATUS), 1, s);
}

static void write_features(uint64_t f)
{
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 0);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)f);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)(f >> 32));
}

static uint64_t read_device_features(void)
{
	uint64_t f;

	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 0);
	f = rd(COMMON(VIRTIO_PCI_COMMON_DF), 4);
	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 1);
	return f | rd(COMMON(VIRTIO_PCI_COMMON_DF), 4) << 32;
}

static const uint8_t S_INIT = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			      VIRTIO_CONFIG_S_DRIVER;

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
static bool negotiate(uint64_t f)
{
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(S_INIT);
	write_features(f);
	set_status(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK);
	return status() & VIRTIO_CONFIG_S_FEATURES_OK;
}

static void queue_setup(unsigned q, uint16_t size, uint64_t desc,
			uint64_t driver, uint64_t device, uint16_t vector)
{
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, q);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2, size);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 4, (uint32_t)desc);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCHI), 4, (uint32_t)(desc >> 32));
	wr(COMMON(VIRTIO_PCI_COMMON_Q_AVAILLO), 4, (uint32_t)driver);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_AVAILHI), 4, (uint32_t)(driver >> 32));
	/* The used ring as one qword, which the transport also takes. */
	wr(COMMON(VIRTIO_PCI_COMMON_Q_USEDLO), 8, device);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_MSIX), 2, vector);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2, 1);
}

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* ---- fixture ---- */

static void setup(void)
{
	struct virtio_pci_config vc = {
		.name = "vnet0",
		.device_id = VIRTIO_ID_NET,
		.features = FEATURES,
		.num_queues = NQ,
		.queue_size_max = QMAX,
		.config_size = CFG_SIZE,
		.vm_fd = -1,
		.set_intx = fake_set_intx,
	};

	memset(&fake, 0, sizeof(fake));
	memset(&line, 0, sizeof(line));
	line.gsi = -1;
	memcpy(fake.config, "\x52\x54\x00\x12\x34\x56\x01\x00", CFG_SIZE);
	CU_ASSERT_FATAL(test_pci_machine_create(1ull << 30, &pio, &mmio,
						&root) == 0);
	CU_ASSERT_FATAL(virtio_pci_create(&vc, &fake_ops, NULL, &vp) == 0);
	CU_ASSERT_FATAL(virtio_pci_register(vp, root, 3) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	bar1 = cfg_read(PCI_CFG_BAR0 + 4, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

static void teardown(void)
{
	virtio_pci_destroy(vp);
	test_pci_machine_destroy(pio, mmio, root);
}

/* ---- tests ---- */

static void test_create_limits(void)
{
	struct virtio_pci_config vc = {
		.device_id = VIRTIO_ID_BLOCK, .num_queues = 0,
		.queue_size_max = 128, .vm_fd = -1,
	};
	struct virtio_pci *v;

	CU_ASSERT_EQUAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), -EINVAL);
	vc.num_queues = VIRTIO_PCI_MAX_QUEUES + 1;
	CU_ASSERT_EQUAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), -EINVAL);
	vc.num_queues = 1;
	vc.queue_size_max = 0;
	CU_ASSERT_EQUAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), -EINVAL);
	vc.queue_size_max = 128;
	vc.config_size = VIRTIO_PCI_DEVICE_CFG_MAX + 1;
	CU_ASSERT_EQUAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), -EINVAL);
	/* A VM fd without a router (or the reverse) is a caller bug. */
	vc.config_size = 0;
	vc.vm_fd = 5;
	CU_ASSERT_EQUAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), -EINVAL);
	vc.vm_fd = -1;
	CU_ASSERT_EQUAL_FATAL(virtio_pci_create(&vc, &fake_ops, NULL, &v), 0);
	/* Unregistered: the queue fds exist, out of range gives -1. */
	CU_ASSERT_TRUE(virtio_pci_queue_kick_fd(v, 0) >= 0);
	CU_ASSERT_EQUAL(virtio_pci_queue_kick_fd(v, 1), -1);
	CU_ASSERT_EQUAL(virtio_pci_queue_call_fd(v, 1), -1);
	virtio_pci_destroy(v);
}

static void test_identity(void)
{
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_VENDOR_ID, 2), 0x1af4);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_DEVICE_ID, 2), 0x1041);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_REVISION, 1), 1);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_REVISION, 4) >> 8, 0x020000);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	CU_ASSERT_TRUE(cfg_read(PCI_CFG_SUBSYSTEM_ID, 2) >= 0x40);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_INTERRUPT_PIN, 1), 1);	/* INTA */
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_INTERRUPT_LINE, 1), 16 + 3);
	CU_ASSERT_EQUAL(virtio_pci_intx_gsi(vp), 16 + 3);
	/* Writable, but delivery stays on the transport's GSI. */
	cfg_write(PCI_CFG_INTERRUPT_LINE, 1, 11);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_INTERRUPT_LINE, 1), 11);
	CU_ASSERT_EQUAL(virtio_pci_intx_gsi(vp), 16 + 3);
	CU_ASSERT_TRUE(cfg_read(PCI_CFG_STATUS, 2) & PCI_STS_CAP_LIST);
	/* Both BARs are mem32 in the 32-bit window, BAR 0 16 KiB. */
	CU_ASSERT_TRUE(bar0 >= PCI_MMIO32_WINDOW_START &&
		       bar0 < PCI_MMIO32_WINDOW_END);
	CU_ASSERT_TRUE(bar1 >= PCI_MMIO32_WINDOW_START &&
		       bar1 < PCI_MMIO32_WINDOW_END);
	cfg_write(PCI_CFG_BAR0, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_BAR0, 4), 0xffffc000);
	cfg_write(PCI_CFG_BAR0, 4, (uint32_t)bar0);
	cfg_write(PCI_CFG_BAR0 + 8, 4, 0xffffffff);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_BAR0 + 8, 4), 0);
}

static void test_capabilities(void)
{
	unsigned seen = 0, msix = 0, pos, n = 0;

	for (pos = cfg_read(PCI_CFG_CAPABILITY_LIST, 1); pos && n < 16;
	     pos = cfg_read(pos + 1, 1), n++) {
		unsigned id = cfg_read(pos, 1);

		CU_ASSERT_TRUE(pos >= PCI_CFG_HEADER_END && pos % 4 == 0);
		if (id == PCI_CAPID_MSIX) {
			msix = pos;
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(id, PCI_CAPID_VENDOR);
		unsigned type = cfg_read(pos + 3, 1), len = cfg_read(pos + 2, 1);
		uint32_t bar = cfg_read(pos + 4, 1), off = cfg_read(pos + 8, 4);
		uint32_t length = cfg_read(pos + 12, 4);

		seen |= 1u << type;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			CU_ASSERT_EQUAL(len, sizeof(struct virtio_pci_cap));
			CU_ASSERT_EQUAL(bar, 0);
			CU_ASSERT_EQUAL(off, VIRTIO_PCI_COMMON_OFFSET);
			CU_ASSERT_EQUAL(length, VIRTIO_PCI_COMMON_CFG_SIZE_1_2);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			CU_ASSERT_EQUAL(len, sizeof(struct virtio_pci_notify_cap));
			CU_ASSERT_EQUAL(bar, 0);
			CU_ASSERT_EQUAL(off, VIRTIO_PCI_NOTIFY_OFFSET);
			CU_ASSERT_EQUAL(length, NQ * 4);
			CU_ASSERT_EQUAL(cfg_read(pos + 16, 4), 4);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			CU_ASSERT_EQUAL(bar, 0);
			CU_ASSERT_EQUAL(off, VIRTIO_PCI_ISR_OFFSET);
			CU_ASSERT_EQUAL(length, 1);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			CU_ASSERT_EQUAL(bar, 0);
			CU_ASSERT_EQUAL(off, VIRTIO_PCI_DEVICE_OFFSET);
			CU_ASSERT_EQUAL(length, CFG_SIZE);
			break;
		case VIRTIO_PCI_CAP_PCI_CFG:
			CU_ASSERT_EQUAL(len, sizeof(struct virtio_pci_cfg_cap));
			break;
		default:
			CU_FAIL("unexpected virtio capability type");
		}
	}
	CU_ASSERT_EQUAL(pos, 0);	/* the list ends */
	CU_ASSERT_EQUAL(seen, 1u << VIRTIO_PCI_CAP_COMMON_CFG |
			      1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
			      1u << VIRTIO_PCI_CAP_ISR_CFG |
			      1u << VIRTIO_PCI_CAP_DEVICE_CFG |
			      1u << VIRTIO_PCI_CAP_PCI_CFG);
	CU_ASSERT_FATAL(msix != 0);
	/* Table size NQ + 1 vectors, disabled; table and PBA in BAR 1. */
	CU_ASSERT_EQUAL(cfg_read(msix + 2, 2), NQ);
	CU_ASSERT_EQUAL(cfg_read(msix + 4, 4), 0x0000 | 1);
	CU_ASSERT_EQUAL(cfg_read(msix + 8, 4), 0x1000 | 1);
	/* Only enable and function mask are writable. */
	cfg_write(msix + 2, 2, 0xffff);
	CU_ASSERT_EQUAL(cfg_read(msix + 2, 2), 0xc000 | NQ);
	cfg_write(msix + 2, 2, 0);
	CU_ASSERT_EQUAL(cfg_read(msix + 2, 2), NQ);
}

static void test_init_sequence(void)
{
	uint64_t df = read_device_features();
	uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
			1ull << VIRTIO_RING_F_EVENT_IDX;

	/* VERSION_1 added; transport features we lack dropped. */
	CU_ASSERT_EQUAL(df, (FEATURES | 1ull << VIRTIO_F_VERSION_1) &
			    ~(1ull << VIRTIO_F_ACCESS_PLATFORM |
			      1ull << VIRTIO_F_RING_RESET));
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2), NQ);
	CU_ASSERT_EQUAL(status(), 0);

	CU_ASSERT_TRUE(negotiate(want));
	CU_ASSERT_EQUAL(status(), S_INIT | VIRTIO_CONFIG_S_FEATURES_OK);
	/* Driver features read back, and are frozen after FEATURES_OK. */
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_GF), 4), 1);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_GF), 4), 1);

	/* Queue defaults: max size, no vector, disabled, notify_off = q. */
	for (unsigned q = 0; q < NQ; q++) {
		wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, q);
		CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2), QMAX);
		CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_MSIX), 2),
				VIRTIO_MSI_NO_VECTOR);
		CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
		CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_NOFF), 2), q);
	}
	/* A queue that does not exist reads size 0. */
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, NQ);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2), 0);

	wr(COMMON(VIRTIO_PCI_COMMON_MSIX), 2, 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_MSIX), 2), 0);
	queue_setup(0, 256, 0x100000, 0x101000, 0x102000, 1);
	queue_setup(1, 64, 0x1200000000ull, 0x1200001000ull, 0x1200002000ull, 2);
	/* Queue 2 left disabled.  A vector beyond the table reads NO_VECTOR. */
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 2);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_MSIX), 2, NQ + 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_MSIX), 2),
			VIRTIO_MSI_NO_VECTOR);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_DESCHI), 4), 0x12);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_USEDLO), 4), 0x2000);
	CU_ASSERT_EQUAL(fake.driver_ok, 0);

	set_status(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL(status(), S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
				  VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL_FATAL(fake.driver_ok, 1);
	CU_ASSERT_EQUAL(fake.features, want);
	CU_ASSERT_EQUAL(fake.nr, NQ);
	CU_ASSERT_TRUE(fake.q[0].enabled);
	CU_ASSERT_EQUAL(fake.q[0].size, 256);
	CU_ASSERT_EQUAL(fake.q[0].desc, 0x100000);
	CU_ASSERT_EQUAL(fake.q[0].driver, 0x101000);
	CU_ASSERT_EQUAL(fake.q[0].device, 0x102000);
	CU_ASSERT_EQUAL(fake.q[0].msix_vector, 1);
	CU_ASSERT_EQUAL(fake.q[1].size, 64);
	CU_ASSERT_EQUAL(fake.q[1].desc, 0x1200000000ull);
	CU_ASSERT_EQUAL(fake.q[1].device, 0x1200002000ull);
	CU_ASSERT_EQUAL(fake.q[1].msix_vector, 2);
	CU_ASSERT_FALSE(fake.q[2].enabled);
	CU_ASSERT_EQUAL(fake.q[2].size, 0);
	for (unsigned q = 0; q < NQ; q++) {
		CU_ASSERT_EQUAL(fake.q[q].kick_fd,
				virtio_pci_queue_kick_fd(vp, q));
		CU_ASSERT_EQUAL(fake.q[q].call_fd,
				virtio_pci_queue_call_fd(vp, q));
	}
	CU_ASSERT_EQUAL(fake.reset, 0);
	/* A second DRIVER_OK write changes nothing. */
	set_status(status());
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
}

static void test_features_refused(void)
{
	/* Without VERSION_1. */
	CU_ASSERT_FALSE(negotiate(1ull << VIRTIO_NET_F_MAC));
	CU_ASSERT_EQUAL(status(), S_INIT);
	/* More than offered (ACCESS_PLATFORM was dropped). */
	CU_ASSERT_FALSE(negotiate(1ull << VIRTIO_F_VERSION_1 |
				  1ull << VIRTIO_F_ACCESS_PLATFORM));
	/* Then DRIVER_OK is misprogramming: no callback. */
	set_status(S_INIT | VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_FALSE(status() & VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL(fake.driver_ok, 0);
	/* A reset recovers; the offered set is accepted. */
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	CU_ASSERT_FALSE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_reset(void)
{
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	wr(COMMON(VIRTIO_PCI_COMMON_MSIX), 2, 0);
	queue_setup(2, 128, 0x200000, 0x201000, 0x202000, 3);
	set_status(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
	/* A kick and a call left pending are dropped by the reset. */
	wr(bar0 + VIRTIO_PCI_NOTIFY_OFFSET + 2 * 4, 2, 2);
	CU_ASSERT_TRUE(eventfd_write(virtio_pci_queue_call_fd(vp, 2), 1) == 0);

	set_status(0);
	CU_ASSERT_EQUAL(fake.reset, 1);
	CU_ASSERT_EQUAL(status(), 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_MSIX), 2),
			VIRTIO_MSI_NO_VECTOR);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2), 0);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_GF), 4), 0);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 2);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2), QMAX);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_MSIX), 2),
			VIRTIO_MSI_NO_VECTOR);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 4), 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_USEDLO), 4), 0);
	CU_ASSERT_FALSE(fd_readable(virtio_pci_queue_kick_fd(vp, 2)));
	CU_ASSERT_FALSE(fd_readable(virtio_pci_queue_call_fd(vp, 2)));
	/* Resetting a reset device does not call the device again. */
	set_status(0);
	CU_ASSERT_EQUAL(fake.reset, 1);
}

static void expect_needs_reset(void (*program)(void), const char *what)
{
	set_status(0);
	fake.driver_ok = 0;
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	program();
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	if (!(status() & VIRTIO_CONFIG_S_NEEDS_RESET))
		CU_FAIL(what);
	CU_ASSERT_EQUAL(fake.driver_ok, 0);
}

static void prog_size_not_pow2(void)
{
	queue_setup(0, 100, 0x100000, 0x101000, 0x102000, 1);
}

static void prog_size_too_big(void)
{
	queue_setup(0, QMAX * 2, 0x100000, 0x101000, 0x102000, 1);
}

static void prog_size_zero(void)
{
	queue_setup(0, 0, 0x100000, 0x101000, 0x102000, 1);
}

static void prog_desc_unaligned(void)
{
	queue_setup(0, 16, 0x100008, 0x101000, 0x102000, 1);
}

static void prog_avail_unaligned(void)
{
	queue_setup(0, 16, 0x100000, 0x101001, 0x102000, 1);
}

static void prog_used_unaligned(void)
{
	queue_setup(0, 16, 0x100000, 0x101000, 0x102002, 1);
}

static void prog_ring_wraps(void)
{
	queue_setup(0, 16, 0xfffffffffffffff0ull, 0x101000, 0x102000, 1);
}

static void prog_enabled_queue_changed(void)
{
	queue_setup(0, 16, 0x100000, 0x101000, 0x102000, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 4, 0x300000);
}

static void prog_status_cleared(void)
{
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
}

static void test_misprogramming(void)
{
	expect_needs_reset(prog_size_not_pow2, "size not a power of two");
	expect_needs_reset(prog_size_too_big, "size above max");
	expect_needs_reset(prog_size_zero, "size 0");
	expect_needs_reset(prog_desc_unaligned, "descriptors unaligned");
	expect_needs_reset(prog_avail_unaligned, "driver area unaligned");
	expect_needs_reset(prog_used_unaligned, "device area unaligned");
	expect_needs_reset(prog_ring_wraps, "ring wraps the address space");
	expect_needs_reset(prog_enabled_queue_changed, "enabled queue moved");
	expect_needs_reset(prog_status_cleared, "status bit cleared");

	/* Enabling a queue before FEATURES_OK. */
	set_status(0);
	set_status(S_INIT);
	queue_setup(0, 16, 0x100000, 0x101000, 0x102000, 1);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* DRIVER before ACKNOWLEDGE. */
	set_status(0);
	set_status(VIRTIO_CONFIG_S_DRIVER);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* The device's own failure at DRIVER_OK. */
	set_status(0);
	fake.driver_ok = 0;
	fake.driver_ok_ret = -EIO;
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	fake.driver_ok_ret = 0;

	/* Packed rings take any size up to max, driver area 4-aligned. */
	set_status(0);
	fake.driver_ok = 0;
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1 |
				 1ull << VIRTIO_F_RING_PACKED));
	queue_setup(0, 100, 0x100000, 0x101004, 0x102004, 1);
	set_status(status() | VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_FALSE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
	CU_ASSERT_EQUAL(fake.q[0].size, 100);

	/* Odd accesses change nothing and do not crash. */
	wr(COMMON(VIRTIO_PCI_COMMON_STATUS), 4, 0);
	wr(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2, 77);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SIZE + 1), 1, 1);
	wr(COMMON(0x800), 4, 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2), NQ);
	CU_ASSERT_EQUAL(rd(COMMON(0x800), 4), 0);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_DRIVER_OK);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 0xffff);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 4, 1);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 4), 0);
}

static void test_notify_and_isr(void)
{
	int kick = virtio_pci_queue_kick_fd(vp, 1);
	eventfd_t v;

	/* Without an ioeventfd, the BAR write signals the kick fd. */
	CU_ASSERT_FALSE(fd_readable(kick));
	wr(bar0 + VIRTIO_PCI_NOTIFY_OFFSET + 4, 2, 1);
	CU_ASSERT_TRUE(eventfd_read(kick, &v) == 0 && v == 1);
	CU_ASSERT_FALSE(fd_readable(virtio_pci_queue_kick_fd(vp, 0)));
	/* Past the last queue: nothing. */
	wr(bar0 + VIRTIO_PCI_NOTIFY_OFFSET + NQ * 4, 2, NQ);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_NOTIFY_OFFSET, 2), 0);

	/* Config change: generation bumps, ISR bit, read to clear. */
	uint8_t gen = (uint8_t)rd(COMMON(VIRTIO_PCI_COMMON_CFGGENERATION), 1);

	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	virtio_pci_config_changed(vp);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_CFGGENERATION), 1),
			(uint8_t)(gen + 1));
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_CONFIG);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
}

static unsigned find_cap(unsigned id, int vtype);

/*
 * The device's own failure, from another thread than the driver's:
 * after DRIVER_OK, NEEDS_RESET plus the config interrupt and nothing
 * else; on a reset device, the bit alone.
 */
static void test_set_needs_reset(void)
{
	unsigned cap = find_cap(PCI_CAPID_MSIX, -1);
	uint64_t pba = bar1 + 0x1000;
	uint8_t gen;

	CU_ASSERT_FATAL(cap != 0);
	/* Function-masked MSI-X: a signalled vector reads as pending. */
	cfg_write(cap + 2, 2, 0xc000);
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	wr(COMMON(VIRTIO_PCI_COMMON_MSIX), 2, 0);
	queue_setup(0, 16, 0x100000, 0x101000, 0x102000, 1);
	set_status(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
	gen = (uint8_t)rd(COMMON(VIRTIO_PCI_COMMON_CFGGENERATION), 1);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);

	virtio_pci_set_needs_reset(vp, "test: back-end lost");
	CU_ASSERT_EQUAL(status(), S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
				  VIRTIO_CONFIG_S_DRIVER_OK |
				  VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The config vector (0) fired; no queue's did, nothing else moved. */
	CU_ASSERT_EQUAL(rd(pba, 8), 1u << 0);
	CU_ASSERT_FALSE(fd_readable(virtio_pci_queue_call_fd(vp, 0)));
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_CFGGENERATION), 1), gen);
	CU_ASSERT_EQUAL(fake.reset, 0);
	CU_ASSERT_EQUAL(fake.driver_ok, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 0);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2), 1);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_CONFIG);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	/* Twice: the bit stays, one more interrupt, still no generation. */
	virtio_pci_set_needs_reset(vp, "test: again");
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_CFGGENERATION), 1), gen);

	/* The driver resets: the bit goes, the device is stopped once. */
	set_status(0);
	CU_ASSERT_EQUAL(status(), 0);
	CU_ASSERT_EQUAL(fake.reset, 1);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);

	/* On a reset device: the bit only, no interrupt, no device call. */
	wr(COMMON(VIRTIO_PCI_COMMON_MSIX), 2, 0);
	virtio_pci_set_needs_reset(vp, "test: lost while reset");
	CU_ASSERT_EQUAL(status(), VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	CU_ASSERT_EQUAL(fake.reset, 1);
	/* Initialization does not proceed until the driver resets... */
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CU_ASSERT_EQUAL(status(), VIRTIO_CONFIG_S_NEEDS_RESET);
	/* ...which clears it. */
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	CU_ASSERT_FALSE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	cfg_write(cap + 2, 2, 0);
}

static void test_device_config(void)
{
	uint64_t d = bar0 + VIRTIO_PCI_DEVICE_OFFSET;

	CU_ASSERT_EQUAL(rd(d, 4), 0x12005452);
	CU_ASSERT_EQUAL(rd(d + 4, 2), 0x5634);
	CU_ASSERT_EQUAL(rd(d + 6, 1), 1);
	/* Past config_size, or 8 bytes at once: 0, and no hook call. */
	CU_ASSERT_EQUAL(rd(d + 6, 4), 0);
	CU_ASSERT_EQUAL(rd(d, 8), 0);
	CU_ASSERT_EQUAL(rd(d + 0x100, 4), 0);
	wr(d + 6, 2, 0xbeef);
	CU_ASSERT_EQUAL(fake.config[6], 0xef);
	CU_ASSERT_EQUAL(fake.config[7], 0xbe);
	wr(d + 7, 2, 0xffff);
	CU_ASSERT_EQUAL(fake.config[7], 0xbe);
}

static unsigned find_cap(unsigned id, int vtype)
{
	for (unsigned pos = cfg_read(PCI_CFG_CAPABILITY_LIST, 1); pos;
	     pos = cfg_read(pos + 1, 1))
		if (cfg_read(pos, 1) == id &&
		    (vtype < 0 || cfg_read(pos + 3, 1) == (unsigned)vtype))
			return pos;
	return 0;
}

static void test_pci_cfg_window(void)
{
	unsigned c = find_cap(PCI_CAPID_VENDOR, VIRTIO_PCI_CAP_PCI_CFG);

	CU_ASSERT_FATAL(c != 0);
	/* num_queues through the window. */
	cfg_write(c + 4, 1, 0);
	cfg_write(c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
	cfg_write(c + 12, 4, 2);
	CU_ASSERT_EQUAL(cfg_read(c + 16, 4), NQ);
	/* A status write through it. */
	cfg_write(c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_write(c + 12, 4, 1);
	cfg_write(c + 16, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CU_ASSERT_EQUAL(status(), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* An MSI-X table dword in BAR 1. */
	cfg_write(c + 4, 1, 1);
	cfg_write(c + 8, 4, 8);
	cfg_write(c + 12, 4, 4);
	cfg_write(c + 16, 4, 0x4021);
	CU_ASSERT_EQUAL(rd(bar1 + 8, 4), 0x4021);
	/* Misaligned, bad length, other BARs: nothing, reads 0. */
	cfg_write(c + 8, 4, 2);
	CU_ASSERT_EQUAL(cfg_read(c + 16, 4), 0);
	cfg_write(c + 8, 4, 0);
	cfg_write(c + 12, 4, 3);
	CU_ASSERT_EQUAL(cfg_read(c + 16, 4), 0);
	cfg_write(c + 4, 1, 2);
	cfg_write(c + 12, 4, 4);
	CU_ASSERT_EQUAL(cfg_read(c + 16, 4), 0);
	cfg_write(c + 4, 1, 0);
	cfg_write(c + 8, 4, 0x4000);
	CU_ASSERT_EQUAL(cfg_read(c + 16, 4), 0);
}

static void test_msix_table(void)
{
	unsigned cap = find_cap(PCI_CAPID_MSIX, -1);
	uint64_t pba = bar1 + 0x1000;
	int call = virtio_pci_queue_call_fd(vp, 0);
	eventfd_t v;

	CU_ASSERT_FATAL(cap != 0);
	/* Every entry starts masked with zeros. */
	for (unsigned i = 0; i <= NQ; i++) {
		CU_ASSERT_EQUAL(rd(bar1 + 16 * i, 4), 0);
		CU_ASSERT_EQUAL(rd(bar1 + 16 * i + 8, 4), 0);
		CU_ASSERT_EQUAL(rd(bar1 + 16 * i + 12, 4), 1);
	}
	/* Entry 1: address, data; control keeps only the mask bit. */
	wr(bar1 + 16, 4, 0xfee00003);
	wr(bar1 + 20, 4, 0);
	wr(bar1 + 24, 4, 0x4041);
	wr(bar1 + 28, 4, 0xfffffffe);
	CU_ASSERT_EQUAL(rd(bar1 + 16, 8), 0xfee00000ull);
	CU_ASSERT_EQUAL(rd(bar1 + 24, 4), 0x4041);
	CU_ASSERT_EQUAL(rd(bar1 + 28, 4), 0);
	/* A qword write covers data and control. */
	wr(bar1 + 24, 8, 1ull << 32 | 0x4042);
	CU_ASSERT_EQUAL(rd(bar1 + 24, 4), 0x4042);
	CU_ASSERT_EQUAL(rd(bar1 + 28, 4), 1);
	/* Byte and misaligned accesses do nothing. */
	wr(bar1 + 24, 1, 0xff);
	wr(bar1 + 26, 4, 0xffffffff);
	CU_ASSERT_EQUAL(rd(bar1 + 24, 4), 0x4042);
	CU_ASSERT_EQUAL(rd(bar1 + 24, 2), 0);

	/* PBA: pending when vector 1 (queue 0) is masked and called. */
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x100000, 0x101000, 0x102000, 1);
	cfg_write(cap + 2, 2, 0x8000);	/* enable */
	CU_ASSERT_EQUAL(rd(pba, 8), 0);
	CU_ASSERT_TRUE(eventfd_write(call, 1) == 0);
	CU_ASSERT_EQUAL(rd(pba, 8), 1u << 1);
	CU_ASSERT_EQUAL(rd(pba, 4), 1u << 1);
	/* Unmasked: not pending (KVM would take it with an irqfd). */
	wr(bar1 + 28, 4, 0);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);
	/* Function mask: pending again. */
	cfg_write(cap + 2, 2, 0xc000);
	CU_ASSERT_EQUAL(rd(pba, 8), 1u << 1);
	/* MSI-X disabled: no vector at all. */
	cfg_write(cap + 2, 2, 0);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);
	/* The PBA is read-only. */
	cfg_write(cap + 2, 2, 0xc000);
	wr(pba, 8, 0);
	CU_ASSERT_EQUAL(rd(pba, 8), 1u << 1);
	CU_ASSERT_TRUE(eventfd_read(call, &v) == 0);
	CU_ASSERT_EQUAL(rd(pba, 8), 0);
	/* Without KVM there are no routes. */
	CU_ASSERT_EQUAL(virtio_pci_vector_gsi(vp, 1), -1);
	CU_ASSERT_EQUAL(virtio_pci_vector_gsi(vp, 99), -1);
}

/* Negotiate, queue 0 with no vector, DRIVER_OK: MSI-X left disabled. */
static void intx_start(void)
{
	CU_ASSERT_TRUE(negotiate(1ull << VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x100000, 0x101000, 0x102000, VIRTIO_MSI_NO_VECTOR);
	set_status(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
}

static void test_intx(void)
{
	int call = virtio_pci_queue_call_fd(vp, 0);
	int mode_fd = virtio_pci_intx_event_fd(vp);
	unsigned cap = find_cap(PCI_CAPID_MSIX, -1);

	/* Before DRIVER_OK there is nothing to watch. */
	CU_ASSERT_FALSE(virtio_pci_intx_poll_mode(vp));
	intx_start();
	/* The main loop hears of the mode change and watches the calls. */
	CU_ASSERT_TRUE(fd_readable(mode_fd));
	CU_ASSERT_TRUE(virtio_pci_intx_poll_mode(vp));
	CU_ASSERT_FALSE(fd_readable(mode_fd));
	CU_ASSERT_FALSE(line.level);

	/* A call: drained, ISR bit 0, line asserted on the GSI. */
	CU_ASSERT_TRUE(eventfd_write(call, 1) == 0);
	virtio_pci_intx_call(vp, 0);
	CU_ASSERT_FALSE(fd_readable(call));
	CU_ASSERT_TRUE(line.level);
	CU_ASSERT_EQUAL(line.gsi, 16 + 3);
	CU_ASSERT_EQUAL(line.raised, 1);
	/* A spurious wake-up (nothing counted) changes nothing. */
	virtio_pci_intx_call(vp, 0);
	CU_ASSERT_EQUAL(line.raised, 1);
	/* The ISR read clears and deasserts. */
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_QUEUE);
	CU_ASSERT_FALSE(line.level);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);

	/* Config change: ISR bit 1 and the line. */
	virtio_pci_config_changed(vp);
	CU_ASSERT_TRUE(line.level);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_CONFIG);
	CU_ASSERT_FALSE(line.level);
	/* DEVICE_NEEDS_RESET after DRIVER_OK takes the same path. */
	virtio_pci_set_needs_reset(vp, "test");
	CU_ASSERT_TRUE(line.level);
	CU_ASSERT_EQUAL(line.raised, 3);

	/* Reset: ISR cleared, line deasserted, calls no longer watched. */
	set_status(0);
	CU_ASSERT_FALSE(line.level);
	CU_ASSERT_TRUE(fd_readable(mode_fd));
	CU_ASSERT_FALSE(virtio_pci_intx_poll_mode(vp));
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);

	/* A call pending when MSI-X is switched on stays for the irqfd. */
	intx_start();
	CU_ASSERT_TRUE(virtio_pci_intx_poll_mode(vp));
	CU_ASSERT_TRUE(eventfd_write(call, 1) == 0);
	virtio_pci_intx_call(vp, 0);
	CU_ASSERT_TRUE(line.level);
	cfg_write(cap + 2, 2, 0x8000);
	CU_ASSERT_FALSE(line.level);	/* switching MSI-X on stops INTx */
	CU_ASSERT_TRUE(fd_readable(mode_fd));
	CU_ASSERT_FALSE(virtio_pci_intx_poll_mode(vp));
	CU_ASSERT_TRUE(eventfd_write(call, 1) == 0);
	virtio_pci_intx_call(vp, 0);	/* a late wake-up of the loop */
	CU_ASSERT_TRUE(fd_readable(call));
	CU_ASSERT_FALSE(line.level);
	virtio_pci_config_changed(vp);
	CU_ASSERT_FALSE(line.level);
	CU_ASSERT_EQUAL(line.raised, 4);
	/* ISR stays read-to-clear; the line is not touched. */
	CU_ASSERT_TRUE(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1) &
		       VIRTIO_PCI_ISR_CONFIG);
	/* MSI-X off again while live: INTx resumes. */
	cfg_write(cap + 2, 2, 0);
	CU_ASSERT_TRUE(virtio_pci_intx_poll_mode(vp));
	virtio_pci_intx_call(vp, 0);
	CU_ASSERT_TRUE(line.level);
	CU_ASSERT_FALSE(fd_readable(call));
	set_status(0);
	CU_ASSERT_FALSE(line.level);
}

static CU_TestInfo tests[] = {
	{ "create limits", test_create_limits },
	{ "identity and BARs", test_identity },
	{ "capabilities", test_capabilities },
	{ "init sequence", test_init_sequence },
	{ "features refused", test_features_refused },
	{ "reset", test_reset },
	{ "misprogramming", test_misprogramming },
	{ "notify and ISR", test_notify_and_isr },
	{ "set_needs_reset from the device", test_set_needs_reset },
	{ "device config", test_device_config },
	{ "PCI_CFG window", test_pci_cfg_window },
	{ "MSI-X table and PBA", test_msix_table },
	{ "INTx", test_intx },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "virtio_pci", NULL, NULL, setup, teardown, tests },
	CU_SUITE_INFO_NULL,
};
