/* SPDX-License-Identifier: GPL-2.0-only */
/* The core/vhost_user_dev tests' fixture: see vud_fixture.h. */
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

#include "vud_fixture.h"

/* ---- the fake back-end (same shape as test_vhost_user_client.c's) ------- */


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
		reply->payload.inflight.mmap_size = FAKE_INFLIGHT_SIZE;
		reply->payload.inflight.mmap_offset = 0;
		if (fd >= 0 && ftruncate(fd, FAKE_INFLIGHT_SIZE) == 0) {
			void *m = mmap(NULL, FAKE_INFLIGHT_SIZE,
				       PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

			if (m != MAP_FAILED) {
				if (f->inflight_map)
					munmap(f->inflight_map,
					       FAKE_INFLIGHT_SIZE);
				f->inflight_map = m;
			}
			fstat(fd, &f->inflight_st);
			f->inflight_size = FAKE_INFLIGHT_SIZE;
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

void *fake_main(void *arg)
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

struct guest_mem *mem;
struct bus *pio, *mmio;
struct pci_root *root;
struct fake fake;
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
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				   sv) == 0);
	fake.sock = sv[1];
	CU_ASSERT_FATAL(pthread_create(&fake.thread, NULL, fake_main,
				       &fake) == 0);
	dc.sock_fd = sv[0];
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
	if (fake.sock >= 0) {
		pthread_join(fake.thread, NULL);
		close(fake.sock);
		fake.sock = -1;
	}
	if (fake.map)
		munmap(fake.map, fake.map_size);
	fake.map = NULL;
	if (fake.inflight_map)
		munmap(fake.inflight_map, FAKE_INFLIGHT_SIZE);
	fake.inflight_map = NULL;
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
