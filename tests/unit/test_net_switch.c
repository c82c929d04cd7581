/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net's MAC table: learning, moves, ageing, flushes, fullness,
 * and the cross-connect pairing. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdint.h>

#include "net_switch.h"
#include "unit.h"

#define SEC 1000000000ull
#define MAC_A 0x020000000001ull
#define MAC_B 0x020000000002ull
#define BCAST 0xffffffffffffull
#define MCAST 0x01005e000001ull

static struct net_switch *make(unsigned entries, uint64_t age)
{
	struct net_switch *sw = NULL;

	CU_ASSERT_EQUAL_FATAL(net_switch_create(entries, age, &sw), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sw);
	return sw;
}

static void test_mac_bytes(void)
{
	const uint8_t b[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	const uint8_t g[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

	CU_ASSERT_EQUAL(net_mac_from_bytes(b), 0x021122334455ull);
	CU_ASSERT_FALSE(net_mac_is_group(net_mac_from_bytes(b)));
	CU_ASSERT_TRUE(net_mac_is_group(net_mac_from_bytes(g)));
	CU_ASSERT_TRUE(net_mac_is_group(BCAST));
}

static void test_learn_lookup(void)
{
	struct net_switch *sw = make(64, 300 * SEC);

	/* Unknown until learned: the caller floods. */
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 1), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 3, 1), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 2), 3);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_B, 2), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 3, 5), NET_LEARN_REFRESHED);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_B, 0, 5), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_B, 6), 0);
	CU_ASSERT_EQUAL(net_switch_count(sw, 6), 2);
	/* A station that moved: the newest port wins. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 7, 9), NET_LEARN_MOVED);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 9), 7);
	CU_ASSERT_EQUAL(net_switch_count(sw, 9), 2);
	net_switch_destroy(sw);
}

static void test_group_never_learned(void)
{
	struct net_switch *sw = make(64, 300 * SEC);

	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, BCAST, 1, 1), NET_LEARN_INVALID);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MCAST, 1, 1), NET_LEARN_INVALID);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, NET_SWITCH_MAX_PORTS, 1),
			NET_LEARN_INVALID);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, 1ull << 48, 1, 1),
			NET_LEARN_INVALID);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, BCAST, 1), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MCAST, 1), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_count(sw, 1), 0);
	net_switch_destroy(sw);
}

static void test_ageing(void)
{
	struct net_switch *sw = make(64, 10 * SEC);

	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 2, 100 * SEC), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 109 * SEC), 2);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 110 * SEC),
			NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_count(sw, 110 * SEC), 0);
	/* Seen again after ageing out: a new entry, possibly elsewhere. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 4, 111 * SEC), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 112 * SEC), 4);
	/* Refreshing keeps it alive past the first deadline. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 4, 120 * SEC),
			NET_LEARN_REFRESHED);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 125 * SEC), 4);
	net_switch_destroy(sw);
}

static void test_flush_port(void)
{
	struct net_switch *sw = make(64, 300 * SEC);

	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 1, 1), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_B, 2, 1), NET_LEARN_NEW);
	net_switch_flush_port(sw, 1);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 2), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_B, 2), 2);
	CU_ASSERT_EQUAL(net_switch_count(sw, 2), 1);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 1, 3), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 3), 1);
	net_switch_destroy(sw);
}

static void test_many_and_full(void)
{
	struct net_switch *sw = make(16, 300 * SEC);
	unsigned learned = 0, full = 0;

	/* 16 slots: the first 16 addresses fit (the probe window spans the
	 * whole table), the 17th finds no slot, and every lookup agrees. */
	for (uint64_t i = 0; i < 17; i++) {
		enum net_learn_result r =
			net_switch_learn(sw, 0, 0x020000001000ull + i, i % 5, 1);

		learned += r == NET_LEARN_NEW;
		full += r == NET_LEARN_FULL;
	}
	CU_ASSERT_EQUAL(learned, 16);
	CU_ASSERT_EQUAL(full, 1);
	CU_ASSERT_EQUAL(net_switch_count(sw, 2), 16);
	for (uint64_t i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, 0x020000001000ull + i, 2),
				i % 5);
	/* Once they age out, the slots are reused. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 0, MAC_A, 1, 400 * SEC), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 400 * SEC), 1);
	CU_ASSERT_EQUAL(net_switch_count(sw, 400 * SEC), 1);
	net_switch_destroy(sw);

	/* A table at a quarter load keeps 2000 stations apart. */
	sw = make(8192, 300 * SEC);
	for (uint64_t i = 0; i < 2000; i++)
		CU_ASSERT_EQUAL(net_switch_learn(sw, 0, 0x020000000000ull + i * 7919,
						 (uint16_t)(i % 64), 1),
				NET_LEARN_NEW);
	for (uint64_t i = 0; i < 2000; i++)
		CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, 0x020000000000ull + i * 7919,
						  1), i % 64);
	net_switch_destroy(sw);
}

static void test_create_rejects(void)
{
	struct net_switch *sw = NULL;

	CU_ASSERT_EQUAL(net_switch_create(0, SEC, &sw), -EINVAL);
	CU_ASSERT_EQUAL(net_switch_create(16, 0, &sw), -EINVAL);
	CU_ASSERT_EQUAL(net_switch_create((1u << 24) + 1, SEC, &sw), -EINVAL);
	CU_ASSERT_PTR_NULL(sw);
}

/* The same MAC on two VLANs: two entries, neither moves the other. */
static void test_vlan_keys(void)
{
	struct net_switch *sw = make(64, 300 * SEC);

	CU_ASSERT_EQUAL(net_switch_learn(sw, 10, MAC_A, 1, 1), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 20, MAC_A, 2, 2), NET_LEARN_NEW);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 10, MAC_A, 1, 3),
			NET_LEARN_REFRESHED);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 20, MAC_A, 2, 4),
			NET_LEARN_REFRESHED);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 10, MAC_A, 5), 1);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 20, MAC_A, 5), 2);
	/* Not learned in the unaware domain nor in another VLAN. */
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 0, MAC_A, 5), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 30, MAC_A, 5), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_count(sw, 5), 2);
	/* A move within one VLAN is a move there only. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 10, MAC_A, 3, 6), NET_LEARN_MOVED);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 10, MAC_A, 7), 3);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 20, MAC_A, 7), 2);
	/* A port going down forgets its entries in every VLAN, only its. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 4094, MAC_B, 3, 8), NET_LEARN_NEW);
	net_switch_flush_port(sw, 3);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 10, MAC_A, 9), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 4094, MAC_B, 9),
			NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 20, MAC_A, 9), 2);
	/* Ageing per entry. */
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 20, MAC_A, 4 + 300 * SEC),
			NET_SWITCH_NO_PORT);
	/* Out of range VLAN ids. */
	CU_ASSERT_EQUAL(net_switch_learn(sw, 4096, MAC_B, 1, 10),
			NET_LEARN_INVALID);
	CU_ASSERT_EQUAL(net_switch_lookup(sw, 4096, MAC_B, 10),
			NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_switch_learn(sw, 5, BCAST, 1, 10),
			NET_LEARN_INVALID);
	net_switch_destroy(sw);
}

static void test_xconnect_pairs(void)
{
	CU_ASSERT_EQUAL(net_xconnect_peer(0, 2), 1);
	CU_ASSERT_EQUAL(net_xconnect_peer(1, 2), 0);
	CU_ASSERT_EQUAL(net_xconnect_peer(2, 4), 3);
	CU_ASSERT_EQUAL(net_xconnect_peer(3, 4), 2);
	CU_ASSERT_EQUAL(net_xconnect_peer(4, 4), NET_SWITCH_NO_PORT);
	CU_ASSERT_EQUAL(net_xconnect_peer(0, 3), NET_SWITCH_NO_PORT);
}

static CU_TestInfo switch_tests[] = {
	{ "mac bytes and group bit", test_mac_bytes },
	{ "learn, lookup, move", test_learn_lookup },
	{ "group addresses are never learned", test_group_never_learned },
	{ "entries age out", test_ageing },
	{ "a port going down forgets its addresses", test_flush_port },
	{ "bounded table: full, reuse, many stations", test_many_and_full },
	{ "create rejects bad sizes", test_create_rejects },
	{ "(VLAN, MAC) keys: same MAC on two VLANs", test_vlan_keys },
	{ "cross-connect pairs", test_xconnect_pairs },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_switch", NULL, NULL, NULL, NULL, switch_tests },
	CU_SUITE_INFO_NULL,
};
