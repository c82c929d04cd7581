/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: the io_uring queue loop on its own thread against a real
 * image file, driven through a split ring in memfd "guest RAM": every
 * request type lands in (or reads from) the file, rejected and
 * unanswerable requests leave it alone, completions are batched into
 * the used ring with the inflight hooks in order, the loop sleeps on
 * the kick eventfd when idle, and a corrupt avail index stops the queue
 * without touching anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#include "blk_queue.h"
#include "blk_testmem.h"
#include "unit.h"

#define IMG_SECTORS	256u

static struct testmem tm;
static int img_fd = -1, kick_fd = -1;
static struct blk_queue *q;
static pthread_t thread;
static int run_result;
static struct blk_disk disk = {
	.capacity = IMG_SECTORS,
	.seg_max = 8,
	.max_discard_sectors = 64,
	.max_discard_seg = 4,
	.max_write_zeroes_sectors = 64,
	.max_write_zeroes_seg = 4,
	.serial = "queue-test",
	.writeback = 1,
};

/* Hook log: what the inflight hooks saw, checked for order. */
static int notifies;
static int hook_set, hook_last, hook_clear;
static bool hook_order_ok = true;

static int h_notify(void *o)
{
	__atomic_add_fetch(&notifies, 1, __ATOMIC_RELAXED);
	return 0;
}

static int h_set(void *o, const struct blk_chain *c, uint16_t *entry)
{
	*entry = c->head;
	hook_set++;
	return 0;
}

static void h_last(void *o, uint16_t head)
{
	hook_last++;
	if (hook_last > hook_set)
		hook_order_ok = false;
}

static void h_clear(void *o, uint16_t head, uint16_t used_idx)
{
	hook_clear++;
	/* Cleared only once used->idx covers the element. */
	if (hook_clear > hook_last || tm_used(&tm)->idx != used_idx)
		hook_order_ok = false;
}

static const struct blk_queue_ops ops = {
	.notify = h_notify,
	.inflight_set = h_set,
	.inflight_last = h_last,
	.inflight_clear = h_clear,
};

static void *runner(void *arg)
{
	run_result = blk_queue_run(q);
	return NULL;
}

static int start_queue(void)
{
	struct blk_queue_config cfg = {
		.name = "test.q0",
		.mem = &tm.mem,
		.vring = tm.vr,
		.kick_fd = kick_fd,
		.image_fd = img_fd,
		.disk = &disk,
		.poll_us = 50,
		.ops = &ops,
	};

	if (blk_queue_create(&cfg, &q))
		return -1;
	return pthread_create(&thread, NULL, runner, NULL) ? -1 : 0;
}

static int setup(void)
{
	char path[] = "/tmp/blk-queue-test.XXXXXX";

	if (tm_init(&tm))
		return -1;
	tm.vr.event_idx = false;
	img_fd = mkstemp(path);
	if (img_fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(img_fd, IMG_SECTORS * 512) < 0)
		return -1;
	kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (kick_fd < 0)
		return -1;
	return start_queue();
}

static int teardown(void)
{
	blk_queue_stop(q);
	pthread_join(thread, NULL);
	blk_queue_destroy(q);
	close(kick_fd);
	close(img_fd);
	tm_fini(&tm);
	return 0;
}

static void kick(void)
{
	CU_ASSERT_EQUAL(eventfd_write(kick_fd, 1), 0);
}

/* Wait for used->idx to reach want (10 s at most). */
static bool wait_used(uint16_t want)
{
	for (int i = 0; i < 10000; i++) {
		if (__atomic_load_n(&tm_used(&tm)->idx, __ATOMIC_ACQUIRE) ==
		    want)
			return true;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return false;
}

static uint16_t next_desc;

/* Put a header/data/status request on the ring; returns its head. */
static uint16_t submit(uint32_t type, uint64_t sector, uint64_t data,
		       uint32_t len, bool dev_writes, uint64_t status)
{
	uint64_t h = tm_alloc(&tm, 16);
	struct virtio_blk_outhdr hdr = { .type = type, .sector = sector };
	uint16_t head = next_desc, i = head;

	memcpy(tm_ptr(&tm, h), &hdr, sizeof(hdr));
	*(uint8_t *)tm_ptr(&tm, status) = 0xee;
	tm_desc(&tm, i, h, 16, VRING_DESC_F_NEXT, (i + 1) % TM_QSIZE);
	i = (i + 1) % TM_QSIZE;
	if (len) {
		tm_desc(&tm, i, data, len, VRING_DESC_F_NEXT |
			(dev_writes ? VRING_DESC_F_WRITE : 0),
			(i + 1) % TM_QSIZE);
		i = (i + 1) % TM_QSIZE;
	}
	tm_desc(&tm, i, status, 1, VRING_DESC_F_WRITE, 0);
	next_desc = (i + 1) % TM_QSIZE;
	tm_publish(&tm, head);
	return head;
}

static uint8_t status_of(uint64_t s)
{
	return *(volatile uint8_t *)tm_ptr(&tm, s);
}

static void pread_all(void *buf, size_t len, off_t off)
{
	CU_ASSERT_EQUAL((size_t)pread(img_fd, buf, len, off), len);
}

static void test_write_read_flush(void)
{
	uint64_t w = tm_alloc(&tm, 2048), r = tm_alloc(&tm, 2048);
	uint64_t s1 = tm_alloc(&tm, 1), s2 = tm_alloc(&tm, 1),
		 s3 = tm_alloc(&tm, 1);
	uint8_t *wp = tm_ptr(&tm, w), file[2048];
	uint16_t base = tm_used(&tm)->idx;

	for (int i = 0; i < 2048; i++)
		wp[i] = (uint8_t)(i * 13 + 1);
	submit(VIRTIO_BLK_T_OUT, 4, w, 2048, false, s1);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 1));
	CU_ASSERT_EQUAL(status_of(s1), VIRTIO_BLK_S_OK);
	pread_all(file, sizeof(file), 4 * 512);
	CU_ASSERT_EQUAL(memcmp(file, wp, 2048), 0);

	/* Two requests in one kick: both complete. */
	submit(VIRTIO_BLK_T_IN, 4, r, 2048, true, s2);
	submit(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, s3);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 3));
	CU_ASSERT_EQUAL(status_of(s2), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s3), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(memcmp(tm_ptr(&tm, r), wp, 2048), 0);
	/* The read's used length covers its data and the status byte. */
	struct vring_used *u = tm_used(&tm);
	bool found = false;

	for (uint16_t k = base; k != (uint16_t)(base + 3); k++)
		if (u->ring[k % TM_QSIZE].len == 2049)
			found = true;
	CU_ASSERT_TRUE(found);
	CU_ASSERT(__atomic_load_n(&notifies, __ATOMIC_RELAXED) > 0);
}

static void test_zeroes_discard_getid(void)
{
	uint64_t seg = tm_alloc(&tm, 32), id = tm_alloc(&tm, 20);
	uint64_t s1 = tm_alloc(&tm, 1), s2 = tm_alloc(&tm, 1),
		 s3 = tm_alloc(&tm, 1), s4 = tm_alloc(&tm, 1);
	struct virtio_blk_discard_write_zeroes *z = tm_ptr(&tm, seg);
	uint8_t ones[1024], file[1024], zero[512] = { 0 };
	uint16_t base = tm_used(&tm)->idx;

	memset(ones, 0x11, sizeof(ones));
	CU_ASSERT_EQUAL(pwrite(img_fd, ones, sizeof(ones), 40 * 512), 1024);

	z[0] = (struct virtio_blk_discard_write_zeroes){ 40, 1, 0 };
	submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, s1);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 1));
	CU_ASSERT_EQUAL(status_of(s1), VIRTIO_BLK_S_OK);
	pread_all(file, sizeof(file), 40 * 512);
	CU_ASSERT_EQUAL(memcmp(file, zero, 512), 0);
	CU_ASSERT_EQUAL(memcmp(file + 512, ones, 512), 0);

	z[0] = (struct virtio_blk_discard_write_zeroes){
		41, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, s2);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 2));
	CU_ASSERT_EQUAL(status_of(s2), VIRTIO_BLK_S_OK);
	pread_all(file, 512, 41 * 512);
	CU_ASSERT_EQUAL(memcmp(file, zero, 512), 0);

	z[0] = (struct virtio_blk_discard_write_zeroes){ 100, 8, 0 };
	z[1] = (struct virtio_blk_discard_write_zeroes){ 120, 8, 0 };
	submit(VIRTIO_BLK_T_DISCARD, 0, seg, 32, false, s3);
	submit(VIRTIO_BLK_T_GET_ID, 0, id, 20, true, s4);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 4));
	CU_ASSERT_EQUAL(status_of(s3), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s4), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(memcmp(tm_ptr(&tm, id), "queue-test", 11), 0);
}

static void test_rejected_leave_image_alone(void)
{
	uint64_t w = tm_alloc(&tm, 1024), s1 = tm_alloc(&tm, 1),
		 s2 = tm_alloc(&tm, 1);
	uint8_t before[1024], after[1024];
	uint16_t base = tm_used(&tm)->idx, head;

	memset(tm_ptr(&tm, w), 0x77, 1024);
	pread_all(before, sizeof(before), (IMG_SECTORS - 1) * 512 - 512);
	/* Crosses the end: rejected, the in-range sector not written. */
	submit(VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, w, 1024, false, s1);
	/* A chain whose status is device-readable: returned unanswered. */
	head = next_desc;
	tm_desc(&tm, head, w, 16, VRING_DESC_F_NEXT, (head + 1) % TM_QSIZE);
	tm_desc(&tm, (head + 1) % TM_QSIZE, s2, 1, 0, 0);
	next_desc = (head + 2) % TM_QSIZE;
	*(uint8_t *)tm_ptr(&tm, s2) = 0xee;
	tm_publish(&tm, head);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 2));
	CU_ASSERT_EQUAL(status_of(s1), VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(status_of(s2), 0xee);
	CU_ASSERT_EQUAL(tm_used(&tm)->ring[(base + 1) % TM_QSIZE].id, head);
	CU_ASSERT_EQUAL(tm_used(&tm)->ring[(base + 1) % TM_QSIZE].len, 0);
	pread_all(after, sizeof(after), (IMG_SECTORS - 1) * 512 - 512);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(after)), 0);

	struct blk_queue_stats st;

	blk_queue_get_stats(q, &st);
	CU_ASSERT(st.errors >= 2);
	CU_ASSERT_EQUAL(st.bad_chains, 1);
	CU_ASSERT_TRUE(hook_order_ok);
	CU_ASSERT_EQUAL(hook_set, hook_last);
	CU_ASSERT_EQUAL(hook_last, hook_clear);
}

static void test_idle_sleeps(void)
{
	struct blk_queue_stats a, b;
	struct timespec ts = { 0, 200 * 1000000 };
	uint64_t s = tm_alloc(&tm, 1);
	uint16_t base = tm_used(&tm)->idx;

	nanosleep(&ts, NULL);
	blk_queue_get_stats(q, &a);
	/* Asleep on the kick: kicks enabled in the used flags. */
	CU_ASSERT_FALSE(tm_used(&tm)->flags & VRING_USED_F_NO_NOTIFY);
	CU_ASSERT(a.sleeps > 0);
	nanosleep(&ts, NULL);
	blk_queue_get_stats(q, &b);
	/* Nothing woke it: no more rounds of sleeping meanwhile. */
	CU_ASSERT_EQUAL(a.sleeps, b.sleeps);
	/* A kick wakes it. */
	submit(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, s);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 1));
	CU_ASSERT_EQUAL(status_of(s), VIRTIO_BLK_S_OK);
	blk_queue_get_stats(q, &b);
	CU_ASSERT(b.kicks > a.kicks);

	/* Every completed request is in the latency histogram once. */
	uint64_t reqs = 0, hist = 0;

	for (unsigned i = 0; i < 8; i++)
		reqs += b.reqs[i];
	for (unsigned i = 0; i < BLK_LAT_BUCKETS; i++)
		hist += b.latency[i];
	CU_ASSERT(reqs > 0);
	CU_ASSERT_EQUAL(hist, reqs);
}

static void test_writethrough(void)
{
	uint64_t w = tm_alloc(&tm, 512), seg = tm_alloc(&tm, 16);
	uint64_t s1 = tm_alloc(&tm, 1), s2 = tm_alloc(&tm, 1),
		 s3 = tm_alloc(&tm, 1), s4 = tm_alloc(&tm, 1);
	struct virtio_blk_discard_write_zeroes *z = tm_ptr(&tm, seg);
	uint16_t base = tm_used(&tm)->idx;
	struct blk_queue_stats a, b;
	uint8_t file[512];

	memset(tm_ptr(&tm, w), 0x5a, 512);
	blk_queue_get_stats(q, &a);
	__atomic_store_n(&disk.writeback, 0, __ATOMIC_RELAXED);
	submit(VIRTIO_BLK_T_OUT, 60, w, 512, false, s1);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 1));
	*z = (struct virtio_blk_discard_write_zeroes){ 61, 1, 0 };
	submit(VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false, s2);
	submit(VIRTIO_BLK_T_IN, 60, w, 512, true, s3);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 3));
	blk_queue_get_stats(q, &b);
	CU_ASSERT_EQUAL(status_of(s1), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s2), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s3), VIRTIO_BLK_S_OK);
	/* One fdatasync each for the write and the write-zeroes, none for the read. */
	CU_ASSERT_EQUAL(b.syncs - a.syncs, 2);
	pread_all(file, 512, 60 * 512);
	CU_ASSERT_EQUAL(file[0], 0x5a);
	CU_ASSERT_EQUAL(file[511], 0x5a);

	__atomic_store_n(&disk.writeback, 1, __ATOMIC_RELAXED);
	submit(VIRTIO_BLK_T_OUT, 62, w, 512, false, s4);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 4));
	blk_queue_get_stats(q, &a);
	CU_ASSERT_EQUAL(status_of(s4), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(a.syncs, b.syncs);
}

static void test_direct_bounce(void)
{
	uint64_t wa = (tm_alloc(&tm, 8192) + 4095) & ~4095ull;	/* aligned */
	uint64_t wu = tm_alloc(&tm, 1024 + 64) + 8;		/* not */
	uint64_t r = tm_alloc(&tm, 1024 + 64) + 24;
	uint64_t s1 = tm_alloc(&tm, 1), s2 = tm_alloc(&tm, 1),
		 s3 = tm_alloc(&tm, 1);
	uint16_t base = tm_used(&tm)->idx;
	struct blk_queue_stats a, b;
	uint8_t file[1024];
	int fl = fcntl(img_fd, F_GETFL);

	if (fcntl(img_fd, F_SETFL, fl | O_DIRECT) < 0) {
		fprintf(stderr, "O_DIRECT unsupported here: test not run\n");
		return;
	}
	memset(tm_ptr(&tm, wa), 0x31, 1024);
	memset(tm_ptr(&tm, wu), 0x42, 1024);
	blk_queue_get_stats(q, &a);
	__atomic_store_n(&disk.direct, true, __ATOMIC_RELAXED);
	disk.dio_align = 512;
	submit(VIRTIO_BLK_T_OUT, 80, wa, 1024, false, s1);
	submit(VIRTIO_BLK_T_OUT, 82, wu, 1024, false, s2);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 2));
	submit(VIRTIO_BLK_T_IN, 82, r, 1024, true, s3);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 3));
	blk_queue_get_stats(q, &b);
	__atomic_store_n(&disk.direct, false, __ATOMIC_RELAXED);
	fcntl(img_fd, F_SETFL, fl);
	CU_ASSERT_EQUAL(status_of(s1), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s2), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(status_of(s3), VIRTIO_BLK_S_OK);
	/* The unaligned write and read were bounced, the aligned write not. */
	CU_ASSERT_EQUAL(b.bounced - a.bounced, 2);
	pread_all(file, 1024, 80 * 512);
	CU_ASSERT_EQUAL(file[0], 0x31);
	CU_ASSERT_EQUAL(file[1023], 0x31);
	pread_all(file, 1024, 82 * 512);
	CU_ASSERT_EQUAL(file[0], 0x42);
	CU_ASSERT_EQUAL(file[1023], 0x42);
	CU_ASSERT_EQUAL(memcmp(tm_ptr(&tm, r), tm_ptr(&tm, wu), 1024), 0);
}

static void test_lat_bucket(void)
{
	CU_ASSERT_EQUAL(blk_lat_bucket(0), 0);
	CU_ASSERT_EQUAL(blk_lat_bucket(999), 0);
	CU_ASSERT_EQUAL(blk_lat_bucket(1000), 1);
	CU_ASSERT_EQUAL(blk_lat_bucket(1999), 1);
	CU_ASSERT_EQUAL(blk_lat_bucket(2000), 2);
	CU_ASSERT_EQUAL(blk_lat_bucket(1000000), 10);	/* 1 ms: [512, 1024) */
	CU_ASSERT_EQUAL(blk_lat_bucket(UINT64_MAX), BLK_LAT_BUCKETS - 1);
}

static void test_corrupt_avail_stops_queue(void)
{
	uint16_t base = tm_used(&tm)->idx;
	struct vring_avail *a = tm_ptr(&tm, TM_AVAIL);

	__atomic_store_n(&a->idx, (uint16_t)(tm.avail_idx + TM_QSIZE + 3),
			 __ATOMIC_RELEASE);
	kick();
	struct timespec ts = { 0, 100 * 1000000 };

	nanosleep(&ts, NULL);
	CU_ASSERT_EQUAL(tm_used(&tm)->idx, base);
	blk_queue_stop(q);
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(run_result, -EPROTO);
	blk_queue_destroy(q);
	/* A fresh queue for teardown. */
	__atomic_store_n(&a->idx, tm.avail_idx, __ATOMIC_RELEASE);
	tm.vr.last_avail = tm.avail_idx;
	tm.vr.used_idx = base;
	CU_ASSERT_EQUAL_FATAL(start_queue(), 0);
}

/*
 * A queue stopped while busy leaves kicks suppressed in the ring; the
 * next one on the same ring must turn them on before it sleeps, or the
 * driver, seeing NO_NOTIFY, never wakes it.
 */
static void test_restart_enables_kicks(void)
{
	struct timespec ts = { 0, 200 * 1000000 };
	struct vring_used *u = tm_used(&tm);
	uint16_t base = u->idx;
	uint64_t s = tm_alloc(&tm, 1);

	blk_queue_stop(q);
	pthread_join(thread, NULL);
	CU_ASSERT_EQUAL(run_result, 0);
	blk_queue_indexes(q, &tm.vr.last_avail, &tm.vr.used_idx);
	blk_queue_destroy(q);
	__atomic_store_n(&u->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
	CU_ASSERT_EQUAL_FATAL(start_queue(), 0);
	nanosleep(&ts, NULL);
	CU_ASSERT_FALSE(__atomic_load_n(&u->flags, __ATOMIC_RELAXED) &
			VRING_USED_F_NO_NOTIFY);
	submit(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, s);
	kick();
	CU_ASSERT_FATAL(wait_used(base + 1));
	CU_ASSERT_EQUAL(status_of(s), VIRTIO_BLK_S_OK);
}

static CU_TestInfo queue_tests[] = {
	{ "write, read, flush through io_uring", test_write_read_flush },
	{ "write zeroes, discard, GET_ID", test_zeroes_discard_getid },
	{ "rejected and unanswerable requests", test_rejected_leave_image_alone },
	{ "idle: sleeps on the kick", test_idle_sleeps },
	{ "latency buckets", test_lat_bucket },
	{ "writethrough: fdatasync before completion", test_writethrough },
	{ "O_DIRECT: unaligned buffers bounced", test_direct_bounce },
	{ "a restarted queue turns kicks on", test_restart_enables_kicks },
	{ "corrupt avail index stops the queue", test_corrupt_avail_stops_queue },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_queue", setup, teardown, NULL, NULL, queue_tests },
	CU_SUITE_INFO_NULL,
};
