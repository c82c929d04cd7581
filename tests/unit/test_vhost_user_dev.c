/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/vhost_user_dev: a real virtio-pci transport on a real PCI root,
 * driven as a guest driver would, with a fake vhost-user back-end thread
 * (the protocol codec) on a socketpair behind it.  Checks what reaches
 * the back-end: guest RAM as memfds (compared byte for byte), vring
 * addresses translated to the core's mapping, the transport's own
 * eventfds, GET_VRING_BASE on reset, and that a back-end which goes away
 * leaves the driver unaware (reconnecting).  No KVM.  Reconnects to a
 * new back-end: test_vhost_user_reconnect.c.
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

#include "vud_fixture.h"

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
	CU_ASSERT_FATAL(fake.nmaps == 1);
	CU_ASSERT_EQUAL(fake.regions[0].memory_size, RAM);
	CU_ASSERT_EQUAL(fake.regions[0].guest_phys_addr, 0);
	CU_ASSERT_EQUAL(fake.regions[0].userspace_addr, (uintptr_t)ram);
	CU_ASSERT_EQUAL(memcmp(fake.maps[0], ram, RAM), 0);
	/* Sealed: the back-end can neither shrink nor grow it, nor unseal. */
	CU_ASSERT_EQUAL(fake.seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	CU_ASSERT_EQUAL(fake.shrink_errno, EPERM);
	CU_ASSERT_EQUAL(fake.grow_errno, EPERM);
	ram[12345] ^= 0xff;	/* shared, not copied */
	CU_ASSERT_EQUAL(((uint8_t *)fake.maps[0])[12345], ram[12345]);
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
	fake.stopped_at[0] = 77;
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
	fake.stopped_at[0] = vhost_user_packed_base(5, false, 3, true);
	CU_ASSERT_EQUAL(fake.stopped_at[0], 0x80030005u);
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
	fake.stopped_at[0] = 0x8000u | 200;
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
	fake.fault = VU_FAKE_HANG_UP;
	fake.fault_on = VHOST_USER_SET_MEM_TABLE;
	CU_ASSERT_EQUAL(count_log_lines(two_starts_after_hangup,
					"[blk0] vhost-user back-end on /fake/sock"),
			1);
}

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
	fake.fault = VU_FAKE_HANG_UP;
	fake.fault_on = VHOST_USER_SET_MEM_TABLE;
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
	fake.fault = VU_FAKE_HANG_UP;
	fake.fault_on = VHOST_USER_SET_OWNER;
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
	CU_SUITE_INFO_NULL,
};
