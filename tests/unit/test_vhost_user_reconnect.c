/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/vhost_user_dev's recovery (vhost_user_reconnect.c): the device
 * connects to a unix socket path where fake back-ends accept one after
 * the other.  Checks the replay to a new back-end (order, the same
 * inflight region and eventfds, each split ring at the used index, each
 * packed ring where the inflight region says), the
 * driver's resets and starts while nobody listens, what makes a device
 * failed, retries and their log, and a back-end that never answers.
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
#include "vhost_user_inflight.h"
#include "virtio.h"
#include "virtio_pci.h"

#include "vud_fixture.h"

/* ---- reconnect: a listening socket path and fakes that accept ---------- */

static char rc_path[108];
static int rc_listen = -1;
static struct vu_fake fake2;
static pthread_t rc_thread;
static bool rc_thread_live;

/* Accept one connection and serve it as f. */
static void *rc_accept_main(void *arg)
{
	struct vu_fake *f = arg;
	int fd = accept4(rc_listen, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	f->sock = fd;
	return vu_fake_main(f);
}

static void rc_serve(struct vu_fake *f)
{
	CU_ASSERT_FATAL(pthread_create(&rc_thread, NULL, rc_accept_main,
				       f) == 0);
	rc_thread_live = true;
}

/* The back-end process dies: its connection goes. */
static void rc_kill(struct vu_fake *f)
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
	vu_fake_unmap_ram(f);
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
	/* A test may have made one fake a copy of the other. */
	if (fake2.nmaps && fake.nmaps && fake2.maps[0] == fake.maps[0])
		fake2.nmaps = 0;
	if (fake2.inflight_map == fake.inflight_map)
		fake2.inflight_map = NULL;
	vu_fake_release(&fake);
	vu_fake_release(&fake2);
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

static int seq_pos(const struct vu_fake *f, uint32_t req)
{
	for (unsigned i = 0; i < f->nreq && i < VU_FAKE_LOG; i++)
		if (f->reqs[i] == req)
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
	struct vu_fake keep = fake;

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
	/*
	 * The first start asks for the inflight region, sized for the ring
	 * the driver programmed (128), not the largest it could have.
	 */
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_INFLIGHT_FD], 1);
	CU_ASSERT_EQUAL(fake.inflight_nq, 1);
	CU_ASSERT_EQUAL(fake.inflight_qsize, 128);
	CU_ASSERT_NOT_EQUAL(VHOST_USER_DEV_QUEUE_SIZE, 128);
	CU_ASSERT(seq_pos(&fake, VHOST_USER_SET_FEATURES) <
		  seq_pos(&fake, VHOST_USER_GET_INFLIGHT_FD));
	/*
	 * ... and hands it straight back: librte_vhost records requests
	 * only in a region given with SET_INFLIGHT_FD.
	 */
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_INFLIGHT_FD], 1);
	CU_ASSERT(seq_pos(&fake, VHOST_USER_GET_INFLIGHT_FD) <
		  seq_pos(&fake, VHOST_USER_SET_INFLIGHT_FD));
	CU_ASSERT(seq_pos(&fake, VHOST_USER_SET_INFLIGHT_FD) <
		  seq_pos(&fake, VHOST_USER_SET_MEM_TABLE));
	CU_ASSERT_EQUAL(fake.inflight_size, FAKE_INFLIGHT_SIZE);
	/* The driver has completed 5 requests on that ring. */
	memcpy(ram + ring + 0x2000 + offsetof(struct vring_used, idx),
	       &used_idx, sizeof(used_idx));
	(void)eventfd_read(virtio_pci_queue_kick_fd(vp, 0), &v);

	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	run_loop_once(loop);		/* the interrupt it sends, INTx here */

	CU_ASSERT_EQUAL(status(), S_RUN);
	/*
	 * No config interrupt: the driver is not told.  A queue interrupt,
	 * for completions the old back-end never signalled (spurious is
	 * harmless).
	 */
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_QUEUE);
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
	CU_ASSERT_EQUAL(fake2.inflight_size, FAKE_INFLIGHT_SIZE);
	CU_ASSERT_EQUAL(fake2.inflight_qsize, 128);
	/* Guest RAM, the ring where it was, resumed at the used index. */
	CU_ASSERT_FATAL(fake2.nmaps == 1);
	CU_ASSERT_EQUAL(memcmp(fake2.maps[0], ram, RAM), 0);
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
	struct vu_fake third;

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
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_INFLIGHT_FD], 1);
	CU_ASSERT_NOT_EQUAL(fake2.inflight_st.st_ino, fake.inflight_st.st_ino);
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

#define RC_QS	128

/*
 * The region of queue 0 as librte_vhost leaves it: used at `used` (wrap
 * counter in bit 15), one chain of n descriptors in flight (entries 0 to
 * n - 1), the other entries free.
 */
static void rc_region(struct vu_fake *f, uint16_t used, uint16_t n)
{
	struct vhost_user_inflight_packed *r = f->inflight_map;

	CU_ASSERT_FATAL(r != NULL);
	memset(r, 0, vhost_user_inflight_packed_bytes(RC_QS));
	r->version = 1;
	r->desc_num = RC_QS;
	for (uint16_t i = 0; i < RC_QS; i++)
		r->desc[i].next = (uint16_t)(i + 1);
	if (n) {
		r->desc[0].inflight = 1;
		r->desc[0].num = n;
		r->desc[0].counter = 1;
		r->desc[0].last = (uint16_t)(n - 1);
	}
	r->free_head = r->old_free_head = n;
	r->used_idx = r->old_used_idx = used & 0x7fff;
	r->used_wrap_counter = r->old_used_wrap_counter = used >> 15;
}

/*
 * Packed rings resume from the inflight region: used where the dead
 * back-end last completed, avail past the chain it had in flight (here
 * across the end of the ring: avail's wrap counter flipped, used's not).
 * The driver sees nothing; it gets a kick and an interrupt.
 */
static void test_reconnect_packed_resumes(void)
{
	struct virtio_pci *vp = vhost_user_dev_transport(dev);
	struct vring_packed_desc *d;
	eventfd_t v;
	void *m;

	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.base[0], VHOST_USER_PACKED_BASE_INITIAL);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_SET_INFLIGHT_FD], 1);
	rc_region(&fake, 0x8000 | 126, 3);
	(void)eventfd_read(virtio_pci_queue_kick_fd(vp, 0), &v);
	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	run_loop_once(loop);

	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_QUEUE);
	CU_ASSERT_EQUAL(fake2.num[0], RC_QS);
	CU_ASSERT_EQUAL(fake2.base[0], 1u | (0x8000u | 126) << 16);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_INFLIGHT_FD], 1);
	CU_ASSERT_EQUAL(fake2.inflight_st.st_ino, fake.inflight_st.st_ino);
	CU_ASSERT_TRUE(fake2.enabled[0]);
	CU_ASSERT_TRUE(kicked(virtio_pci_queue_kick_fd(vp, 0)));

	/* Idle, after the new one completed it: both at the same place. */
	m = fake.inflight_map;		/* the region the core keeps */
	fake = fake2;
	fake.inflight_map = m;
	rc_region(&fake, 1, 0);
	/* Slot 1 as the first lap left it: used with wrap counter 1. */
	d = guest_mem_ptr(mem, 0x100000 + sizeof(*d), sizeof(*d));
	d->flags = VIRTIO_PACKED_DESC_F_AVAIL | VIRTIO_PACKED_DESC_F_USED;
	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake2.base[0], 1u | 1u << 16);
}

/*
 * The driver started its packed rings while nobody listened: no back-end
 * ever ran them, so the first one to come starts them afresh.
 */
static void test_reconnect_packed_never_served(void)
{
	rc_kill(&fake);
	run_loop_until(VHOST_USER_DEV_RECONNECTING);
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	rc_fake2(BLK_FEATURES);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake2.base[0], VHOST_USER_PACKED_BASE_INITIAL);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_GET_INFLIGHT_FD], 1);
	CU_ASSERT_TRUE(fake2.enabled[0]);
}

static void packed_not_resumed(void)
{
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	/* A region that does not describe this ring (another size). */
	rc_region(&fake, 5, 0);
	((struct vhost_user_inflight_packed *)fake.inflight_map)->desc_num =
		RC_QS / 2;
	rc_fake2(BLK_FEATURES);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	/*
	 * No position to resume from: the new back-end gets no rings and
	 * the driver is told to reset (NEEDS_RESET, config interrupt).
	 */
	CU_ASSERT_EQUAL(status(), S_RUN | VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(rd(bar0 + VIRTIO_PCI_ISR_OFFSET, 1),
			VIRTIO_PCI_ISR_CONFIG);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_VRING_NUM], 0);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_OWNER], 1);
	CU_ASSERT_FALSE(vhost_user_dev_broken(dev));
}

/*
 * Packed rings whose region cannot be read: the driver resets, then
 * runs on with the new back-end.
 */
static void test_reconnect_packed_reset(void)
{
	CU_ASSERT_EQUAL(count_log_lines(packed_not_resumed,
					"packed rings cannot be resumed"), 1);
	/* The reset asks the new back-end nothing: it has no rings. */
	set_status(0);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_GET_VRING_BASE], 0);
	driver_start(PACKED_FEAT, 0x200000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake2.num[0], 128);
	CU_ASSERT_EQUAL(fake2.base[0], 0x80008000u);
	CU_ASSERT_TRUE(fake2.enabled[0]);
	CU_ASSERT_EQUAL(vhost_user_dev_state(dev), VHOST_USER_DEV_CONNECTED);
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

/*
 * A net device on packed rings: no inflight region, so no position to
 * resume from; the driver is told to reset, as documented.
 */
static void test_reconnect_net_packed_reset(void)
{
	const uint64_t feat = RC_NET_FEAT | 1ull << VIRTIO_F_RING_PACKED;

	rc_teardown();
	rc_setup_dev(VHOST_USER_DEV_NET, 1, feat);
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL_FATAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake.count[VHOST_USER_GET_INFLIGHT_FD], 0);
	rc_fake2(feat);
	rc_kill(&fake);
	rc_serve(&fake2);
	run_loop_until(VHOST_USER_DEV_CONNECTED);
	CU_ASSERT_EQUAL(status(), S_RUN | VIRTIO_CONFIG_S_NEEDS_RESET);
	CU_ASSERT_EQUAL(fake2.count[VHOST_USER_SET_VRING_BASE], 0);
	set_status(0);
	driver_start(PACKED_FEAT, 0x100000);
	CU_ASSERT_EQUAL(status(), S_RUN);
	CU_ASSERT_EQUAL(fake2.base[0], VHOST_USER_PACKED_BASE_INITIAL);
}

static CU_TestInfo reconnect_tests[] = {
	{ "replay after a hang-up; reset while reconnecting",
	  test_reconnect_replays },
	{ "new back-end lacks a negotiated feature: failed",
	  test_reconnect_lacking_feature },
	{ "nobody listens: retried, logged once, then back",
	  test_reconnect_backoff_logged_once },
	{ "packed rings resume from the inflight region",
	  test_reconnect_packed_resumes },
	{ "packed rings started while nobody listened: from the start",
	  test_reconnect_packed_never_served },
	{ "packed rings, unreadable region: the driver resets, goes on",
	  test_reconnect_packed_reset },
	{ "stopped back-end: the attempt times out in the loop",
	  test_reconnect_stopped_backend },
	{ "multiqueue net: control queue goes on, pairs replayed",
	  test_reconnect_net_mq },
	{ "net on packed rings: no region, the driver resets",
	  test_reconnect_net_packed_reset },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "vhost_user_dev reconnect", NULL, NULL, rc_setup, rc_teardown,
	  reconnect_tests },
	CU_SUITE_INFO_NULL,
};
