/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_probe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "log.h"
#include "vhost_user_client.h"

#define TAG		"drive-probe"
#define XFER		4096u		/* bytes per data buffer: any blk_size */
#define STATUS_UNSET	0xff
#define FILL		0xa5		/* data buffers before a probe */
#define QSIZE		64

enum expect {
	EXPECT_IOERR,		/* completed with VIRTIO_BLK_S_IOERR */
	EXPECT_UNSUPP,		/* completed with VIRTIO_BLK_S_UNSUPP */
	EXPECT_OK_OR_UNSUPP,	/* a valid request the device may lack */
	EXPECT_REFUSED,		/* anything but success, then keep serving */
};

enum layout {
	L_NORMAL,		/* header, data, status */
	L_NO_DATA,		/* header, status */
	L_HEADER_ONLY,		/* header alone: nowhere to put a status */
	L_STATUS_READONLY,	/* status descriptor without WRITE */
	L_SHORT_HEADER,		/* an 8-byte header descriptor */
	L_HEADER_WRITABLE,	/* header flagged WRITE */
	L_DATA_READONLY,	/* IN with a read-only data buffer */
	L_LOOP,			/* status links back to the header */
	L_NEXT_OUT_OF_TABLE,	/* header links past the descriptor table */
	L_SEGMENT,		/* header, one discard/write-zeroes segment, status */
};

struct probe {
	const char *name;
	const char *what;
	uint32_t type;
	int64_t sector;		/* < 0: capacity + sector */
	uint32_t len;		/* data bytes */
	enum layout layout;
	enum expect expect;
	unsigned feature;	/* a VIRTIO_BLK_F_* it needs, or 0 */
};

static const struct probe probes[] = {
	{ "read_past_end", "IN at the sector just past the end", VIRTIO_BLK_T_IN,
	  0, XFER, L_NORMAL, EXPECT_IOERR, 0 },
	{ "read_across_end", "IN starting 4 sectors before the end, 8 long",
	  VIRTIO_BLK_T_IN, -4, XFER, L_NORMAL, EXPECT_IOERR, 0 },
	{ "write_past_end", "OUT at the sector just past the end",
	  VIRTIO_BLK_T_OUT, 0, XFER, L_NORMAL, EXPECT_IOERR, 0 },
	{ "unknown_type", "request type 0x7f", 0x7f, 1, 0, L_NO_DATA,
	  EXPECT_UNSUPP, 0 },
	{ "get_id", "GET_ID into a 20-byte buffer", VIRTIO_BLK_T_GET_ID, 1,
	  VIRTIO_BLK_ID_BYTES, L_NORMAL, EXPECT_OK_OR_UNSUPP, 0 },
	{ "flush", "FLUSH", VIRTIO_BLK_T_FLUSH, 1, 0, L_NO_DATA,
	  EXPECT_OK_OR_UNSUPP, 0 },
	{ "header_only", "IN with a header and nothing else", VIRTIO_BLK_T_IN,
	  1, 0, L_HEADER_ONLY, EXPECT_REFUSED, 0 },
	{ "status_readonly", "IN whose status descriptor is read-only",
	  VIRTIO_BLK_T_IN, 1, XFER, L_STATUS_READONLY, EXPECT_REFUSED, 0 },
	{ "short_header", "IN with an 8-byte header descriptor",
	  VIRTIO_BLK_T_IN, 1, XFER, L_SHORT_HEADER, EXPECT_REFUSED, 0 },
	{ "header_writable", "IN whose header is device-writable",
	  VIRTIO_BLK_T_IN, 1, XFER, L_HEADER_WRITABLE, EXPECT_REFUSED, 0 },
	{ "read_into_readonly", "IN into a read-only data buffer",
	  VIRTIO_BLK_T_IN, 1, XFER, L_DATA_READONLY, EXPECT_REFUSED, 0 },
	{ "descriptor_loop", "IN whose status descriptor links back to the "
	  "header", VIRTIO_BLK_T_IN, 1, XFER, L_LOOP, EXPECT_REFUSED, 0 },
	{ "next_out_of_table", "IN whose header links past the descriptor "
	  "table", VIRTIO_BLK_T_IN, 1, XFER, L_NEXT_OUT_OF_TABLE,
	  EXPECT_REFUSED, 0 },
	/* The segment's range is past the end: nothing on the disk changes. */
	{ "discard_past_end", "DISCARD of 8 sectors past the end",
	  VIRTIO_BLK_T_DISCARD, 0, 8, L_SEGMENT, EXPECT_IOERR,
	  VIRTIO_BLK_F_DISCARD },
	{ "write_zeroes_across_end", "WRITE_ZEROES from 4 sectors before the "
	  "end, 8 long", VIRTIO_BLK_T_WRITE_ZEROES, -4, 8, L_SEGMENT,
	  EXPECT_IOERR, VIRTIO_BLK_F_WRITE_ZEROES },
};

#define NPROBES	(sizeof(probes) / sizeof(probes[0]))

unsigned blk_probe_count(void)
{
	return NPROBES;
}

const char *blk_probe_outcome_str(enum blk_probe_outcome o)
{
	switch (o) {
	case BLK_PROBE_STATUS:		return "status";
	case BLK_PROBE_NO_STATUS:	return "completed without status";
	case BLK_PROBE_NO_COMPLETION:	return "no completion";
	case BLK_PROBE_HUNG_UP:		return "hung up";
	case BLK_PROBE_RING_BROKEN:	return "broke the ring";
	case BLK_PROBE_SETUP_FAILED:	return "setup failed";
	case BLK_PROBE_SKIPPED:		return "skipped (not offered)";
	}
	return "?";
}

static const char *expect_str(enum expect e)
{
	switch (e) {
	case EXPECT_IOERR:		return "IOERR";
	case EXPECT_UNSUPP:		return "UNSUPP";
	case EXPECT_OK_OR_UNSUPP:	return "OK or UNSUPP";
	case EXPECT_REFUSED:		return "refused, keeps serving";
	}
	return "?";
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Wait for the chain with `token`: 1 done, 0 timeout, -ECONNRESET hung
 * up, -EPROTO ring broken.  Completions of other tokens are skipped.
 */
static int wait_token(struct drive_dev *d, void *token, int ms)
{
	struct split_ring *r = d->q[0].vq.split;
	uint64_t end = now_ms() + (uint64_t)ms;
	void *got;
	uint32_t len;
	int ret;

	for (;;) {
		while ((ret = split_ring_get_used(r, &got, &len)) == 1)
			if (got == token)
				return 1;
		if (ret < 0)
			return -EPROTO;
		if (drive_dev_hung_up(d))
			return -ECONNRESET;
		if (now_ms() >= end)
			return 0;
		if (!split_ring_notify_enable(r))
			poll(&(struct pollfd){ .fd = d->q[0].call_fd,
					       .events = POLLIN }, 1, 1);
		(void)!eventfd_read(d->q[0].call_fd, &(eventfd_t){ 0 });
	}
}

static void kick(struct drive_dev *d)
{
	if (split_ring_publish(d->q[0].vq.split))
		(void)eventfd_write(d->q[0].kick_fd, 1);
}

/* Build the probe's chain in slot 0 and queue it. */
static int add_probe(struct drive_dev *d, const struct probe *p)
{
	struct drive_slot *sl = &d->q[0].slots[0];
	struct split_ring_raw_desc c[4];
	const uint16_t N = VRING_DESC_F_NEXT, W = VRING_DESC_F_WRITE;
	bool in = p->type == VIRTIO_BLK_T_IN || p->type == VIRTIO_BLK_T_GET_ID;
	uint16_t dflags = in ? W : 0;
	unsigned n = 0;

	sl->hdr->type = p->type;
	sl->hdr->ioprio = 0;
	sl->hdr->sector = p->sector <= 0 ?
			  d->capacity + (uint64_t)p->sector : (uint64_t)p->sector;
	*sl->status = STATUS_UNSET;
	memset(sl->data, FILL, XFER);

	c[n++] = (struct split_ring_raw_desc){ sl->hdr_gpa, sizeof(*sl->hdr),
					       N, 1, false };
	if (p->layout == L_SEGMENT) {
		/* The range lives in the segment; the header's sector is 0. */
		struct virtio_blk_discard_write_zeroes seg = {
			.sector = sl->hdr->sector, .num_sectors = p->len,
		};

		sl->hdr->sector = 0;
		memcpy(sl->data, &seg, sizeof(seg));
		c[n++] = (struct split_ring_raw_desc){ sl->data_gpa, sizeof(seg),
						       N, 2, false };
		c[n++] = (struct split_ring_raw_desc){ sl->status_gpa, 1, W, 0,
						       false };
		return split_ring_add_raw(d->q[0].vq.split, c, n, sl);
	}
	switch (p->layout) {
	case L_HEADER_ONLY:
		c[0].flags = 0;
		return split_ring_add_raw(d->q[0].vq.split, c, n, sl);
	case L_SHORT_HEADER:
		c[0].len = 8;
		break;
	case L_HEADER_WRITABLE:
		c[0].flags |= W;
		break;
	case L_DATA_READONLY:
		dflags = 0;
		break;
	case L_NEXT_OUT_OF_TABLE:
		c[0].next = QSIZE + 5;
		c[0].next_absolute = true;
		break;
	default:
		break;
	}
	if (p->layout != L_NO_DATA && p->len) {
		c[n] = (struct split_ring_raw_desc){ sl->data_gpa, p->len,
						     dflags | N, (uint16_t)(n + 1),
						     false };
		n++;
	}
	c[n] = (struct split_ring_raw_desc){ sl->status_gpa, 1, W, 0, false };
	if (p->layout == L_STATUS_READONLY)
		c[n].flags = 0;
	if (p->layout == L_LOOP) {
		c[n].flags |= N;
		c[n].next = 0;
	}
	n++;
	return split_ring_add_raw(d->q[0].vq.split, c, n, sl);
}

/* A plain 4 KiB read of sector 0 in slot 1: does the back-end still serve? */
static bool serves(struct drive_dev *d, int ms)
{
	struct drive_slot *sl = &d->q[0].slots[1];
	struct split_ring_buf b[3] = {
		{ sl->hdr_gpa, sizeof(*sl->hdr), false },
		{ sl->data_gpa, XFER, true },
		{ sl->status_gpa, 1, true },
	};

	if (d->gone)
		return false;
	sl->hdr->type = VIRTIO_BLK_T_IN;
	sl->hdr->ioprio = 0;
	sl->hdr->sector = 0;
	*sl->status = STATUS_UNSET;
	if (split_ring_add(d->q[0].vq.split, b, 3, sl))
		return false;
	kick(d);
	return wait_token(d, sl, ms) == 1 && *sl->status == VIRTIO_BLK_S_OK;
}

static bool judge(const struct probe *p, const struct blk_probe_result *r)
{
	bool st = r->outcome == BLK_PROBE_STATUS;

	if (!r->served_after || r->touched)
		return false;
	switch (p->expect) {
	case EXPECT_IOERR:
		return st && r->status == VIRTIO_BLK_S_IOERR;
	case EXPECT_UNSUPP:
		return st && r->status == VIRTIO_BLK_S_UNSUPP;
	case EXPECT_OK_OR_UNSUPP:
		return st && (r->status == VIRTIO_BLK_S_OK ||
			      r->status == VIRTIO_BLK_S_UNSUPP);
	case EXPECT_REFUSED:
		return !(st && r->status == VIRTIO_BLK_S_OK) &&
		       r->outcome != BLK_PROBE_RING_BROKEN;
	}
	return false;
}

static void run_one(const struct drive_dev_opts *dopts, int probe_ms,
		    const struct probe *p, struct blk_probe_result *r)
{
	struct drive_dev *d = NULL;
	struct drive_slot *sl;
	int ret;

	*r = (struct blk_probe_result){
		.name = p->name, .what = p->what, .expect = expect_str(p->expect),
		.outcome = BLK_PROBE_SETUP_FAILED,
	};
	if (drive_dev_open(dopts, &d))
		return;
	sl = &d->q[0].slots[0];
	if (p->feature && !(d->features & (1ull << p->feature))) {
		r->outcome = BLK_PROBE_SKIPPED;
		r->pass = true;
		drive_dev_close(d);
		return;
	}
	if (d->capacity < 16) {
		log_err(TAG, "the disk is too small to probe (%llu sectors)",
			(unsigned long long)d->capacity);
		goto out;
	}
	ret = add_probe(d, p);
	if (ret) {
		log_err(TAG, "%s: cannot queue the probe: %s", p->name,
			strerror(-ret));
		goto out;
	}
	kick(d);
	ret = wait_token(d, sl, probe_ms);
	if (ret == 1) {
		r->outcome = *sl->status == STATUS_UNSET ? BLK_PROBE_NO_STATUS :
			     BLK_PROBE_STATUS;
		r->status = *sl->status;
	} else {
		r->outcome = ret == 0 ? BLK_PROBE_NO_COMPLETION :
			     ret == -ECONNRESET ? BLK_PROBE_HUNG_UP :
			     BLK_PROBE_RING_BROKEN;
		/* Read-only from the device's side: it must stay unset. */
		if (p->layout == L_STATUS_READONLY &&
		    *sl->status != STATUS_UNSET) {
			r->outcome = BLK_PROBE_STATUS;
			r->status = *sl->status;
		}
	}
	if (p->layout == L_STATUS_READONLY && *sl->status != STATUS_UNSET)
		r->touched = true;
	if (p->layout == L_DATA_READONLY) {
		for (unsigned i = 0; i < XFER && !r->touched; i++)
			r->touched = sl->data[i] != FILL;
	}
	if (r->outcome != BLK_PROBE_RING_BROKEN)
		r->served_after = serves(d, dopts->timeout_ms);
out:
	r->pass = r->outcome != BLK_PROBE_SETUP_FAILED && judge(p, r);
	drive_dev_close(d);
}

int blk_probe_run(const struct drive_dev_opts *dopts, int probe_ms,
		  struct blk_probe_result *results)
{
	struct drive_dev_opts o = *dopts;

	o.type = DRIVE_DEV_BLK;
	o.queues = 1;
	o.queue_size = QSIZE;
	o.slots = 2;
	o.data_size = XFER;
	o.need_write = false;
	for (unsigned i = 0; i < NPROBES; i++) {
		run_one(&o, probe_ms, &probes[i], &results[i]);
		if (i == 0 && results[0].outcome == BLK_PROBE_SETUP_FAILED)
			return -ENOTCONN;
	}
	return 0;
}

int drive_probe_main(const struct drive_dev_opts *dopts, int probe_ms,
		     bool json)
{
	struct blk_probe_result res[NPROBES];
	unsigned failed = 0;
	int ret;

	ret = blk_probe_run(dopts, probe_ms, res);
	if (ret) {
		if (json)
			printf("{\"mode\": \"probe\", \"probes\": [], \"error\": "
			       "\"cannot set up the device\"}\n");
		else
			printf("probe: FAILED: cannot set up the device\n");
		return 1;
	}
	for (unsigned i = 0; i < NPROBES; i++)
		failed += !res[i].pass;
	if (json) {
		printf("{\"mode\": \"probe\", \"probes\": [");
		for (unsigned i = 0; i < NPROBES; i++) {
			const struct blk_probe_result *r = &res[i];

			printf("%s{\"name\": \"%s\", \"expect\": \"%s\", "
			       "\"outcome\": \"%s\", \"status\": %d, "
			       "\"touched_readonly\": %s, \"served_after\": %s, "
			       "\"pass\": %s}", i ? ", " : "", r->name,
			       r->expect, blk_probe_outcome_str(r->outcome),
			       r->outcome == BLK_PROBE_STATUS ? r->status : -1,
			       r->touched ? "true" : "false",
			       r->served_after ? "true" : "false",
			       r->pass ? "true" : "false");
		}
		printf("], \"failed\": %u, \"error\": null}\n", failed);
	} else {
		printf("%-23s %-22s %-26s %-7s %s\n", "probe", "expect",
		       "got", "served", "verdict");
		for (unsigned i = 0; i < NPROBES; i++) {
			const struct blk_probe_result *r = &res[i];
			char got[40];

			if (r->outcome == BLK_PROBE_STATUS)
				snprintf(got, sizeof(got), "status %s",
					 r->status == VIRTIO_BLK_S_OK ? "OK" :
					 r->status == VIRTIO_BLK_S_IOERR ?
					 "IOERR" : r->status ==
					 VIRTIO_BLK_S_UNSUPP ? "UNSUPP" :
					 "invalid");
			else
				snprintf(got, sizeof(got), "%s",
					 blk_probe_outcome_str(r->outcome));
			printf("%-23s %-22s %-26s %-7s %s%s\n", r->name,
			       r->expect, got, r->served_after ? "yes" :
			       r->outcome == BLK_PROBE_SKIPPED ? "-" : "no",
			       r->pass ? "pass" : "FAIL",
			       r->touched ? " (wrote a read-only buffer)" : "");
		}
		printf("probe: %u of %u failed\n", failed, (unsigned)NPROBES);
	}
	fflush(stdout);
	return failed ? 3 : 0;
}
