/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * protocol/vhost_user_inflight (shared by splitvm-blk and the core) and
 * backends/blk: the packed inflight region after a crash, as librte_vhost
 * 22.11 leaves it (its take / set_last / clr steps re-enacted here):
 * a half-recorded take is forgotten, a completion is committed exactly
 * when its used descriptor reached the ring and rolled back otherwise,
 * the ring resumes past the chains in flight, their copies come back in
 * chain order, and regions with bad links or counts are refused; the
 * front-end's reading of it gives the same position from a copy.  And
 * the queue loop on a packed ring with the inflight hooks: a chain
 * resubmitted from a copy is served first, each completion is recorded
 * around the store of its used descriptor (last before, clear after).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "vhost_user_inflight.h"
#include "blk_queue.h"
#include "blk_testmem.h"
#include "unit.h"

#define QS	8u

static struct vhost_user_inflight_packed *r;
static struct vring_packed_desc ring[QS];

static int setup(void)
{
	r = calloc(1, sizeof(*r) + QS * sizeof(r->desc[0]));
	return r ? 0 : -1;
}

static int teardown(void)
{
	free(r);
	return 0;
}

/* A region in use (version set) with the ring at position 0, wrap 1. */
static void fresh(void)
{
	memset(r, 0, sizeof(*r) + QS * sizeof(r->desc[0]));
	memset(ring, 0, sizeof(ring));
	r->version = 1;
	r->desc_num = QS;
	vhost_user_inflight_packed_start(r, QS, 0x8000);
}

/* rte_vhost_set_inflight_desc_packed: n descriptors at ring position pos. */
static uint16_t take(uint16_t pos, uint16_t n, uint64_t counter, bool torn)
{
	uint16_t e = r->old_free_head, f = e;

	r->desc[e].num = 0;
	r->desc[e].counter = counter;
	r->desc[e].inflight = 1;
	for (uint16_t k = 0; k < n; k++) {
		r->desc[e].num++;
		r->desc[f].addr = ring[(pos + k) % QS].addr;
		r->desc[f].id = ring[(pos + k) % QS].id;
		r->desc[e].last = f;
		f = r->desc[f].next;
		r->free_head = f;
		if (torn)
			return e;
	}
	r->old_free_head = f;
	return e;
}

/* set_last, the used descriptor, clr; stop after `steps` of them. */
static void complete(uint16_t e, int steps)
{
	uint16_t pos = r->used_idx;
	bool wrap = r->used_wrap_counter;

	r->desc[r->desc[e].last].next = r->free_head;
	r->free_head = e;
	r->used_idx += r->desc[e].num;
	if (r->used_idx >= QS) {
		r->used_idx -= QS;
		r->used_wrap_counter ^= 1;
	}
	if (steps < 2)
		return;
	ring[pos].id = r->desc[r->desc[e].last].id;
	ring[pos].flags = wrap ? (VIRTIO_PACKED_DESC_F_AVAIL |
				  VIRTIO_PACKED_DESC_F_USED) : 0;
	if (steps < 3)
		return;
	r->desc[e].inflight = 0;
	r->old_free_head = r->free_head;
	r->old_used_idx = r->used_idx;
	r->old_used_wrap_counter = r->used_wrap_counter;
}

/* The driver makes n one-descriptor chains available from pos, ids from id. */
static void avail(uint16_t pos, uint16_t n, uint16_t id)
{
	for (uint16_t k = 0; k < n; k++) {
		ring[(pos + k) % QS].id = (uint16_t)(id + k);
		ring[(pos + k) % QS].addr = 0x1000u * (id + k);
		ring[(pos + k) % QS].flags = VIRTIO_PACKED_DESC_F_AVAIL;
	}
}

static void test_clean_and_resume(void)
{
	uint16_t a, b, e[2], la, lu;
	struct vring_packed_desc out[QS];

	fresh();
	avail(0, 3, 10);
	a = take(0, 2, 1, false);	/* ids 10, 11: one chain of two */
	b = take(2, 1, 2, false);	/* id 12 */
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_CLEAN);
	e[0] = a;
	e[1] = b;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 2, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8000);
	CU_ASSERT_EQUAL(la, 0x8003);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_chain(r, QS, a, out, QS), 2);
	CU_ASSERT_EQUAL(out[0].addr, 0x1000u * 10);
	CU_ASSERT_EQUAL(out[1].id, 11);

	/* b completes: used moves one on, a alone is in flight. */
	complete(b, 3);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_CLEAN);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8001);
	CU_ASSERT_EQUAL(la, 0x8003);
	/* Listing a chain that is not in flight is refused. */
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 2, &la, &lu),
			-EINVAL);
}

/* Two one-descriptor chains made available and taken. */
static void two_taken(uint16_t *a, uint16_t *b)
{
	fresh();
	avail(0, 2, 20);
	*a = take(0, 1, 1, false);
	*b = take(1, 1, 2, false);
}

static void test_half_done(void)
{
	uint16_t a, b, e[2], la, lu;

	/* set_last only: the driver never saw it; b comes back. */
	two_taken(&a, &b);
	complete(b, 1);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_ROLLBACK);
	CU_ASSERT_EQUAL(r->desc[b].inflight, 1);
	e[0] = a;
	e[1] = b;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 2, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8000);
	CU_ASSERT_EQUAL(la, 0x8002);

	/* In the ring, not committed: final, b does not come back. */
	two_taken(&a, &b);
	complete(b, 2);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_COMMIT);
	CU_ASSERT_EQUAL(r->desc[b].inflight, 0);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8001);
	CU_ASSERT_EQUAL(la, 0x8002);

	/*
	 * set_last's used position stored before its free_head (nothing
	 * orders them): still not in the ring, still rolled back.
	 */
	two_taken(&a, &b);
	r->used_idx = 2;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_ROLLBACK);
	CU_ASSERT_EQUAL(r->used_idx, 0);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 2, &la, &lu), 0);
	CU_ASSERT_EQUAL(la, 0x8002);

	/* Cut between set_last's two stores of a wrapping used_idx. */
	two_taken(&a, &b);
	r->free_head = b;
	r->used_idx = QS + 1;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_ROLLBACK);
	CU_ASSERT_EQUAL(r->used_idx, 0);
	CU_ASSERT_EQUAL(r->free_head, r->old_free_head);

	/* clr got past inflight and old_free_head: committed. */
	two_taken(&a, &b);
	complete(b, 2);
	r->desc[b].inflight = 0;
	r->old_free_head = r->free_head;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_COMMIT);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8001);

	/* A take cut short after its first copy: forgotten. */
	fresh();
	avail(0, 2, 20);
	a = take(0, 1, 1, false);
	take(1, 1, 2, true);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_UNTAKEN);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu), 0);
	CU_ASSERT_EQUAL(la, 0x8001);
}

static void test_wrap(void)
{
	uint16_t e[QS], la, lu, n = 0;

	/* Six one-descriptor chains complete, then six more are taken. */
	fresh();
	avail(0, QS, 0);
	for (uint16_t k = 0; k < 6; k++)
		complete(take(k, 1, k, false), 3);
	avail(6, 6, 30);
	for (uint16_t k = 0; k < 6; k++)
		e[n++] = take((uint16_t)((6 + k) % QS), 1, 10 + k, false);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring),
			VHOST_USER_INFLIGHT_CLEAN);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, n, &la, &lu), 0);
	CU_ASSERT_EQUAL(lu, 0x8006);
	CU_ASSERT_EQUAL(la, 0x0004);	/* 12 positions on: wrap flipped */
}

static void test_refused(void)
{
	uint16_t a, e[1], la, lu;

	fresh();
	avail(0, 2, 40);
	a = take(0, 2, 1, false);
	e[0] = a;
	r->desc_num = QS / 2;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	r->desc_num = QS;
	r->old_used_idx = QS;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_repair(r, QS, ring), -EINVAL);
	r->old_used_idx = 0;
	/* A free-list link out of range, or into a chain in flight. */
	r->desc[r->old_free_head].next = 200;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	r->desc[r->old_free_head].next = a;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	/* A chain whose last does not match its links. */
	fresh();
	avail(0, 2, 40);
	a = take(0, 2, 1, false);
	e[0] = a;
	r->desc[a].last = a;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_resume(r, QS, e, 1, &la, &lu),
			-EINVAL);
	CU_ASSERT(vhost_user_inflight_packed_chain(r, QS, a, (struct vring_packed_desc
						       [QS]){ 0 }, QS) < 0);
}

/* ---- the queue loop on a packed ring with inflight hooks ---------------- */

#define PK_DESC		TM_BASE1
#define PK_DRIVER	(TM_BASE1 + 0x1000)
#define PK_DEVICE	(TM_BASE1 + 0x1010)

static struct testmem tm;
static struct vring_packed_desc *pk;
static uint16_t used_pos = 0;		/* where the next used descriptor goes */
static bool used_wrap = true;
static int n_set, n_last, n_clear;
static uint16_t keys[8];		/* by completion: the entry passed */
static bool order_ok = true;
static uint16_t ndesc_of[256];		/* by entry */

static bool pk_used_at(uint16_t pos, bool wrap)
{
	uint16_t f = __atomic_load_n(&pk[pos].flags, __ATOMIC_ACQUIRE);

	return !!(f & VIRTIO_PACKED_DESC_F_USED) == wrap &&
	       !!(f & VIRTIO_PACKED_DESC_F_AVAIL) == wrap;
}

static int pk_notify(void *o)
{
	return 0;
}

static int pk_set(void *o, const struct blk_chain *c, uint16_t *entry)
{
	*entry = (uint16_t)(200 + n_set++);
	ndesc_of[*entry] = c->ring_descs;
	return 0;
}

static void pk_last(void *o, uint16_t entry)
{
	/* Recorded before the driver can see it. */
	if (pk_used_at(used_pos, used_wrap))
		order_ok = false;
	if (n_last < 8)
		keys[n_last] = entry;
	n_last++;
}

static void pk_clear(void *o, uint16_t entry, uint16_t used_idx)
{
	uint32_t next = used_pos + ndesc_of[entry];

	/* Committed only once it is in the ring. */
	if (!pk_used_at(used_pos, used_wrap) || n_clear + 1 != n_last)
		order_ok = false;
	n_clear++;
	if (next >= TM_QSIZE) {
		next -= TM_QSIZE;
		used_wrap = !used_wrap;
	}
	used_pos = (uint16_t)next;
}

static const struct blk_queue_ops pk_ops = {
	.notify = pk_notify,
	.inflight_set = pk_set,
	.inflight_last = pk_last,
	.inflight_clear = pk_clear,
};

/* A 512-byte write of byte `fill` to sector: descriptors into d[3]. */
static void pk_write_chain(struct vring_packed_desc *d, uint16_t id,
			   uint64_t sector, uint8_t fill, uint64_t *status)
{
	uint64_t h = tm_alloc(&tm, 16), data = tm_alloc(&tm, 512);
	struct virtio_blk_outhdr hdr = { .type = VIRTIO_BLK_T_OUT,
					 .sector = sector };

	*status = tm_alloc(&tm, 1);
	memcpy(tm_ptr(&tm, h), &hdr, sizeof(hdr));
	memset(tm_ptr(&tm, data), fill, 512);
	*(uint8_t *)tm_ptr(&tm, *status) = 0xee;
	d[0] = (struct vring_packed_desc){ h, 16, id, VRING_DESC_F_NEXT };
	d[1] = (struct vring_packed_desc){ data, 512, id, VRING_DESC_F_NEXT };
	d[2] = (struct vring_packed_desc){ *status, 1, id, VRING_DESC_F_WRITE };
}

static void *pk_runner(void *arg)
{
	return (void *)(intptr_t)blk_queue_run(arg);
}

static void test_queue_packed(void)
{
	char path[] = "/tmp/blk-inflight-test.XXXXXX";
	struct blk_disk disk = { .capacity = 64, .seg_max = 8, .writeback = 1,
				 .serial = "inflight" };
	struct vring_packed_desc copy[3], ring3[3];
	uint64_t st_copy, st_ring;
	struct blk_queue_config cfg = { .name = "test.pk", .mem = &tm.mem,
					.ops = &pk_ops, .disk = &disk,
					.poll_us = 50 };
	struct blk_queue *q;
	pthread_t thread;
	uint8_t buf[512];
	int img, kick;

	CU_ASSERT_FATAL(tm_init(&tm) == 0);
	pk = tm_ptr(&tm, PK_DESC);
	CU_ASSERT_FATAL(blk_vring_init_packed(&cfg.vring, pk,
					      tm_ptr(&tm, PK_DRIVER),
					      tm_ptr(&tm, PK_DEVICE),
					      TM_QSIZE) == 0);
	img = mkstemp(path);
	CU_ASSERT_FATAL(img >= 0);
	unlink(path);
	CU_ASSERT_FATAL(ftruncate(img, 64 * 512) == 0);
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cfg.image_fd = img;
	cfg.kick_fd = kick;

	/*
	 * A crashed predecessor took a write with id 5 whose ring slots
	 * now hold something else; the region kept its copy (entry 7).
	 * The ring has a new write with id 9 at position 0.
	 */
	pk_write_chain(copy, 5, 3, 0x55, &st_copy);
	pk_write_chain(ring3, 9, 4, 0x99, &st_ring);
	pk[1] = ring3[1];
	pk[2] = ring3[2];
	pk[1].flags |= VIRTIO_PACKED_DESC_F_AVAIL;
	pk[2].flags |= VIRTIO_PACKED_DESC_F_AVAIL;
	pk[0] = ring3[0];
	__atomic_store_n(&pk[0].flags, (uint16_t)(ring3[0].flags |
			 VIRTIO_PACKED_DESC_F_AVAIL), __ATOMIC_RELEASE);
	ndesc_of[7] = 3;

	CU_ASSERT_FATAL(blk_queue_create(&cfg, &q) == 0);
	/* Cut short: the copy is not one whole chain. */
	CU_ASSERT(blk_queue_resubmit_copy(q, 7, copy, 2) < 0);
	CU_ASSERT_EQUAL(blk_queue_resubmit_copy(q, 7, copy, 3), 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, pk_runner, q) == 0);
	CU_ASSERT_EQUAL(eventfd_write(kick, 1), 0);
	for (int i = 0; i < 5000 && __atomic_load_n(&n_clear,
						    __ATOMIC_ACQUIRE) < 2; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	blk_queue_stop(q);
	pthread_join(thread, NULL);

	CU_ASSERT_EQUAL(n_set, 1);		/* the ring's chain only */
	CU_ASSERT_EQUAL(n_last, 2);
	CU_ASSERT_EQUAL(n_clear, 2);
	CU_ASSERT_TRUE(order_ok);
	CU_ASSERT_EQUAL(keys[0], 7);		/* the resubmitted one first */
	CU_ASSERT_EQUAL(keys[1], 200);
	CU_ASSERT_EQUAL(pk[0].id, 5);
	CU_ASSERT_EQUAL(pk[3].id, 9);
	CU_ASSERT_EQUAL(*(uint8_t *)tm_ptr(&tm, st_copy), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(*(uint8_t *)tm_ptr(&tm, st_ring), VIRTIO_BLK_S_OK);
	CU_ASSERT_EQUAL(pread(img, buf, 512, 3 * 512), 512);
	CU_ASSERT_EQUAL(buf[0], 0x55);
	CU_ASSERT_EQUAL(pread(img, buf, 512, 4 * 512), 512);
	CU_ASSERT_EQUAL(buf[511], 0x99);
	blk_queue_destroy(q);
	close(kick);
	close(img);
	tm_fini(&tm);
}

static uint32_t base_of(void)
{
	uint32_t base = 0xdeadbeef;

	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS, ring, &base), 0);
	return base;
}

/*
 * The core's reading after the back-end died: what the back-end resumes
 * at (used at the last committed completion, avail past the chains in
 * flight), from a repaired copy; the region itself is never written.
 */
static void test_front_end_base(void)
{
	const size_t bytes = sizeof(*r) + QS * sizeof(r->desc[0]);
	uint8_t before[sizeof(*r) + QS * sizeof(r->desc[0])];
	uint32_t base;
	uint16_t a, b;

	fresh();
	r->version = 0;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS, ring, &base),
			-ENODATA);
	r->version = 1;
	/* Idle from the start: both at 0, wrap counters 1. */
	CU_ASSERT_EQUAL(base_of(), VHOST_USER_PACKED_BASE_INITIAL);

	avail(0, 3, 10);
	a = take(0, 2, 1, false);
	b = take(2, 1, 2, false);
	CU_ASSERT_EQUAL(base_of(), 0x80008003u);	/* 3 descriptors out */
	complete(b, 3);					/* out of order */
	CU_ASSERT_EQUAL(base_of(), 0x80018003u);

	/* a's used descriptor reached the ring, clr did not run: commit. */
	complete(a, 2);
	memcpy(before, r, bytes);
	CU_ASSERT_EQUAL(base_of(), 0x80038003u);
	CU_ASSERT_EQUAL(memcmp(before, r, bytes), 0);
	/* Undo that: set_last alone, nothing in the ring: rolled back. */
	fresh();
	avail(0, 1, 10);
	a = take(0, 1, 1, false);
	complete(a, 1);
	CU_ASSERT_EQUAL(base_of(), 0x80008001u);

	/* Around the ring: 9 one-descriptor chains in a ring of 8. */
	fresh();
	for (uint16_t i = 0; i < 9; i++) {
		avail(i % QS, 1, (uint16_t)(20 + i));
		complete(take(i % QS, 1, i + 1u, false), 3);
	}
	CU_ASSERT_EQUAL(base_of(), 0x00010001u);	/* wrap counters 0 */

	/*
	 * A region that lags the ring (a back-end that completed without
	 * recording it): the ring shows a used descriptor at its position.
	 */
	fresh();
	ring[0].flags = VIRTIO_PACKED_DESC_F_AVAIL | VIRTIO_PACKED_DESC_F_USED;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS, ring, &base),
			-ESTALE);
	ring[0].flags = VIRTIO_PACKED_DESC_F_AVAIL;	/* available again */
	CU_ASSERT_EQUAL(base_of(), VHOST_USER_PACKED_BASE_INITIAL);
	/*
	 * Idle after a lap: the slot at the position still holds what the
	 * driver made available in the round before (a chain's later slot,
	 * never overwritten by a used descriptor): not a completion.
	 */
	fresh();
	r->used_idx = r->old_used_idx = 2;
	r->used_wrap_counter = r->old_used_wrap_counter = 0;
	ring[2].flags = VIRTIO_PACKED_DESC_F_AVAIL;
	CU_ASSERT_EQUAL(base_of(), 0x00020002u);
	ring[2].flags = 0;				/* used in round 0 */
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS, ring, &base),
			-ESTALE);

	/* Out of range: refused, not guessed. */
	r->old_used_idx = QS;
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS, ring, &base),
			-EINVAL);
	fresh();
	CU_ASSERT_EQUAL(vhost_user_inflight_packed_base(r, QS / 2, ring, &base),
			-EINVAL);
}

static CU_TestInfo queue_tests[] = {
	{ "packed: resubmitted copy first, hooks around the used store",
	  test_queue_packed },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo inflight_tests[] = {
	{ "clean region: resume position, chain copies", test_clean_and_resume },
	{ "crash mid-completion or mid-take", test_half_done },
	{ "positions across a wrap", test_wrap },
	{ "bad regions refused", test_refused },
	{ "the front-end's base from a copy", test_front_end_base },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_inflight", setup, teardown, NULL, NULL, inflight_tests },
	{ "blk_queue packed tracking", NULL, NULL, NULL, NULL, queue_tests },
	CU_SUITE_INFO_NULL,
};
