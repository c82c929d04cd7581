/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-pci transport against real KVM, without a guest: a VM fd with
 * the in-kernel irqchip, the transport on a PCI root, BARs mapped and
 * moved by config writes.  KVM itself is the witness: assigning a second
 * ioeventfd at a notify address fails with EEXIST while ours is there, a
 * second irqfd for the same eventfd fails with EBUSY while ours is bound,
 * and a bound irqfd consumes the eventfd's count when signalled.  Ends by
 * checking that every fd was closed.  Exits 77 (SKIP) without /dev/kvm.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bus.h"
#include "irq.h"
#include "log.h"
#include "pci.h"
#include "testutil.h"
#include "virtio.h"
#include "virtio_pci.h"

#define NQ	2
#define DEVFN	PCI_DEVFN(2, 0)

static struct bus *pio, *mmio;

static uint32_t cfg_read(unsigned reg, unsigned size)
{
	return test_pci_cfg_read(pio, DEVFN, reg, size);
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
	test_pci_cfg_write(pio, DEVFN, reg, size, v);
}

static void wr(uint64_t addr, unsigned size, uint64_t v)
{
	bus_write(mmio, addr, &v, size);
}

static uint64_t rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	bus_read(mmio, addr, &v, size);
	return v;
}

/* 0 when KVM took a second ioeventfd at addr (and it was removed again). */
static int probe_ioeventfd(int vm, uint64_t addr)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	struct kvm_ioeventfd io = { .addr = addr, .len = 2, .fd = fd };
	int ret = 0;

	if (ioctl(vm, KVM_IOEVENTFD, &io) < 0) {
		ret = -errno;
	} else {
		io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			ret = -1000;
	}
	close(fd);
	return ret;
}

/* 0 when KVM took fd as an irqfd on gsi (and it was removed again). */
static int probe_irqfd(int vm, int fd, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (ioctl(vm, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	return ioctl(vm, KVM_IRQFD, &irqfd) < 0 ? -1000 : 0;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void run(int vm, struct irq_router *irq)
{
	struct virtio_pci_config vc = {
		.name = "vblk0",
		.device_id = VIRTIO_ID_BLOCK,
		.features = 0,
		.num_queues = NQ,
		.queue_size_max = 128,
		.vm_fd = vm,
		.irq = irq,
	};
	static const struct virtio_pci_device_ops ops;
	struct pci_root *root;
	struct virtio_pci *vp;
	uint64_t bar0, bar1, notify, addr;
	unsigned msix = 0;
	uint32_t data;
	int call, gsi;

	CHECK(test_pci_machine_create(1ull, &pio, &mmio, &root) == 0,
	      "buses and PCI root");
	CHECK(virtio_pci_create(&vc, &ops, NULL, &vp) == 0, "create");
	CHECK(virtio_pci_register(vp, root, 2) == 0, "register");
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	bar1 = cfg_read(PCI_CFG_BAR0 + 4, 4) & ~0xfu;
	notify = bar0 + VIRTIO_PCI_NOTIFY_OFFSET;

	/* Not decoding: no ioeventfd yet. */
	CHECK(probe_ioeventfd(vm, notify) == 0, "no ioeventfd before decode");
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
	for (unsigned q = 0; q < NQ; q++)
		CHECK(probe_ioeventfd(vm, notify + 4 * q) == -EEXIST,
		      "queue %u: ioeventfd registered on map", q);

	/* Move BAR 0: the old address is free, the new one taken. */
	cfg_write(PCI_CFG_BAR0, 4, (uint32_t)(bar0 + 0x100000));
	CHECK(probe_ioeventfd(vm, notify) == 0, "old notify address freed");
	CHECK(probe_ioeventfd(vm, notify + 0x100000) == -EEXIST,
	      "new notify address registered");
	cfg_write(PCI_CFG_BAR0, 4, (uint32_t)bar0);
	CHECK(probe_ioeventfd(vm, notify + 0x100000) == 0, "moved back");
	CHECK(probe_ioeventfd(vm, notify + 4) == -EEXIST, "back at first place");

	/* MSI-X: queue 0 on vector 1, config on vector 0. */
	for (unsigned pos = cfg_read(PCI_CFG_CAPABILITY_LIST, 1); pos;
	     pos = cfg_read(pos + 1, 1))
		if (cfg_read(pos, 1) == PCI_CAPID_MSIX)
			msix = pos;
	CHECK(msix != 0, "MSI-X capability");
	wr(bar0 + VIRTIO_PCI_COMMON_MSIX, 2, 0);
	wr(bar0 + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(bar0 + VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	wr(bar1 + 16, 4, 0xfee00000);
	wr(bar1 + 20, 4, 0);
	wr(bar1 + 24, 4, 0x4041);
	wr(bar1 + 28, 4, 0);		/* unmask */
	call = virtio_pci_queue_call_fd(vp, 0);
	CHECK(virtio_pci_vector_gsi(vp, 1) == -1, "no route while disabled");
	cfg_write(msix + 2, 2, 0x8000);	/* enable */
	gsi = virtio_pci_vector_gsi(vp, 1);
	CHECK(gsi >= IRQ_MSI_GSI_FIRST, "vector 1 routed (gsi %d)", gsi);
	CHECK(irq_router_lookup_msi(irq, (unsigned)gsi, &addr, &data) == 0 &&
	      addr == 0xfee00000 && data == 0x4041, "route holds the entry");
	CHECK(virtio_pci_vector_gsi(vp, 0) == -1, "masked vector 0 not routed");
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == -EBUSY,
	      "call fd bound as irqfd");
	CHECK(eventfd_write(call, 1) == 0, "signal call fd");
	CHECK(!readable(call), "KVM consumed the signal");

	/* Masked: unbound, the signal waits, the PBA shows it. */
	wr(bar1 + 28, 4, 1);
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == 0, "unbound when masked");
	CHECK(eventfd_write(call, 1) == 0 && readable(call), "signal waits");
	CHECK(rd(bar1 + 0x1000, 8) == 2, "PBA pending bit");
	/* Reprogrammed while masked, then unmasked: route updated, delivered. */
	wr(bar1 + 24, 4, 0x4042);
	wr(bar1 + 28, 4, 0);
	CHECK(irq_router_lookup_msi(irq, (unsigned)gsi, &addr, &data) == 0 &&
	      data == 0x4042, "route updated on unmask");
	/*
	 * KVM injects a signal found pending when the irqfd is bound, but
	 * leaves the count; the next signal's wake-up consumes it all.
	 */
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == -EBUSY,
	      "bound again on unmask");
	CHECK(rd(bar1 + 0x1000, 8) == 0, "PBA clear");
	CHECK(eventfd_write(call, 1) == 0 && !readable(call),
	      "KVM consumes signals again");

	/* Function mask, then MSI-X off: irqfd gone, then the route. */
	cfg_write(msix + 2, 2, 0xc000);
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == 0, "unbound by mask-all");
	cfg_write(msix + 2, 2, 0x8000);
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == -EBUSY, "bound again");
	cfg_write(msix + 2, 2, 0);
	CHECK(virtio_pci_vector_gsi(vp, 1) == -1, "no route when disabled");
	CHECK(irq_router_lookup_msi(irq, (unsigned)gsi, &addr, &data) ==
	      -ENOENT, "route removed");
	CHECK(probe_irqfd(vm, call, (unsigned)gsi) == 0, "unbound when off");

	/* Enabled again and left so: destroy must clean up. */
	cfg_write(msix + 2, 2, 0x8000);
	gsi = virtio_pci_vector_gsi(vp, 1);
	CHECK(gsi >= IRQ_MSI_GSI_FIRST, "routed again");
	virtio_pci_destroy(vp);
	CHECK(probe_ioeventfd(vm, notify) == 0, "ioeventfd removed on destroy");
	CHECK(irq_router_lookup_msi(irq, (unsigned)gsi, &addr, &data) ==
	      -ENOENT, "route removed on destroy");
	test_pci_machine_destroy(pio, mmio, root);
}

static void test_router(int vm, struct irq_router *irq)
{
	unsigned a = 0, b = 0;
	uint64_t addr;
	uint32_t data;

	CHECK(irq_router_add_msi(irq, 0xfee00000, 0x30, &a) == 0 &&
	      irq_router_add_msi(irq, 0xfee01000, 0x31, &b) == 0 && a != b &&
	      a >= IRQ_MSI_GSI_FIRST && b >= IRQ_MSI_GSI_FIRST, "two routes");
	CHECK(irq_router_update_msi(irq, a, 0xfee02000, 0x32) == 0 &&
	      irq_router_lookup_msi(irq, a, &addr, &data) == 0 &&
	      addr == 0xfee02000 && data == 0x32, "update");
	CHECK(irq_router_update_msi(irq, 4, 0, 0) == -ENOENT, "PC route kept");
	CHECK(irq_router_remove(irq, 4) == -ENOENT, "PC route not removable");
	CHECK(irq_router_remove(irq, a) == 0 &&
	      irq_router_remove(irq, a) == -ENOENT, "remove once");
	CHECK(irq_router_lookup_msi(irq, b, &addr, &data) == 0 &&
	      data == 0x31, "other route intact");
	CHECK(irq_router_add_msi(irq, 0xfee00000, 0x33, &a) == 0, "GSI reused");
	CHECK(irq_router_bind_irqfd(irq, a, -1) == -EBADF, "bad fd");
	CHECK(irq_router_remove(irq, a) == 0 && irq_router_remove(irq, b) == 0,
	      "cleanup");
	(void)vm;
}

int main(void)
{
	int fds_before;
	struct irq_router *irq;
	int kvm, vm;

	log_init("test_virtio_pci_kvm", LOG_LEVEL_INFO);
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	fds_before = test_count_fds();
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("FAIL: VM with irqchip: %s\n", strerror(errno));
		return 1;
	}
	if (irq_router_create(vm, &irq)) {
		printf("FAIL: irq router\n");
		return 1;
	}
	test_router(vm, irq);
	run(vm, irq);
	irq_router_destroy(irq);
	close(vm);
	CHECK(test_count_fds() == fds_before, "fds back to %d (now %d)", fds_before,
	      test_count_fds());
	close(kvm);
	return test_checks_report("virtio_pci_kvm");
}
