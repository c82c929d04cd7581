/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's direct copy (net_direct.c): frames from one fake guest's
 * split transmit ring into another's receive ring, both in plain memory,
 * each guest with its own memory table (DPDK headers only, no EAL).
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_vhost.h>

#include "net_direct.h"
#include "unit.h"

#define QSZ	8
#define GSZ	0x10000ull
#define SRC_GPA	0x100000ull	/* the source guest's one region */
#define DST_GPA	0x200000ull	/* the destination's */

struct guest {
	uint8_t mem[GSZ];
	struct rte_vhost_memory *table;
	struct vring_desc desc[QSZ];
	uint16_t avail[2 + QSZ + 1] __attribute__((aligned(8)));
	struct {
		uint16_t flags, idx;
		struct vring_used_elem ring[QSZ];
		uint16_t avail_event;
	} used __attribute__((aligned(8)));
	struct net_direct_ring r;
};

static struct guest *src, *dst;
static struct net_direct_frame fr;
static struct net_direct_rxbufs rxb;

#define AVAIL(g) ((struct vring_avail *)(g)->avail)

static struct guest *guest_new(uint64_t gpa)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->table = calloc(1, sizeof(*g->table) +
			  2 * sizeof(g->table->regions[0]));
	if (!g->table) {
		free(g);
		return NULL;
	}
	/* Two regions, the upper half of the guest first in host memory: a
	 * buffer across their boundary is two pieces far apart. */
	g->table->nregions = 2;
	g->table->regions[0] = (struct rte_vhost_mem_region){
		.guest_phys_addr = gpa,
		.host_user_addr = (uintptr_t)g->mem + GSZ / 2, .size = GSZ / 2,
	};
	g->table->regions[1] = (struct rte_vhost_mem_region){
		.guest_phys_addr = gpa + GSZ / 2,
		.host_user_addr = (uintptr_t)g->mem, .size = GSZ / 2,
	};
	return g;
}

static void guest_reset(struct guest *g, uint64_t gpa, uint32_t hdr_len,
			bool mergeable, uint16_t start)
{
	memset(g->mem, 0xee, sizeof(g->mem));
	memset(g->desc, 0, sizeof(g->desc));
	memset(g->avail, 0, sizeof(g->avail));
	memset(&g->used, 0, sizeof(g->used));
	(void)gpa;
	AVAIL(g)->idx = start;
	g->used.idx = start;
	g->r = (struct net_direct_ring){
		.vr = { .desc = g->desc, .avail = AVAIL(g),
			.used = (struct vring_used *)&g->used, .size = QSZ },
		.mem = g->table, .hdr_len = hdr_len, .mergeable = mergeable,
		.last_avail = start, .last_used = start,
	};
}

static int setup(void)
{
	src = guest_new(SRC_GPA);
	dst = guest_new(DST_GPA);
	return !src || !dst;
}

static int teardown(void)
{
	for (struct guest *g = src; g; g = g == src ? dst : NULL) {
		free(g->table);
		free(g);
	}
	return 0;
}

static void desc(struct guest *g, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	g->desc[i] = (struct vring_desc){ addr, len, flags, next };
}

/* Make the chain at head available (one more avail entry). */
static void post(struct guest *g, uint16_t head)
{
	AVAIL(g)->ring[AVAIL(g)->idx % QSZ] = head;
	AVAIL(g)->idx++;
}

static uint8_t *host(struct guest *g, uint64_t gpa)
{
	uint64_t len = 1;

	return (uint8_t *)(uintptr_t)rte_vhost_va_from_guest_pa(g->table, gpa,
								 &len);
}

/* A frame of len bytes: destination MAC 02:..:01, source 02:..:02, then
 * a byte pattern; hdr is the sender's virtio-net header (zero: none). */
static void frame_fill(uint8_t *p, uint32_t len)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	for (uint32_t i = 0; i < len; i++)
		p[i] = i < 12 ? macs[i] : (uint8_t)(i * 7 + 3);
}

static bool frame_ok(const uint8_t *p, uint32_t len)
{
	uint8_t want[2048];

	frame_fill(want, len);
	return !memcmp(p, want, len);
}

/*
 * A source frame of len bytes as two descriptors: the header alone (the
 * way Linux posts it), then the frame, at avail index start.
 */
static void src_frame_split(uint32_t hdr_len, uint32_t len)
{
	memset(host(src, SRC_GPA), 0, hdr_len);
	frame_fill(host(src, SRC_GPA + 0x1000), len);
	desc(src, 3, SRC_GPA, hdr_len, VRING_DESC_F_NEXT, 5);
	desc(src, 5, SRC_GPA + 0x1000, len, 0, 0);
	post(src, 3);
}

/* One receive buffer of len bytes at descriptor i. */
static void dst_buf(unsigned i, uint64_t off, uint32_t len)
{
	desc(dst, i, DST_GPA + off, len, VRING_DESC_F_WRITE, 0);
	post(dst, (uint16_t)i);
}

static enum net_direct_status forward(void)
{
	enum net_direct_status st;

	net_direct_avail(&src->r);
	net_direct_avail(&dst->r);
	st = net_direct_tx_peek(&src->r, &fr);
	if (st != NET_DIRECT_OK)
		return st;
	st = net_direct_rx_put(&dst->r, &src->r, &fr, &rxb);
	if (st != NET_DIRECT_OK)
		return st;
	net_direct_tx_take(&src->r, &fr);
	net_direct_publish(&src->r);
	net_direct_publish(&dst->r);
	return NET_DIRECT_OK;
}

/* Neither ring moved: the frame stays for the mbuf path. */
static void assert_untouched(uint16_t start)
{
	CU_ASSERT_EQUAL(src->r.last_avail, start);
	CU_ASSERT_EQUAL(src->r.last_used, start);
	CU_ASSERT_EQUAL(src->used.idx, start);
	CU_ASSERT_EQUAL(dst->r.last_avail, start);
	CU_ASSERT_EQUAL(dst->r.last_used, start);
	CU_ASSERT_EQUAL(dst->used.idx, start);
}

/* Header and data in two descriptors, 12-byte headers on both sides. */
static void test_split_header(void)
{
	struct virtio_net_hdr_mrg_rxbuf *h;

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 60);
	dst_buf(2, 0x2000, 2048);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(fr.len, 60);
	CU_ASSERT_EQUAL(fr.eth[5], 1);
	CU_ASSERT_EQUAL(fr.eth[11], 2);
	/* Source: chain 3 handed back with length 0. */
	CU_ASSERT_EQUAL(src->used.idx, 1);
	CU_ASSERT_EQUAL(src->used.ring[0].id, 3);
	CU_ASSERT_EQUAL(src->used.ring[0].len, 0);
	CU_ASSERT_EQUAL(src->r.last_avail, 1);
	/* Destination: header asking for nothing, one buffer, the frame. */
	h = (struct virtio_net_hdr_mrg_rxbuf *)host(dst, DST_GPA + 0x2000);
	CU_ASSERT_EQUAL(h->hdr.flags, 0);
	CU_ASSERT_EQUAL(h->hdr.gso_type, 0);
	CU_ASSERT_EQUAL(h->hdr.hdr_len, 0);
	CU_ASSERT_EQUAL(h->hdr.gso_size, 0);
	CU_ASSERT_EQUAL(h->hdr.csum_start, 0);
	CU_ASSERT_EQUAL(h->hdr.csum_offset, 0);
	CU_ASSERT_EQUAL(h->num_buffers, 1);
	CU_ASSERT_TRUE(frame_ok(host(dst, DST_GPA + 0x2000 + 12), 60));
	/* Nothing written past the frame. */
	CU_ASSERT_EQUAL(*host(dst, DST_GPA + 0x2000 + 72), 0xee);
	CU_ASSERT_EQUAL(dst->used.idx, 1);
	CU_ASSERT_EQUAL(dst->used.ring[0].id, 2);
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 72);
	CU_ASSERT_EQUAL(dst->r.last_avail, 1);
	CU_ASSERT_EQUAL(dst->r.last_used, 1);
	/* Nothing left. */
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_EMPTY);
}

/* A 10-byte header (legacy, no MRG_RXBUF) to a 12-byte one, and back. */
static void test_header_sizes(void)
{
	struct virtio_net_hdr_mrg_rxbuf *h;

	guest_reset(src, SRC_GPA, 10, false, 0);
	guest_reset(dst, DST_GPA, 12, false, 0);
	src_frame_split(10, 100);
	dst_buf(0, 0x2000, 1600);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	h = (struct virtio_net_hdr_mrg_rxbuf *)host(dst, DST_GPA + 0x2000);
	/* Without MRG_RXBUF, the virtio 1 header still says one buffer. */
	CU_ASSERT_EQUAL(h->num_buffers, 1);
	CU_ASSERT_TRUE(frame_ok(host(dst, DST_GPA + 0x2000 + 12), 100));
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 112);

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 10, false, 0);
	src_frame_split(12, 100);
	dst_buf(0, 0x2000, 1600);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_TRUE(frame_ok(host(dst, DST_GPA + 0x2000 + 10), 100));
	CU_ASSERT_EQUAL(*host(dst, DST_GPA + 0x2000 + 110), 0xee);
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 110);
}

/* The source chain in an indirect table of three: header, two halves. */
static void test_indirect(void)
{
	struct vring_desc *t;

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	t = (struct vring_desc *)host(src, SRC_GPA + 0x8000);
	memset(host(src, SRC_GPA), 0, 12);
	frame_fill(host(src, SRC_GPA + 0x1000), 300);
	memcpy(host(src, SRC_GPA + 0x3000), host(src, SRC_GPA + 0x1000 + 100),
	       200);
	t[0] = (struct vring_desc){ SRC_GPA, 12, VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ SRC_GPA + 0x1000, 100, VRING_DESC_F_NEXT,
				    1 };
	t[1] = (struct vring_desc){ SRC_GPA + 0x3000, 200, 0, 0 };
	desc(src, 6, SRC_GPA + 0x8000, 3 * sizeof(*t), VRING_DESC_F_INDIRECT,
	     0);
	post(src, 6);
	dst_buf(1, 0x2000, 2048);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(fr.len, 300);
	CU_ASSERT_EQUAL(src->used.ring[0].id, 6);
	CU_ASSERT_TRUE(frame_ok(host(dst, DST_GPA + 0x2000 + 12), 300));
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 312);
}

/* 1000 bytes (1012 with the header) over mergeable buffers of 512, 400
 * (a chain of two descriptors) and 1024 bytes, of which it needs 100. */
static void test_mergeable(void)
{
	uint8_t got[1000];

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 1000);
	dst_buf(4, 0x2000, 512);
	desc(dst, 0, DST_GPA + 0x3000, 200, VRING_DESC_F_WRITE |
	     VRING_DESC_F_NEXT, 7);
	desc(dst, 7, DST_GPA + 0x3800, 200, VRING_DESC_F_WRITE, 0);
	post(dst, 0);
	dst_buf(6, 0x4000, 1024);
	dst_buf(1, 0x5000, 1024);	/* not needed: stays available */
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(((struct virtio_net_hdr_mrg_rxbuf *)
			 host(dst, DST_GPA + 0x2000))->num_buffers, 3);
	memcpy(got, host(dst, DST_GPA + 0x2000 + 12), 500);
	memcpy(got + 500, host(dst, DST_GPA + 0x3000), 200);
	memcpy(got + 700, host(dst, DST_GPA + 0x3800), 200);
	memcpy(got + 900, host(dst, DST_GPA + 0x4000), 100);
	CU_ASSERT_TRUE(frame_ok(got, 1000));
	CU_ASSERT_EQUAL(*host(dst, DST_GPA + 0x4000 + 100), 0xee);
	CU_ASSERT_EQUAL(*host(dst, DST_GPA + 0x5000), 0xee);
	CU_ASSERT_EQUAL(dst->used.idx, 3);
	CU_ASSERT_EQUAL(dst->used.ring[0].id, 4);
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 512);
	CU_ASSERT_EQUAL(dst->used.ring[1].id, 0);
	CU_ASSERT_EQUAL(dst->used.ring[1].len, 400);
	CU_ASSERT_EQUAL(dst->used.ring[2].id, 6);
	CU_ASSERT_EQUAL(dst->used.ring[2].len, 100);
	CU_ASSERT_EQUAL(dst->r.last_avail, 3);
	CU_ASSERT_EQUAL(dst->r.last_used, 3);
	CU_ASSERT_EQUAL(src->used.idx, 1);
}

/* The same 1012 bytes in buffers of 512 and 2048: 512 and 500 used. */
static void test_mergeable_exact(void)
{
	uint8_t want[1000];

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 1000);
	dst_buf(4, 0x2000, 512);
	dst_buf(5, 0x3000, 2048);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(((struct virtio_net_hdr_mrg_rxbuf *)
			 host(dst, DST_GPA + 0x2000))->num_buffers, 2);
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 512);
	CU_ASSERT_EQUAL(dst->used.ring[1].len, 500);
	frame_fill(want, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(host(dst, DST_GPA + 0x3000), want + 500, 500),
			0);
}

/* No room: nothing taken from the source, nothing handed back. */
static void test_full(void)
{
	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 1000);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FULL);
	assert_untouched(0);
	/* Room for half the frame only. */
	dst_buf(4, 0x2000, 512);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FULL);
	assert_untouched(0);
	/* Then the rest arrives. */
	dst_buf(5, 0x3000, 512);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(dst->used.idx, 2);
}

/* An avail index more than a ring ahead: nothing taken, on either side. */
static void test_avail_too_far(void)
{
	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 100);
	dst_buf(4, 0x2000, 2048);
	AVAIL(src)->idx = QSZ + 1;
	CU_ASSERT_FALSE(net_direct_avail(&src->r));
	CU_ASSERT_EQUAL(net_direct_tx_peek(&src->r, &fr), NET_DIRECT_EMPTY);
	AVAIL(src)->idx = 1;
	CU_ASSERT_TRUE(net_direct_avail(&src->r));
	CU_ASSERT_EQUAL(net_direct_tx_peek(&src->r, &fr), NET_DIRECT_OK);
	AVAIL(dst)->idx = (uint16_t)-1;
	CU_ASSERT_FALSE(net_direct_avail(&dst->r));
	CU_ASSERT_EQUAL(net_direct_rx_put(&dst->r, &src->r, &fr, &rxb),
			NET_DIRECT_FULL);
	assert_untouched(0);
	/* A whole ring ahead is a full ring, not a broken one. */
	AVAIL(dst)->idx = QSZ;
	CU_ASSERT_TRUE(net_direct_avail(&dst->r));
}

/* Without MRG_RXBUF a buffer too small is the receive guard's. */
static void test_small_buffer(void)
{
	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, false, 0);
	src_frame_split(12, 1000);
	dst_buf(4, 0x2000, 1011);
	dst_buf(5, 0x3000, 2048);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	assert_untouched(0);
}

/* Frames the mbuf path must see: offload requests, short, long. */
static void test_not_taken(void)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)host(src, SRC_GPA);
	static const uint32_t lens[] = { 0, 13, 1519 };

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	dst_buf(0, 0x2000, 2048);
	src_frame_split(12, 60);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	h->flags = 0;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	assert_untouched(0);
	/* The fields that mean nothing without a request are not looked at
	 * (nor passed on). */
	h->gso_type = 0;
	h->csum_start = 99;
	h->gso_size = 1400;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(((struct virtio_net_hdr *)host(dst, DST_GPA + 0x2000))
			->csum_start, 0);
	CU_ASSERT_EQUAL(((struct virtio_net_hdr *)host(dst, DST_GPA + 0x2000))
			->gso_size, 0);
	for (unsigned i = 0; i < 3; i++) {
		guest_reset(src, SRC_GPA, 12, true, 0);
		guest_reset(dst, DST_GPA, 12, true, 0);
		dst_buf(0, 0x2000, 2048);
		src_frame_split(12, lens[i]);
		CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
		assert_untouched(0);
	}
}

/* Malformed chains on either side stay where they are for the guard. */
static void test_bad_chains(void)
{
	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	dst_buf(0, 0x2000, 2048);
	/* A loop: 3 -> 5 -> 3. */
	src_frame_split(12, 60);
	src->desc[5].flags = VRING_DESC_F_NEXT;
	src->desc[5].next = 3;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* next out of the table. */
	src->desc[5].next = QSZ;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* The data outside guest memory, or running past its end. */
	src->desc[5] = (struct vring_desc){ SRC_GPA + GSZ, 60, 0, 0 };
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	src->desc[5] = (struct vring_desc){ SRC_GPA + GSZ - 30, 60, 0, 0 };
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* The other guest's address is not ours. */
	src->desc[5] = (struct vring_desc){ DST_GPA, 60, 0, 0 };
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* A head outside the table. */
	AVAIL(src)->ring[0] = QSZ + 1;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* An indirect table outside memory. */
	AVAIL(src)->ring[0] = 3;
	src->desc[3] = (struct vring_desc){ SRC_GPA + GSZ - 16, 32,
					    VRING_DESC_F_INDIRECT, 0 };
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	assert_untouched(0);

	/* Now the source is fine and the receive buffer is not. */
	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	src_frame_split(12, 60);
	desc(dst, 2, DST_GPA + GSZ - 8, 2048, VRING_DESC_F_WRITE, 0);
	post(dst, 2);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	desc(dst, 2, DST_GPA, 1024, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	/* A bad second buffer of a mergeable frame: nothing is taken. */
	desc(dst, 2, DST_GPA + 0x2000, 512, VRING_DESC_F_WRITE, 0);
	desc(dst, 3, DST_GPA + 0x3000, 512, VRING_DESC_F_WRITE |
	     VRING_DESC_F_NEXT, QSZ);
	post(dst, 3);
	src->desc[5].len = 1000;
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
	assert_untouched(0);
}

/* A frame and a receive buffer each across the two regions' boundary. */
static void test_across_regions(void)
{
	const uint64_t half = GSZ / 2;
	uint8_t want[300], got[300];

	guest_reset(src, SRC_GPA, 12, true, 0);
	guest_reset(dst, DST_GPA, 12, true, 0);
	frame_fill(want, sizeof(want));
	memset(host(src, SRC_GPA + half - 112), 0, 12);
	memcpy(host(src, SRC_GPA + half - 100), want, 100);
	memcpy(host(src, SRC_GPA + half), want + 100, 200);
	desc(src, 1, SRC_GPA + half - 112, 312, 0, 0);
	post(src, 1);
	desc(dst, 2, DST_GPA + half - 50, 1024, VRING_DESC_F_WRITE, 0);
	post(dst, 2);
	CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
	CU_ASSERT_EQUAL(fr.len, 300);
	CU_ASSERT_EQUAL(fr.segs[0].va, 0);	/* no one region holds it */
	/* 50 bytes below the boundary: 12 of header, 38 of frame. */
	CU_ASSERT_EQUAL(((struct virtio_net_hdr_mrg_rxbuf *)
			 host(dst, DST_GPA + half - 50))->num_buffers, 1);
	memcpy(got, host(dst, DST_GPA + half - 38), 38);
	memcpy(got + 38, host(dst, DST_GPA + half), 262);
	CU_ASSERT_EQUAL(memcmp(got, want, sizeof(want)), 0);
	CU_ASSERT_EQUAL(dst->used.ring[0].len, 312);
	/* Past the end of guest memory is still refused. */
	guest_reset(src, SRC_GPA, 12, true, 0);
	desc(src, 1, SRC_GPA + GSZ - 100, 312, 0, 0);
	post(src, 1);
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_FALLBACK);
}

/* Indexes run through 65535 to 0 on both rings. */
static void test_wrap(void)
{
	const uint16_t start = 65534;

	guest_reset(src, SRC_GPA, 12, true, start);
	guest_reset(dst, DST_GPA, 12, true, start);
	for (unsigned i = 0; i < 4; i++) {
		desc(dst, i, DST_GPA + 0x2000 + i * 0x800, 2048,
		     VRING_DESC_F_WRITE, 0);
		post(dst, (uint16_t)i);
	}
	for (unsigned i = 0; i < 4; i++) {
		memset(host(src, SRC_GPA + i * 0x800), 0, 12);
		frame_fill(host(src, SRC_GPA + i * 0x800 + 12), 64 + i);
		desc(src, 4 + i, SRC_GPA + i * 0x800, 12 + 64 + i, 0, 0);
		post(src, (uint16_t)(4 + i));
	}
	CU_ASSERT_EQUAL(AVAIL(src)->idx, 2);
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL_FATAL(forward(), NET_DIRECT_OK);
		CU_ASSERT_EQUAL(fr.head, 4 + i);
		CU_ASSERT_TRUE(frame_ok(host(dst, DST_GPA + 0x2000 + i * 0x800 +
					     12), 64 + i));
	}
	CU_ASSERT_EQUAL(forward(), NET_DIRECT_EMPTY);
	CU_ASSERT_EQUAL(src->used.idx, 2);
	CU_ASSERT_EQUAL(dst->used.idx, 2);
	CU_ASSERT_EQUAL(src->r.last_avail, 2);
	CU_ASSERT_EQUAL(dst->r.last_used, 2);
	/* Slots 65534 % 8 = 6, 7, then 0, 1. */
	CU_ASSERT_EQUAL(src->used.ring[6].id, 4);
	CU_ASSERT_EQUAL(src->used.ring[1].id, 7);
	CU_ASSERT_EQUAL(dst->used.ring[7].id, 1);
	CU_ASSERT_EQUAL(dst->used.ring[7].len, 12 + 65);
	CU_ASSERT_EQUAL(dst->used.ring[1].id, 3);
}

static CU_TestInfo direct_tests[] = {
	{ "header and data in two descriptors", test_split_header },
	{ "10- and 12-byte headers", test_header_sizes },
	{ "indirect source chain", test_indirect },
	{ "mergeable buffers, num_buffers", test_mergeable },
	{ "mergeable buffers used up exactly", test_mergeable_exact },
	{ "destination full", test_full },
	{ "avail index more than a ring ahead", test_avail_too_far },
	{ "receive buffer too small", test_small_buffer },
	{ "offload, short, runt, oversize", test_not_taken },
	{ "malformed chains left for the guard", test_bad_chains },
	{ "buffers across two memory regions", test_across_regions },
	{ "index wrap at 65535", test_wrap },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_direct", setup, teardown, NULL, NULL, direct_tests },
	CU_SUITE_INFO_NULL,
};
