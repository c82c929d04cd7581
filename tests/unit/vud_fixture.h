/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixture of the core/vhost_user_dev tests (test_vhost_user_dev.c,
 * test_vhost_user_reconnect.c): guest RAM, buses and a PCI root, a fake
 * vhost-user back-end thread (vu_fake.h), and the guest driver's view of
 * the device.
 */
#ifndef SPLITVM_TEST_VUD_FIXTURE_H
#define SPLITVM_TEST_VUD_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "event.h"
#include "vhost_user.h"
#include "vhost_user_dev.h"
#include "virtio.h"
#include "virtio_pci.h"
#include "vu_fake.h"

#define RAM		(16ull << 20)
#define SLOT		3
#define DEVFN		PCI_DEVFN(SLOT, 0)
#define F_PROTOCOL	(1ull << VHOST_USER_F_PROTOCOL_FEATURES)
#define PF(f)		VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_##f)
#define CAPACITY	0x20000ull
#define BLK_FEATURES	(1ull << VIRTIO_F_VERSION_1 | \
			 1ull << VIRTIO_BLK_F_BLK_SIZE | \
			 1ull << VIRTIO_BLK_F_FLUSH | \
			 1ull << VIRTIO_F_RING_PACKED | \
			 1ull << VIRTIO_BLK_F_SECURE_ERASE | F_PROTOCOL)

#define PACKED_FEAT	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED)
#define COMMON(off)	(bar0 + VIRTIO_PCI_COMMON_OFFSET + (off))
#define DEVCFG(off)	(bar0 + VIRTIO_PCI_DEVICE_OFFSET + (off))
#define S_INIT	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define S_FOK	(S_INIT | VIRTIO_CONFIG_S_FEATURES_OK)
#define S_RUN	(S_FOK | VIRTIO_CONFIG_S_DRIVER_OK)
#define MQ_PAIRS	2
#define MQ_CTRL		(2 * MQ_PAIRS)
#define MQ_QSIZE	8
#define MQ_FEATURES	(1ull << VIRTIO_F_VERSION_1 | \
			 1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ)
#define MQ_CMD		0x80000ull	/* header, data, ack */

/* ---- the fake back-end (vu_fake.h) ---- */

/* What GET_INFLIGHT_FD makes here: room for one packed queue of 128. */
#define FAKE_INFLIGHT_SIZE	8192u

/*
 * A fresh fake in `fake` offering features (and blk's config), the
 * protocol features the core uses, and probing the seals of guest RAM.
 */
void fake_setup(uint64_t features);

/* ---- fixture: RAM, buses, PCI root, fake, device ------------------------ */

extern struct guest_mem *mem;
extern struct bus *pio, *mmio;
extern struct pci_root *root;
extern struct vu_fake fake;
extern struct vhost_user_dev *dev;
extern uint64_t bar0;
extern struct event_loop *loop;

/* The device on a socketpair to `fake`, whose thread starts. */
int start_queues(enum vhost_user_dev_type type, bool mac, unsigned queues);
int start(enum vhost_user_dev_type type, bool mac);
void setup_common(void);
void setup_blk(void);
/* Also joins the fake: closing the device's socket ends it. */
void teardown(void);

/* ---- the guest driver's view ---- */

uint32_t cfg_read(unsigned reg, unsigned size);
void cfg_write(unsigned reg, unsigned size, uint32_t v);
uint64_t rd(uint64_t addr, unsigned size);
void wr(uint64_t addr, unsigned size, uint64_t v);
uint8_t status(void);
void set_status(uint8_t s);
uint64_t device_features(void);
/* Queue 0 of 128 entries: its three parts where given. */
void driver_start_at(uint64_t features, uint64_t desc, uint64_t driver,
		     uint64_t device);
/* desc, avail, used at gpa, +0x1000, +0x2000. */
void driver_start(uint64_t features, uint64_t ring_gpa);
bool same_file(const struct stat *a, int fd);

/* Lines logged at warning or error by the last count_log_lines(). */
extern unsigned log_lines_bad;
/* Run fn with stderr captured; return how many lines matched `needle`. */
unsigned count_log_lines(void (*fn)(void), const char *needle);
/* One pass of the main loop over whatever is ready now. */
void run_loop_once(struct event_loop *l);

/* ---- net with queue pairs: the core's control queue ---- */

/* This queue's rings go in the PCI hole (-1: none). */
extern int mq_bad_q;
/* Queue q: desc, avail, used at 0x100000 + q * 0x4000, +0x1000, +0x2000. */
uint64_t mq_ring(unsigned q);
void *gptr(uint64_t gpa);
void mq_driver_start(uint64_t features, unsigned nq);
/*
 * Queue a control command on queue q (header, 2 data bytes, ack) as
 * entry n of its rings, and kick it through the notify window.
 */
void mq_command(unsigned q, uint16_t n, uint8_t class, uint8_t cmd,
		uint16_t value);
uint8_t mq_ack(void);
uint16_t mq_used_idx(unsigned q);

#endif
