/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/vhost_user_dev: a real virtio-pci transport on a real PCI root,
 * driven as a guest driver would, with a fake vhost-user back-end thread
 * (the protocol codec) on a socketpair behind it.  Checks what reaches
 * the back-end: guest RAM as memfds (compared byte for byte), vring
 * addresses translated to the core's mapping, the transport's own
 * eventfds, GET_VRING_BASE on reset, and that a back-end which goes away
 * breaks only the device.  No KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>
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

#define RAM		(16ull << 20)
#define SLOT		3
#define DEVFN		PCI_DEVFN(SLOT, 0)
#define NVR		8
#define F_PROTOCOL	(1ull << VHOST_USER_F_PROTOCOL_FEATURES)
#define PF(f)		VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_##f)
#define CAPACITY	0x20000ull
#define BLK_FEATURES	(1ull << VIRTIO_F_VERSION_1 | \
			 1ull << VIRTIO_BLK_F_BLK_SIZE | \
			 1ull << VIRTIO_BLK_F_FLUSH | \
			 1ull << VIRTIO_F_RING_PACKED | \
			 1ull << VIRTIO_BLK_F_SECURE_ERASE | F_PROTOCOL)

/* ---- the fake back-end (same shape as test_vhost_user_client.c's) ------- */

struct fake {
	int sock;
	pthread_t thread;
	uint64_t features, protocol_features;
	uint32_t close_on;		/* hang up when this request comes */
	uint64_t queue_num;		/* GET_QUEUE_NUM's answer */
	/* What it saw. */
	unsigned nreq;
	unsigned count[VHOST_USER_REQUEST_COUNT];
	uint64_t acked_protocol, acked_features;
	void *map;
	uint64_t map_size, map_gpa, map_hva;
	/* The received memfd: its seals, ftruncate()'s errno (0: it worked). */
	int seals, shrink_errno, grow_errno;
	struct vhost_user_vring_addr addr[NVR];
	struct stat kick_st[NVR], call_st[NVR];
	unsigned num[NVR];
	uint32_t base[NVR];		/* the last SET_VRING_BASE */
	uint32_t stopped_at;		/* what GET_VRING_BASE answers */
	bool enabled[NVR];
	uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
	/* Requests in the order they came. */
	uint32_t seq[256];
	unsigned nseq;
	/* The inflight region it made (GET) or was given (SET). */
	struct stat inflight_st;
	uint64_t inflight_size;
	uint16_t inflight_nq, inflight_qsize;
};

static void fake_handle(struct fake *f, struct vhost_user_msg *msg,
			struct vhost_user_msg *reply)
{
	union vhost_user_payload *p = &msg->payload;
	unsigned idx;

	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->features;
		break;
	case VHOST_USER_SET_FEATURES:
		f->acked_features = p->u64;
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->protocol_features;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		f->acked_protocol = p->u64;
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		vhost_user_reply_init(reply, msg, 8);
		reply->payload.u64 = f->queue_num;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		/* Guest RAM is one region of 16 MiB: map it as a back-end. */
		if (f->map)
			munmap(f->map, f->map_size);
		f->map = NULL;
		if (p->mem_table.nregions == 1) {
			const struct vhost_user_mem_region *r =
				&p->mem_table.regions[0];
			void *m = mmap(NULL, r->memory_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       msg->fds[0], r->mmap_offset);

			/* A back-end must not be able to resize guest RAM. */
			f->seals = fcntl(msg->fds[0], F_GET_SEALS);
			f->shrink_errno = ftruncate(msg->fds[0], 4096) < 0 ?
					  errno : 0;
			f->grow_errno = ftruncate(msg->fds[0],
						  r->memory_size * 2) < 0 ?
					errno : 0;
			if (m != MAP_FAILED) {
				f->map = m;
				f->map_size = r->memory_size;
				f->map_gpa = r->guest_phys_addr;
				f->map_hva = r->userspace_addr;
			}
		}
		break;
	case VHOST_USER_SET_VRING_NUM:
		if (p->state.index < NVR)
			f->num[p->state.index] = p->state.num;
		break;
	case VHOST_USER_SET_VRING_BASE:
		if (p->state.index < NVR)
			f->base[p->state.index] = p->state.num;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		if (p->addr.index < NVR)
			f->addr[p->addr.index] = p->addr;
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
		idx = p->u64 & VHOST_USER_VRING_INDEX_MASK;
		if (idx < NVR && msg->nfds == 1)
			fstat(msg->fds[0],
			      msg->hdr.request == VHOST_USER_SET_VRING_KICK ?
			      &f->kick_st[idx] : &f->call_st[idx]);
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		if (p->state.index < NVR)
			f->enabled[p->state.index] = p->state.num;
		break;
	case VHOST_USER_GET_VRING_BASE:
		vhost_user_reply_init(reply, msg, sizeof(p->state));
		reply->payload.state.index = p->state.index;
		reply->payload.state.num = f->stopped_at;
		if (p->state.index < NVR)
			f->enabled[p->state.index] = false;
		break;
	case VHOST_USER_GET_INFLIGHT_FD: {
		int fd = memfd_create("inflight", MFD_CLOEXEC);

		vhost_user_reply_init(reply, msg, sizeof(p->inflight));
		reply->payload.inflight = p->inflight;
		reply->payload.inflight.mmap_size = 4096;
		reply->payload.inflight.mmap_offset = 0;
		if (fd >= 0 && ftruncate(fd, 4096) == 0) {
			fstat(fd, &f->inflight_st);
			f->inflight_size = 4096;
			f->inflight_nq = p->inflight.num_queues;
			f->inflight_qsize = p->inflight.queue_size;
			if (vhost_user_msg_add_fd(reply, fd))
				close(fd);
		} else {
			reply->payload.inflight.mmap_size = 0;
			if (fd >= 0)
				close(fd);
		}
		break;
	}
	case VHOST_USER_SET_INFLIGHT_FD:
		if (msg->nfds == 1)
			fstat(msg->fds[0], &f->inflight_st);
		f->inflight_size = p->inflight.mmap_size;
		f->inflight_nq = p->inflight.num_queues;
		f->inflight_qsize = p->inflight.queue_size;
		break;
	case VHOST_USER_GET_CONFIG:
		vhost_user_reply_init(reply, msg, msg->hdr.size);
		reply->payload.config = p->config;
		memcpy(reply->payload.config.region,
		       f->config + p->config.offset, p->config.size);
		break;
	case VHOST_USER_SET_CONFIG:
		memcpy(f->config + p->config.offset, p->config.region,
		       p->config.size);
		break;
	default:
		break;
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct vhost_user_msg msg, reply;

	for (;;) {
		if (vhost_user_recv(f->sock, &msg, 10000))
			break;
		if (vhost_user_decode(&msg, VHOST_USER_CHANNEL_FRONTEND, NVR))
			break;
		if (msg.hdr.request == f->close_on) {
			vhost_user_msg_close_fds(&msg);
			shutdown(f->sock, SHUT_RDWR);
			break;
		}
		f->nreq++;
		f->count[msg.hdr.request]++;
		if (f->nseq < sizeof(f->seq) / sizeof(f->seq[0]))
			f->seq[f->nseq++] = msg.hdr.request;
		vhost_user_reply_init(&reply, &msg, 8);
		reply.payload.u64 = 0;
		fake_handle(f, &msg, &reply);
		vhost_user_msg_close_fds(&msg);
		if (vhost_user_expects_reply(&msg, VHOST_USER_CHANNEL_FRONTEND,
					     f->acked_protocol) &&
		    vhost_user_send(f->sock, &reply, 1000)) {
			vhost_user_msg_close_fds(&reply);
			break;
		}
		vhost_user_msg_close_fds(&reply);
	}
	return NULL;
}

/* ---- fixture: RAM, buses, PCI root, fake, device ------------------------ */

static struct guest_mem *mem;
static struct bus *pio, *mmio;
static struct pci_root *root;
static struct fake fake;
static struct vhost_user_dev *dev;
static uint64_t bar0;

static int start_queues(enum vhost_user_dev_type type, bool mac,
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
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				   sv) == 0);
	fake.sock = sv[1];
	CU_ASSERT_FATAL(pthread_create(&fake.thread, NULL, fake_main,
				       &fake) == 0);
	dc.sock_fd = sv[0];
	return vhost_user_dev_create(&dc, &dev);
}

static int start(enum vhost_user_dev_type type, bool mac)
{
	return start_queues(type, mac, 1);
}

static void fake_setup(uint64_t features)
{
	struct virtio_blk_config bc = { .capacity = CAPACITY,
					.blk_size = 512 };

	memset(&fake, 0, sizeof(fake));
	fake.sock = -1;
	fake.features = features;
	fake.protocol_features = PF(MQ) | PF(REPLY_ACK) | PF(CONFIG) |
				 PF(INFLIGHT_SHMFD);
	fake.close_on = VHOST_USER_NONE;
	fake.queue_num = 2;
	memcpy(fake.config, &bc, sizeof(bc) < sizeof(fake.config) ?
	       sizeof(bc) : sizeof(fake.config));
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v);
static uint32_t cfg_read(unsigned reg, unsigned size);

static void setup_common(void)
{
	CU_ASSERT_FATAL(guest_mem_create(RAM, 0, &mem) == 0);
	CU_ASSERT_FATAL(test_pci_machine_create(RAM, &pio, &mmio, &root) == 0);
	dev = NULL;
}

static void setup_blk(void)
{
	setup_common();
	fake_setup(BLK_FEATURES);
	CU_ASSERT_EQUAL_FATAL(start(VHOST_USER_DEV_BLK, false), 0);
	CU_ASSERT_FATAL(vhost_user_dev_register(dev, root, SLOT) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

/* Also joins the fake: closing the device's socket ends it. */
static void teardown(void)
{
	vhost_user_dev_destroy(dev);
	dev = NULL;
	if (fake.sock >= 0) {
		pthread_join(fake.thread, NULL);
		close(fake.sock);
		fake.sock = -1;
	}
	if (fake.map)
		munmap(fake.map, fake.map_size);
	fake.map = NULL;
	test_pci_machine_destroy(pio, mmio, root);
	guest_mem_destroy(mem);
}

/* ---- the guest driver's view ---- */

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
#define DEVCFG(off)	(bar0 + VIRTIO_PCI_DEVICE_OFFSET + (off))

static uint8_t status(void)
{
	return (uint8_t)rd(COMMON(VIRTIO_PCI_COMMON_STATUS), 1);
}

static void set_status(uint8_t s)
{
	wr(COMMON(VIRTIO_PCI_COMMON_STATUS), 1, s);
}

static uint64_t device_features(void)
{
	uint64_t f;

	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 0);
	f = rd(COMMON(VIRTIO_PCI_COMMON_DF), 4);
	wr(COMMON(VIRTIO_PCI_COMMON_DFSELECT), 4, 1);
	return f | rd(COMMON(VIRTIO_PCI_COMMON_DF), 4) << 32;
}

#define S_INIT	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define S_FOK	(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK)
#define S_RUN	(S_FOK | VIRTIO_CONFIG_S_DRIVER_OK)

/* Queue 0 of 128 entries: its three parts where given. */
static void driver_start_at(uint64_t features, uint64_t desc, uint64_t driver,
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
static void driver_start(uint64_t features, uint64_t ring_gpa)
{
	driver_start_at(features, ring_gpa, ring_gpa + 0x1000,
			ring_gpa + 0x2000);
}

static bool same_file(const struct stat *a, int fd)
{
	struct stat b;

	return fstat(fd, &b) == 0 && a->st_dev == b.st_dev &&
	       a->st_ino == b.st_ino;
}

/* ---- tests ---- */

static void test_blk_negotiation(void)
{
	uint64_t f = device_features();

	/* Identity: modern virtio-blk. */
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_VENDOR_ID, 2), 0x1af4);
	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_DEVICE_ID, 2), 0x1042);
	/* Offered: the back-end's minus secure erase and the protocol bit. */
	CU_ASSERT_EQUAL(f, 1ull << VIRTIO_F_VERSION_1 |
			   1ull << VIRTIO_BLK_F_BLK_SIZE |
			   1ull << VIRTIO_BLK_F_FLUSH |
			   1ull << VIRTIO_F_RING_PACKED);
	/* Only the protocol features the glue uses were acked. */
	CU_ASSERT_EQUAL(fake.acked_protocol, PF(MQ) | PF(REPLY_ACK) |
					     PF(CONFIG) | PF(INFLIGHT_SHMFD));
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_OWNER], 1);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_QUEUE_NUM], 1);
	/* Config from GET_CONFIG. */
	CU_ASSERT_EQUAL(rd(DEVCFG(0), 4), (uint32_t)CAPACITY);
	CU_ASSERT_EQUAL(rd(DEVCFG(4), 4), CAPACITY >> 32);
	CU_ASSERT_EQUAL(rd(DEVCFG(offsetof(struct virtio_blk_config,
					   blk_size)), 4), 512);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2), 1);
	/* wce write goes to the back-end. */
	wr(DEVCFG(offsetof(struct virtio_blk_config, wce)), 1, 1);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_CONFIG], 1);
	CU_ASSERT_EQUAL(fake.config[offsetof(struct virtio_blk_config, wce)],
			1);
}

static void test_blk_start_reset_restart(void)
{
	const uint64_t ring = 0x100000;
	const uint64_t feat = 1ull << VIRTIO_F_VERSION_1 |
			      1ull << VIRTIO_BLK_F_FLUSH;
	uint8_t *ram = guest_mem_ptr(mem, 0, RAM);
	struct virtio_pci *vp = vhost_user_dev_transport(dev);

	CU_ASSERT_FATAL(ram != NULL);
	for (size_t i = 0; i < RAM; i += 4093)
		ram[i] = (uint8_t)(i * 7 + 3);

	driver_start(feat, ring);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
	/* SET_FEATURES: the driver's bits plus the protocol bit. */
	CU_ASSERT_EQUAL(fake.acked_features, feat | F_PROTOCOL);
	/* SET_MEM_TABLE: the memfd, seen byte for byte, at the core's hva. */
	CU_ASSERT_FATAL(fake.map != NULL);
	CU_ASSERT_EQUAL(fake.map_size, RAM);
	CU_ASSERT_EQUAL(fake.map_gpa, 0);
	CU_ASSERT_EQUAL(fake.map_hva, (uintptr_t)ram);
	CU_ASSERT_EQUAL(memcmp(fake.map, ram, RAM), 0);
	/* Sealed: the back-end can neither shrink nor grow it, nor unseal. */
	CU_ASSERT_EQUAL(fake.seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	CU_ASSERT_EQUAL(fake.shrink_errno, EPERM);
	CU_ASSERT_EQUAL(fake.grow_errno, EPERM);
	ram[12345] ^= 0xff;	/* shared, not copied */
	CU_ASSERT_EQUAL(((uint8_t *)fake.map)[12345], ram[12345]);
	/* Vring 0: size, addresses as core hvas, the transport's fds. */
	CU_ASSERT_EQUAL(fake.num[0], 128);
	CU_ASSERT_EQUAL(fake.addr[0].desc_user_addr, (uintptr_t)ram + ring);
	CU_ASSERT_EQUAL(fake.addr[0].avail_user_addr,
			(uintptr_t)ram + ring + 0x1000);
	CU_ASSERT_EQUAL(fake.addr[0].used_user_addr,
			(uintptr_t)ram + ring + 0x2000);
	CU_ASSERT_TRUE(same_file(&fake.kick_st[0],
				 virtio_pci_queue_kick_fd(vp, 0)));
	CU_ASSERT_TRUE(same_file(&fake.call_st[0],
				 virtio_pci_queue_call_fd(vp, 0)));
	CU_ASSERT_TRUE(fake.enabled[0]);
	CU_ASSERT_EQUAL(fake.base[0], 0);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 0);

	/* Reset stops the ring. */
	fake.stopped_at = 77;
	set_status(0);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 1);
	CU_ASSERT_FALSE(fake.enabled[0]);

	/* And it starts again cleanly, elsewhere in RAM. */
	driver_start(feat, 0x200000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_MEM_TABLE], 2);
	CU_ASSERT_EQUAL(fake.addr[0].desc_user_addr,
			(uintptr_t)ram + 0x200000);
	/* A new ring from index 0, not where the old one stopped. */
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_VRING_BASE], 2);
	CU_ASSERT_EQUAL(fake.base[0], 0);
	CU_ASSERT_TRUE(fake.enabled[0]);
	/* Destroying the device while running stops the ring too. */
	vhost_user_dev_destroy(dev);
	dev = NULL;
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 2);
}

#define PACKED_FEAT	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED)

static void test_packed_ring_base(void)
{
	const uint64_t ring = 0x100000;
	uint8_t *ram = guest_mem_ptr(mem, 0, RAM);
	unsigned before;

	CU_ASSERT_FATAL(ram != NULL);
	driver_start(PACKED_FEAT, ring);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.acked_features, PACKED_FEAT | F_PROTOCOL);
	/* Positions 0, both wrap counters 1 (bits 15 and 31). */
	CU_ASSERT_EQUAL(fake.base[0], 0x80008000u);
	/* Driver and device event areas in the avail and used fields. */
	CU_ASSERT_EQUAL(fake.addr[0].desc_user_addr, (uintptr_t)ram + ring);
	CU_ASSERT_EQUAL(fake.addr[0].avail_user_addr,
			(uintptr_t)ram + ring + 0x1000);
	CU_ASSERT_EQUAL(fake.addr[0].used_user_addr,
			(uintptr_t)ram + ring + 0x2000);

	/*
	 * The back-end stopped mid-ring (avail 5 wrap 0, used 3 wrap 1):
	 * after the reset the driver's new ring starts fresh, so that
	 * position is not sent back.
	 */
	fake.stopped_at = vhost_user_packed_base(5, false, 3, true);
	CU_ASSERT_EQUAL(fake.stopped_at, 0x80030005u);
	set_status(0);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 1);
	CU_ASSERT_FALSE(fake.enabled[0]);
	driver_start(PACKED_FEAT, 0x200000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_VRING_BASE], 2);
	CU_ASSERT_EQUAL(fake.base[0], 0x80008000u);

	/* The same device with a split ring next time: base 0. */
	set_status(0);
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.base[0], 0);
	CU_ASSERT_EQUAL(fake.acked_features,
			1ull << VIRTIO_F_VERSION_1 | F_PROTOCOL);

	/* A position outside the ring in the reply: logged, nothing else. */
	set_status(0);
	driver_start(PACKED_FEAT, 0x100000);
	fake.stopped_at = 0x8000u | 200;
	set_status(0);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
	before = fake.count[VHOST_USER_SET_VRING_BASE];
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_VRING_BASE], before + 1);
	CU_ASSERT_EQUAL(fake.base[0], 0x80008000u);
}

/*
 * Packed driver and device areas are 4 bytes: the last 4 bytes of RAM
 * hold one, where a split used ring of 128 entries would not fit.
 */
static void test_packed_event_areas(void)
{
	uint8_t *ram = guest_mem_ptr(mem, 0, RAM);

	driver_start_at(PACKED_FEAT, 0x100000, RAM - 8, RAM - 4);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.addr[0].avail_user_addr, (uintptr_t)ram + RAM - 8);
	CU_ASSERT_EQUAL(fake.addr[0].used_user_addr, (uintptr_t)ram + RAM - 4);
	set_status(0);
	/* Split: the same addresses are refused before the back-end hears. */
	driver_start_at(1ull << VIRTIO_F_VERSION_1, 0x100000, RAM - 8, RAM - 4);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* One past the end is refused for packed too. */
	set_status(0);
	driver_start_at(PACKED_FEAT, 0x100000, RAM - 8, RAM);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
}

static void test_ring_outside_ram(void)
{
	unsigned before;

	/* The used ring's end crosses the end of RAM. */
	driver_start(1ull << VIRTIO_F_VERSION_1, RAM - 0x2000);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_FEATURES], 0);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_MEM_TABLE], 0);
	/* In the PCI hole: also refused, nothing sent. */
	before = fake.nreq;
	driver_start(1ull << VIRTIO_F_VERSION_1, 0xc0000000ull);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake.nreq, before);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
	/* The device is fine for a driver that behaves. */
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
}

/* Lines logged at warning or error by the last count_log_lines(). */
static unsigned log_lines_bad;

/* Run fn with stderr captured; return how many lines matched `needle`. */
static unsigned count_log_lines(void (*fn)(void), const char *needle)
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

static void two_starts_after_hangup(void)
{
	int64_t t0;

	/* The driver sees nothing: the device waits for a new back-end. */
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_RECONNECTING);
	/* Later starts are recorded at once, the socket never touched. */
	t0 = test_now_ms();
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	set_status(0);
	CU_ASSERT_TRUE(test_now_ms() - t0 < 500);
	/* Config reads keep working from the cache; a write is kept. */
	CU_ASSERT_EQUAL(rd(DEVCFG(0), 4), (uint32_t)CAPACITY);
	wr(DEVCFG(offsetof(struct virtio_blk_config, wce)), 1, 1);
	CU_ASSERT_EQUAL(rd(DEVCFG(offsetof(struct virtio_blk_config, wce)), 1),
			1);
}

static void test_backend_hangs_up(void)
{
	/* The back-end goes away when the memory table comes. */
	fake.close_on = VHOST_USER_SET_MEM_TABLE;
	CU_ASSERT_EQUAL(count_log_lines(two_starts_after_hangup,
					"[blk0] vhost-user back-end on /fake/sock"),
			1);
}

static void stop_loop(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	(void)events;
	(void)eventfd_read(fd, &v);
	event_loop_stop(opaque);
}

/* One pass of the main loop over whatever is ready now. */
static void run_loop_once(struct event_loop *loop)
{
	int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	CU_ASSERT_FATAL(stop >= 0);
	CU_ASSERT_FATAL(event_loop_add(loop, stop, EPOLLIN, stop_loop,
				       loop) == 0);
	CU_ASSERT_FATAL(eventfd_write(stop, 1) == 0);
	CU_ASSERT_EQUAL(event_loop_run(loop), 0);
	event_loop_del(loop, stop);
	close(stop);
}

static struct event_loop *loop;

static void hangup_while_running(void)
{
	unsigned before;

	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	before = fake.nreq;
	/* The back-end dies: its end of the socket goes. */
	shutdown(fake.sock, SHUT_RDWR);
	pthread_join(fake.thread, NULL);
	close(fake.sock);
	fake.sock = -1;

	run_loop_once(loop);
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_RECONNECTING);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
	/* The driver sees nothing: no NEEDS_RESET, no interrupt. */
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	run_loop_once(loop);
	/* Reset and restart are recorded; the old socket is never used. */
	set_status(0);
	CU_ASSERT_EQUAL(status(), 0);
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.nreq, before);
}

static void test_hangup_reconnects(void)
{
	CU_ASSERT_FATAL(event_loop_create(&loop) == 0);
	CU_ASSERT_FATAL(vhost_user_dev_watch(dev, loop) == 0);
	CU_ASSERT_EQUAL(count_log_lines(hangup_while_running,
					"[blk0] vhost-user back-end on /fake/sock"),
			1);
	/* That line ("lost ...; reconnecting") is the only warning. */
	CU_ASSERT_EQUAL(log_lines_bad, 1);
	vhost_user_dev_unwatch(dev);
	event_loop_destroy(loop);
	loop = NULL;
}

static void failed_call_then_loop(void)
{
	/* The failure is seen on the "vCPU" thread, with the lock held. */
	driver_start(1ull << VIRTIO_F_VERSION_1, 0x100000);
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_RECONNECTING);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	/* The driver resets; the main loop then learns of the loss. */
	set_status(0);
	run_loop_once(loop);
	CU_ASSERT_EQUAL(status(), 0);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	run_loop_once(loop);
}

static void test_failed_call_reconnects(void)
{
	fake.close_on = VHOST_USER_SET_MEM_TABLE;
	CU_ASSERT_FATAL(event_loop_create(&loop) == 0);
	CU_ASSERT_FATAL(vhost_user_dev_watch(dev, loop) == 0);
	CU_ASSERT_EQUAL(count_log_lines(failed_call_then_loop,
					"[blk0] vhost-user back-end on /fake/sock"),
			1);
	/* Besides it, only the client's own line about the connection. */
	CU_ASSERT_TRUE(log_lines_bad <= 2);
	vhost_user_dev_unwatch(dev);
	event_loop_destroy(loop);
	loop = NULL;
}

static void test_backend_gone_at_create(void)
{
	setup_common();
	fake_setup(BLK_FEATURES);
	fake.close_on = VHOST_USER_SET_OWNER;
	/* The client's errno for the EOF (-ECONNRESET, -EPIPE, ...). */
	CU_ASSERT_TRUE(start(VHOST_USER_DEV_BLK, false) < 0);
	CU_ASSERT_PTR_NULL(dev);
	teardown();

	/* No VERSION_1, or no CONFIG for blk: refused with a reason. */
	setup_common();
	fake_setup(F_PROTOCOL);
	CU_ASSERT_EQUAL(start(VHOST_USER_DEV_BLK, false), -EOPNOTSUPP);
	teardown();
	setup_common();
	fake_setup(BLK_FEATURES);
	fake.protocol_features = PF(REPLY_ACK);
	CU_ASSERT_EQUAL(start(VHOST_USER_DEV_BLK, false), -EOPNOTSUPP);
	teardown();
}

static void test_net_config(void)
{
	setup_common();
	fake_setup(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MRG_RXBUF |
		   1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ |
		   F_PROTOCOL);
	CU_ASSERT_EQUAL_FATAL(start(VHOST_USER_DEV_NET, true), 0);
	CU_ASSERT_FATAL(vhost_user_dev_register(dev, root, SLOT) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);

	CU_ASSERT_EQUAL(cfg_read(PCI_CFG_DEVICE_ID, 2), 0x1041);
	/* No control queue: neither CTRL_VQ nor MQ; MAC, STATUS by the core. */
	CU_ASSERT_EQUAL(device_features(), 1ull << VIRTIO_F_VERSION_1 |
			1ull << VIRTIO_NET_F_MRG_RXBUF |
			1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS);
	CU_ASSERT_EQUAL(fake.acked_protocol, PF(MQ) | PF(REPLY_ACK));
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2), 2);
	CU_ASSERT_EQUAL(rd(DEVCFG(0), 4), 0x12005452u);
	CU_ASSERT_EQUAL(rd(DEVCFG(4), 2), 0x5634);
	CU_ASSERT_EQUAL(rd(DEVCFG(6), 2), VIRTIO_NET_S_LINK_UP);
	CU_ASSERT_EQUAL(rd(DEVCFG(8), 2), 1);

	/* The core's own features never reach the back-end. */
	driver_start(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
		     1ull << VIRTIO_NET_F_STATUS, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.acked_features,
			1ull << VIRTIO_F_VERSION_1 | F_PROTOCOL);
	teardown();
}

/* ---- net with queue pairs: the core's control queue ---- */

#define MQ_PAIRS	2
#define MQ_CTRL		(2 * MQ_PAIRS)
#define MQ_QSIZE	8
#define MQ_FEATURES	(1ull << VIRTIO_F_VERSION_1 | \
			 1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ)
#define MQ_CMD		0x80000ull	/* header, data, ack */

/* This queue's rings go in the PCI hole (-1: none). */
static int mq_bad_q = -1;

/* Queue q: desc, avail, used at 0x100000 + q * 0x4000, +0x1000, +0x2000. */
static uint64_t mq_ring(unsigned q)
{
	return (int)q == mq_bad_q ? 0xc0000000ull : 0x100000ull + q * 0x4000ull;
}

static void *gptr(uint64_t gpa)
{
	return guest_mem_ptr(mem, gpa, 1);
}

static void mq_driver_start(uint64_t features, unsigned nq)
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
static void mq_command(unsigned q, uint16_t n, uint8_t class, uint8_t cmd,
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

static uint8_t mq_ack(void)
{
	return *(uint8_t *)gptr(MQ_CMD + 4);
}

static uint16_t mq_used_idx(unsigned q)
{
	return ((struct vring_used *)gptr(mq_ring(q) + 0x2000))->idx;
}

static void test_net_mq_refused(void)
{
	/* No PROTOCOL_F_MQ: one pair only. */
	setup_common();
	fake_setup(1ull << VIRTIO_F_VERSION_1 | F_PROTOCOL);
	fake.protocol_features = PF(REPLY_ACK);
	CU_ASSERT_EQUAL(start_queues(VHOST_USER_DEV_NET, false, 2),
			-EOPNOTSUPP);
	teardown();
	/* GET_QUEUE_NUM below the pairs asked for. */
	setup_common();
	fake_setup(1ull << VIRTIO_F_VERSION_1 | F_PROTOCOL);
	CU_ASSERT_EQUAL(start_queues(VHOST_USER_DEV_NET, false, 3),
			-EOPNOTSUPP);
	teardown();
}

static void test_net_mq(void)
{
	struct event_loop *l;
	struct virtio_pci *vp;
	unsigned before;

	setup_common();
	fake_setup(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED |
		   1ull << VIRTIO_NET_F_MRG_RXBUF | F_PROTOCOL);
	CU_ASSERT_EQUAL_FATAL(start_queues(VHOST_USER_DEV_NET, false,
					   MQ_PAIRS), 0);
	CU_ASSERT_FATAL(vhost_user_dev_register(dev, root, SLOT) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
	vp = vhost_user_dev_transport(dev);
	CU_ASSERT_FATAL(event_loop_create(&l) == 0);
	CU_ASSERT_FATAL(vhost_user_dev_watch(dev, l) == 0);

	/* CTRL_VQ and MQ by the core, no packed rings; 2N + 1 queues. */
	CU_ASSERT_EQUAL(device_features(), 1ull << VIRTIO_F_VERSION_1 |
			1ull << VIRTIO_NET_F_MRG_RXBUF |
			1ull << VIRTIO_NET_F_STATUS |
			1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ);
	CU_ASSERT_EQUAL(rd(COMMON(VIRTIO_PCI_COMMON_NUMQ), 2), 2 * MQ_PAIRS + 1);
	CU_ASSERT_EQUAL(rd(DEVCFG(8), 2), MQ_PAIRS);

	/* DRIVER_OK: the data rings go to the back-end, pair 0 enabled. */
	mq_driver_start(MQ_FEATURES, 2 * MQ_PAIRS + 1);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.acked_features,
			1ull << VIRTIO_F_VERSION_1 | F_PROTOCOL);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_VRING_ADDR], 2 * MQ_PAIRS);
	CU_ASSERT_EQUAL(fake.num[MQ_CTRL], 0);	/* never the control queue */
	CU_ASSERT_TRUE(fake.enabled[0] && fake.enabled[1]);
	CU_ASSERT_FALSE(fake.enabled[2] || fake.enabled[3]);
	run_loop_once(l);

	/* VQ_PAIRS_SET 2: OK, pair 1 enabled, INTx interrupt for it. */
	mq_command(MQ_CTRL, 0, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2);
	run_loop_once(l);	/* the kick: answered, call fd signalled */
	run_loop_once(l);	/* the call fd: ISR and line (INTx mode) */
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(mq_used_idx(MQ_CTRL), 1);
	CU_ASSERT_TRUE(fake.enabled[2] && fake.enabled[3]);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_QUEUE);

	/* Back to one pair; then 3 pairs and a CTRL_RX command: ERR. */
	mq_command(MQ_CTRL, 1, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
	run_loop_once(l);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_OK);
	CU_ASSERT_TRUE(fake.enabled[0] && fake.enabled[1]);
	CU_ASSERT_FALSE(fake.enabled[2] || fake.enabled[3]);
	mq_command(MQ_CTRL, 2, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3);
	run_loop_once(l);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_ERR);
	mq_command(MQ_CTRL, 3, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
		   1);
	run_loop_once(l);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(mq_used_idx(MQ_CTRL), 4);
	CU_ASSERT_FALSE(fake.enabled[2]);
	CU_ASSERT_EQUAL(status(), S_RUN);

	/* A malformed chain: the device needs a reset, the back-end lives. */
	mq_command(MQ_CTRL, 4, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2);
	((struct vring_desc *)gptr(mq_ring(MQ_CTRL)))[1].next = 0;	/* loop */
	run_loop_once(l);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(mq_used_idx(MQ_CTRL), 4);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));

	/* Reset: the data rings stop, never the control queue. */
	set_status(0);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 2 * MQ_PAIRS);
	run_loop_once(l);

	/* Without MQ the control queue is queue 2, and pair 1 is unused. */
	mq_driver_start(1ull << VIRTIO_F_VERSION_1 |
			1ull << VIRTIO_NET_F_CTRL_VQ, 3);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_VRING_ADDR], 2 * MQ_PAIRS + 2);
	run_loop_once(l);
	mq_command(2, 0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		   1);
	run_loop_once(l);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_ERR);	/* MQ not taken */
	CU_ASSERT_EQUAL(mq_used_idx(2), 1);
	CU_ASSERT_TRUE(virtio_pci_queue_kick_fd(vp, 2) >= 0);

	/* A control queue outside RAM: refused before the back-end hears. */
	set_status(0);
	before = fake.nreq;
	mq_bad_q = MQ_CTRL;
	mq_driver_start(MQ_FEATURES, 2 * MQ_PAIRS + 1);
	mq_bad_q = -1;
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake.nreq, before);
	run_loop_once(l);

	/* MQ without CTRL_VQ is refused at DRIVER_OK. */
	mq_driver_start(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MQ,
			2 * MQ_PAIRS);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	set_status(0);

	vhost_user_dev_unwatch(dev);
	event_loop_destroy(l);
	teardown();
}

/* ---- reconnect: a listening socket path and fakes that accept ---------- */

static char rc_path[108];
static int rc_listen = -1;
static struct fake fake2;
static pthread_t rc_thread;
static bool rc_thread_live;

/* Accept one connection and serve it as f. */
static void *rc_accept_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept4(rc_listen, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	f->sock = fd;
	return fake_main(f);
}

static void rc_serve(struct fake *f)
{
	CU_ASSERT_FATAL(pthread_create(&rc_thread, NULL, rc_accept_main,
				       f) == 0);
	rc_thread_live = true;
}

/* The back-end process dies: its connection goes. */
static void rc_kill(struct fake *f)
{
	if (!rc_thread_live)
		return;
	if (f->sock >= 0)
		shutdown(f->sock, SHUT_RDWR);
	pthread_join(rc_thread, NULL);
	rc_thread_live = false;
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	if (f->map)
		munmap(f->map, f->map_size);
	f->map = NULL;
}

static void rc_relisten(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (rc_listen >= 0)
		close(rc_listen);
	unlink(rc_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rc_path);
	rc_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(rc_listen >= 0);
	CU_ASSERT_FATAL(bind(rc_listen, (struct sockaddr *)&sa,
			     sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(rc_listen, 4) == 0);
}

static void rc_setup_dev(enum vhost_user_dev_type type, unsigned queues,
			 uint64_t features)
{
	struct vhost_user_dev_config dc = {
		.name = type == VHOST_USER_DEV_BLK ? "blk0" : "net0",
		.spec = { .type = type, .queues = queues },
		.sock_fd = -1,
		.timeout_ms = 1000,
		.mem = mem,
		.vm_fd = -1,
	};

	snprintf(rc_path, sizeof(rc_path), "/tmp/splitvm-ut-rc-%d.sock",
		 (int)getpid());
	rc_relisten();
	snprintf(dc.spec.socket_path, sizeof(dc.spec.socket_path), "%s",
		 rc_path);
	setup_common();
	dc.mem = mem;
	fake_setup(features);
	rc_serve(&fake);
	CU_ASSERT_EQUAL_FATAL(vhost_user_dev_create(&dc, &dev), 0);
	CU_ASSERT_FATAL(vhost_user_dev_register(dev, root, SLOT) == 0);
	bar0 = cfg_read(PCI_CFG_BAR0, 4) & ~0xfu;
	cfg_write(PCI_CFG_COMMAND, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
	CU_ASSERT_FATAL(event_loop_create(&loop) == 0);
	CU_ASSERT_FATAL(vhost_user_dev_watch(dev, loop) == 0);
}

static void rc_setup(void)
{
	rc_setup_dev(VHOST_USER_DEV_BLK, 1, BLK_FEATURES);
}

static void rc_teardown(void)
{
	vhost_user_dev_unwatch(dev);
	event_loop_destroy(loop);
	loop = NULL;
	vhost_user_dev_destroy(dev);
	dev = NULL;
	/* Whichever fake serves now ends with the device's socket. */
	if (rc_thread_live) {
		pthread_join(rc_thread, NULL);
		rc_thread_live = false;
	}
	if (fake.sock >= 0)
		close(fake.sock);
	if (fake2.sock >= 0)
		close(fake2.sock);
	fake.sock = fake2.sock = -1;
	if (fake.map)
		munmap(fake.map, fake.map_size);
	if (fake2.map)
		munmap(fake2.map, fake2.map_size);
	fake.map = fake2.map = NULL;
	close(rc_listen);
	rc_listen = -1;
	unlink(rc_path);
	test_pci_machine_destroy(pio, mmio, root);
	guest_mem_destroy(mem);
}

static enum vhost_user_dev_state rc_want;
static int64_t rc_deadline;

static void rc_tick(void *opaque, int fd, uint32_t events)
{
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	if (vhost_user_dev_state(dev) == rc_want ||
	    test_now_ms() > rc_deadline)
		event_loop_stop(opaque);
}

/* Run the main loop until the device is in state want (10 s at most). */
static void run_loop_until(enum vhost_user_dev_state want)
{
	struct itimerspec its = { .it_interval = { 0, 10000000 },
				  .it_value = { 0, 10000000 } };
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	CU_ASSERT_FATAL(t >= 0);
	CU_ASSERT_FATAL(timerfd_settime(t, 0, &its, NULL) == 0);
	rc_want = want;
	rc_deadline = test_now_ms() + 10000;
	CU_ASSERT_FATAL(event_loop_add(loop, t, EPOLLIN, rc_tick, loop) == 0);
	CU_ASSERT_EQUAL(event_loop_run(loop), 0);
	event_loop_del(loop, t);
	close(t);
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), want);
}

static int seq_pos(const struct fake *f, uint32_t req)
{
	for (unsigned i = 0; i < f->nseq; i++)
		if (f->seq[i] == req)
			return (int)i;
	return -1;
}

static bool kicked(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void rc_fake2(uint64_t features)
{
	struct fake keep = fake;

	fake_setup(features);
	fake2 = fake;
	fake = keep;
}

#define RC_FEAT	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH)

/*
 * The back-end dies under a running driver, a new one listens on the
 * same path: it gets the whole state, in order, each ring at the used
 * index guest memory holds, the same inflight region and eventfds, and
 * a kick.  The driver sees nothing.
 */
static void test_reconnect_replays(void)
{
	const uint64_t ring = 0x100000;
	uint8_t *ram = guest_mem_ptr(mem, 0, RAM);
	struct virtio_pci *vp = vhost_user_dev_transport(dev);
	struct vhost_user_dev_info info;
	uint16_t used_idx = 5;
	eventfd_t v;

	driver_start(RC_FEAT, ring);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	/* The first start asks for the inflight region, sized for 256. */
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_INFLIGHT_FD], 1);
	CU_ASSERT_EQUAL(fake.inflight_nq, 1);
	CU_ASSERT_EQUAL(fake.inflight_qsize, VHOST_USER_DEV_QUEUE_SIZE);
	CU_ASSERT(seq_pos(&fake, VHOST_USER_SET_FEATURES) <
		  seq_pos(&fake, VHOST_USER_GET_INFLIGHT_FD));
	/* The driver has completed 5 requests on that ring. */
	memcpy(ram + ring + 0x2000 + offsetof(struct vring_used, idx),
	       &used_idx, sizeof(used_idx));
	(void)eventfd_read(virtio_pci_queue_kick_fd(vp, 0), &v);

	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);

	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1), 0);
	vhost_user_dev_get_info(dev, &info);
	CU_ASSERT_EQUAL(info.restarts, 1);
	CU_ASSERT_STRING_EQUAL(info.state_name, "connected");
	/* Same agreement, same owner, the driver's features. */
	CU_ASSERT_EQUAL(fake2.acked_protocol, fake.acked_protocol);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_OWNER], 1);
	CU_ASSERT_EQUAL(fake2.acked_features, RC_FEAT | F_PROTOCOL);
	/* The same inflight region handed back, not a new one. */
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_GET_INFLIGHT_FD], 0);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_INFLIGHT_FD], 1);
	CU_ASSERT_EQUAL(fake2.inflight_st.st_ino, fake.inflight_st.st_ino);
	CU_ASSERT_EQUAL(fake2.inflight_size, 4096);
	/* Guest RAM, the ring where it was, resumed at the used index. */
	CU_ASSERT_FATAL(fake2.map != NULL);
	CU_ASSERT_EQUAL(memcmp(fake2.map, ram, RAM), 0);
	CU_ASSERT_EQUAL(fake2.num[0], 128);
	CU_ASSERT_EQUAL(fake2.base[0], 5);
	CU_ASSERT_EQUAL(memcmp(&fake2.addr[0], &fake.addr[0],
			       sizeof(fake.addr[0])), 0);
	/* KVM's ioeventfd and irqfd: the same eventfds as before. */
	CU_ASSERT_TRUE(same_file(&fake2.kick_st[0],
				 virtio_pci_queue_kick_fd(vp, 0)));
	CU_ASSERT_TRUE(same_file(&fake2.call_st[0],
				 virtio_pci_queue_call_fd(vp, 0)));
	CU_ASSERT_TRUE(fake2.enabled[0]);
	/* In order, as at DRIVER_OK. */
	CU_ASSERT_EQUAL(seq_pos(&fake2, VHOST_USER_GET_FEATURES), 0);
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_PROTOCOL_FEATURES) <
		  seq_pos(&fake2, VHOST_USER_SET_OWNER));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_OWNER) <
		  seq_pos(&fake2, VHOST_USER_SET_FEATURES));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_FEATURES) <
		  seq_pos(&fake2, VHOST_USER_SET_INFLIGHT_FD));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_INFLIGHT_FD) <
		  seq_pos(&fake2, VHOST_USER_SET_MEM_TABLE));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_MEM_TABLE) <
		  seq_pos(&fake2, VHOST_USER_SET_VRING_NUM));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_VRING_NUM) <
		  seq_pos(&fake2, VHOST_USER_SET_VRING_BASE));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_VRING_BASE) <
		  seq_pos(&fake2, VHOST_USER_SET_VRING_KICK));
	CU_ASSERT(seq_pos(&fake2, VHOST_USER_SET_VRING_CALL) <
		  seq_pos(&fake2, VHOST_USER_SET_VRING_ENABLE));
	/* And a kick, for what the driver queued meanwhile. */
	CU_ASSERT_TRUE(kicked(virtio_pci_queue_kick_fd(vp, 0)));

	/*
	 * Lost again; meanwhile the driver resets and starts a new ring.
	 * The next back-end gets that one from 0, a fresh inflight region
	 * (nothing from before the reset is resubmitted) and no
	 * GET_VRING_BASE went to anyone for the reset.
	 */
	struct fake third;

	fake = fake2;
	rc_fake2(BLK_FEATURES);
	third = fake2;
	rc_kill(&fake);
	run_loop_until(VHOST_USER_DEV_RECONNECTING);
	set_status(0);
	driver_start(RC_FEAT, 0x200000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	fake2 = third;
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_VRING_BASE], 0);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_GET_INFLIGHT_FD], 1);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_INFLIGHT_FD], 0);
	CU_ASSERT_EQUAL(fake2.base[0], 0);
	CU_ASSERT_EQUAL(fake2.addr[0].desc_user_addr,
			(uintptr_t)ram + 0x200000);
	vhost_user_dev_get_info(dev, &info);
	CU_ASSERT_EQUAL(info.restarts, 2);
}

static void lacking_feature(void)
{
	driver_start(RC_FEAT, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	/* The new back-end lacks FLUSH, which the driver took. */
	rc_fake2(BLK_FEATURES & ~(1ull << VIRTIO_BLK_F_FLUSH));
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_FAILED);
	CU_ASSERT_TRUE(vhost_user_dev_broken(dev));
	/* Now the driver is told: NEEDS_RESET with a config interrupt. */
	CU_ASSERT_EQUAL(status(), S_RUN | VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_CONFIG);
	/* Nothing was replayed to it. */
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_MEM_TABLE], 0);
	driver_start(RC_FEAT, 0x100000);
	CU_ASSERT_TRUE(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_reconnect_lacking_feature(void)
{
	CU_ASSERT_EQUAL(count_log_lines(lacking_feature,
					"no longer offers features 0x200 "),
			1);
}

static void nobody_listens(void)
{
	/* Nobody listens for a while: retried, logged once. */
	rc_kill(&fake);
	close(rc_listen);
	unlink(rc_path);
	rc_listen = -1;
	run_loop_until(VHOST_USER_DEV_RECONNECTING);
	rc_deadline = 0;
	for (int i = 0; i < 40; i++) {
		struct timespec ts = { 0, 10000000 };

		run_loop_once(loop);
		nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_RECONNECTING);
}

static void test_reconnect_backoff_logged_once(void)
{
	driver_start(RC_FEAT, 0x100000);
	CU_ASSERT_EQUAL(count_log_lines(nobody_listens, "reconnecting to "), 1);
	CU_ASSERT_EQUAL(status(), S_RUN);
	/* It comes back: connected again. */
	rc_relisten();
	rc_fake2(BLK_FEATURES);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(fake2.base[0], 0);
	CU_ASSERT_TRUE(fake2.enabled[0]);
}

static void packed_not_resumed(void)
{
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_FAILED);
	/* No position to resume from: the driver must reset. */
	CU_ASSERT_EQUAL(status(), S_RUN | VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_VRING_KICK], 0);
}

static void test_reconnect_packed_fails(void)
{
	CU_ASSERT_EQUAL(count_log_lines(packed_not_resumed,
					"packed rings cannot be resumed"), 1);
}

static void stopped_backend(void)
{
	/*
	 * A back-end that accepts (the kernel does, into the backlog) and
	 * never answers, as a stopped process: the attempt waits in the
	 * loop, times out with a name, and is retried; nothing blocks.
	 */
	rc_kill(&fake);
	rc_relisten();
	run_loop_until(VHOST_USER_DEV_RECONNECTING);
	for (int i = 0; i < 300; i++) {
		struct timespec ts = { 0, 10000000 };

		run_loop_once(loop);
		nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_RECONNECTING);
	CU_ASSERT_EQUAL(status(), S_RUN);
}

static void test_reconnect_stopped_backend(void)
{
	driver_start(RC_FEAT, 0x100000);
	CU_ASSERT_EQUAL(count_log_lines(stopped_backend,
					"attempt 1: Connection timed out"), 1);
	/* It comes back (a new one): connected again. */
	rc_relisten();
	rc_fake2(BLK_FEATURES);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_TRUE(fake2.enabled[0]);
}

#define RC_NET_FEAT	(1ull << VIRTIO_F_VERSION_1 | \
			 1ull << VIRTIO_NET_F_MRG_RXBUF | F_PROTOCOL)

/*
 * Multiqueue net: the control queue is the core's and goes on while the
 * back-end is away; the pairs the driver enabled meanwhile are what the
 * new back-end gets enabled.  No inflight region for net.
 */
static void test_reconnect_net_mq(void)
{
	rc_teardown();
	rc_setup_dev(VHOST_USER_DEV_NET, MQ_PAIRS, RC_NET_FEAT);
	mq_driver_start(MQ_FEATURES, 2 * MQ_PAIRS + 1);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_INFLIGHT_FD], 0);
	CU_ASSERT_TRUE(fake.enabled[0] && !fake.enabled[2]);
	run_loop_once(loop);

	rc_fake2(RC_NET_FEAT);
	rc_kill(&fake);
	run_loop_until(VHOST_USER_DEV_RECONNECTING);
	/* VQ_PAIRS_SET 2 while nobody listens: answered OK all the same. */
	mq_command(MQ_CTRL, 0, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2);
	run_loop_once(loop);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(mq_used_idx(MQ_CTRL), 1);

	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_VRING_ADDR], 2 * MQ_PAIRS);
	CU_ASSERT_EQUAL(fake2.num[MQ_CTRL], 0);	/* never the control queue */
	CU_ASSERT_TRUE(fake2.enabled[0] && fake2.enabled[1] &&
		       fake2.enabled[2] && fake2.enabled[3]);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_GET_INFLIGHT_FD] +
			fake2.count[VHOST_USER_SET_INFLIGHT_FD], 0);
	CU_ASSERT_EQUAL(fake2.acked_features, 1ull << VIRTIO_F_VERSION_1 |
						F_PROTOCOL);

	/* And back to one pair, on the new back-end. */
	mq_command(MQ_CTRL, 1, VIRTIO_NET_CTRL_MQ,
		   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1);
	run_loop_once(loop);
	CU_ASSERT_EQUAL(mq_ack(), VIRTIO_NET_OK);
	CU_ASSERT_TRUE(fake2.enabled[0] && !fake2.enabled[2] &&
		       !fake2.enabled[3]);
	set_status(0);
	run_loop_once(loop);
}

static CU_TestInfo reconnect_tests[] = {
	{ "replay after a hang-up; reset while reconnecting",
	  test_reconnect_replays },
	{ "new back-end lacks a negotiated feature: failed",
	  test_reconnect_lacking_feature },
	{ "nobody listens: retried, logged once, then back",
	  test_reconnect_backoff_logged_once },
	{ "packed rings: not resumed, failed", test_reconnect_packed_fails },
	{ "stopped back-end: the attempt times out in the loop",
	  test_reconnect_stopped_backend },
	{ "multiqueue net: control queue goes on, pairs replayed",
	  test_reconnect_net_mq },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo blk_tests[] = {
	{ "negotiation and config", test_blk_negotiation },
	{ "start, reset, restart", test_blk_start_reset_restart },
	{ "packed ring: base with wrap counters", test_packed_ring_base },
	{ "packed ring: event areas", test_packed_event_areas },
	{ "ring outside RAM", test_ring_outside_ram },
	{ "back-end hangs up", test_backend_hangs_up },
	{ "hang-up seen by the watch: reconnecting, driver sees nothing",
	  test_hangup_reconnects },
	{ "failed exchange seen by the watch: reconnecting",
	  test_failed_call_reconnects },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo create_tests[] = {
	{ "back-end refuses or fails at create", test_backend_gone_at_create },
	{ "net config built by the core", test_net_config },
	{ "net queue pairs the back-end lacks", test_net_mq_refused },
	{ "net queue pairs through the control queue", test_net_mq },
	CU_TEST_INFO_NULL,
};

static int suite_setup(void)
{
	return 0;
}

static void test_setup(void)
{
	setup_blk();
}

CU_SuiteInfo unit_suites[] = {
	{ "vhost_user_dev blk", suite_setup, NULL, test_setup, teardown,
	  blk_tests },
	{ "vhost_user_dev create", NULL, NULL, NULL, NULL, create_tests },
	{ "vhost_user_dev reconnect", NULL, NULL, rc_setup, rc_teardown,
	  reconnect_tests },
	CU_SUITE_INFO_NULL,
};
