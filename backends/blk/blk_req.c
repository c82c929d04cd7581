/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_req.h"

#include <errno.h>
#include <string.h>

#define SECTOR	VIRTIO_BLK_SECTOR_SIZE

/* Gather len bytes from the start of the iovecs; false if they are short. */
static bool blk_iov_gather(const struct iovec *iov, unsigned niov,
			   void *dst, size_t len)
{
	uint8_t *p = dst;

	for (unsigned i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(p, iov[i].iov_base, n);
		p += n;
		len -= n;
	}
	return len == 0;
}

uint64_t blk_iov_from_buf(const struct iovec *iov, unsigned niov,
			  const void *src, uint64_t len)
{
	const uint8_t *p = src;
	uint64_t done = 0;

	for (unsigned i = 0; i < niov && done < len; i++) {
		uint64_t n = iov[i].iov_len < len - done ?
			     iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, p + done, n);
		done += n;
	}
	return done;
}

/* Drop the first `skip` bytes of iov[0, *n) in place; returns the new start. */
static struct iovec *blk_iov_skip(struct iovec *iov, unsigned *n, uint64_t skip)
{
	while (*n && skip >= iov->iov_len) {
		skip -= iov->iov_len;
		iov++;
		(*n)--;
	}
	if (*n && skip) {
		iov->iov_base = (uint8_t *)iov->iov_base + skip;
		iov->iov_len -= skip;
	}
	return iov;
}

/* Drop the last byte (the status) of iov[0, *n). */
static void blk_iov_drop_last(struct iovec *iov, unsigned *n)
{
	if (*n == 0)
		return;
	if (--iov[*n - 1].iov_len == 0)
		(*n)--;
}

static int blk_req_done(struct blk_req *r, uint8_t status)
{
	r->op = BLK_OP_DONE;
	r->status = status;
	return 0;
}

/* Sector range [sector, sector + count) inside the disk? */
static bool blk_range_ok(const struct blk_disk *d, uint64_t sector,
			 uint64_t count)
{
	return sector <= d->capacity && count <= d->capacity - sector;
}

static int blk_req_dwz(const struct blk_disk *d, struct blk_req *r,
		       struct iovec *out, unsigned nout, uint64_t out_len)
{
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	uint32_t max_seg = discard ? d->max_discard_seg :
				     d->max_write_zeroes_seg;
	uint32_t max_sectors = discard ? d->max_discard_sectors :
					 d->max_write_zeroes_sectors;
	struct virtio_blk_discard_write_zeroes seg;
	uint32_t known = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

	if (d->read_only)
		return blk_req_done(r, VIRTIO_BLK_S_IOERR);
	if (out_len == 0 || out_len % sizeof(seg) ||
	    out_len / sizeof(seg) > max_seg ||
	    out_len / sizeof(seg) > BLK_REQ_MAX_DWZ_SEG)
		return blk_req_done(r, VIRTIO_BLK_S_IOERR);
	r->nseg = out_len / sizeof(seg);
	/*
	 * Segments are copied out once and all checked before any is acted
	 * on: the driver cannot change them afterwards, and one bad segment
	 * rejects the whole request.
	 */
	for (unsigned i = 0; i < r->nseg; i++) {
		if (!blk_iov_gather(out, nout, &seg, sizeof(seg)))
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		out = blk_iov_skip(out, &nout, sizeof(seg));
		if (seg.flags & ~known)
			return blk_req_done(r, VIRTIO_BLK_S_UNSUPP);
		if (seg.num_sectors == 0 || seg.num_sectors > max_sectors ||
		    !blk_range_ok(d, seg.sector, seg.num_sectors))
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		r->seg[i] = (struct blk_seg){
			.sector = seg.sector, .num = seg.num_sectors, .flags = seg.flags,
		};
	}
	r->op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
	return 0;
}

int blk_req_decode(const struct blk_disk *d, struct blk_chain *c,
		   struct blk_req *r)
{
	struct virtio_blk_outhdr hdr;
	struct iovec *out = c->iov, *in = c->iov + c->nout;
	unsigned nout = c->nout, nin = c->nin;
	uint64_t out_len, in_len;

	memset(r, 0, offsetof(struct blk_req, seg));
	if (!c->status)
		return -EINVAL;
	if (c->flags || c->out_len < sizeof(hdr) ||
	    !blk_iov_gather(out, nout, &hdr, sizeof(hdr)))
		return blk_req_done(r, VIRTIO_BLK_S_IOERR);

	/* Header copied once; data is what follows it, status is dropped. */
	r->type = hdr.type;
	r->sector = hdr.sector;
	out = blk_iov_skip(out, &nout, sizeof(hdr));
	out_len = c->out_len - sizeof(hdr);
	blk_iov_drop_last(in, &nin);
	in_len = c->in_len - 1;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = hdr.type == VIRTIO_BLK_T_OUT;
		uint64_t len = write ? out_len : in_len;

		if (write && d->read_only)
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		/* Buffers in the wrong direction, or partial sectors. */
		if ((write ? in_len : out_len) != 0 || len % SECTOR ||
		    (write ? nout : nin) > d->seg_max)
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		if (!blk_range_ok(d, hdr.sector, len / SECTOR))
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		if (len == 0)
			return blk_req_done(r, VIRTIO_BLK_S_OK);
		r->op = write ? BLK_OP_WRITE : BLK_OP_READ;
		r->bytes = len;
		r->iov = write ? out : in;
		r->niov = write ? nout : nin;
		return 0;
	}
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_OP_FLUSH;
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		if (in_len == 0)
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		r->op = BLK_OP_GET_ID;
		r->iov = in;
		r->niov = nin;
		r->bytes = in_len < VIRTIO_BLK_ID_BYTES ? in_len :
							  VIRTIO_BLK_ID_BYTES;
		return 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (in_len != 0)
			return blk_req_done(r, VIRTIO_BLK_S_IOERR);
		return blk_req_dwz(d, r, out, nout, out_len);
	default:
		return blk_req_done(r, VIRTIO_BLK_S_UNSUPP);
	}
}

void blk_disk_config(const struct blk_disk *d, uint16_t num_queues,
		     struct virtio_blk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = d->capacity;
	/* Advisory: longer buffers work too. */
	cfg->size_max = 1u << 20;
	cfg->seg_max = d->seg_max;
	cfg->blk_size = SECTOR;
	cfg->physical_block_exp = 3;	/* 4 KiB pages of the page cache */
	cfg->min_io_size = 1;
	cfg->opt_io_size = 0;
	cfg->wce = __atomic_load_n(&d->writeback, __ATOMIC_RELAXED);
	cfg->num_queues = num_queues;
	cfg->max_discard_sectors = d->max_discard_sectors;
	cfg->max_discard_seg = d->max_discard_seg;
	cfg->discard_sector_alignment = 8;
	cfg->max_write_zeroes_sectors = d->max_write_zeroes_sectors;
	cfg->max_write_zeroes_seg = d->max_write_zeroes_seg;
	cfg->write_zeroes_may_unmap = 1;
}
