/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One virtio-blk queue served with io_uring: a loop on one thread takes
 * requests from the avail ring, submits their I/O in batches, completes
 * them as their CQEs arrive, and sleeps on the kick eventfd (through the
 * same ring) after polling briefly with nothing to do.  No DPDK here: the
 * vhost glue supplies the rings and the hooks.
 */
#ifndef SPLITVM_BLK_QUEUE_H
#define SPLITVM_BLK_QUEUE_H

#include <stdint.h>

#include "blk_req.h"
#include "blk_vring.h"

/*
 * Requests in flight at once per queue.  Each holds a translated chain
 * (~4 KiB), so this bounds memory whatever Queue Size the driver picks;
 * a fuller ring just waits for completions.
 */
#define BLK_QUEUE_MAX_SLOTS	256

struct blk_queue;

struct blk_queue_ops {
	/*
	 * The driver wants an interrupt for newly used entries.  -EAGAIN:
	 * not now (retried on the next turn of the loop, which does not
	 * sleep until it went through).
	 */
	int (*notify)(void *opaque);
	/*
	 * Inflight tracking (each may be NULL), in the order the vhost-user
	 * inflight protocol needs: chain c was taken from the ring (set;
	 * *entry: what names it in the region, split: its head; non-zero:
	 * it cannot be recorded and the queue stops); its used element is
	 * about to be published (last); it was published (clear; split:
	 * used->idx is now used_idx).  Split publishes one element at a
	 * time between last and clear; packed calls them around the store
	 * of the used descriptor's flags.
	 */
	int (*inflight_set)(void *opaque, const struct blk_chain *c,
			    uint16_t *entry);
	void (*inflight_last)(void *opaque, uint16_t entry);
	void (*inflight_clear)(void *opaque, uint16_t entry, uint16_t used_idx);
};

struct blk_queue_config {
	const char *name;		/* log tag, e.g. "blk0.q0" */
	const struct blk_mem *mem;
	struct blk_vring vring;		/* with last_avail / used_idx set */
	int kick_fd;
	int image_fd;
	const struct blk_disk *disk;
	unsigned poll_us;		/* spin this long before sleeping */
	const struct blk_queue_ops *ops;
	void *opaque;
};

/* Latency histogram: bucket 0 is < 1 us, bucket b is [2^(b-1), 2^b) us. */
#define BLK_LAT_BUCKETS		24

/* Counters; read from another thread they are approximate. */
struct blk_queue_stats {
	uint64_t reqs[8];		/* by enum blk_op */
	uint64_t bytes_read, bytes_written;
	uint64_t errors;		/* answered IOERR or UNSUPP */
	uint64_t bad_chains;		/* could not be answered at all */
	uint64_t sleeps, kicks, notifies;
	uint64_t syncs;			/* fdatasync after writes (writethrough) */
	uint64_t bounced;		/* O_DIRECT requests through a bounce buffer */
	uint64_t inflight;
	/* From taking a request off the ring to its used element. */
	uint64_t latency[BLK_LAT_BUCKETS];
};

/* Bucket of a latency in nanoseconds. */
unsigned blk_lat_bucket(uint64_t ns);

int blk_queue_create(const struct blk_queue_config *cfg,
		     struct blk_queue **out) __attribute__((warn_unused_result));

/*
 * Requests the driver had made available before a back-end restart and
 * that were never completed: submit them first (heads from the inflight
 * region, in submission order).  Call before blk_queue_run().
 */
int blk_queue_resubmit(struct blk_queue *q, const uint16_t *heads, unsigned n)
	__attribute__((warn_unused_result));

/*
 * Packed: one request a crashed predecessor took and never completed,
 * from the n ring descriptors the inflight region kept of it (entry:
 * its head there).  Call before blk_queue_run(), oldest first.
 * -ENOSPC: no free slot; -EINVAL: the copy is not one whole chain.
 */
int blk_queue_resubmit_copy(struct blk_queue *q, uint16_t entry,
			    const struct vring_packed_desc *descs, unsigned n)
	__attribute__((warn_unused_result));

/*
 * Serve the queue until blk_queue_stop(); returns 0 once every request
 * taken from the ring has completed, or a negative errno when the queue
 * broke (the driver corrupted the avail ring).
 */
int blk_queue_run(struct blk_queue *q);

/* From any thread: make blk_queue_run() finish its requests and return. */
void blk_queue_stop(struct blk_queue *q);

/*
 * Where the rings stand (exact after blk_queue_run() returned); packed:
 * as vhost-user carries them, wrap counter in bit 15.
 */
void blk_queue_indexes(const struct blk_queue *q, uint16_t *last_avail,
		       uint16_t *used_idx);

void blk_queue_get_stats(const struct blk_queue *q, struct blk_queue_stats *s);

void blk_queue_destroy(struct blk_queue *q);

#endif
