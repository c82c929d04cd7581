/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/virtio_net_ctrl: the control virtqueue parser against a memfd
 * "guest RAM" (guest_mem), written as a driver would, well-formed and
 * hostile: loops, indexes and buffers out of range, short or missing
 * headers and acks, wrong directions, bad indirect tables.
 */
#include <errno.h>
#include <string.h>

#include "guest_mem.h"
#include "unit.h"
#include "virtio.h"
#include "virtio_net_ctrl.h"

#define RAM		(16ull << 20)
#define QSIZE		8
#define DESC		0x10000ull
#define AVAIL		0x11000ull
#define USED		0x12000ull
#define BUF		0x20000ull	/* buffers, 0x100 apart */
#define ITABLE		0x30000ull	/* an indirect table */
#define MAXP		4

static struct guest_mem *mem;
static struct vring_desc *desc, *itable;
static struct vring_avail *avail;
static struct vring_used *used;
static unsigned calls, last_pairs;
static int set_ret;
static bool refill;		/* each command makes head 0 available again */

static void make_avail(uint16_t head);

static int fake_set_pairs(void *opaque, unsigned pairs)
{
	(void)opaque;
	calls++;
	last_pairs = pairs;
	if (refill)
		make_avail(0);	/* a driver adding as fast as we answer */
	return set_ret;
}

static const struct virtio_net_ctrl_ops ops = {
	.set_queue_pairs = fake_set_pairs,
};

static void *gp(uint64_t gpa)
{
	return guest_mem_ptr(mem, gpa, 1);
}

static int setup(void)
{
	if (guest_mem_create(RAM, 0, &mem))
		return -1;
	desc = gp(DESC);
	itable = gp(ITABLE);
	avail = gp(AVAIL);
	used = gp(USED);
	return 0;
}

static int teardown(void)
{
	guest_mem_destroy(mem);
	return 0;
}

static struct virtio_net_ctrl *start_opts(bool event_idx, bool indirect,
					  uint16_t max_pairs)
{
	struct virtio_net_ctrl_config cfg = {
		.name = "test", .mem = mem, .size = QSIZE,
		.desc = DESC, .driver = AVAIL, .device = USED,
		.event_idx = event_idx, .indirect = indirect,
		.max_pairs = max_pairs,
	};
	struct virtio_net_ctrl *c = NULL;

	/* A fresh ring: the driver zeroes it before enabling the queue. */
	memset(gp(DESC), 0, 0x3000);
	memset(gp(BUF), 0xee, 0x1000);
	calls = 0;
	last_pairs = 0;
	set_ret = 0;
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), 0);
	return c;
}

static struct virtio_net_ctrl *start(void)
{
	return start_opts(false, true, MAXP);
}

static void set_desc(struct vring_desc *t, unsigned i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

/* Buffer i of the data area: at BUF + 0x100 * i. */
static uint64_t buf(unsigned i)
{
	return BUF + 0x100ull * i;
}

static uint8_t *bufp(unsigned i)
{
	return gp(buf(i));
}

static void put_cmd(unsigned i, uint8_t class, uint8_t cmd)
{
	bufp(i)[0] = class;
	bufp(i)[1] = cmd;
}

static void put_pairs(unsigned i, uint16_t pairs)
{
	memcpy(bufp(i), &pairs, 2);
}

static void make_avail(uint16_t head)
{
	avail->ring[avail->idx % QSIZE] = head;
	avail->idx++;
}

/* The usual three-descriptor command at `head`: header, data, ack. */
static void mq_chain(uint16_t head, uint16_t pairs)
{
	unsigned a = head, b = (head + 1) % QSIZE, k = (head + 2) % QSIZE;

	put_cmd(a, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	put_pairs(b, pairs);
	set_desc(desc, a, buf(a), 2, VRING_DESC_F_NEXT, (uint16_t)b);
	set_desc(desc, b, buf(b), 2, VRING_DESC_F_NEXT, (uint16_t)k);
	set_desc(desc, k, buf(k), 1, VRING_DESC_F_WRITE, 0);
	make_avail(head);
}

static int run(struct virtio_net_ctrl *c, bool *notify)
{
	return virtio_net_ctrl_process(c, notify);
}

/* ---- well-formed commands ---- */

static void test_pairs_set_ok(void)
{
	struct virtio_net_ctrl *c = start();
	bool notify = false;

	mq_chain(0, 3);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(calls, 1);
	CU_ASSERT_EQUAL(last_pairs, 3);
	CU_ASSERT_EQUAL(used->idx, 1);
	CU_ASSERT_EQUAL(used->ring[0].id, 0);
	CU_ASSERT_EQUAL(used->ring[0].len, 1);
	CU_ASSERT_TRUE(notify);
	/* Nothing new: nothing done, no notification. */
	CU_ASSERT_EQUAL(run(c, &notify), 0);
	CU_ASSERT_FALSE(notify);
	virtio_net_ctrl_stop(c);
}

static void test_header_and_data_in_one_buffer(void)
{
	struct virtio_net_ctrl *c = start();
	uint16_t pairs = MAXP;
	bool notify;

	put_cmd(5, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	memcpy(bufp(5) + 2, &pairs, 2);
	set_desc(desc, 5, buf(5), 4, VRING_DESC_F_NEXT, 1);
	set_desc(desc, 1, buf(1), 16, VRING_DESC_F_WRITE, 0);
	make_avail(5);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(1)[0], VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(bufp(1)[1], 0xee);	/* only the ack byte */
	CU_ASSERT_EQUAL(last_pairs, MAXP);
	CU_ASSERT_EQUAL(used->ring[0].id, 5);
	virtio_net_ctrl_stop(c);
}

static void test_several_commands(void)
{
	struct virtio_net_ctrl *c = start();
	bool notify;

	mq_chain(0, 2);
	mq_chain(3, 1);
	CU_ASSERT_EQUAL(run(c, &notify), 2);
	CU_ASSERT_EQUAL(calls, 2);
	CU_ASSERT_EQUAL(last_pairs, 1);
	CU_ASSERT_EQUAL(used->idx, 2);
	CU_ASSERT_EQUAL(used->ring[1].id, 3);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(bufp(5)[0], VIRTIO_NET_OK);
	/* The ring wraps: 40 more commands through 8 entries. */
	for (unsigned i = 0; i < 40; i++) {
		mq_chain(0, (uint16_t)(1 + i % MAXP));
		CU_ASSERT_EQUAL(run(c, &notify), 1);
		CU_ASSERT_EQUAL(last_pairs, 1 + i % MAXP);
	}
	CU_ASSERT_EQUAL(used->idx, 42);
	virtio_net_ctrl_stop(c);
}

static void test_budget(void)
{
	struct virtio_net_ctrl *c = start_opts(true, true, MAXP);
	bool notify;

	/* With EVENT_IDX the queue is looked at again after each batch. */
	refill = true;
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), QSIZE);
	CU_ASSERT_EQUAL(calls, QSIZE);
	CU_ASSERT_EQUAL(used->idx, QSIZE);
	CU_ASSERT_EQUAL(run(c, &notify), QSIZE);
	refill = false;
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(run(c, &notify), 0);
	CU_ASSERT_EQUAL(used->idx, 2 * QSIZE + 1);
	virtio_net_ctrl_stop(c);
}

static void test_refused_commands(void)
{
	struct virtio_net_ctrl *c = start();
	bool notify;

	/* 0 pairs, more than max: ERR, and nobody is asked. */
	mq_chain(0, 0);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	mq_chain(0, MAXP + 1);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(calls, 0);
	/* Unsupported classes and MQ commands other than VQ_PAIRS_SET. */
	mq_chain(0, 2);
	put_cmd(0, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	mq_chain(0, 2);
	put_cmd(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	/* VQ_PAIRS_SET with 3 data bytes instead of 2. */
	mq_chain(0, 2);
	desc[1].len = 3;
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(calls, 0);
	/* The device refuses: ERR. */
	set_ret = -EIO;
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(calls, 1);
	virtio_net_ctrl_stop(c);

	/* MQ not negotiated: the class is unsupported. */
	c = start_opts(false, true, 0);
	mq_chain(0, 1);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_ERR);
	CU_ASSERT_EQUAL(calls, 0);
	virtio_net_ctrl_stop(c);
}

static void test_notification_suppression(void)
{
	struct virtio_net_ctrl *c = start();
	uint16_t *used_event = &avail->ring[QSIZE];
	uint16_t *avail_event = (uint16_t *)&used->ring[QSIZE];
	bool notify;

	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_FALSE(notify);
	virtio_net_ctrl_stop(c);

	/* EVENT_IDX: flags ignored, used_event decides; avail_event set. */
	c = start_opts(true, true, MAXP);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	*used_event = 0;
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_TRUE(notify);		/* used idx 0 -> 1 crosses 0 */
	CU_ASSERT_EQUAL(*avail_event, 1);
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_FALSE(notify);	/* 1 -> 2 does not cross 0 */
	*used_event = 2;
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_TRUE(notify);		/* 2 -> 3 crosses 2 */
	CU_ASSERT_EQUAL(*avail_event, 3);
	virtio_net_ctrl_stop(c);
}

static void test_indirect_ok(void)
{
	struct virtio_net_ctrl *c = start();
	bool notify;

	memset(itable, 0, 0x100);
	put_cmd(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	put_pairs(1, 2);
	set_desc(itable, 0, buf(0), 2, VRING_DESC_F_NEXT, 2);
	set_desc(itable, 2, buf(1), 2, VRING_DESC_F_NEXT, 1);
	set_desc(itable, 1, buf(2), 1, VRING_DESC_F_WRITE, 0);
	set_desc(desc, 4, ITABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(4);
	CU_ASSERT_EQUAL(run(c, &notify), 1);
	CU_ASSERT_EQUAL(bufp(2)[0], VIRTIO_NET_OK);
	CU_ASSERT_EQUAL(last_pairs, 2);
	CU_ASSERT_EQUAL(used->ring[0].id, 4);
	virtio_net_ctrl_stop(c);
}

/* ---- hostile chains: the queue dies, nothing is answered ---- */

/* Run a broken ring: err, no ack, no used entry, and it stays dead. */
static void expect_dead(struct virtio_net_ctrl *c, int err)
{
	bool notify = true;

	CU_ASSERT_EQUAL(run(c, &notify), err);
	CU_ASSERT_FALSE(notify);
	CU_ASSERT_EQUAL(used->idx, 0);
	CU_ASSERT_EQUAL(calls, 0);
	/* A good command after it is not looked at. */
	mq_chain(0, 2);
	CU_ASSERT_EQUAL(run(c, &notify), err);
	CU_ASSERT_EQUAL(used->idx, 0);
	CU_ASSERT_EQUAL(calls, 0);
	virtio_net_ctrl_stop(c);
}

static void test_head_out_of_range(void)
{
	struct virtio_net_ctrl *c = start();

	mq_chain(0, 2);
	avail->ring[0] = QSIZE;
	expect_dead(c, -EINVAL);
}

static void test_avail_index_jump(void)
{
	struct virtio_net_ctrl *c = start();

	mq_chain(0, 2);
	avail->idx = QSIZE + 1;
	expect_dead(c, -EINVAL);
}

static void test_loop(void)
{
	struct virtio_net_ctrl *c = start();

	put_cmd(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	for (unsigned i = 0; i < 3; i++)
		set_desc(desc, i, buf(i), 2, VRING_DESC_F_NEXT,
			 (uint16_t)((i + 1) % 3));
	make_avail(0);
	expect_dead(c, -ELOOP);

	/* A descriptor that names itself. */
	c = start();
	set_desc(desc, 6, buf(6), 2, VRING_DESC_F_NEXT, 6);
	make_avail(6);
	expect_dead(c, -ELOOP);
}

static void test_next_out_of_range(void)
{
	struct virtio_net_ctrl *c = start();

	mq_chain(0, 2);
	desc[1].next = 0x8000;
	expect_dead(c, -EINVAL);
}

static void test_buffer_outside_ram(void)
{
	struct virtio_net_ctrl *c = start();

	mq_chain(0, 2);
	desc[1].addr = RAM + 0x1000;
	expect_dead(c, -EFAULT);

	/* Straddles the end of RAM. */
	c = start();
	mq_chain(0, 2);
	desc[1].addr = RAM - 1;
	expect_dead(c, -EFAULT);

	/* The ack outside RAM: never written. */
	c = start();
	mq_chain(0, 2);
	desc[2].addr = ~0ull;
	expect_dead(c, -EFAULT);

	/* A huge length that would wrap. */
	c = start();
	mq_chain(0, 2);
	desc[0].len = 0xffffffff;
	expect_dead(c, -EFAULT);
}

static void test_short_header(void)
{
	struct virtio_net_ctrl *c = start();

	mq_chain(0, 2);
	desc[0].len = 1;
	desc[0].next = 2;	/* 1 readable byte, then the ack */
	expect_dead(c, -EINVAL);
	CU_ASSERT_EQUAL(bufp(2)[0], 0xee);
}

static void test_no_ack(void)
{
	struct virtio_net_ctrl *c = start();

	/* Every buffer readable. */
	mq_chain(0, 2);
	desc[2].flags = 0;
	expect_dead(c, -EINVAL);

	/* The ack has no room. */
	c = start();
	mq_chain(0, 2);
	desc[2].len = 0;
	expect_dead(c, -EINVAL);
}

static void test_wrong_directions(void)
{
	struct virtio_net_ctrl *c = start();

	/* The header writable: readable data after a writable buffer. */
	mq_chain(0, 2);
	desc[0].flags |= VRING_DESC_F_WRITE;
	expect_dead(c, -EINVAL);
	CU_ASSERT_EQUAL(bufp(2)[0], 0xee);

	/* Two writable buffers: the ack is not alone and last. */
	c = start();
	mq_chain(0, 2);
	desc[1].flags |= VRING_DESC_F_WRITE;
	expect_dead(c, -EINVAL);

	/* Writable ack not last. */
	c = start();
	mq_chain(0, 2);
	desc[2].flags |= VRING_DESC_F_NEXT;
	desc[2].next = 3;
	set_desc(desc, 3, buf(3), 2, 0, 0);
	expect_dead(c, -EINVAL);
}

static void test_bad_indirect(void)
{
	struct virtio_net_ctrl *c;

	/* Not negotiated. */
	c = start_opts(false, false, MAXP);
	set_desc(desc, 0, ITABLE, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);

	/* Length not a multiple of a descriptor, or 0. */
	c = start();
	set_desc(desc, 0, ITABLE, 3 * 16 + 1, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);
	c = start();
	set_desc(desc, 0, ITABLE, 0, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);

	/* Table outside RAM. */
	c = start();
	set_desc(desc, 0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EFAULT);

	/* INDIRECT with NEXT, and an indirect table after a buffer. */
	c = start();
	set_desc(desc, 0, ITABLE, 32, VRING_DESC_F_INDIRECT |
		 VRING_DESC_F_NEXT, 1);
	make_avail(0);
	expect_dead(c, -EINVAL);
	c = start();
	set_desc(desc, 0, buf(0), 2, VRING_DESC_F_NEXT, 1);
	set_desc(desc, 1, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);

	/* Nested: an indirect descriptor inside the table. */
	c = start();
	memset(itable, 0, 0x100);
	set_desc(itable, 0, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(desc, 0, ITABLE, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);

	/* A loop inside the table, and next beyond its end. */
	c = start();
	memset(itable, 0, 0x100);
	put_cmd(0, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	set_desc(itable, 0, buf(0), 2, VRING_DESC_F_NEXT, 1);
	set_desc(itable, 1, buf(1), 2, VRING_DESC_F_NEXT, 0);
	set_desc(desc, 0, ITABLE, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -ELOOP);
	c = start();
	set_desc(itable, 1, buf(1), 2, VRING_DESC_F_NEXT, 2);
	set_desc(desc, 0, ITABLE, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(0);
	expect_dead(c, -EINVAL);
}

static void test_start_checks(void)
{
	struct virtio_net_ctrl_config cfg = {
		.name = "test", .mem = mem, .size = QSIZE,
		.desc = DESC, .driver = AVAIL, .device = USED,
	};
	struct virtio_net_ctrl *c = (void *)1;

	cfg.size = 6;
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), -EINVAL);
	CU_ASSERT_PTR_NULL(c);
	cfg.size = 0;
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), -EINVAL);
	cfg.size = QSIZE;
	cfg.desc = DESC + 8;
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), -EINVAL);
	cfg.desc = DESC;
	cfg.device = RAM - 8;	/* used ring runs off the end of RAM */
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), -EFAULT);
	cfg.device = USED;
	cfg.driver = 0xc0000000ull;	/* the PCI hole */
	CU_ASSERT_EQUAL(virtio_net_ctrl_start(&cfg, &ops, NULL, &c), -EFAULT);
	CU_ASSERT_PTR_NULL(c);
}

static CU_TestInfo ctrl_tests[] = {
	{ "VQ_PAIRS_SET answered OK", test_pairs_set_ok },
	{ "header and data in one buffer", test_header_and_data_in_one_buffer },
	{ "several commands, ring wraps", test_several_commands },
	{ "refused commands answered ERR", test_refused_commands },
	{ "a ring's worth per call", test_budget },
	{ "notification suppression", test_notification_suppression },
	{ "indirect table", test_indirect_ok },
	{ "head out of range", test_head_out_of_range },
	{ "available index jumps", test_avail_index_jump },
	{ "descriptor loops", test_loop },
	{ "next out of range", test_next_out_of_range },
	{ "buffer outside guest RAM", test_buffer_outside_ram },
	{ "short header", test_short_header },
	{ "no ack", test_no_ack },
	{ "wrong directions", test_wrong_directions },
	{ "bad indirect tables", test_bad_indirect },
	{ "ring checks at start", test_start_checks },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "virtio_net_ctrl", setup, teardown, NULL, NULL, ctrl_tests },
	CU_SUITE_INFO_NULL,
};
