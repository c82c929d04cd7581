/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * "Guest RAM" for the splitvm-blk unit tests: a memfd mapped once,
 * described to blk_mem as two regions with a hole between them, and
 * one split virtqueue laid out in it.
 */
#ifndef SPLITVM_TEST_BLK_TESTMEM_H
#define SPLITVM_TEST_BLK_TESTMEM_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk_mem.h"
#include "blk_vring.h"
#include "virtio.h"

#define TM_SIZE		(1u << 20)		/* bytes of RAM per region */
#define TM_BASE0	0x100000ull		/* region 0: [1 MiB, 2 MiB) */
#define TM_BASE1	0x300000ull		/* region 1, after a hole */
#define TM_QSIZE	16u
#define TM_DESC		(TM_BASE0 + 0x0)
#define TM_AVAIL	(TM_BASE0 + 0x1000)
#define TM_USED		(TM_BASE0 + 0x2000)
#define TM_DATA		(TM_BASE0 + 0x4000)

struct testmem {
	int fd;
	uint8_t *host;		/* 2 * TM_SIZE: region 0 then region 1 */
	struct blk_mem mem;
	struct blk_vring vr;
	uint16_t avail_idx;
	uint64_t next_data;
};

/* Host pointer of a guest address inside either region (test-side). */
static inline void *tm_ptr(struct testmem *t, uint64_t gpa)
{
	if (gpa >= TM_BASE1)
		return t->host + TM_SIZE + (gpa - TM_BASE1);
	return t->host + (gpa - TM_BASE0);
}

static inline int tm_init(struct testmem *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = memfd_create("blk-test-ram", MFD_CLOEXEC);
	if (t->fd < 0 || ftruncate(t->fd, 2 * TM_SIZE) < 0)
		return -1;
	t->host = mmap(NULL, 2 * TM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       t->fd, 0);
	if (t->host == MAP_FAILED)
		return -1;
	if (blk_mem_add(&t->mem, TM_BASE0, TM_SIZE, t->host) ||
	    blk_mem_add(&t->mem, TM_BASE1, TM_SIZE, t->host + TM_SIZE))
		return -1;
	if (blk_vring_init(&t->vr, tm_ptr(t, TM_DESC), tm_ptr(t, TM_AVAIL),
			   tm_ptr(t, TM_USED), TM_QSIZE))
		return -1;
	t->next_data = TM_DATA;
	return 0;
}

static inline void tm_fini(struct testmem *t)
{
	munmap(t->host, 2 * TM_SIZE);
	close(t->fd);
}

static inline uint64_t tm_alloc(struct testmem *t, uint32_t len)
{
	uint64_t a = t->next_data;

	t->next_data = (t->next_data + len + 63) & ~63ull;
	memset(tm_ptr(t, a), 0, len);
	return a;
}

static inline void tm_desc(struct testmem *t, unsigned i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &((struct vring_desc *)tm_ptr(t, TM_DESC))[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static inline void tm_publish(struct testmem *t, uint16_t head)
{
	struct vring_avail *a = tm_ptr(t, TM_AVAIL);

	a->ring[t->avail_idx % TM_QSIZE] = head;
	t->avail_idx++;
	__atomic_store_n(&a->idx, t->avail_idx, __ATOMIC_RELEASE);
}

static inline struct vring_used *tm_used(struct testmem *t)
{
	return tm_ptr(t, TM_USED);
}

#endif
