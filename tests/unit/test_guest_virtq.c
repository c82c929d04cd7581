/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test guest's virtqueue layer (tests/guest/virtio.c and virtq.c),
 * built for the host, against a device model written here from virtio 1.2 2.7 and 2.8.
 * The guest's MMIO goes to plain memory standing in for the common config
 * and notify windows, so what it programs and every notification can be
 * read back.  Packed rings get what the integration tests cannot give
 * them (testpmd only moves one-descriptor chains, in order): chains that
 * straddle the end of the ring, completions out of order, event
 * suppression both ways, used ids that name nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../guest/guest.h"
#include "unit.h"
#include "virtio.h"

/* ---- what guest/virtio.c and virtq.c call besides MMIO ---- */

static char out[16 * 1024];
static size_t out_len;

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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t tsc_deadline_ms(uint64_t ms)
{
	return now_ns() + ms * 1000000ull;
}

bool tsc_expired(uint64_t deadline)
{
	return now_ns() >= deadline;
}

/* PCI config access: virtq_setup() and the ring code never use it. */
uint8_t pci_cfg_read8(const struct pci_dev *d, unsigned int reg)
{
	(void)d;
	(void)reg;
	CU_FAIL("PCI config read");
	return 0xff;
}

uint16_t pci_cfg_read16(const struct pci_dev *d, unsigned int reg)
{
	return pci_cfg_read8(d, reg);
}

uint32_t pci_cfg_read32(const struct pci_dev *d, unsigned int reg)
{
	return pci_cfg_read8(d, reg);
}

void pci_cfg_write16(const struct pci_dev *d, unsigned int reg, uint16_t v)
{
	(void)v;
	(void)pci_cfg_read8(d, reg);
}

void pci_enable_mem_master(const struct pci_dev *d)
{
	(void)pci_cfg_read8(d, 0);
}

unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id,
			  unsigned int from)
{
	(void)id;
	(void)from;
	return pci_cfg_read8(d, 0);
}

/* ---- the device's windows: plain memory ---- */

#define QSIZE		64	/* what the "device" offers: VIRTQ_SIZE_MAX */
#define NOTIFY_MULT	4

static uint8_t common[VIRTIO_PCI_COMMON_CFG_SIZE_1_2 + 64]
	__attribute__((aligned(8)));
static uint16_t notify[8];
static struct virtio_dev vd;
static struct virtq vq;

static uint64_t common_read64(unsigned off)
{
	uint64_t v;

	memcpy(&v, common + off, 8);
	return v;
}

/* A device with 2 queues of QSIZE, features as negotiated. */
static void dev_init(uint64_t features)
{
	uint16_t v;

	memset(common, 0, sizeof(common));
	memset(notify, 0, sizeof(notify));
	memset(&vd, 0, sizeof(vd));
	v = 2;
	memcpy(common + VIRTIO_PCI_COMMON_NUMQ, &v, 2);
	v = QSIZE;
	memcpy(common + VIRTIO_PCI_COMMON_Q_SIZE, &v, 2);
	v = 1;		/* queue_notify_off of the queue set up: 1 */
	memcpy(common + VIRTIO_PCI_COMMON_Q_NOFF, &v, 2);
	vd.common = (uintptr_t)common;
	vd.notify = (uintptr_t)notify;
	vd.notify_len = sizeof(notify);
	vd.notify_mult = NOTIFY_MULT;
	vd.features = features;
	out_len = 0;
	out[0] = '\0';
}

/* ---- a packed-ring device (virtio 1.2 2.8) ---- */

#define CHAIN_MAX	4

struct chain {
	uint16_t id;
	unsigned n;
	uint64_t addr[CHAIN_MAX];
	uint32_t len[CHAIN_MAX];
	uint16_t flags[CHAIN_MAX];
};

struct model {
	struct vring_packed_desc *ring;
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;
	struct chain got[QSIZE];	/* fetched, not yet used */
	unsigned ngot;
	bool bad;			/* the driver broke a rule */
};

static struct model m;

static void model_init(struct vring_packed_desc *ring)
{
	memset(&m, 0, sizeof(m));
	m.ring = ring;
	m.avail_wrap = m.used_wrap = true;	/* 2.8.1 */
}

static bool desc_avail(uint16_t flags, bool wrap)
{
	bool a = flags & VIRTIO_PACKED_DESC_F_AVAIL;
	bool u = flags & VIRTIO_PACKED_DESC_F_USED;

	return a == wrap && u != wrap;
}

/*
 * Fetch every chain now available.  Each descriptor must be available
 * for the lap it lies in, and carry the chain's id.
 */
static unsigned model_fetch(void)
{
	unsigned fetched = 0;

	while (desc_avail(*(volatile uint16_t *)&m.ring[m.avail_pos].flags,
			  m.avail_wrap)) {
		struct chain *c = &m.got[m.ngot];
		uint16_t flags;

		CU_ASSERT_FATAL(m.ngot < QSIZE);
		memset(c, 0, sizeof(*c));
		do {
			const struct vring_packed_desc *d = &m.ring[m.avail_pos];

			flags = d->flags;
			if (!desc_avail(flags, m.avail_wrap) || c->n == CHAIN_MAX)
				m.bad = true;
			if (c->n == 0)
				c->id = d->id;
			else if (d->id != c->id)
				m.bad = true;
			if (c->n < CHAIN_MAX) {
				c->addr[c->n] = d->addr;
				c->len[c->n] = d->len;
				c->flags[c->n] = flags;
			}
			c->n++;
			if (++m.avail_pos == QSIZE) {
				m.avail_pos = 0;
				m.avail_wrap = !m.avail_wrap;
			}
		} while ((flags & VRING_DESC_F_NEXT) && !m.bad);
		m.ngot++;
		fetched++;
		if (m.bad)
			break;
	}
	return fetched;
}

/* Write the used descriptor of got[k] (2.8.7): id, len, then flags. */
static void model_use(unsigned k, uint32_t len)
{
	struct chain c = m.got[k];
	struct vring_packed_desc *d = &m.ring[m.used_pos];

	d->id = c.id;
	d->len = len;
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)&d->flags = m.used_wrap ?
		VIRTIO_PACKED_DESC_F_AVAIL | VIRTIO_PACKED_DESC_F_USED : 0;
	m.used_pos = (uint16_t)(m.used_pos + c.n);
	if (m.used_pos >= QSIZE) {
		m.used_pos -= QSIZE;
		m.used_wrap = !m.used_wrap;
	}
	memmove(&m.got[k], &m.got[k + 1], (m.ngot - k - 1) * sizeof(c));
	m.ngot--;
}

/* ---- tests ---- */

#define PACKED	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_PACKED)

static void setup_packed(void)
{
	dev_init(PACKED);
	CU_ASSERT_PTR_NULL_FATAL(virtq_setup(&vd, &vq, 1));
	model_init(vq.ring);
}

/* What virtq_setup() programs for a packed queue. */
static void test_packed_setup(void)
{
	setup_packed();
	CU_ASSERT_TRUE(vq.packed);
	CU_ASSERT_STRING_EQUAL(virtio_ring_name(&vd), "packed");
	CU_ASSERT_EQUAL(vq.size, QSIZE);
	CU_ASSERT_EQUAL(vq.num_free, QSIZE);
	CU_ASSERT_EQUAL(common_read64(VIRTIO_PCI_COMMON_Q_DESCLO),
			(uintptr_t)vq.ring);
	CU_ASSERT_EQUAL(common_read64(VIRTIO_PCI_COMMON_Q_AVAILLO),
			(uintptr_t)vq.driver_event);
	CU_ASSERT_EQUAL(common_read64(VIRTIO_PCI_COMMON_Q_USEDLO),
			(uintptr_t)vq.device_event);
	CU_ASSERT_EQUAL((uintptr_t)vq.ring % 16, 0);
	CU_ASSERT_EQUAL((uintptr_t)vq.driver_event % 4, 0);
	CU_ASSERT_EQUAL((uintptr_t)vq.device_event % 4, 0);
	CU_ASSERT_EQUAL(common[VIRTIO_PCI_COMMON_Q_ENABLE], 1);
	/* Events wanted until the driver says not (flags 0: ENABLE). */
	CU_ASSERT_EQUAL(vq.driver_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	virtq_no_interrupts(&vq);
	CU_ASSERT_EQUAL(vq.driver_event->flags,
			VRING_PACKED_EVENT_FLAG_DISABLE);
	/* Nothing available in a fresh ring. */
	CU_ASSERT_EQUAL(model_fetch(), 0);
	CU_ASSERT_FALSE(virtq_used_ready(&vq));
}

/*
 * Chains are invisible until the kick, then all visible, with their
 * buffers, WRITE and NEXT flags and one id; the kick notifies at the
 * queue's address unless the device disabled notifications.
 */
static void test_packed_publish_and_notify(void)
{
	static uint8_t a[16], b[32], c[8];
	struct virtq_buf two[2] = { { a, sizeof(a), false },
				    { b, sizeof(b), true } };
	struct virtq_buf one = { c, sizeof(c), true };
	int id1, id2;

	setup_packed();
	id1 = virtq_add(&vq, two, 2);
	id2 = virtq_add(&vq, &one, 1);
	CU_ASSERT_TRUE(id1 >= 0 && id2 >= 0 && id1 != id2);
	CU_ASSERT_EQUAL(vq.num_free, QSIZE - 3);
	/* The second head is written, but the device stops at the first. */
	CU_ASSERT_EQUAL(model_fetch(), 0);
	CU_ASSERT_EQUAL(notify[1], 0);

	virtq_kick(&vq);
	CU_ASSERT_EQUAL(vq.kicks, 1);
	CU_ASSERT_EQUAL(notify[NOTIFY_MULT / 2], 1);	/* queue index 1 */
	CU_ASSERT_EQUAL_FATAL(model_fetch(), 2);
	CU_ASSERT_FALSE(m.bad);
	CU_ASSERT_EQUAL(m.got[0].id, id1);
	CU_ASSERT_EQUAL(m.got[0].n, 2);
	CU_ASSERT_EQUAL(m.got[0].addr[0], (uintptr_t)a);
	CU_ASSERT_EQUAL(m.got[0].len[0], sizeof(a));
	CU_ASSERT_EQUAL(m.got[0].flags[0] & (VRING_DESC_F_NEXT |
					     VRING_DESC_F_WRITE),
			VRING_DESC_F_NEXT);
	CU_ASSERT_EQUAL(m.got[0].addr[1], (uintptr_t)b);
	CU_ASSERT_EQUAL(m.got[0].flags[1] & (VRING_DESC_F_NEXT |
					     VRING_DESC_F_WRITE),
			VRING_DESC_F_WRITE);
	CU_ASSERT_EQUAL(m.got[1].id, id2);
	CU_ASSERT_EQUAL(m.got[1].n, 1);
	CU_ASSERT_EQUAL(m.got[1].addr[0], (uintptr_t)c);

	/* The device turns notifications off: the next kick only publishes. */
	notify[NOTIFY_MULT / 2] = 0;
	vq.device_event->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	CU_ASSERT_TRUE(virtq_add(&vq, &one, 1) >= 0);
	virtq_kick(&vq);
	CU_ASSERT_EQUAL(vq.kicks, 1);
	CU_ASSERT_EQUAL(vq.kicks_suppressed, 1);
	CU_ASSERT_EQUAL(notify[NOTIFY_MULT / 2], 0);
	CU_ASSERT_EQUAL(model_fetch(), 1);
	/* And on again. */
	vq.device_event->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	CU_ASSERT_TRUE(virtq_add(&vq, &one, 1) >= 0);
	virtq_kick(&vq);
	CU_ASSERT_EQUAL(vq.kicks, 2);
	CU_ASSERT_EQUAL(notify[NOTIFY_MULT / 2], 1);
	CU_ASSERT_EQUAL(model_fetch(), 1);
	CU_ASSERT_FALSE(m.bad);
}

/*
 * Rounds of 1- to 3-descriptor chains (so chains straddle the end of the
 * ring in both wrap states), completed in a scrambled order: every
 * completion comes back with its id and length, descriptors and ids are
 * all free again at the end, and virtq_used_idx() counts what waits.
 */
static void test_packed_wrap_out_of_order(void)
{
	static uint8_t bufs[QSIZE][4];
	unsigned lens = 0, seed = 12345, rounds = 300, taken = 0;
	uint32_t expect_len[QSIZE];
	bool in_flight[QSIZE] = { false };

	setup_packed();
	for (unsigned r = 0; r < rounds; r++) {
		unsigned added = 0;

		/* Fill the ring as far as chains fit. */
		for (;;) {
			unsigned n = 1 + lens++ % 3;
			struct virtq_buf b[3];
			int id;

			if (n > vq.num_free)
				break;
			for (unsigned k = 0; k < n; k++)
				b[k] = (struct virtq_buf){ bufs[(added + k) %
								QSIZE],
							   4, k == n - 1 };
			id = virtq_add(&vq, b, n);
			CU_ASSERT_FATAL(id >= 0 && id < QSIZE);
			CU_ASSERT_FALSE(in_flight[id]);
			in_flight[id] = true;
			added++;
		}
		virtq_kick(&vq);
		CU_ASSERT_EQUAL_FATAL(model_fetch(), added);
		CU_ASSERT_FATAL(!m.bad);
		/* Use them in a pseudo-random order, a few at a time. */
		while (m.ngot) {
			unsigned batch = 1 + (seed >> 16) % 4, done = 0;

			while (done < batch && m.ngot) {
				unsigned k;

				seed = seed * 1103515245u + 12345u;
				k = (seed >> 16) % m.ngot;
				expect_len[m.got[k].id] = (seed >> 8) & 0xfff;
				model_use(k, expect_len[m.got[k].id]);
				done++;
			}
			CU_ASSERT_EQUAL(virtq_used_idx(&vq),
					(uint16_t)(vq.last_used + done));
			while (done--) {
				uint16_t id;
				uint32_t len;

				CU_ASSERT_PTR_NULL_FATAL(
					virtq_wait(&vq, &id, &len, 1000));
				CU_ASSERT_FATAL(id < QSIZE && in_flight[id]);
				CU_ASSERT_EQUAL(len, expect_len[id]);
				in_flight[id] = false;
				taken++;
			}
			CU_ASSERT_FALSE(virtq_used_ready(&vq));
		}
		CU_ASSERT_EQUAL_FATAL(vq.num_free, QSIZE);
	}
	CU_ASSERT_EQUAL(vq.last_used, (uint16_t)taken);
	/* Both sides went round the ring many times, in step. */
	CU_ASSERT_TRUE(taken > 4 * QSIZE);
	CU_ASSERT_EQUAL(vq.next_avail, m.avail_pos);
	CU_ASSERT_EQUAL(vq.avail_wrap, m.avail_wrap);
	CU_ASSERT_EQUAL(vq.used_pos, m.used_pos);
	CU_ASSERT_EQUAL(vq.used_wrap, m.used_wrap);
}

/* A used descriptor whose id is not in flight is an error, not a take. */
static void test_packed_bad_used_id(void)
{
	static uint8_t a[4];
	struct virtq_buf one = { a, sizeof(a), true };
	uint16_t id;
	uint32_t len;
	int sent;

	setup_packed();
	sent = virtq_add(&vq, &one, 1);
	virtq_kick(&vq);
	CU_ASSERT_EQUAL_FATAL(model_fetch(), 1);
	m.got[0].id = (uint16_t)(sent + 1);	/* never handed out */
	model_use(0, 4);
	CU_ASSERT_PTR_NOT_NULL(virtq_wait(&vq, &id, &len, 1000));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a chain in flight"));
	CU_ASSERT_EQUAL(vq.num_free, QSIZE - 1);
	/* Nothing used: a bounded wait, reported as a time-out. */
	out_len = 0;
	setup_packed();
	CU_ASSERT_STRING_EQUAL(virtq_wait(&vq, &id, &len, 1),
			       "virtio request timed out");
}

/* The split layout behind the same calls (2.7). */
static void test_split_basics(void)
{
	static uint8_t a[16], b[4];
	struct virtq_buf two[2] = { { a, sizeof(a), false },
				    { b, sizeof(b), true } };
	uint16_t id;
	uint32_t len;
	int head;

	dev_init(1ull << VIRTIO_F_VERSION_1);
	CU_ASSERT_PTR_NULL_FATAL(virtq_setup(&vd, &vq, 1));
	CU_ASSERT_FALSE(vq.packed);
	CU_ASSERT_STRING_EQUAL(virtio_ring_name(&vd), "split");
	CU_ASSERT_EQUAL(common_read64(VIRTIO_PCI_COMMON_Q_AVAILLO),
			(uintptr_t)vq.avail);
	virtq_no_interrupts(&vq);
	CU_ASSERT_EQUAL(vq.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	head = virtq_add(&vq, two, 2);
	CU_ASSERT_EQUAL(head, 0);
	CU_ASSERT_EQUAL(vq.avail->idx, 0);	/* published by the kick */
	virtq_kick(&vq);
	CU_ASSERT_EQUAL(vq.avail->idx, 1);
	CU_ASSERT_EQUAL(vq.avail->ring[0], head);
	CU_ASSERT_EQUAL(vq.desc[head].flags, VRING_DESC_F_NEXT);
	CU_ASSERT_EQUAL(vq.desc[vq.desc[head].next].flags, VRING_DESC_F_WRITE);
	CU_ASSERT_EQUAL(notify[NOTIFY_MULT / 2], 1);
	CU_ASSERT_FALSE(virtq_used_ready(&vq));
	vq.used->ring[0].id = (uint32_t)head;
	vq.used->ring[0].len = 3;
	vq.used->idx = 1;
	CU_ASSERT_TRUE(virtq_used_ready(&vq));
	CU_ASSERT_EQUAL(virtq_used_idx(&vq), 1);
	CU_ASSERT_PTR_NULL(virtq_wait(&vq, &id, &len, 1000));
	CU_ASSERT_EQUAL(id, head);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(vq.num_free, QSIZE);
}

static CU_TestInfo tests[] = {
	{ "packed: setup and event suppression areas", test_packed_setup },
	{ "packed: published at the kick, notify suppression",
	  test_packed_publish_and_notify },
	{ "packed: chains across the wrap, out of order",
	  test_packed_wrap_out_of_order },
	{ "packed: bad used id, time-out", test_packed_bad_used_id },
	{ "split: the same calls", test_split_basics },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "guest virtqueues", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL,
};
