/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-blk requests: a walked descriptor chain is decoded and checked
 * completely (layout, type, sector range against the capacity, segment
 * limits, read-only) before any I/O starts, so a rejected request never
 * touches the image and always gets a status.
 */
#ifndef SPLITVM_BLK_REQ_H
#define SPLITVM_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "blk_vring.h"
#include "virtio.h"

/* Most discard / write-zeroes segments per request (max_*_seg). */
#define BLK_REQ_MAX_DWZ_SEG	16

/* The disk as the driver sees it in config space. */
struct blk_disk {
	uint64_t capacity;		/* 512-byte sectors */
	bool read_only;
	/*
	 * Writeback cache (config wce, VIRTIO_BLK_F_CONFIG_WCE): 1, writes
	 * complete from the page cache and FLUSH makes them stable; 0,
	 * writethrough: each write, discard and write-zeroes completes only
	 * after fdatasync.  The driver may change it any time: accessed
	 * with __atomic builtins.
	 */
	uint8_t writeback;
	/*
	 * The image is open with O_DIRECT: a READ/WRITE whose buffers are
	 * not all dio_align-aligned (address and length) goes through an
	 * aligned bounce buffer.
	 */
	bool direct;
	uint32_t dio_align;
	uint32_t seg_max;		/* data buffers per request */
	uint32_t max_discard_sectors;	/* per segment */
	uint32_t max_discard_seg;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	char serial[VIRTIO_BLK_ID_BYTES];	/* not NUL-terminated if full */
};

enum blk_op {
	BLK_OP_DONE,		/* answered without I/O: see status */
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_GET_ID,
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,	/* seg[].flags may hold UNMAP */
};

struct blk_seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};

struct blk_req {
	enum blk_op op;
	uint8_t status;		/* VIRTIO_BLK_S_*, for BLK_OP_DONE */
	uint32_t type;		/* the header's type, for stats */
	uint64_t sector;
	uint64_t bytes;		/* data bytes (READ/WRITE/GET_ID) */
	struct iovec *iov;	/* data buffers: inside the chain's iov */
	unsigned niov;
	unsigned nseg;		/* DISCARD / WRITE_ZEROES, copied from the guest */
	struct blk_seg seg[BLK_REQ_MAX_DWZ_SEG];
};

/*
 * Decode chain c (whose iovs it trims to the data buffers) into r.
 * Returns 0 with r->op set (BLK_OP_DONE with an error status for a
 * rejected request), or -EINVAL when the chain has no status byte and
 * so cannot be answered at all.
 */
int blk_req_decode(const struct blk_disk *d, struct blk_chain *c,
		   struct blk_req *r) __attribute__((warn_unused_result));

/* Fill config space from the disk (virtio 1.2 5.2.4). */
void blk_disk_config(const struct blk_disk *d, uint16_t num_queues,
		     struct virtio_blk_config *cfg);

/* Copy up to len bytes of src into the iovecs; returns bytes copied. */
uint64_t blk_iov_from_buf(const struct iovec *iov, unsigned niov,
			  const void *src, uint64_t len);

#endif
