/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The completion half of a splitvm-blk queue: io_uring completions move a
 * request on (short transfers, the writethrough fdatasync, fallbacks for
 * DISCARD and WRITE_ZEROES) or finish it, and finished requests go back
 * to the driver in batches.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>

#include "blk_queue_int.h"
#include "log.h"

/* ---- completion --------------------------------------------------------- */

/*
 * Hand chain c back with len bytes written.  A packed used descriptor
 * is visible once stored, so with inflight tracking the region records
 * the completion around that store (a crash in between is sorted out by
 * vhost_user_inflight_packed_repair()); split elements wait for publish.
 */
void blk_queue_used(struct blk_queue *q, const struct blk_chain *c,
		    uint16_t entry, uint32_t len)
{
	bool track = q->vr.packed && q->ops->inflight_last;

	if (track)
		q->ops->inflight_last(q->opaque, entry);
	blk_vring_push(&q->vr, c, len);
	if (track && q->ops->inflight_clear)
		q->ops->inflight_clear(q->opaque, entry, 0);
	q->batch[q->nbatch++] = c->id;
}

void blk_queue_finish(struct blk_queue *q, struct blk_slot *s)
{
	const struct blk_req *r = &s->req;
	uint16_t idx = (uint16_t)(s - q->slots);
	uint32_t len = 1;

	if (r->op == BLK_OP_READ && s->status == VIRTIO_BLK_S_OK) {
		if (s->bounced)
			blk_iov_from_buf(r->iov, r->niov, s->bounce, r->bytes);
		len += (uint32_t)r->bytes;
	} else if (r->op == BLK_OP_GET_ID && s->status == VIRTIO_BLK_S_OK)
		len += (uint32_t)r->bytes;
	if (s->status != VIRTIO_BLK_S_OK)
		q->stats.errors++;
	else if (r->op == BLK_OP_READ)
		q->stats.bytes_read += r->bytes;
	else if (r->op == BLK_OP_WRITE)
		q->stats.bytes_written += r->bytes;
	q->stats.reqs[r->op]++;
	q->stats.latency[blk_lat_bucket(blk_now_ns() - s->t_start)]++;

	/* The status byte before the used element that announces it. */
	__atomic_store_n(s->chain.status, s->status, __ATOMIC_RELAXED);
	blk_queue_used(q, &s->chain, s->entry, len);

	q->slot_of_head[s->chain.id] = BLK_SLOT_NONE;
	s->next_free = q->free_slot;
	q->free_slot = idx;
	q->inflight--;
}

/*
 * Publish the used elements of this batch and interrupt if wanted.  With
 * inflight tracking each element is published on its own, between
 * "last" and "clear": the recovery of the inflight protocol as
 * librte_vhost implements it (vhost_check_queue_inflights_split) can
 * repair only one element published but not cleared.
 */
void blk_queue_publish(struct blk_queue *q)
{
	bool notify = false;

	if (!q->nbatch && !q->notify_pending)
		return;
	if (!q->ops->inflight_last || q->vr.packed) {
		notify = blk_vring_publish(&q->vr);
	} else {
		uint16_t end = q->vr.used_idx;

		/* Pushed elements are in the ring; reveal them one by one. */
		for (unsigned i = 0; i < q->nbatch; i++) {
			uint16_t head = q->batch[i];

			q->ops->inflight_last(q->opaque, head);
			q->vr.used_idx = (uint16_t)(end - q->nbatch + i + 1);
			notify |= blk_vring_publish(&q->vr);
			if (q->ops->inflight_clear)
				q->ops->inflight_clear(q->opaque, head,
						       q->vr.used_idx);
		}
		q->vr.used_idx = end;
	}
	q->nbatch = 0;
	if (notify || q->notify_pending) {
		q->notify_pending = q->ops->notify(q->opaque) == -EAGAIN;
		if (!q->notify_pending)
			q->stats.notifies++;
	}
}

/* ---- I/O completion ----------------------------------------------------- */

/* Move a READ/WRITE on after a short transfer of n bytes. */
static void blk_slot_advance(struct blk_slot *s, uint64_t n)
{
	struct blk_req *r = &s->req;

	s->done += n;
	while (r->niov && n >= r->iov->iov_len) {
		n -= r->iov->iov_len;
		r->iov++;
		r->niov--;
	}
	if (r->niov && n) {
		r->iov->iov_base = (uint8_t *)r->iov->iov_base + n;
		r->iov->iov_len -= n;
	}
}

static void blk_queue_io_done(struct blk_queue *q, uint32_t data, int res)
{
	unsigned idx = data & 0xffff, segno = data >> 16;
	struct blk_slot *s;
	struct blk_req *r;

	if (idx >= q->nslots)
		return;
	s = &q->slots[idx];
	r = &s->req;
	if (s->synced) {
		/* The writethrough fdatasync, the last step. */
		if (res < 0)
			s->status = VIRTIO_BLK_S_IOERR;
		if (--s->pending == 0)
			blk_queue_finish(q, s);
		return;
	}
	if ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) && res > 0 &&
	    s->done + (uint64_t)res < r->bytes) {
		/* Short transfer: go on with the rest. */
		struct io_uring_sqe *sqe = blk_queue_sqe(q);

		if (s->bounced)
			s->done += (uint64_t)res;
		else
			blk_slot_advance(s, (uint64_t)res);
		if (sqe) {
			blk_queue_prep_rw(q, s, sqe);
			io_uring_sqe_set_data64(sqe, BLK_UDATA(BLK_TAG_REQ,
							       idx));
			return;
		}
		res = -EAGAIN;
	}
	if ((r->op == BLK_OP_DISCARD || r->op == BLK_OP_WRITE_ZEROES) &&
	    res == -EOPNOTSUPP && segno < r->nseg) {
		const struct blk_seg *seg = &r->seg[segno];
		int mode = blk_seg_mode(r, seg);

		if (r->op == BLK_OP_DISCARD) {
			res = 0;	/* discard is a hint */
		} else if (mode & FALLOC_FL_ZERO_RANGE) {
			/* tmpfs has no ZERO_RANGE: a hole reads as zeroes. */
			struct io_uring_sqe *sqe = blk_queue_sqe(q);

			if (sqe) {
				blk_queue_prep_fallocate(q, sqe,
					FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, seg, idx, segno);
				return;
			}
		}
	}
	if (res < 0 || ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) &&
			res == 0)) {
		if (s->status == VIRTIO_BLK_S_OK && q->stats.errors < 8)
			log_warn(q->name, "I/O error at sector %llu: %s",
				 (unsigned long long)r->sector,
				 res ? strerror(-res) : "end of file");
		s->status = VIRTIO_BLK_S_IOERR;
	}
	if (--s->pending)
		return;
	if (s->status == VIRTIO_BLK_S_OK && !s->synced &&
	    (r->op == BLK_OP_WRITE || r->op == BLK_OP_DISCARD ||
	     r->op == BLK_OP_WRITE_ZEROES) &&
	    !__atomic_load_n(&q->disk->writeback, __ATOMIC_RELAXED)) {
		/* Writethrough: stable before it completes. */
		struct io_uring_sqe *sqe = blk_queue_sqe(q);

		if (sqe) {
			io_uring_prep_fsync(sqe, q->image_fd,
					    IORING_FSYNC_DATASYNC);
			blk_sqe_image(q, sqe);
			io_uring_sqe_set_data64(sqe, BLK_UDATA(BLK_TAG_REQ,
							       idx));
			s->synced = true;
			s->pending = 1;
			q->stats.syncs++;
			return;
		}
		s->status = VIRTIO_BLK_S_IOERR;
	}
	blk_queue_finish(q, s);
}

/* Handle every CQE there is; returns how many requests progressed. */
unsigned blk_queue_reap(struct blk_queue *q)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, seen = 0;

	io_uring_for_each_cqe(&q->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		seen++;
		switch (ud >> 32) {
		case BLK_TAG_REQ:
			blk_queue_io_done(q, (uint32_t)ud, res);
			n++;
			break;
		case BLK_TAG_KICK: {
			eventfd_t v;

			q->kick_armed = false;
			q->stats.kicks++;
			if (eventfd_read(q->kick_fd, &v) < 0) {
				/* Already drained: nothing to do. */
			}
			n++;
			break;
		}
		default:
			break;
		}
	}
	io_uring_cq_advance(&q->ring, seen);
	return n;
}
