/* SPDX-License-Identifier: GPL-2.0-only */
#include "drive_job.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "verify.h"
#include "vhost_user.h"
#include "vhost_user_client.h"

#define TAG			"drive"
#define GEN_UNKNOWN		UINT32_MAX	/* a write failed: contents unknown */
#define STATUS_UNSET		0xff		/* the back-end did not write it */
#define MAX_VERIFY_REPORTS	10
#define PROGRESS_NS		1000000000ull
/* Longest single sleep in event mode: lets timeouts and signals show. */
#define EVENT_SLICE_MS		100
/* How often polling looks at the socket while waiting for completions. */
#define SOCKET_CHECK_NS		1000000ull

struct drive_req {
	uint64_t block;
	uint64_t start_ns;
	uint32_t gen;		/* written (write) or expected (read) */
	uint8_t op;
	bool checked;		/* read of a block with a known generation */
	uint16_t queue;
	uint32_t slot;
};

struct drive_qstate {
	struct drive_req *reqs;
	uint32_t *free;		/* stack of free slot numbers */
	unsigned nfree;
};

struct drive_job {
	struct drive_dev *dev;
	struct drive_job_opts o;
	uint64_t nblocks;
	uint32_t *gen;		/* verify: generation each block holds */
	uint8_t *busy;		/* verify: a request on the block is in flight */
	uint64_t rng;
	uint64_t cursor;	/* next block of the sequential modes */
	uint64_t unflushed;	/* writes submitted since the last FLUSH */
	struct drive_qstate *qs;
	unsigned verify_reports;
};

const char *drive_rw_name(enum drive_rw rw)
{
	static const char *const names[] = {
		[DRIVE_RW_READ] = "read", [DRIVE_RW_WRITE] = "write",
		[DRIVE_RW_RANDREAD] = "randread",
		[DRIVE_RW_RANDWRITE] = "randwrite",
		[DRIVE_RW_RW] = "rw", [DRIVE_RW_RANDRW] = "randrw",
	};

	return (unsigned)rw < sizeof(names) / sizeof(names[0]) ? names[rw] : "?";
}

const char *drive_phase_name(enum drive_phase p)
{
	switch (p) {
	case DRIVE_PHASE_FILL:		return "fill";
	case DRIVE_PHASE_MAIN:		return "main";
	case DRIVE_PHASE_READBACK:	return "readback";
	}
	return "?";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: plenty for picking blocks, never stuck at zero. */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	/* Multiply-shift: no modulo bias worth the name for n << 2^64. */
	__extension__ typedef unsigned __int128 u128;

	return (uint64_t)(((u128)rng_next(s) * n) >> 64);
}

int drive_job_create(struct drive_dev *dev, const struct drive_job_opts *o,
		     struct drive_job **out)
{
	struct drive_job *j;

	*out = NULL;
	if (!o->bs || o->bs % VIRTIO_BLK_SECTOR_SIZE || o->size < o->bs ||
	    o->offset % VIRTIO_BLK_SECTOR_SIZE)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->dev = dev;
	j->o = *o;
	j->nblocks = o->size / o->bs;
	j->rng = o->seed ? o->seed : 0x9e3779b97f4a7c15ull;
	j->qs = calloc(dev->nq, sizeof(*j->qs));
	if (!j->qs)
		goto nomem;
	if (o->verify) {
		j->gen = calloc(j->nblocks, sizeof(*j->gen));
		j->busy = calloc(j->nblocks, 1);
		if (!j->gen || !j->busy)
			goto nomem;
	}
	for (unsigned q = 0; q < dev->nq; q++) {
		struct drive_qstate *qs = &j->qs[q];

		qs->reqs = calloc(dev->slots, sizeof(*qs->reqs));
		qs->free = calloc(dev->slots, sizeof(*qs->free));
		if (!qs->reqs || !qs->free)
			goto nomem;
		for (unsigned s = 0; s < dev->slots; s++) {
			qs->reqs[s].queue = (uint16_t)q;
			qs->reqs[s].slot = s;
			qs->free[s] = dev->slots - 1 - s;
		}
		qs->nfree = dev->slots;
		/* Without verify, writes carry a fixed pattern per slot. */
		if (!o->verify && o->bs >= DRIVE_VERIFY_MIN_BLOCK)
			for (unsigned s = 0; s < dev->slots; s++)
				drive_verify_fill(dev->q[q].slots[s].data,
						  o->bs, 0, 0, o->seed);
	}
	*out = j;
	return 0;
nomem:
	drive_job_destroy(j);
	return -ENOMEM;
}

void drive_job_destroy(struct drive_job *j)
{
	if (!j)
		return;
	for (unsigned q = 0; j->qs && q < j->dev->nq; q++) {
		free(j->qs[q].reqs);
		free(j->qs[q].free);
	}
	free(j->qs);
	free(j->gen);
	free(j->busy);
	free(j);
}

/* What the phase does next: the op, and whether the address is random. */
static enum drive_op drive_pick_op(struct drive_job *j, enum drive_phase p,
				   bool *random)
{
	*random = false;
	if (p == DRIVE_PHASE_FILL)
		return DRIVE_OP_WRITE;
	if (p == DRIVE_PHASE_READBACK)
		return DRIVE_OP_READ;
	switch (j->o.rw) {
	case DRIVE_RW_READ:
		return DRIVE_OP_READ;
	case DRIVE_RW_WRITE:
		return DRIVE_OP_WRITE;
	case DRIVE_RW_RANDREAD:
		*random = true;
		return DRIVE_OP_READ;
	case DRIVE_RW_RANDWRITE:
		*random = true;
		return DRIVE_OP_WRITE;
	case DRIVE_RW_RANDRW:
		*random = true;
		/* fall through */
	case DRIVE_RW_RW:
		return rng_below(&j->rng, 100) < j->o.rwmixread ?
		       DRIVE_OP_READ : DRIVE_OP_WRITE;
	}
	return DRIVE_OP_READ;
}

/*
 * The block of the next request, or false when the sequential cursor sits
 * on a block still in flight (verify): try again after completions.
 */
static bool drive_pick_block(struct drive_job *j, bool random, uint64_t *b)
{
	if (random) {
		*b = rng_below(&j->rng, j->nblocks);
		/* More blocks than requests in flight (checked): ends. */
		while (j->busy && j->busy[*b])
			*b = (*b + 1) % j->nblocks;
		return true;
	}
	if (j->busy && j->busy[j->cursor])
		return false;
	*b = j->cursor;
	j->cursor = (j->cursor + 1) % j->nblocks;
	return true;
}

/* A FLUSH: header and status only.  2: queued, not a read or write. */
static int drive_submit_flush(struct drive_job *j, unsigned q, uint64_t now)
{
	struct drive_qstate *qs = &j->qs[q];
	struct drive_queue *dq = &j->dev->q[q];
	struct drive_req *r = &qs->reqs[qs->free[qs->nfree - 1]];
	struct drive_slot *sl = &dq->slots[r->slot];
	struct split_ring_buf bufs[2];
	int ret;

	r->op = DRIVE_OP_FLUSH;
	r->checked = false;
	sl->hdr->type = VIRTIO_BLK_T_FLUSH;
	sl->hdr->ioprio = 0;
	sl->hdr->sector = 0;
	*sl->status = STATUS_UNSET;
	bufs[0] = (struct split_ring_buf){ sl->hdr_gpa, sizeof(*sl->hdr), false };
	bufs[1] = (struct split_ring_buf){ sl->status_gpa, 1, true };
	ret = vq_add(&dq->vq, bufs, 2, r);
	if (ret == -ENOSPC)
		return 0;
	if (ret)
		return ret;
	r->start_ns = now;
	qs->nfree--;
	j->unflushed = 0;
	return 2;
}

/* 1: a read or write queued, 2: a FLUSH, 0: nothing now, or -errno. */
static int drive_submit(struct drive_job *j, unsigned q, enum drive_phase p,
			uint64_t now)
{
	struct drive_qstate *qs = &j->qs[q];
	struct drive_queue *dq = &j->dev->q[q];
	struct split_ring_buf bufs[3];
	struct drive_slot *sl;
	struct drive_req *r;
	enum drive_op op;
	bool random;
	uint64_t b;
	int ret;

	if (!qs->nfree)
		return 0;
	if (j->o.fsync && p == DRIVE_PHASE_MAIN && j->unflushed >= j->o.fsync)
		return drive_submit_flush(j, q, now);
	op = drive_pick_op(j, p, &random);
	if (!drive_pick_block(j, random, &b))
		return 0;
	r = &qs->reqs[qs->free[qs->nfree - 1]];
	sl = &dq->slots[r->slot];
	r->block = b;
	r->op = (uint8_t)op;
	r->checked = false;
	if (op == DRIVE_OP_WRITE)
		j->unflushed++;
	if (j->busy) {
		j->busy[b] = 1;
		if (op == DRIVE_OP_WRITE) {
			/* Fill writes 1 over whatever; then +1, skipping 0. */
			r->gen = (j->gen[b] == GEN_UNKNOWN || !j->gen[b]) ?
				 1 : j->gen[b] + 1;
			if (r->gen == GEN_UNKNOWN)
				r->gen = 1;
			drive_verify_fill(sl->data, j->o.bs,
					  j->o.offset + b * j->o.bs, r->gen,
					  j->o.seed);
		} else {
			r->gen = j->gen[b];
			r->checked = r->gen && r->gen != GEN_UNKNOWN;
		}
	}
	sl->hdr->type = op == DRIVE_OP_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	sl->hdr->ioprio = 0;
	sl->hdr->sector = (j->o.offset + b * j->o.bs) / VIRTIO_BLK_SECTOR_SIZE;
	*sl->status = STATUS_UNSET;
	bufs[0] = (struct split_ring_buf){ sl->hdr_gpa, sizeof(*sl->hdr), false };
	bufs[1] = (struct split_ring_buf){ sl->data_gpa, j->o.bs,
					   op == DRIVE_OP_READ };
	bufs[2] = (struct split_ring_buf){ sl->status_gpa, 1, true };
	ret = vq_add(&dq->vq, bufs, 3, r);
	if (ret == -ENOSPC) {
		if (j->busy)
			j->busy[b] = 0;
		return 0;
	}
	if (ret)
		return ret;
	r->start_ns = now;
	qs->nfree--;
	return 1;
}

static void drive_report_verify(struct drive_job *j, const struct drive_req *r,
				enum drive_verify_result v,
				const struct drive_verify_hdr *h)
{
	if (j->verify_reports++ >= MAX_VERIFY_REPORTS) {
		if (j->verify_reports == MAX_VERIFY_REPORTS + 1)
			log_err(TAG, "verify: more mismatches, not shown");
		return;
	}
	log_err(TAG, "verify: block at offset %" PRIu64 ": %s (found offset "
		"%" PRIu64 " generation %" PRIu64 " seed %" PRIu64 ", want "
		"generation %u seed %" PRIu64 ")",
		j->o.offset + r->block * j->o.bs, drive_verify_result_str(v),
		h->offset, h->generation, h->seed, r->gen, j->o.seed);
}

static int drive_complete(struct drive_job *j, struct drive_req *r,
			  uint32_t len, uint64_t now, struct drive_stats *st)
{
	struct drive_slot *sl = &j->dev->q[r->queue].slots[r->slot];
	uint8_t status = *(volatile uint8_t *)sl->status;
	struct drive_verify_hdr found;
	enum drive_verify_result v;

	j->qs[r->queue].free[j->qs[r->queue].nfree++] = r->slot;
	if (status != VIRTIO_BLK_S_OK && status != VIRTIO_BLK_S_IOERR &&
	    status != VIRTIO_BLK_S_UNSUPP) {
		log_err(TAG, "q%u: request on block %" PRIu64 " completed "
			"(used len %u) with status byte 0x%02x: %s", r->queue,
			r->block, len, status, status == STATUS_UNSET ?
			"the back-end did not write it" : "not a virtio-blk "
			"status");
		return -EPROTO;
	}
	lat_hist_add(&st->lat[r->op], now - r->start_ns);
	st->queue_ios[r->queue]++;
	if (status == VIRTIO_BLK_S_IOERR)
		st->io_errors++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		st->unsupported++;
	else {
		st->ios[r->op]++;
		if (r->op != DRIVE_OP_FLUSH)
			st->bytes[r->op] += j->o.bs;
	}
	if (!j->busy || r->op == DRIVE_OP_FLUSH)
		return 0;
	j->busy[r->block] = 0;
	if (r->op == DRIVE_OP_WRITE) {
		j->gen[r->block] = status == VIRTIO_BLK_S_OK ? r->gen :
				   GEN_UNKNOWN;
		return 0;
	}
	if (!r->checked || status != VIRTIO_BLK_S_OK)
		return 0;
	st->verified++;
	v = drive_verify_check(sl->data, j->o.bs, j->o.offset +
			       r->block * j->o.bs, r->gen, j->o.seed, &found);
	if (v != DRIVE_VERIFY_OK) {
		st->verify_errors++;
		drive_report_verify(j, r, v, &found);
	}
	return 0;
}

static void drive_progress(const struct drive_job *j, enum drive_phase p,
			   double t, const struct drive_stats *st,
			   const uint64_t last[DRIVE_OP_NR], double dt,
			   unsigned in_flight)
{
	double rd = dt > 0 ? (double)(st->ios[DRIVE_OP_READ] -
				     last[DRIVE_OP_READ]) / dt : 0;
	double wr = dt > 0 ? (double)(st->ios[DRIVE_OP_WRITE] -
				     last[DRIVE_OP_WRITE]) / dt : 0;
	double mib = (rd + wr) * j->o.bs / (1024.0 * 1024.0);

	fprintf(stderr, "%s[%s %6.1fs] read %.0f IOPS, write %.0f IOPS, "
		"%.1f MiB/s, %u in flight, %" PRIu64 " errors%s",
		j->o.progress_tty ? "\r" : "", drive_phase_name(p), t, rd, wr,
		mib, in_flight, st->io_errors + st->unsupported +
		st->verify_errors, j->o.progress_tty ? "\033[K" : "\n");
	fflush(stderr);
}

/*
 * The back-end has nothing to say on the main socket while the job runs:
 * readable means it hung up (or broke the protocol), either way no more
 * completions will come.
 */
static int drive_check_socket(struct drive_job *j, short revents)
{
	int fd = vhost_user_client_fd(j->dev->client);
	char c;
	ssize_t n;

	if (!revents) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		revents = pfd.revents;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n > 0)
		log_err(TAG, "the back-end sent an unrequested message on its "
			"socket");
	else
		log_msg(j->dev->opts.reconnect_ms > 0 ? LOG_LEVEL_WARN :
			LOG_LEVEL_ERR, TAG, "the back-end closed the "
			"connection%s%s", n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
	/* Nothing more to say to it: closing must not wait on it. */
	j->dev->gone = true;
	return -ECONNRESET;
}

/*
 * The back-end went away: with --reconnect, connect again and let the
 * requests in flight finish on the restarted back-end.
 */
static int drive_job_hangup(struct drive_job *j, int err)
{
	struct drive_dev *d = j->dev;

	if (err != -ECONNRESET || d->opts.reconnect_ms <= 0)
		return err;
	if (drive_dev_reconnect(d))
		return err;
	/* libvhost-user kicks itself after a restart; not every back-end. */
	for (unsigned q = 0; q < d->nq; q++)
		(void)eventfd_write(d->q[q].kick_fd, 1);
	return 0;
}

/* Sleep on the call eventfds until a completion or slice_ms. */
static int drive_wait_event(struct drive_job *j, int slice_ms)
{
	struct pollfd pfd[VHOST_USER_MAX_VRINGS + 1];
	unsigned n = 0;
	uint64_t v;
	int ret;

	for (unsigned q = 0; q < j->dev->nq; q++) {
		if (!vq_in_flight(&j->dev->q[q].vq))
			continue;
		if (vq_notify_enable(&j->dev->q[q].vq))
			return 0;	/* arrived meanwhile */
		pfd[n].fd = j->dev->q[q].call_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (!n)
		return 0;
	pfd[n].fd = vhost_user_client_fd(j->dev->client);
	pfd[n].events = POLLIN;
	if (poll(pfd, n + 1, slice_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			(void)!read(pfd[i].fd, &v, sizeof(v));
	ret = pfd[n].revents ? drive_check_socket(j, pfd[n].revents) : 0;
	return ret;
}

int drive_job_run(struct drive_job *j, enum drive_phase p,
		  struct drive_stats *st)
{
	struct drive_dev *d = j->dev;
	uint64_t limit, submitted = 0, in_flight = 0, last_ios[DRIVE_OP_NR];
	uint64_t start, now, deadline = 0, last_done, last_progress, last_check;
	uint64_t timeout_ns = (uint64_t)j->o.timeout_ms * 1000000ull;
	bool stopping = false, printed = false;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	st->nq = d->nq;
	for (unsigned i = 0; i < DRIVE_OP_NR; i++)
		lat_hist_init(&st->lat[i]);
	memset(last_ios, 0, sizeof(last_ios));
	j->cursor = 0;
	j->unflushed = 0;
	if (p == DRIVE_PHASE_MAIN) {
		limit = j->o.count;
		if (!limit && j->o.runtime <= 0)
			limit = j->nblocks;
	} else {
		limit = j->nblocks;
	}
	for (unsigned q = 0; q < d->nq; q++) {
		if (j->o.event_wait)
			(void)vq_notify_enable(&d->q[q].vq);
		else
			vq_notify_disable(&d->q[q].vq);
	}
	start = last_done = last_progress = last_check = now_ns();
	if (p == DRIVE_PHASE_MAIN && j->o.runtime > 0)
		deadline = start + (uint64_t)(j->o.runtime * 1e9);

	for (;;) {
		bool progress = false;

		now = now_ns();
		if (!stopping && ((limit && submitted >= limit) ||
				  (deadline && now >= deadline) ||
				  (j->o.stop && *j->o.stop))) {
			stopping = true;
			st->interrupted = j->o.stop && *j->o.stop;
		}
		if (stopping && !in_flight)
			break;

		for (unsigned q = 0; q < d->nq && !stopping; q++) {
			unsigned added = 0;

			while (!limit || submitted < limit) {
				ret = drive_submit(j, q, p, now);
				if (ret < 0)
					goto out;
				if (!ret)
					break;
				added++;
				if (ret == 1)
					submitted++;
			}
			in_flight += added;
			if (added && vq_publish(&d->q[q].vq) &&
			    eventfd_write(d->q[q].kick_fd, 1) < 0) {
				ret = -errno;
				log_err(TAG, "q%u: kick: %s", q, strerror(errno));
				goto out;
			}
		}

		now = now_ns();
		for (unsigned q = 0; q < d->nq; q++) {
			void *token;
			uint32_t len;

			while ((ret = vq_get_used(&d->q[q].vq, &token,
							  &len)) == 1) {
				ret = drive_complete(j, token, len, now, st);
				if (ret)
					goto out;
				in_flight--;
				progress = true;
			}
			/* Event index: keep used_event behind the consumer. */
			if (!j->o.event_wait)
				vq_notify_disable(&d->q[q].vq);
			if (ret < 0) {
				log_err(TAG, "q%u: the back-end broke the "
					"ring: %s", q,
					vq_error(&d->q[q].vq));
				goto out;
			}
		}
		ret = 0;
		if (progress) {
			last_done = now;
		} else if (in_flight) {
			if (now - last_done > timeout_ns) {
				log_err(TAG, "the back-end completed nothing "
					"for %d ms with %" PRIu64 " requests in "
					"flight", j->o.timeout_ms, in_flight);
				ret = -ETIMEDOUT;
				goto out;
			}
			if (j->o.event_wait) {
				ret = drive_wait_event(j, EVENT_SLICE_MS);
			} else if (now - last_check > SOCKET_CHECK_NS) {
				ret = drive_check_socket(j, 0);
				last_check = now;
			} else {
				__builtin_ia32_pause();
			}
			if (ret) {
				ret = drive_job_hangup(j, ret);
				if (ret)
					goto out;
				last_done = now_ns();
			}
		}
		if (j->o.progress && now - last_progress >= PROGRESS_NS) {
			drive_progress(j, p, (double)(now - start) / 1e9, st,
				       last_ios, (double)(now - last_progress)
				       / 1e9, (unsigned)in_flight);
			last_ios[DRIVE_OP_READ] = st->ios[DRIVE_OP_READ];
			last_ios[DRIVE_OP_WRITE] = st->ios[DRIVE_OP_WRITE];
			last_progress = now;
			printed = true;
		}
	}
out:
	st->elapsed = (double)(now_ns() - start) / 1e9;
	if (printed && j->o.progress_tty)
		fputc('\n', stderr);
	return ret;
}
