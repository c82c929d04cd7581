/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's 802.1Q push and pop on an mbuf changed in place
 * (net_vlan_mbuf.c): DPDK's headers and mbuf helpers on a buffer set up
 * by hand, no EAL and no mempool (the copy path needs one: the net_vlan
 * integration test covers it).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include <rte_mbuf.h>

#include "net_backend_internal.h"
#include "unit.h"

#define HEADROOM 128

static uint8_t store[2048];
static struct rte_mbuf mb;

/* A one-segment mbuf holding len bytes of frame after headroom bytes. */
static struct rte_mbuf *mbuf_of(const uint8_t *frame, uint16_t len,
				uint16_t headroom)
{
	memset(&mb, 0, sizeof(mb));
	memset(store, 0xee, sizeof(store));
	mb.buf_addr = store;
	mb.buf_len = sizeof(store);
	mb.data_off = headroom;
	mb.nb_segs = 1;
	rte_mbuf_refcnt_set(&mb, 1);
	memcpy(store + headroom, frame, len);
	mb.data_len = len;
	mb.pkt_len = len;
	return &mb;
}

static const uint8_t untagged[60] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00, 0x45,
};

static void tagged_of(uint8_t *out, uint16_t vid)
{
	net_vlan_push(out, untagged, sizeof(untagged), vid);
}

static void test_push_in_place(void)
{
	struct rte_mbuf *m = mbuf_of(untagged, sizeof(untagged), HEADROOM);
	uint8_t want[64];

	/* A checksum request: l2_len follows the tag. */
	m->ol_flags = RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
	m->l2_len = 14;
	m->l3_len = 20;
	CU_ASSERT_PTR_EQUAL_FATAL(net_vlan_mbuf_retag(NULL, m, true, 10, true),
				  m);
	tagged_of(want, 10);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), sizeof(untagged) + 4);
	CU_ASSERT_EQUAL(rte_pktmbuf_data_len(m), sizeof(untagged) + 4);
	CU_ASSERT_EQUAL(rte_pktmbuf_headroom(m), HEADROOM - 4);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), want,
			       sizeof(untagged) + 4), 0);
	CU_ASSERT_EQUAL(m->l2_len, 18);
	CU_ASSERT_EQUAL(m->l3_len, 20);
	/* And back. */
	CU_ASSERT_PTR_EQUAL_FATAL(net_vlan_mbuf_retag(NULL, m, false, 10, true),
				  m);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), sizeof(untagged));
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), untagged,
			       sizeof(untagged)), 0);
	CU_ASSERT_EQUAL(m->l2_len, 14);
}

static void test_plain_frames(void)
{
	uint8_t tagged[64];
	struct rte_mbuf *m;

	/* No offload request: l2_len is nobody's, left alone. */
	tagged_of(tagged, 4094);
	m = mbuf_of(tagged, sizeof(untagged) + 4, HEADROOM);
	m->l2_len = 0;
	CU_ASSERT_PTR_EQUAL_FATAL(net_vlan_mbuf_retag(NULL, m, false, 4094,
						      true), m);
	CU_ASSERT_EQUAL(m->l2_len, 0);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), sizeof(untagged));
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), untagged,
			       sizeof(untagged)), 0);
	/* Exactly the headroom a tag needs. */
	m = mbuf_of(untagged, sizeof(untagged), 4);
	CU_ASSERT_PTR_EQUAL_FATAL(net_vlan_mbuf_retag(NULL, m, true, 1, true),
				  m);
	CU_ASSERT_EQUAL(m->data_off, 0);
	tagged_of(tagged, 1);
	CU_ASSERT_EQUAL(memcmp(store, tagged, sizeof(untagged) + 4), 0);
}

static void test_pop_too_short(void)
{
	uint8_t tagged[64];
	struct rte_mbuf *m;

	/* The tag's end not in the first segment: refused, untouched. */
	tagged_of(tagged, 7);
	m = mbuf_of(tagged, 17, HEADROOM);
	CU_ASSERT_PTR_NULL(net_vlan_mbuf_retag(NULL, m, false, 7, true));
	CU_ASSERT_EQUAL(rte_pktmbuf_data_len(m), 17);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), tagged, 17), 0);
}

static CU_TestInfo vlan_mbuf_tests[] = {
	{ "push and pop in place keep l2_len right", test_push_in_place },
	{ "frames without offloads, the least headroom", test_plain_frames },
	{ "a tag cut off by the first segment is refused", test_pop_too_short },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_vlan_mbuf", NULL, NULL, NULL, NULL, vlan_mbuf_tests },
	CU_SUITE_INFO_NULL,
};
