/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/blk: request decoding and validation.  Every rejected request
 * must get the status the virtio 1.2 spec names (IOERR or UNSUPP) and no
 * I/O; requests must be decoded from any framing of header and data.
 */
#include <errno.h>

#include "blk_req.h"
#include "blk_testmem.h"
#include "unit.h"

#define CAP	1000ull

static struct testmem tm;
static struct blk_chain chain;
static struct blk_req req;
static const struct blk_disk disk = {
	.capacity = CAP,
	.seg_max = 4,
	.max_discard_sectors = 64,
	.max_discard_seg = 2,
	.max_write_zeroes_sectors = 32,
	.max_write_zeroes_seg = 3,
	.serial = "serial-0123456789abc",	/* 20 bytes, no NUL */
};
static struct blk_disk ro_disk;

static int setup(void)
{
	ro_disk = disk;
	ro_disk.read_only = true;
	return tm_init(&tm);
}

static int teardown(void)
{
	tm_fini(&tm);
	return 0;
}

struct buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Lay bufs out as a chain at descriptor 0, walk and decode it. */
static int decode(const struct blk_disk *d, const struct buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tm_desc(&tm, i, b[i].addr, b[i].len,
			(b[i].write ? VRING_DESC_F_WRITE : 0) |
			(i + 1 < n ? VRING_DESC_F_NEXT : 0), i + 1);
	CU_ASSERT_EQUAL_FATAL(blk_chain_walk(&tm.mem, &tm.vr, 0, &chain), 0);
	return blk_req_decode(d, &chain, &req);
}

static uint64_t hdr(uint32_t type, uint64_t sector)
{
	uint64_t a = tm_alloc(&tm, 16);
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(tm_ptr(&tm, a), &h, sizeof(h));
	return a;
}

static void expect_status(const struct blk_disk *d, const struct buf *b,
			  unsigned n, uint8_t status)
{
	CU_ASSERT_EQUAL(decode(d, b, n), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_DONE);
	CU_ASSERT_EQUAL(req.status, status);
}

static void test_read_write(void)
{
	uint64_t d = tm_alloc(&tm, 1024), s = tm_alloc(&tm, 1);
	struct buf in[] = { { hdr(VIRTIO_BLK_T_IN, 10), 16, false },
			    { d, 1024, true }, { s, 1, true } };
	struct buf out[] = { { hdr(VIRTIO_BLK_T_OUT, CAP - 2), 16, false },
			     { d, 1024, false }, { s, 1, true } };

	CU_ASSERT_EQUAL(decode(&disk, in, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_READ);
	CU_ASSERT_EQUAL(req.sector, 10);
	CU_ASSERT_EQUAL(req.bytes, 1024);
	CU_ASSERT_EQUAL(req.niov, 1);
	CU_ASSERT_PTR_EQUAL(req.iov[0].iov_base, tm_ptr(&tm, d));
	CU_ASSERT_EQUAL(decode(&disk, out, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_WRITE);
	CU_ASSERT_EQUAL(req.bytes, 1024);
}

static void test_any_layout(void)
{
	/* Header split 8 + 8, the data in the same buffer as its end. */
	uint64_t a = tm_alloc(&tm, 8 + 8 + 512), s = tm_alloc(&tm, 1);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_OUT, .sector = 7 };
	uint64_t b = tm_alloc(&tm, 8);
	struct buf bufs[] = { { b, 8, false }, { a, 8 + 512, false },
			      { s, 1, true } };

	memcpy(tm_ptr(&tm, b), &h, 8);
	memcpy(tm_ptr(&tm, a), (uint8_t *)&h + 8, 8);
	CU_ASSERT_EQUAL(decode(&disk, bufs, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_WRITE);
	CU_ASSERT_EQUAL(req.sector, 7);
	CU_ASSERT_EQUAL(req.bytes, 512);
	CU_ASSERT_EQUAL(req.niov, 1);
	CU_ASSERT_PTR_EQUAL(req.iov[0].iov_base, tm_ptr(&tm, a + 8));

	/* Data and status in one writable buffer. */
	uint64_t ds = tm_alloc(&tm, 513);
	struct buf in[] = { { hdr(VIRTIO_BLK_T_IN, 0), 16, false },
			    { ds, 513, true } };

	CU_ASSERT_EQUAL(decode(&disk, in, 2), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_READ);
	CU_ASSERT_EQUAL(req.bytes, 512);
	CU_ASSERT_PTR_EQUAL(chain.status, (uint8_t *)tm_ptr(&tm, ds) + 512);
}

static void test_range(void)
{
	uint64_t d = tm_alloc(&tm, 1024), s = tm_alloc(&tm, 1);
	uint64_t bad[] = { CAP, CAP - 1, UINT64_MAX, UINT64_MAX - 1,
			   (UINT64_MAX / 512) + 1 };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf in[] = { { hdr(VIRTIO_BLK_T_IN, bad[i]), 16, false },
				    { d, 1024, true }, { s, 1, true } };
		struct buf out[] = { { hdr(VIRTIO_BLK_T_OUT, bad[i]), 16,
				       false },
				     { d, 1024, false }, { s, 1, true } };

		expect_status(&disk, in, 3, VIRTIO_BLK_S_IOERR);
		expect_status(&disk, out, 3, VIRTIO_BLK_S_IOERR);
	}
	/* The last two sectors exactly. */
	struct buf last[] = { { hdr(VIRTIO_BLK_T_IN, CAP - 2), 16, false },
			      { d, 1024, true }, { s, 1, true } };

	CU_ASSERT_EQUAL(decode(&disk, last, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_READ);
}

static void test_layout_errors(void)
{
	uint64_t d = tm_alloc(&tm, 1024), s = tm_alloc(&tm, 1),
		 h8 = tm_alloc(&tm, 8);
	/* Partial sector. */
	struct buf part[] = { { hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
			      { d, 100, false }, { s, 1, true } };
	/* Data in the wrong direction for the type. */
	struct buf wrongdir[] = { { hdr(VIRTIO_BLK_T_IN, 0), 16, false },
				  { d, 512, false }, { s, 1, true } };
	struct buf wrongdir2[] = { { hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
				   { d, 512, true }, { s, 1, true } };
	/* Header short. */
	struct buf shorthdr[] = { { h8, 8, false }, { s, 1, true } };
	/* Header outside guest memory. */
	struct buf nohdr[] = { { 0x10, 16, false }, { d, 512, false },
			       { s, 1, true } };
	/* More data buffers than seg_max. */
	struct buf many[] = { { hdr(VIRTIO_BLK_T_IN, 0), 16, false },
			      { d, 512, true }, { d, 512, true },
			      { d, 512, true }, { d, 512, true },
			      { d, 512, true }, { s, 1, true } };
	/* Writable before readable. */
	struct buf order[] = { { d, 512, true },
			       { hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
			       { s, 1, true } };

	expect_status(&disk, part, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, wrongdir, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, wrongdir2, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, shorthdr, 2, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, nohdr, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, many, 7, VIRTIO_BLK_S_IOERR);
	expect_status(&disk, order, 3, VIRTIO_BLK_S_IOERR);
}

static void test_no_status(void)
{
	uint64_t d = tm_alloc(&tm, 512);
	struct buf ro[] = { { hdr(VIRTIO_BLK_T_IN, 0), 16, false },
			    { d, 512, false } };

	CU_ASSERT_EQUAL(decode(&disk, ro, 2), -EINVAL);
}

static void test_read_only(void)
{
	uint64_t d = tm_alloc(&tm, 512), s = tm_alloc(&tm, 1),
		 seg = tm_alloc(&tm, 16);
	struct virtio_blk_discard_write_zeroes z = { .sector = 0,
						     .num_sectors = 8 };
	struct buf out[] = { { hdr(VIRTIO_BLK_T_OUT, 0), 16, false },
			     { d, 512, false }, { s, 1, true } };
	struct buf in[] = { { hdr(VIRTIO_BLK_T_IN, 0), 16, false },
			    { d, 512, true }, { s, 1, true } };
	struct buf wz[] = { { hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0), 16, false },
			    { seg, 16, false }, { s, 1, true } };
	struct buf disc[] = { { hdr(VIRTIO_BLK_T_DISCARD, 0), 16, false },
			      { seg, 16, false }, { s, 1, true } };
	struct buf flush[] = { { hdr(VIRTIO_BLK_T_FLUSH, 0), 16, false },
			       { s, 1, true } };

	memcpy(tm_ptr(&tm, seg), &z, sizeof(z));
	expect_status(&ro_disk, out, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&ro_disk, wz, 3, VIRTIO_BLK_S_IOERR);
	expect_status(&ro_disk, disc, 3, VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(decode(&ro_disk, in, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_READ);
	CU_ASSERT_EQUAL(decode(&ro_disk, flush, 2), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_FLUSH);
}

static void test_types(void)
{
	uint64_t s = tm_alloc(&tm, 1), id = tm_alloc(&tm, 20);
	struct buf unknown[] = { { hdr(99, 0), 16, false }, { s, 1, true } };
	struct buf lifetime[] = { { hdr(VIRTIO_BLK_T_GET_LIFETIME, 0), 16,
				    false }, { id, 8, true }, { s, 1, true } };
	struct buf getid[] = { { hdr(VIRTIO_BLK_T_GET_ID, 0), 16, false },
			       { id, 20, true }, { s, 1, true } };
	struct buf getid0[] = { { hdr(VIRTIO_BLK_T_GET_ID, 0), 16, false },
				{ s, 1, true } };
	uint8_t out[20];

	expect_status(&disk, unknown, 2, VIRTIO_BLK_S_UNSUPP);
	expect_status(&disk, lifetime, 3, VIRTIO_BLK_S_UNSUPP);
	expect_status(&disk, getid0, 2, VIRTIO_BLK_S_IOERR);
	CU_ASSERT_EQUAL(decode(&disk, getid, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_GET_ID);
	CU_ASSERT_EQUAL(req.bytes, 20);
	CU_ASSERT_EQUAL(blk_iov_from_buf(req.iov, req.niov, disk.serial,
					 req.bytes), 20);
	memcpy(out, tm_ptr(&tm, id), 20);
	CU_ASSERT_EQUAL(memcmp(out, disk.serial, 20), 0);
}

static void test_discard_write_zeroes(void)
{
	uint64_t s = tm_alloc(&tm, 1), seg = tm_alloc(&tm, 4 * 16);
	struct virtio_blk_discard_write_zeroes *z = tm_ptr(&tm, seg);
	struct buf wz2[] = { { hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0), 16, false },
			     { seg, 32, false }, { s, 1, true } };
	struct buf disc1[] = { { hdr(VIRTIO_BLK_T_DISCARD, 0), 16, false },
			       { seg, 16, false }, { s, 1, true } };
	struct buf disc3[] = { { hdr(VIRTIO_BLK_T_DISCARD, 0), 16, false },
			       { seg, 48, false }, { s, 1, true } };
	struct buf partial[] = { { hdr(VIRTIO_BLK_T_DISCARD, 0), 16, false },
				 { seg, 20, false }, { s, 1, true } };

	z[0] = (struct virtio_blk_discard_write_zeroes){ 8, 16, 0 };
	z[1] = (struct virtio_blk_discard_write_zeroes){
		100, 32, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
	CU_ASSERT_EQUAL(decode(&disk, wz2, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_WRITE_ZEROES);
	CU_ASSERT_EQUAL(req.nseg, 2);
	CU_ASSERT_EQUAL(req.seg[1].sector, 100);
	CU_ASSERT_EQUAL(req.seg[1].num, 32);
	CU_ASSERT_EQUAL(req.seg[1].flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	/* Copied: the driver changing them now changes nothing. */
	z[1].sector = CAP + 5;
	CU_ASSERT_EQUAL(req.seg[1].sector, 100);

	/* One bad segment rejects the whole request. */
	z[1] = (struct virtio_blk_discard_write_zeroes){ CAP - 8, 16, 0 };
	expect_status(&disk, wz2, 3, VIRTIO_BLK_S_IOERR);
	z[1] = (struct virtio_blk_discard_write_zeroes){ 0, 33, 0 };
	expect_status(&disk, wz2, 3, VIRTIO_BLK_S_IOERR);	/* > max */
	z[1] = (struct virtio_blk_discard_write_zeroes){ UINT64_MAX, 1, 0 };
	expect_status(&disk, wz2, 3, VIRTIO_BLK_S_IOERR);
	z[1] = (struct virtio_blk_discard_write_zeroes){ 0, 1, 0x80 };
	expect_status(&disk, wz2, 3, VIRTIO_BLK_S_UNSUPP);	/* flag */

	/* DISCARD: UNMAP is not a discard flag; segment count limit. */
	z[0] = (struct virtio_blk_discard_write_zeroes){ 8, 16, 0 };
	CU_ASSERT_EQUAL(decode(&disk, disc1, 3), 0);
	CU_ASSERT_EQUAL(req.op, BLK_OP_DISCARD);
	z[0].flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	expect_status(&disk, disc1, 3, VIRTIO_BLK_S_UNSUPP);
	z[0].flags = 0;
	z[1] = z[2] = z[0];
	expect_status(&disk, disc3, 3, VIRTIO_BLK_S_IOERR);	/* > 2 segs */
	z[0].num_sectors = 65;
	expect_status(&disk, disc1, 3, VIRTIO_BLK_S_IOERR);	/* > max */
	expect_status(&disk, partial, 3, VIRTIO_BLK_S_IOERR);
}

static void test_config(void)
{
	struct virtio_blk_config cfg;

	blk_disk_config(&disk, 3, &cfg);
	CU_ASSERT_EQUAL(cfg.capacity, CAP);
	CU_ASSERT_EQUAL(cfg.blk_size, 512);
	CU_ASSERT_EQUAL(cfg.seg_max, 4);
	CU_ASSERT_EQUAL(cfg.num_queues, 3);
	CU_ASSERT_EQUAL(cfg.max_discard_sectors, 64);
	CU_ASSERT_EQUAL(cfg.max_discard_seg, 2);
	CU_ASSERT_EQUAL(cfg.max_write_zeroes_sectors, 32);
	CU_ASSERT_EQUAL(cfg.max_write_zeroes_seg, 3);
	CU_ASSERT_EQUAL(cfg.write_zeroes_may_unmap, 1);
}

static CU_TestInfo req_tests[] = {
	{ "IN and OUT", test_read_write },
	{ "any framing of header, data, status", test_any_layout },
	{ "sector range against the capacity", test_range },
	{ "layout errors answered IOERR", test_layout_errors },
	{ "no status byte: unanswerable", test_no_status },
	{ "read-only refuses writes", test_read_only },
	{ "types: unknown, GET_ID", test_types },
	{ "DISCARD and WRITE_ZEROES segments", test_discard_write_zeroes },
	{ "config space", test_config },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "blk_req", setup, teardown, NULL, NULL, req_tests },
	CU_SUITE_INFO_NULL,
};
