/* SPDX-License-Identifier: GPL-2.0-only */
/* The core/vhost_user_dev tests' fixture: see vud_fixture.h. */
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus.h"
#include "event.h"
#include "guest_mem.h"
#include "pci.h"
#include "testutil.h"
#include "unit.h"
#include "vhost_user.h"
#include "vhost_user_dev.h"
#include "virtio.h"
#include "virtio_pci.h"
#include "vu_fake.h"

#include "vud_fixture.h"

/* ---- fixture: RAM, buses, PCI root, fake, device ------------------------ */

struct guest_mem *mem;
struct bus *pio, *mmio;
struct pci_root *root;
struct vu_fake fake;
struct vhost_user_dev *dev;
uint64_t bar0;

int start_queues(enum vhost_user_dev_type type, bool mac,
			unsigned queues)
{
	struct vhost_user_dev_config dc = {
		.name = type == VHOST_USER_DEV_BLK ? "blk0" : "net0",
		.spec = { .type = type, .socket_path = "/fake/sock",
			  .queues = queues, .has_mac = mac,
			  .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } },
		.timeout_ms = 1000,
		.mem = mem,
		.vm_fd = -1,
	};

	dc.sock_fd = vu_fake_start(&fake);
	return vhost_user_dev_create(&dc, &dev);
}

int start(enum vhost_user_dev_type type, bool mac)
{
	return start_queues(type, mac, 1);
}

void fake_setup(uint64_t features)
{
	struct virtio_blk_config bc = { .capacity = CAPACITY,
					.blk_size = 512 };

	vu_fake_init(&fake, features, PF(MQ) | PF(REPLY_ACK) | PF(CONFIG) |
		     PF(INFLIGHT_SHMFD));
	fake.inflight_offer = FAKE_INFLIGHT_SIZE;
	fake.probe_seals = true;
	memcpy(fake.config, &bc, sizeof(bc) < sizeof(fake.config) ?
	       sizeof(bc) : sizeof(fake.config));
}


void setup_common(void)
{
	CU_ASSERT_FATAL(guest_mem_create(RAM, 0, &mem) == 0);
	CU_ASSERT_FATAL(test_pci_machine_create(RAM, &pio, &mmio, &root) == 0);
	dev = NULL;
}

void setup_blk(void)
{
	setup_common();
	fake_setup(BLK_FEATURES);
	CU_ASSERT_EQUAL_FATAL(start(VHOST_USER_DEV_BLK, false), 0);
	CU_ASSERT_FATAL(vhost_user_dev_register(dev, root, SLOT) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

/* Also joins the fake: closing the device's socket ends it. */
void teardown(void)
{
	vhost_user_dev_destroy(dev);
	dev = NULL;
	if (fake.sock >= 0)
		vu_fake_join(&fake);
	vu_fake_release(&fake);
	test_pci_machine_destroy(pio, mmio, root);
	guest_mem_destroy(mem);
}

/* ---- the guest driver's view ---- */

uint32_t cfg_read(unsigned reg, unsigned size)
{
	return test_pci_cfg_read(pio, DEVFN, reg, size);
}

void cfg_write(unsigned reg, unsigned size, uint32_t v)
{
	test_pci_cfg_write(pio, DEVFN, reg, size, v);
}

uint64_t rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	CU_ASSERT_TRUE(bus_read(mmio, addr, &v, size));
	return v;
}

void wr(uint64_t addr, unsigned size, uint64_t v)
{
	CU_ASSERT_TRUE(bus_write(mmio, addr, &v, size));
}


uint8_t status(void)
{
	return (uint8_t)rd(COMMON(VIRTIO_PCI_COMMON_STATUS), 1);
}

void set_status(uint8_t s)
{
	wr(COMMON(VIRTIO_PCI_COMMON_STATUS), 1, s);
}

uint64_t device_features(void)
{
	uint64_t f;

	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 0);
	f = rd(COMMON(VIRTIO_PCI_COMMON_DF), 4);
	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 1);
	return f | rd(COMMON(VIRTIO_PCI_COMMON_DF), 4) << 32;
}


/* Queue 0 of 128 entries: its three parts where given. */
void driver_start_at(uint64_t features, uint64_t desc, uint64_t driver,
			    uint64_t device)
{
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(S_INIT);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 0);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)features);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)(features >> 32));
	set_status(S_FOK);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_FEATURES_OK);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, 0);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2, 128);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 8, desc);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_AVAILLO), 8, driver);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_USEDLO), 8, device);
	wr(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2, 1);
	set_status(S_RUN);
}

/* desc, avail, used at gpa, +0x1000, +0x2000. */
void driver_start(uint64_t features, uint64_t ring_gpa)
{
	driver_start_at(features, ring_gpa, ring_gpa + 0x1000,
			ring_gpa + 0x2000);
}

bool same_file(const struct stat *a, int fd)
{
	struct stat b;

	return fstat(fd, &b) == 0 && a->st_dev == b.st_dev &&
	       a->st_ino == b.st_ino;
}


/* Lines logged at warning or error by the last count_log_lines(). */
unsigned log_lines_bad;

/* Run fn with stderr captured; return how many lines matched `needle`. */
unsigned count_log_lines(void (*fn)(void), const char *needle)
{
	char buf[8192], *line, *save = NULL;
	int fd = memfd_create("stderr", MFD_CLOEXEC), saved = dup(2);
	unsigned n = 0;
	ssize_t len;

	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	fputs(buf, stderr);	/* still in the test log */
	log_lines_bad = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, needle))
			n++;
		if (strstr(line, ": error: ") || strstr(line, ": warning: "))
			log_lines_bad++;
	}
	return n;
}


static void stop_loop(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	(void)events;
	(void)eventfd_read(fd, &v);
	event_loop_stop(opaque);
}

/* One pass of the main loop over whatever is ready now. */
void run_loop_once(struct event_loop *l)
{
	int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CU_ASSERT_FATAL(stop >= 0);
	CU_ASSERT_FATAL(event_loop_add(l, stop, EPOLLIN, stop_loop, l) == 0);
	CU_ASSERT_FATAL(eventfd_write(stop, 1) == 0);
	CU_ASSERT_EQUAL(event_loop_run(l), 0);
	event_loop_del(l, stop);
	close(stop);
}

struct event_loop *loop;


/* ---- net with queue pairs: the core's control queue ---- */


/* This queue's rings go in the PCI hole (-1: none). */
int mq_bad_q = -1;

/* Queue q: desc, avail, used at 0x100000 + q * 0x4000, +0x1000, +0x2000. */
uint64_t mq_ring(unsigned q)
{
	return (int)q == mq_bad_q ? 0xc0000000ull : 0x100000ull + q * 0x4000ull;
}

void *gptr(uint64_t gpa)
{
	return guest_mem_ptr(mem, gpa, 1);
}

void mq_driver_start(uint64_t features, unsigned nq)
{
	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(S_INIT);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 0);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)features);
	wr(COMMON(VIRTIO_PCI_COMMON_GFSELECT), 4, 1);
	wr(COMMON(VIRTIO_PCI_COMMON_GF), 4, (uint32_t)(features >> 32));
	set_status(S_FOK);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++) {
		if ((int)q != mq_bad_q)
			memset(gptr(mq_ring(q)), 0, 0x3000);
		wr(COMMON(VIRTIO_PCI_COMMON_Q_SELECT), 2, q);
		wr(COMMON(VIRTIO_PCI_COMMON_Q_SIZE), 2, MQ_QSIZE);
		wr(COMMON(VIRTIO_PCI_COMMON_Q_DESCLO), 8, mq_ring(q));
		wr(COMMON(VIRTIO_PCI_COMMON_Q_AVAILLO), 8, mq_ring(q) + 0x1000);
		wr(COMMON(VIRTIO_PCI_COMMON_Q_USEDLO), 8, mq_ring(q) + 0x2000);
		wr(COMMON(VIRTIO_PCI_COMMON_Q_ENABLE), 2, 1);
	}
	set_status(S_RUN);
}

/*
 * Queue a control command on queue q (header, 2 data bytes, ack) as
 * entry n of its rings, and kick it through the notify window.
 */
void mq_command(unsigned q, uint16_t n, uint8_t class, uint8_t cmd,
		       uint16_t value)
{
	struct vring_desc *d = gptr(mq_ring(q));
	struct vring_avail *a = gptr(mq_ring(q) + 0x1000);
	uint8_t *c = gptr(MQ_CMD);

	c[0] = class;
	c[1] = cmd;
	memcpy(c + 2, &value, 2);
	c[4] = 0xee;
	d[0] = (struct vring_desc){ MQ_CMD, 2, VRING_DESC_F_NEXT, 1 };
	d[1] = (struct vring_desc){ MQ_CMD + 2, 2, VRING_DESC_F_NEXT, 2 };
	d[2] = (struct vring_desc){ MQ_CMD + 4, 1, VRING_DESC_F_WRITE, 0 };
	a->ring[n % MQ_QSIZE] = 0;
	a->idx = (uint16_t)(n + 1);
	wr(bar0 + VIRTIO_PCI_NOTIFY_OFFSET + q * VIRTIO_PCI_NOTIFY_MULTIPLIER,
	   2, q);
}

uint8_t mq_ack(void)
{
	return *(uint8_t *)gptr(MQ_CMD + 4);
}

uint16_t mq_used_idx(unsigned q)
{
	return ((struct vring_used *)gptr(mq_ring(q) + 0x2000))->idx;
}
