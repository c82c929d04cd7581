/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's chain guard: which split- and packed-ring chains it takes
 * for ones librte_vhost 22.11 refuses, against a fake guest memory of two
 * adjacent regions and rings in plain memory (DPDK headers only, no EAL).
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_vhost.h>

#include "net_guard.h"
#include "unit.h"

#define QSZ	8
#define R0	0x10000ull		/* region 0: [R0, R0 + RSZ) */
#define RSZ	0x4000ull
#define R1	(R0 + RSZ)		/* region 1 right behind it */
#define END	(R1 + RSZ)

static uint8_t guest[2 * RSZ];
static struct rte_vhost_memory *mem;
static struct vring_desc desc[QSZ];
/* flags, idx, ring[QSZ], used_event: a vring_avail with its entries. */
static uint16_t avail_mem[2 + QSZ + 1] __attribute__((aligned(8)));
#define AVAIL ((struct vring_avail *)avail_mem)
static struct rte_vhost_vring vr;

static int setup(void)
{
	mem = calloc(1, sizeof(*mem) + 2 * sizeof(mem->regions[0]));
	if (!mem)
		return 1;
	mem->nregions = 2;
	for (int i = 0; i < 2; i++)
		mem->regions[i] = (struct rte_vhost_mem_region){
			.guest_phys_addr = R0 + (uint64_t)i * RSZ,
			.host_user_addr = (uintptr_t)guest + (uint64_t)i * RSZ,
			.size = RSZ,
		};
	vr.desc = desc;
	vr.avail = AVAIL;
	vr.size = QSZ;
	return 0;
}

static int teardown(void)
{
	free(mem);
	return 0;
}

/* The chain at avail index 5 (slot 5) starts at descriptor head. */
static enum net_chain_verdict check(uint16_t head, uint64_t *total)
{
	AVAIL->ring[5] = head;
	*total = UINT64_MAX;
	return net_guard_check_split(mem, &vr, 5, total);
}

static void set(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		uint16_t next)
{
	desc[i] = (struct vring_desc){ addr, len, flags, next };
}

static void test_mapped(void)
{
	CU_ASSERT_TRUE(net_guard_mapped(mem, R0, 0));
	CU_ASSERT_TRUE(net_guard_mapped(mem, R0, RSZ));
	/* Across the boundary of two adjacent regions. */
	CU_ASSERT_TRUE(net_guard_mapped(mem, R1 - 8, 16));
	CU_ASSERT_TRUE(net_guard_mapped(mem, R0, 2 * RSZ));
	CU_ASSERT_FALSE(net_guard_mapped(mem, R0 - 1, 2));
	CU_ASSERT_FALSE(net_guard_mapped(mem, END - 16, 17));
	CU_ASSERT_FALSE(net_guard_mapped(mem, END, 1));
	CU_ASSERT_FALSE(net_guard_mapped(mem, 0x7f0000000000ull, 64));
	CU_ASSERT_FALSE(net_guard_mapped(mem, R0, 0xfffff000u));
}

static void test_good_chains(void)
{
	uint64_t total;

	set(2, R0, 72, 0, 0);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 72);
	/* Header, then frame in the other region, linked backwards. */
	set(6, R0 + 64, 12, VRING_DESC_F_NEXT, 1);
	set(1, R1 + 100, 60, 0, 0);
	CU_ASSERT_EQUAL(check(6, &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 72);
	/* Zero length is no fault of the chain's (the length is). */
	set(3, R0, 0, 0, 0);
	CU_ASSERT_EQUAL(check(3, &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 0);
	/* A buffer over the boundary of the two regions. */
	set(4, R1 - 30, 60, 0, 0);
	CU_ASSERT_EQUAL(check(4, &total), NET_CHAIN_OK);
}

static void test_bad_chains(void)
{
	uint64_t total;

	CU_ASSERT_EQUAL(check(QSZ, &total), NET_CHAIN_BAD);	/* head */
	set(0, R0, 12, VRING_DESC_F_NEXT, 1);
	set(1, R0 + 12, 60, VRING_DESC_F_NEXT, 0);
	CU_ASSERT_EQUAL(check(0, &total), NET_CHAIN_BAD);	/* loop */
	set(1, R0 + 12, 60, VRING_DESC_F_NEXT, 1);
	CU_ASSERT_EQUAL(check(1, &total), NET_CHAIN_BAD);	/* self loop */
	set(2, R0, 12, VRING_DESC_F_NEXT, QSZ + 5);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);	/* next */
	set(3, 0x7f0000000000ull, 72, 0, 0);
	CU_ASSERT_EQUAL(check(3, &total), NET_CHAIN_BAD);	/* unmapped */
	set(3, END - 16, 4096, 0, 0);
	CU_ASSERT_EQUAL(check(3, &total), NET_CHAIN_BAD);	/* past end */
	set(3, R0, 0xfffff000u, 0, 0);
	CU_ASSERT_EQUAL(check(3, &total), NET_CHAIN_BAD);	/* huge */
	/* A good head whose second buffer is unmapped. */
	set(4, R0, 12, VRING_DESC_F_NEXT, 5);
	set(5, END, 60, 0, 0);
	CU_ASSERT_EQUAL(check(4, &total), NET_CHAIN_BAD);
}

static void test_indirect(void)
{
	struct vring_desc *t = (struct vring_desc *)(guest + 0x1000);
	uint64_t tgpa = R0 + 0x1000, total;

	t[0] = (struct vring_desc){ R0, 12, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ R0 + 12, 60, 0, 0 };
	set(2, tgpa, 2 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 72);
	t[1].flags = VRING_DESC_F_NEXT;		/* back to entry 0 */
	t[1].next = 0;
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);
	t[1] = (struct vring_desc){ R0 + 12, 60, VRING_DESC_F_NEXT, 2 };
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);	/* next past it */
	set(2, tgpa, (QSZ + 1) * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);	/* too long */
	set(2, 0x7f0000000000ull, 32, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);	/* unmapped */
	set(2, tgpa, 0, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_EQUAL(check(2, &total), NET_CHAIN_BAD);	/* empty */
}

#define AV (1u << VRING_PACKED_DESC_F_AVAIL)
#define US (1u << VRING_PACKED_DESC_F_USED)
#define WRAP (1u << 15)

static void test_packed(void)
{
	struct vring_packed_desc pd[QSZ];
	struct vring_packed_desc *t = (struct vring_packed_desc *)(guest + 0x2000);
	struct rte_vhost_vring pv = { .desc_packed = pd, .size = QSZ };
	uint64_t total;

	memset(pd, 0, sizeof(pd));
	/* Wrap counter 1: available is AVAIL set, USED clear. */
	pd[6] = (struct vring_packed_desc){ R0, 12, 7, AV | VRING_DESC_F_NEXT };
	pd[7] = (struct vring_packed_desc){ R1 + 8, 60, 7, AV };
	CU_ASSERT_TRUE(net_guard_packed_pending(&pv, WRAP | 6));
	CU_ASSERT_FALSE(net_guard_packed_pending(&pv, 6));	/* other lap */
	CU_ASSERT_FALSE(net_guard_packed_pending(&pv, WRAP | QSZ));
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 6, &total),
			NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 72);
	pd[6].flags = AV | US;			/* used: nothing pending */
	CU_ASSERT_FALSE(net_guard_packed_pending(&pv, WRAP | 6));
	pd[6].flags = AV | VRING_DESC_F_NEXT;
	pd[7].addr = END;			/* unmapped second buffer */
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 6, &total),
			NET_CHAIN_BAD);
	/* A chain that never ends runs the whole ring round. */
	for (unsigned i = 0; i < QSZ; i++)
		pd[i] = (struct vring_packed_desc){ R0, 16, 1,
						    AV | VRING_DESC_F_NEXT };
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 2, &total),
			NET_CHAIN_BAD);
	/* Indirect: two entries, then too long, then unmapped. */
	t[0] = (struct vring_packed_desc){ R0, 12, 0, 0 };
	t[1] = (struct vring_packed_desc){ R0 + 12, 60, 0, 0 };
	pd[0] = (struct vring_packed_desc){ R0 + 0x2000, 2 * sizeof(*t), 3,
					    AV | VRING_DESC_F_INDIRECT };
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 0, &total),
			NET_CHAIN_OK);
	CU_ASSERT_EQUAL(total, 72);
	pd[0].len = QSZ * sizeof(*t);		/* librte_vhost: < size */
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 0, &total),
			NET_CHAIN_BAD);
	pd[0] = (struct vring_packed_desc){ 0x7f0000000000ull, 32, 3,
					    AV | VRING_DESC_F_INDIRECT };
	CU_ASSERT_EQUAL(net_guard_check_packed(mem, &pv, WRAP | 0, &total),
			NET_CHAIN_BAD);
}

/*
 * Where the available chains of a packed ring end, across the wrap, and
 * which index after a dequeue says how many were taken.
 */
static void test_packed_chains(void)
{
	struct vring_packed_desc pd[QSZ];
	struct rte_vhost_vring pv = { .desc_packed = pd, .size = QSZ };
	struct net_packed_chain c[QSZ];
	const uint16_t N = VRING_DESC_F_NEXT;

	memset(pd, 0, sizeof(pd));
	/* Lap with wrap 1 from slot 5: a header alone (5), a two-descriptor
	 * frame (6-7); then, past the wrap (lap 0: AVAIL clear, USED set),
	 * a 0-length descriptor (0), an indirect table (1), a frame (2). */
	pd[5] = (struct vring_packed_desc){ R0, 12, 1, AV };
	pd[6] = (struct vring_packed_desc){ R0, 12, 2, AV | N };
	pd[7] = (struct vring_packed_desc){ R0, 60, 2, AV };
	pd[0] = (struct vring_packed_desc){ R0, 0, 3, US };
	pd[1] = (struct vring_packed_desc){ R0, 16, 4,
					    US | VRING_DESC_F_INDIRECT };
	pd[2] = (struct vring_packed_desc){ R0, 72, 5, US };
	/* slot 3: lap 1 (used by an earlier lap): not available. */
	pd[3] = (struct vring_packed_desc){ R0, 72, 6, AV | US };
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, WRAP | 5, 12, c, QSZ), 5);
	CU_ASSERT_EQUAL(c[0].end, WRAP | 6);
	CU_ASSERT_TRUE(c[0].hdr_only);
	CU_ASSERT_EQUAL(c[1].end, 0);		/* wrapped: lap 0 */
	CU_ASSERT_FALSE(c[1].hdr_only);
	CU_ASSERT_EQUAL(c[2].end, 1);
	CU_ASSERT_TRUE(c[2].hdr_only);
	CU_ASSERT_EQUAL(c[3].end, 2);
	CU_ASSERT_FALSE(c[3].hdr_only);		/* a table, never a header */
	CU_ASSERT_EQUAL(c[4].end, 3);
	/* At most max; nothing from a slot not available. */
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, WRAP | 5, 12, c, 2), 2);
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, 3, 12, c, QSZ), 0);
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, WRAP | QSZ, 12, c, QSZ),
			0);

	/* Taken: nothing, two chains, all five; an index no chain ends at. */
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, WRAP | 5, 12, c, QSZ), 5);
	CU_ASSERT_EQUAL(net_guard_packed_taken(c, 5, WRAP | 5, WRAP | 5), 0);
	CU_ASSERT_EQUAL(net_guard_packed_taken(c, 5, WRAP | 5, 0), 2);
	CU_ASSERT_EQUAL(net_guard_packed_taken(c, 5, WRAP | 5, 3), 5);
	CU_ASSERT_EQUAL(net_guard_packed_taken(c, 5, WRAP | 5, WRAP | 7), -1);
	CU_ASSERT_EQUAL(net_guard_packed_taken(c, 5, WRAP | 5, 4), -1);

	/* A chain as long as the ring ends the walk before it. */
	for (unsigned i = 0; i < QSZ; i++)
		pd[i] = (struct vring_packed_desc){ R0, 16, 1, AV | N };
	CU_ASSERT_EQUAL(net_guard_packed_chains(&pv, WRAP | 2, 12, c, QSZ), 0);
}

/* The one-buffer shortcut takes exactly the one-buffer, one-region
 * chains, and the walk gives the same verdict either way. */
static void test_split_one(void)
{
	struct net_guard_seg seg, segs[4];
	uint64_t total;
	unsigned n;
	uint16_t head;

	AVAIL->ring[5] = 3;
	set(3, R0 + 0x100, 60, 0, 0);
	CU_ASSERT_TRUE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	CU_ASSERT_EQUAL(head, 3);
	CU_ASSERT_EQUAL(seg.addr, R0 + 0x100);
	CU_ASSERT_EQUAL(seg.len, 60);
	CU_ASSERT_EQUAL(seg.va, (uintptr_t)guest + 0x100);
	CU_ASSERT_EQUAL(net_guard_walk_split(mem, &vr, 5, segs, 4, &n, &head,
					     &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(total, 60);
	CU_ASSERT_EQUAL(segs[0].va, seg.va);
	memset(segs, 0, sizeof(segs));
	CU_ASSERT_EQUAL(net_guard_walk_chain(mem, &vr, 5, segs, 4, &n, &head,
					     &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(total, 60);
	CU_ASSERT_EQUAL(segs[0].va, seg.va);
	/* Good chains it leaves to the walk: two buffers, an indirect
	 * table, a zero length, a buffer over two regions. */
	set(3, R0 + 0x100, 10, VRING_DESC_F_NEXT, 4);
	set(4, R0 + 0x200, 50, 0, 0);
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	CU_ASSERT_EQUAL(net_guard_walk_split(mem, &vr, 5, segs, 4, &n, &head,
					     &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(n, 2);
	set(3, R0 + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	set(3, R0 + 0x100, 0, 0, 0);
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	set(3, R1 - 8, 16, 0, 0);
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	CU_ASSERT_EQUAL(net_guard_walk_split(mem, &vr, 5, segs, 4, &n, &head,
					     &total), NET_CHAIN_OK);
	CU_ASSERT_EQUAL(segs[0].va, 0);
	/* Bad ones: outside guest memory, a head outside the table. */
	set(3, END - 8, 16, 0, 0);
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	CU_ASSERT_EQUAL(net_guard_walk_split(mem, &vr, 5, segs, 4, &n, &head,
					     &total), NET_CHAIN_BAD);
	AVAIL->ring[5] = QSZ;
	CU_ASSERT_FALSE(net_guard_split_one(mem, &vr, 5, &seg, &head));
	/* No room to record it: the walk says so. */
	AVAIL->ring[5] = 3;
	set(3, R0 + 0x100, 60, 0, 0);
	CU_ASSERT_EQUAL(net_guard_walk_split(mem, &vr, 5, segs, 0, &n, &head,
					     &total), NET_CHAIN_LONG);
}

static CU_TestInfo guard_tests[] = {
	{ "one buffer in one region: the shortcut", test_split_one },
	{ "packed rings: pending, chains, indirect tables", test_packed },
	{ "packed rings: where chains end, how many a dequeue took",
	  test_packed_chains },
	{ "guest address ranges over adjacent regions", test_mapped },
	{ "valid chains: one, two, zero-length, across regions",
	  test_good_chains },
	{ "chains librte_vhost refuses", test_bad_chains },
	{ "indirect tables", test_indirect },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_guard", setup, teardown, NULL, NULL, guard_tests },
	CU_SUITE_INFO_NULL,
};
