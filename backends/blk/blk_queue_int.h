/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside one splitvm-blk queue: its state and the functions its two
 * halves share.  blk_queue.c takes requests off the ring and submits
 * their I/O and runs the queue thread's loop; blk_queue_done.c handles
 * io_uring completions and hands requests back to the driver.
 */
#ifndef SPLITVM_BLK_QUEUE_INT_H
#define SPLITVM_BLK_QUEUE_INT_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "blk_poll.h"
#include "blk_queue.h"

#define BLK_QUEUE_SQ_ENTRIES	256
#define BLK_QUEUE_CQ_ENTRIES	2048
#define BLK_SLOT_NONE		UINT16_MAX

/* io_uring user_data: what completed, and for requests which slot. */
enum blk_tag {
	BLK_TAG_REQ = 1,
	BLK_TAG_KICK = 2,
	BLK_TAG_STOP = 3,
};
#define BLK_UDATA(tag, idx)	(((uint64_t)(tag) << 32) | (uint32_t)(idx))

struct blk_slot {
	uint16_t head;
	uint16_t entry;		/* what names it in the inflight region */
	uint16_t next_free;
	uint8_t status;
	unsigned pending;	/* SQEs not yet completed */
	uint64_t done;		/* READ/WRITE bytes moved so far */
	uint64_t t_start;	/* ns, when taken from the ring */
	bool synced;		/* writethrough: its fdatasync was issued */
	bool bounced;		/* O_DIRECT: the data goes through bounce */
	uint8_t *bounce;	/* aligned, kept for the next request */
	size_t bounce_cap;
	struct blk_chain chain;
	struct blk_req req;
};

struct blk_queue {
	char name[32];
	const struct blk_mem *mem;
	struct blk_vring vr;
	int kick_fd;
	int image_fd;
	int stop_fd;
	const struct blk_disk *disk;
	struct blk_poll poll;
	const struct blk_queue_ops *ops;
	void *opaque;

	struct io_uring ring;
	bool ring_ready;
	bool fixed_file;	/* image_fd is registered as file 0 */
	bool kick_armed;
	bool broken;
	bool notify_pending;	/* an interrupt to retry */
	atomic_bool stop;

	struct blk_slot *slots;
	unsigned nslots;
	uint16_t free_slot;
	unsigned inflight;
	uint16_t *slot_of_head;		/* by head: BLK_SLOT_NONE if idle */
	uint16_t *batch;		/* heads completed, not yet published */
	unsigned nbatch;

	struct blk_queue_stats stats;
};

static inline uint64_t blk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Submission side (blk_queue.c). */
void blk_queue_submit(struct blk_queue *q);
struct io_uring_sqe *blk_queue_sqe(struct blk_queue *q);
void blk_sqe_image(const struct blk_queue *q, struct io_uring_sqe *sqe);
void blk_queue_prep_rw(struct blk_queue *q, struct blk_slot *s,
		       struct io_uring_sqe *sqe);
int blk_seg_mode(const struct blk_req *r, const struct blk_seg *seg);
void blk_queue_prep_fallocate(struct blk_queue *q, struct io_uring_sqe *sqe,
			      int mode, const struct blk_seg *seg,
			      unsigned slot, unsigned segno);

/* Completion side (blk_queue_done.c). */
void blk_queue_used(struct blk_queue *q, const struct blk_chain *c,
		    uint16_t entry, uint32_t len);
void blk_queue_finish(struct blk_queue *q, struct blk_slot *s);
void blk_queue_publish(struct blk_queue *q);
unsigned blk_queue_reap(struct blk_queue *q);

#endif
