/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blk_queue_int.h"
#include "log.h"

unsigned blk_lat_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = us ? 64 - (unsigned)__builtin_clzll(us) : 0;

	return b < BLK_LAT_BUCKETS ? b : BLK_LAT_BUCKETS - 1;
}

int blk_queue_create(const struct blk_queue_config *cfg,
		     struct blk_queue **out)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE,
		.cq_entries = BLK_QUEUE_CQ_ENTRIES,
	};
	struct blk_queue *q;
	int ret;

	*out = NULL;
	if (!cfg->mem || !cfg->disk || !cfg->ops || !cfg->ops->notify ||
	    cfg->vring.size == 0 || cfg->kick_fd < 0 || cfg->image_fd < 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	snprintf(q->name, sizeof(q->name), "%s", cfg->name ? cfg->name : "blk");
	q->mem = cfg->mem;
	q->vr = cfg->vring;
	q->vr.used_published = q->vr.used_idx;
	q->kick_fd = cfg->kick_fd;
	q->image_fd = cfg->image_fd;
	q->disk = cfg->disk;
	blk_poll_init(&q->poll, (uint64_t)cfg->poll_us * 1000u);
	q->ops = cfg->ops;
	q->opaque = cfg->opaque;
	atomic_init(&q->stop, false);

	q->nslots = q->vr.size < BLK_QUEUE_MAX_SLOTS ? q->vr.size :
						       BLK_QUEUE_MAX_SLOTS;
	q->slots = calloc(q->nslots, sizeof(*q->slots));
	q->slot_of_head = malloc(sizeof(*q->slot_of_head) * q->vr.size);
	q->batch = malloc(sizeof(*q->batch) * q->nslots);
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!q->slots || !q->slot_of_head || !q->batch || q->stop_fd < 0) {
		ret = q->stop_fd < 0 ? -errno : -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < q->vr.size; i++)
		q->slot_of_head[i] = BLK_SLOT_NONE;
	for (unsigned i = 0; i < q->nslots; i++)
		q->slots[i].next_free = i + 1 < q->nslots ? i + 1 :
							    BLK_SLOT_NONE;
	q->free_slot = 0;

	ret = io_uring_queue_init_params(BLK_QUEUE_SQ_ENTRIES, &q->ring, &p);
	if (ret) {
		log_err(q->name, "io_uring setup: %s", strerror(-ret));
		goto err;
	}
	q->ring_ready = true;
	/* A registered file spares the kernel an fd lookup per request. */
	ret = io_uring_register_files(&q->ring, &q->image_fd, 1);
	q->fixed_file = ret == 0;
	if (ret)
		log_debug(q->name, "io_uring file registration: %s; using "
			  "the fd", strerror(-ret));
	*out = q;
	return 0;
err:
	blk_queue_destroy(q);
	return ret;
}

void blk_queue_destroy(struct blk_queue *q)
{
	if (!q)
		return;
	if (q->ring_ready)
		io_uring_queue_exit(&q->ring);
	if (q->stop_fd >= 0)
		close(q->stop_fd);
	for (unsigned i = 0; q->slots && i < q->nslots; i++)
		free(q->slots[i].bounce);
	free(q->batch);
	free(q->slot_of_head);
	free(q->slots);
	free(q);
}

void blk_queue_stop(struct blk_queue *q)
{
	atomic_store(&q->stop, true);
	if (eventfd_write(q->stop_fd, 1) < 0) {
		/* Only EAGAIN at a saturated counter: it is signalled. */
	}
}

void blk_queue_indexes(const struct blk_queue *q, uint16_t *last_avail,
		       uint16_t *used_idx)
{
	if (q->vr.packed) {
		*last_avail = blk_vring_packed_index(q->vr.last_avail,
						     q->vr.avail_wrap);
		*used_idx = blk_vring_packed_index(q->vr.used_idx,
						   q->vr.used_wrap);
		return;
	}
	*last_avail = q->vr.last_avail;
	*used_idx = q->vr.used_idx;
}

void blk_queue_get_stats(const struct blk_queue *q, struct blk_queue_stats *s)
{
	*s = q->stats;
	s->inflight = q->inflight;
}

/* Submit what is queued; what could not go is retried on the next turn. */
void blk_queue_submit(struct blk_queue *q)
{
	int ret = io_uring_submit(&q->ring);

	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		log_warn(q->name, "io_uring submit: %s", strerror(-ret));
}

/* An SQE, submitting what is queued when the SQ is full. */
struct io_uring_sqe *blk_queue_sqe(struct blk_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		blk_queue_submit(q);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

/* An SQE prepared on image_fd names the registered file instead. */
void blk_sqe_image(const struct blk_queue *q, struct io_uring_sqe *sqe)
{
	if (q->fixed_file) {
		sqe->fd = 0;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* ---- submission --------------------------------------------------------- */

void blk_queue_prep_rw(struct blk_queue *q, struct blk_slot *s,
		       struct io_uring_sqe *sqe)
{
	const struct blk_req *r = &s->req;
	uint64_t off = r->sector * VIRTIO_BLK_SECTOR_SIZE + s->done;
	bool rd = r->op == BLK_OP_READ;

	if (s->bounced) {
		if (rd)
			io_uring_prep_read(sqe, q->image_fd, s->bounce + s->done,
					   (unsigned)(r->bytes - s->done), off);
		else
			io_uring_prep_write(sqe, q->image_fd,
					    s->bounce + s->done,
					    (unsigned)(r->bytes - s->done), off);
	} else if (r->niov == 1) {
		/* One buffer (the usual 4 KiB request): no iovec to import. */
		if (rd)
			io_uring_prep_read(sqe, q->image_fd, r->iov->iov_base,
					   (unsigned)r->iov->iov_len, off);
		else
			io_uring_prep_write(sqe, q->image_fd, r->iov->iov_base,
					    (unsigned)r->iov->iov_len, off);
	} else if (rd) {
		io_uring_prep_readv(sqe, q->image_fd, r->iov, r->niov, off);
	} else {
		io_uring_prep_writev(sqe, q->image_fd, r->iov, r->niov, off);
	}
	blk_sqe_image(q, sqe);
}

/* O_DIRECT: can the guest buffers be used as they are? */
static bool blk_iov_aligned(const struct iovec *iov, unsigned n,
			    uint32_t align)
{
	for (unsigned i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % align ||
		    iov[i].iov_len % align)
			return false;
	return true;
}

/* Set up the bounce buffer of a READ/WRITE (data copied in for a write). */
static int blk_slot_bounce(struct blk_queue *q, struct blk_slot *s)
{
	const struct blk_req *r = &s->req;
	uint8_t *p;

	if (s->bounce_cap < r->bytes) {
		void *mem;

		if (posix_memalign(&mem, 4096, r->bytes))
			return -ENOMEM;
		free(s->bounce);
		s->bounce = mem;
		s->bounce_cap = r->bytes;
	}
	if (r->op == BLK_OP_WRITE) {
		p = s->bounce;
		for (unsigned i = 0; i < r->niov; i++) {
			memcpy(p, r->iov[i].iov_base, r->iov[i].iov_len);
			p += r->iov[i].iov_len;
		}
	}
	s->bounced = true;
	q->stats.bounced++;
	return 0;
}

/* fallocate mode for one DISCARD / WRITE_ZEROES segment. */
int blk_seg_mode(const struct blk_req *r, const struct blk_seg *seg)
{
	if (r->op == BLK_OP_DISCARD ||
	    (seg->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

void blk_queue_prep_fallocate(struct blk_queue *q,
			      struct io_uring_sqe *sqe, int mode,
			      const struct blk_seg *seg, unsigned slot,
			      unsigned segno)
{
	io_uring_prep_fallocate(sqe, q->image_fd, mode,
				seg->sector * VIRTIO_BLK_SECTOR_SIZE,
				(uint64_t)seg->num * VIRTIO_BLK_SECTOR_SIZE);
	blk_sqe_image(q, sqe);
	/* The segment number rides in the upper bits of the slot index. */
	io_uring_sqe_set_data64(sqe, BLK_UDATA(BLK_TAG_REQ,
					       slot | (segno << 16)));
}

/* Start the I/O of a decoded request; false if it completed at once. */
static bool blk_queue_start(struct blk_queue *q, struct blk_slot *s)
{
	struct blk_req *r = &s->req;
	unsigned idx = (unsigned)(s - q->slots);
	struct io_uring_sqe *sqe;

	s->status = VIRTIO_BLK_S_OK;
	s->pending = 0;
	s->done = 0;
	s->synced = false;
	s->bounced = false;
	switch (r->op) {
	case BLK_OP_DONE:
		s->status = r->status;
		return false;
	case BLK_OP_GET_ID:
		r->bytes = blk_iov_from_buf(r->iov, r->niov, q->disk->serial,
					    r->bytes);
		return false;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (q->disk->direct &&
		    !blk_iov_aligned(r->iov, r->niov, q->disk->dio_align) &&
		    blk_slot_bounce(q, s))
			break;
		/* fall through */
	case BLK_OP_FLUSH:
		sqe = blk_queue_sqe(q);
		if (!sqe)
			break;
		if (r->op == BLK_OP_FLUSH) {
			io_uring_prep_fsync(sqe, q->image_fd,
					    IORING_FSYNC_DATASYNC);
			blk_sqe_image(q, sqe);
		} else {
			blk_queue_prep_rw(q, s, sqe);
		}
		io_uring_sqe_set_data64(sqe, BLK_UDATA(BLK_TAG_REQ, idx));
		s->pending = 1;
		return true;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		for (unsigned i = 0; i < r->nseg; i++) {
			sqe = blk_queue_sqe(q);
			if (!sqe) {
				s->status = VIRTIO_BLK_S_IOERR;
				break;
			}
			blk_queue_prep_fallocate(q, sqe,
						 blk_seg_mode(r, &r->seg[i]),
						 &r->seg[i], idx, i);
			s->pending++;
		}
		return s->pending > 0;
	}
	s->status = VIRTIO_BLK_S_IOERR;
	return false;
}

static void blk_queue_release(struct blk_queue *q, struct blk_slot *s)
{
	uint16_t idx = (uint16_t)(s - q->slots);

	s->next_free = q->free_slot;
	q->free_slot = idx;
	q->inflight--;
}

static const char *blk_chain_error(int ret)
{
	return ret == -ELOOP ? "descriptor loop" :
	       ret == -EFAULT ? "indirect table outside guest memory" :
	       ret == -EINVAL ? "bad descriptor index, id or flags" :
				"no writable status byte";
}

/* Give back a slot whose chain stops the queue until the next reset. */
static bool blk_queue_refuse(struct blk_queue *q, struct blk_slot *s)
{
	blk_queue_release(q, s);
	q->broken = true;
	return false;
}

static struct blk_slot *blk_queue_slot(struct blk_queue *q, uint16_t head)
{
	struct blk_slot *s = &q->slots[q->free_slot];

	q->free_slot = s->next_free;
	q->inflight++;
	s->head = head;
	s->t_start = blk_now_ns();
	return s;
}

static bool blk_queue_begin(struct blk_queue *q, struct blk_slot *s, int ret,
			    bool track);

/*
 * Walk, decode and start the request at head (packed: ring position);
 * true if it is in flight.  track: record it in the inflight region
 * (not when it is resubmitted from there).
 */
static bool blk_queue_take_head(struct blk_queue *q, uint16_t head, bool track)
{
	struct blk_slot *s;
	int ret;

	if (head >= q->vr.size) {
		log_err(q->name, "driver made head %u available past the "
			"ring; queue stopped until the device is reset", head);
		q->broken = true;
		return false;
	}
	s = blk_queue_slot(q, head);
	ret = blk_chain_walk(q->mem, &q->vr, head, &s->chain);
	if (ret && q->vr.packed) {
		/* Where the next chain starts is unknown now. */
		log_err(q->name, "packed chain at %u: %s; queue stopped until "
			"the device is reset", head, blk_chain_error(ret));
		return blk_queue_refuse(q, s);
	}
	blk_vring_consume(&q->vr, &s->chain);
	s->entry = s->chain.id;
	return blk_queue_begin(q, s, ret, track);
}

/* The walked chain in s (ret: how the walk went) from here on. */
static bool blk_queue_begin(struct blk_queue *q, struct blk_slot *s, int ret,
			    bool track)
{
	uint16_t idx = (uint16_t)(s - q->slots);

	/* A buffer id (split: head) the driver made available twice. */
	if (q->slot_of_head[s->chain.id] != BLK_SLOT_NONE) {
		log_err(q->name, "driver made buffer %u available while it is "
			"in flight; queue stopped until the device is reset",
			s->chain.id);
		return blk_queue_refuse(q, s);
	}
	if (track && q->ops->inflight_set &&
	    q->ops->inflight_set(q->opaque, &s->chain, &s->entry)) {
		log_err(q->name, "buffer %u: cannot record it in the inflight "
			"region; queue stopped until the device is reset",
			s->chain.id);
		return blk_queue_refuse(q, s);
	}
	q->slot_of_head[s->chain.id] = idx;
	if (!ret)
		ret = blk_req_decode(q->disk, &s->chain, &s->req);
	if (ret) {
		/*
		 * No status byte we can trust: hand the chain back unanswered
		 * (used length 0) so the driver can reclaim it.
		 */
		if (q->stats.bad_chains++ < 8)
			log_warn(q->name, "request at head %u: %s; returned "
				 "without a status", s->head,
				 blk_chain_error(ret));
		blk_queue_used(q, &s->chain, s->entry, 0);
		q->slot_of_head[s->chain.id] = BLK_SLOT_NONE;
		blk_queue_release(q, s);
		q->stats.errors++;
		return false;
	}
	if (!blk_queue_start(q, s)) {
		blk_queue_finish(q, s);
		return false;
	}
	return true;
}

/* Take what the avail ring holds, as far as free slots allow. */
static unsigned blk_queue_take(struct blk_queue *q)
{
	unsigned n = 0;
	uint16_t head;
	int ret;

	while (q->free_slot != BLK_SLOT_NONE && !q->broken) {
		ret = blk_vring_pop(&q->vr, &head);
		if (ret == 0)
			break;
		if (ret < 0) {
			/*
			 * Split only: packed rings have no avail index.  The
			 * index as it was read, not read again: a driver
			 * that wrote it in pieces has finished by now.
			 */
			log_err(q->name, "avail index %u: %u entries after "
				"the %u taken, more than the ring's %u; queue "
				"stopped until the device is reset",
				q->vr.avail_seen,
				(uint16_t)(q->vr.avail_seen - q->vr.last_avail),
				q->vr.last_avail, q->vr.size);
			q->broken = true;
			break;
		}
		blk_queue_take_head(q, head, true);
		n++;
		/*
		 * O_DIRECT: submitting an SQE sends its request to the device
		 * there and then, and the requests of one io_uring_enter go
		 * out together at its end (one block plug, one notification
		 * of the device).  A virtio disk that serves what it was
		 * notified of and interrupts once for all of it then returns
		 * the whole batch at once and idles until the next one
		 * arrives: the driver's 32 requests went back and forth in
		 * lockstep, the device empty for each turnaround (ftrace,
		 * docs/benchmarks.md).  Submitted one by one, as fio and
		 * qemu-storage-daemon do, the device starts on the first
		 * while the rest are decoded.  Buffered I/O keeps the batch:
		 * it is copied or handed to io-wq, and one system call for
		 * the batch is cheaper.
		 */
		if (q->disk->direct && io_uring_sq_ready(&q->ring))
			blk_queue_submit(q);
	}
	return n;
}

int blk_queue_resubmit(struct blk_queue *q, const uint16_t *heads, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (q->free_slot == BLK_SLOT_NONE)
			return -ENOSPC;
		blk_queue_take_head(q, heads[i], false);
	}
	return 0;
}

int blk_queue_resubmit_copy(struct blk_queue *q, uint16_t entry,
			    const struct vring_packed_desc *descs, unsigned n)
{
	struct blk_slot *s;
	int ret;

	if (q->free_slot == BLK_SLOT_NONE)
		return -ENOSPC;
	s = blk_queue_slot(q, 0);
	ret = blk_chain_walk_copy(q->mem, &q->vr, descs, n, &s->chain);
	if (ret) {
		blk_queue_release(q, s);
		return ret;
	}
	s->entry = entry;
	blk_queue_begin(q, s, 0, false);
	return q->broken ? -EPROTO : 0;
}

static void blk_queue_arm_poll(struct blk_queue *q, int fd, enum blk_tag tag)
{
	struct io_uring_sqe *sqe = blk_queue_sqe(q);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, BLK_UDATA(tag, 0));
	if (tag == BLK_TAG_KICK)
		q->kick_armed = true;
}

int blk_queue_run(struct blk_queue *q)
{
	uint64_t last_work, now, asleep_since = 0;
	bool kicks_on = true;
	int ret;

	blk_queue_arm_poll(q, q->stop_fd, BLK_TAG_STOP);
	/*
	 * Kicks on, whatever the ring holds: a queue stopped while busy
	 * left them suppressed in the ring (avail_event behind, or
	 * NO_NOTIFY), and a restarted one serving the same ring would sleep
	 * waiting for a kick the driver never sends.
	 */
	if (!q->broken)
		blk_vring_kicks(&q->vr, true);
	/* Anything completed before a restart may not have been signalled. */
	q->notify_pending = true;
	last_work = blk_now_ns();
	for (;;) {
		bool stopping = atomic_load(&q->stop);
		unsigned work = 0;

		if (!stopping)
			work += blk_queue_take(q);
		if (io_uring_sq_ready(&q->ring))
			blk_queue_submit(q);
		work += blk_queue_reap(q);
		blk_queue_publish(q);
		if (stopping && q->inflight == 0)
			break;
		if (work || q->notify_pending) {
			if (kicks_on && !q->broken) {
				blk_vring_kicks(&q->vr, false);
				kicks_on = false;
			}
			now = blk_now_ns();
			if (asleep_since) {
				/* How long the wait was: the next window. */
				blk_poll_slept(&q->poll, now - asleep_since);
				asleep_since = 0;
			}
			last_work = now;
			continue;
		}
		/*
		 * Poll before sleeping: a sleeping thread takes tens of
		 * microseconds to wake on these hosts.  With I/O in flight
		 * the kernel may need this very CPU to complete it (io-wq
		 * workers for files that cannot be read or written without
		 * blocking, tmpfs among them, inherit our CPU set): yield to
		 * it between looks instead of spinning over it.  Spinning
		 * took half the CPU from the workers (perf: 40% of samples
		 * in this loop at QD32 on /dev/shm) and gave a 110 us p99 at
		 * QD1 where the worker waited for the spinner's time slice.
		 * The window shrinks while the waits outlast --poll-us (a
		 * disk taking hundreds of microseconds per batch): polling
		 * through them cost a sleep anyway, and CPU (blk_poll.h).
		 */
		if (blk_now_ns() - last_work < q->poll.ns) {
			if (q->inflight)
				sched_yield();
			else
				__builtin_ia32_pause();
			continue;
		}
		/* Idle: let the driver kick us, then look once more. */
		if (!stopping && !q->broken) {
			if (!kicks_on) {
				blk_vring_kicks(&q->vr, true);
				kicks_on = true;
			}
			if (blk_vring_pending(&q->vr) && q->free_slot !=
			    BLK_SLOT_NONE)
				continue;
			if (!q->kick_armed)
				blk_queue_arm_poll(q, q->kick_fd, BLK_TAG_KICK);
		}
		q->stats.sleeps++;
		if (!asleep_since)
			asleep_since = last_work;
		ret = io_uring_submit_and_wait(&q->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && ret != -ETIME) {
			log_err(q->name, "io_uring wait: %s", strerror(-ret));
			return ret;
		}
		/*
		 * Awake, and polling for a while: suppress kicks before the
		 * completions that woke us are published, or the driver
		 * refilling the ring kicks us once more, an eventfd write that
		 * costs it tens of microseconds to wake a thread that is
		 * already running (ftrace: one per batch at QD32 on disk).
		 * The next turn looks at the avail ring, so nothing made
		 * available meanwhile is missed.
		 */
		if (kicks_on && !q->broken) {
			blk_vring_kicks(&q->vr, false);
			kicks_on = false;
		}
		last_work = blk_now_ns();
	}
	return q->broken ? -EPROTO : 0;
}
