/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: no lost wake-up between the queue loop and a driver that
 * honours every suppression the device asks for.  The driver here kicks
 * only when VRING_USED_F_NO_NOTIFY / avail_event say so, and waits for
 * completions asleep on the call eventfd with interrupts enabled only
 * around its sleeps (NO_INTERRUPT / used_event), as a guest driver does.
 * Thousands of small requests in random batches, with random pauses on
 * both sides of the sleep/wake transitions: a kick or an interrupt that
 * the queue suppresses wrongly leaves both sides asleep, and the driver
 * reports the stall.  (The integration tests' front-end kicks after
 * every request and polls the used ring: it cannot see either race.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>

#include "blk_queue.h"
#include "blk_testmem.h"
#include "unit.h"

#define IMG_SECTORS	64u
#define NREQ		10000u	/* per variant */
#define NSLOT		(TM_QSIZE / 3)	/* three descriptors a request */
/* Not a timing check: a wait this long means both sides are asleep. */
#define STALL_MS	5000

static struct blk_disk disk = {
	.capacity = IMG_SECTORS,
	.seg_max = 8,
	.max_discard_sectors = 64,
	.max_discard_seg = 4,
	.max_write_zeroes_sectors = 64,
	.max_write_zeroes_seg = 4,
	.serial = "notify-test",
	.writeback = 1,
};

struct drv {
	struct testmem tm;
	struct blk_queue *q;
	pthread_t thread;
	int run_result;
	int img_fd, kick_fd, call_fd;
	bool event_idx;
	uint16_t used_seen;
	unsigned nfree;
	uint16_t free[NSLOT];		/* request slots (head = 3 * slot) */
	uint64_t hdr[NSLOT], data[NSLOT], status[NSLOT];
	uint32_t type[NSLOT];
	unsigned submitted, completed, kicks, sleeps, stall_at;
	unsigned bad_status, bad_id;
	unsigned seed;
};

static int d_notify(void *o)
{
	struct drv *d = o;

	return eventfd_write(d->call_fd, 1) ? -errno : 0;
}

/* With and without inflight hooks: split publishes differ (one by one). */
static void d_last(void *o, uint16_t head) { (void)o; (void)head; }
static void d_clear(void *o, uint16_t head, uint16_t used_idx)
{
	(void)o; (void)head; (void)used_idx;
}

static const struct blk_queue_ops ops_plain = { .notify = d_notify };
static const struct blk_queue_ops ops_tracked = {
	.notify = d_notify,
	.inflight_last = d_last,
	.inflight_clear = d_clear,
};

static void *d_runner(void *arg)
{
	struct drv *d = arg;

	d->run_result = blk_queue_run(d->q);
	return NULL;
}

static volatile uint16_t *d_used_event(struct drv *d)
{
	return &((struct vring_avail *)tm_ptr(&d->tm, TM_AVAIL))->ring[TM_QSIZE];
}

static volatile uint16_t *d_avail_event(struct drv *d)
{
	return (volatile uint16_t *)&tm_used(&d->tm)->ring[TM_QSIZE];
}

static uint16_t d_used_idx(struct drv *d)
{
	return __atomic_load_n(&tm_used(&d->tm)->idx, __ATOMIC_ACQUIRE);
}

/* Up to max_us of busy waiting: moves the driver around the loop's states. */
static void d_pause(struct drv *d, unsigned max_us)
{
	struct timespec a, b;
	unsigned us = (unsigned)rand_r(&d->seed) % (max_us + 1);

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		__builtin_ia32_pause();
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000 +
		 (b.tv_nsec - a.tv_nsec) / 1000 < (long)us);
}

/* Interrupts wanted (before a sleep) or not (while the driver looks). */
static void d_interrupts(struct drv *d, bool on)
{
	struct vring_avail *a = tm_ptr(&d->tm, TM_AVAIL);

	if (d->event_idx)
		*d_used_event(d) = on ? d->used_seen :
				   (uint16_t)(d->used_seen - 1);
	else
		__atomic_store_n(&a->flags, on ? 0 : VRING_AVAIL_F_NO_INTERRUPT,
				 __ATOMIC_RELAXED);
	/* The store before the re-check of used->idx that follows. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int d_start(struct drv *d, bool event_idx, bool tracked,
		   unsigned poll_us)
{
	char path[] = "/tmp/blk-notify-test.XXXXXX";
	struct blk_queue_config cfg = {
		.name = "notify.q0",
		.poll_us = poll_us,
		.disk = &disk,
		.ops = tracked ? &ops_tracked : &ops_plain,
		.opaque = d,
	};

	memset(d, 0, sizeof(*d));
	d->img_fd = d->kick_fd = d->call_fd = -1;
	d->seed = 12345u + poll_us + (event_idx ? 7 : 0) + (tracked ? 3 : 0);
	if (tm_init(&d->tm))
		return -1;
	d->event_idx = event_idx;
	d->tm.vr.event_idx = event_idx;
	d->img_fd = mkstemp(path);
	if (d->img_fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(d->img_fd, IMG_SECTORS * 512) < 0)
		return -1;
	d->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick_fd < 0 || d->call_fd < 0)
		return -1;
	for (unsigned i = 0; i < NSLOT; i++) {
		d->free[i] = (uint16_t)i;
		d->hdr[i] = tm_alloc(&d->tm, 16);
		d->data[i] = tm_alloc(&d->tm, 512);
		d->status[i] = tm_alloc(&d->tm, 1);
	}
	d->nfree = NSLOT;
	/* The driver starts with interrupts off; it turns them on to sleep. */
	d_interrupts(d, false);
	cfg.mem = &d->tm.mem;
	cfg.vring = d->tm.vr;
	cfg.kick_fd = d->kick_fd;
	cfg.image_fd = d->img_fd;
	if (blk_queue_create(&cfg, &d->q))
		return -1;
	return pthread_create(&d->thread, NULL, d_runner, d) ? -1 : 0;
}

static void d_stop(struct drv *d)
{
	if (d->q) {
		blk_queue_stop(d->q);
		pthread_join(d->thread, NULL);
		blk_queue_destroy(d->q);
	}
	if (d->kick_fd >= 0)
		close(d->kick_fd);
	if (d->call_fd >= 0)
		close(d->call_fd);
	if (d->img_fd >= 0)
		close(d->img_fd);
	tm_fini(&d->tm);
}

/* Make n requests available at once; kick only if the device wants it. */
static void d_submit(struct drv *d, unsigned n)
{
	static const uint32_t types[] = {
		VIRTIO_BLK_T_IN, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_FLUSH,
		VIRTIO_BLK_T_IN,
	};
	struct vring_avail *a = tm_ptr(&d->tm, TM_AVAIL);
	uint16_t old = d->tm.avail_idx, now;
	bool kick;

	for (unsigned k = 0; k < n; k++) {
		uint16_t s = d->free[--d->nfree], head = (uint16_t)(3 * s);
		uint32_t t = types[rand_r(&d->seed) % 4];
		struct virtio_blk_outhdr h = {
			.type = t, .sector = (uint64_t)(rand_r(&d->seed) %
							IMG_SECTORS),
		};
		uint32_t len = t == VIRTIO_BLK_T_GET_ID ? VIRTIO_BLK_ID_BYTES :
			       t == VIRTIO_BLK_T_IN ? 512 : 0;

		d->type[s] = t;
		memcpy(tm_ptr(&d->tm, d->hdr[s]), &h, sizeof(h));
		*(uint8_t *)tm_ptr(&d->tm, d->status[s]) = 0xee;
		tm_desc(&d->tm, head, d->hdr[s], 16, VRING_DESC_F_NEXT,
			(uint16_t)(head + 1));
		if (len) {
			tm_desc(&d->tm, head + 1u, d->data[s], len,
				VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
				(uint16_t)(head + 2));
			tm_desc(&d->tm, head + 2u, d->status[s], 1,
				VRING_DESC_F_WRITE, 0);
		} else {
			tm_desc(&d->tm, head + 1u, d->status[s], 1,
				VRING_DESC_F_WRITE, 0);
		}
		a->ring[(uint16_t)(old + k) % TM_QSIZE] = head;
	}
	now = (uint16_t)(old + n);
	d->tm.avail_idx = now;
	__atomic_store_n(&a->idx, now, __ATOMIC_RELEASE);
	d->submitted += n;
	/* The index store before reading what the device asks for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->event_idx) {
		uint16_t ev = *d_avail_event(d);

		kick = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		kick = !(__atomic_load_n(&tm_used(&d->tm)->flags,
					 __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (kick) {
		CU_ASSERT_EQUAL(eventfd_write(d->kick_fd, 1), 0);
		d->kicks++;
	}
}

/* Take every used element there is; returns how many. */
static unsigned d_reap(struct drv *d)
{
	uint16_t end = d_used_idx(d);
	unsigned n = 0;

	while (d->used_seen != end) {
		struct vring_used_elem e =
			tm_used(&d->tm)->ring[d->used_seen % TM_QSIZE];
		uint16_t s = (uint16_t)(e.id / 3);

		if (e.id % 3 || s >= NSLOT) {
			d->bad_id++;
		} else {
			if (*(volatile uint8_t *)tm_ptr(&d->tm, d->status[s]) !=
			    VIRTIO_BLK_S_OK)
				d->bad_status++;
			d->free[d->nfree++] = s;
		}
		d->used_seen++;
		d->completed++;
		n++;
	}
	return n;
}

/*
 * At least one completion: look, and if there is none, sleep on the
 * call eventfd with interrupts on (re-checking after turning them on).
 * false: nothing came for STALL_MS, both sides asleep.
 */
static bool d_wait(struct drv *d)
{
	struct pollfd p = { .fd = d->call_fd, .events = POLLIN };
	eventfd_t v;

	d_pause(d, 30);
	for (;;) {
		if (d_reap(d))
			return true;
		d_interrupts(d, true);
		if (d_reap(d)) {
			d_interrupts(d, false);
			return true;
		}
		d->sleeps++;
		if (poll(&p, 1, STALL_MS) <= 0)
			return false;
		if (eventfd_read(d->call_fd, &v) < 0) {
			/* A wake-up that found the counter empty: look anyway. */
		}
		d_interrupts(d, false);
	}
}

static void d_run(bool event_idx, bool tracked, unsigned poll_us)
{
	struct blk_queue_stats st;
	struct drv d;

	CU_ASSERT_EQUAL_FATAL(d_start(&d, event_idx, tracked, poll_us), 0);
	while (d.completed < NREQ) {
		unsigned room = NREQ - d.submitted;

		if (d.nfree && room) {
			unsigned n = 1 + (unsigned)rand_r(&d.seed) % d.nfree;

			d_submit(&d, n < room ? n : room);
			d_pause(&d, 40);
		}
		/* Wait when the ring is full, and at random otherwise. */
		if ((!d.nfree || !room || rand_r(&d.seed) % 2) && !d_wait(&d)) {
			d.stall_at = d.completed + 1;
			break;
		}
	}
	if (d.stall_at) {
		blk_queue_get_stats(d.q, &st);
		fprintf(stderr, "\n  event_idx=%d tracked=%d poll_us=%u: stalled "
			"with %u of %u completed, %u in flight; avail %u, used "
			"%u, used flags 0x%x, avail_event %u, used_event %u; "
			"queue: kicks %llu sleeps %llu interrupts %llu\n",
			event_idx, tracked, poll_us, d.completed, d.submitted,
			d.submitted - d.completed, d.tm.avail_idx,
			d_used_idx(&d), tm_used(&d.tm)->flags, *d_avail_event(&d),
			*d_used_event(&d), (unsigned long long)st.kicks,
			(unsigned long long)st.sleeps,
			(unsigned long long)st.notifies);
	}
	CU_ASSERT_EQUAL(d.stall_at, 0);
	CU_ASSERT_EQUAL(d.completed, NREQ);
	CU_ASSERT_EQUAL(d.bad_id, 0);
	CU_ASSERT_EQUAL(d.bad_status, 0);
	/* Both sides slept, or the test proved nothing. */
	CU_ASSERT(d.sleeps > 0);
	blk_queue_get_stats(d.q, &st);
	CU_ASSERT(st.sleeps > 0);
	d_stop(&d);
	CU_ASSERT_EQUAL(d.run_result, 0);
}

static void test_no_notify(void) { d_run(false, false, 0); }
static void test_no_notify_polling(void) { d_run(false, false, 20); }
static void test_event_idx(void) { d_run(true, false, 0); }
static void test_event_idx_polling(void) { d_run(true, false, 20); }
static void test_event_idx_tracked(void) { d_run(true, true, 0); }

static CU_TestInfo notify_tests[] = {
	{ "NO_NOTIFY/NO_INTERRUPT, queue sleeps at once", test_no_notify },
	{ "NO_NOTIFY/NO_INTERRUPT, queue polls 20 us", test_no_notify_polling },
	{ "EVENT_IDX, queue sleeps at once", test_event_idx },
	{ "EVENT_IDX, queue polls 20 us", test_event_idx_polling },
	{ "EVENT_IDX, one-by-one publish (inflight)", test_event_idx_tracked },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_notify", NULL, NULL, NULL, NULL, notify_tests },
	CU_SUITE_INFO_NULL,
};
