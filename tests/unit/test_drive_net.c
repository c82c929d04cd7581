/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's net frames: what is sent checks out when it comes back,
 * also with the MAC addresses swapped by a forwarder; damage and frames
 * that are not ours are told apart.
 */
#include <string.h>

#include "net_job.h"
#include "unit.h"

static void test_roundtrip_and_macswap(void)
{
	uint8_t f[NET_JOB_MAX_FRAME], mac[6];
	uint64_t seq = 0, ts = 0;

	for (uint32_t len = NET_JOB_MIN_FRAME; len <= NET_JOB_MAX_FRAME;
	     len += 227) {
		net_job_frame_fill(f, len, 77 + len, 123456789, 42);
		CU_ASSERT_EQUAL(f[12], NET_JOB_ETHERTYPE >> 8);
		CU_ASSERT_EQUAL(net_job_frame_check(f, len, 42, &seq, &ts), 1);
		CU_ASSERT_EQUAL(seq, 77 + len);
		CU_ASSERT_EQUAL(ts, 123456789);
		/* testpmd macswap: destination and source exchanged. */
		memcpy(mac, f, 6);
		memcpy(f, f + 6, 6);
		memcpy(f + 6, mac, 6);
		CU_ASSERT_EQUAL(net_job_frame_check(f, len, 42, &seq, &ts), 1);
	}
}

static void test_damage_and_foreign(void)
{
	uint8_t f[128];
	uint64_t seq, ts;

	net_job_frame_fill(f, sizeof(f), 5, 6, 42);
	f[100] ^= 0x10;
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f), 42, &seq, &ts), -1);
	f[100] ^= 0x10;
	/* Truncated on the way back. */
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f) - 4, 42, &seq, &ts), -1);
	/* Sequence number rewritten. */
	f[22] ^= 1;
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f), 42, &seq, &ts), -1);
	f[22] ^= 1;
	/* Another run's frame, another EtherType, a runt: not ours. */
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f), 43, &seq, &ts), 0);
	f[13] ^= 1;
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f), 42, &seq, &ts), 0);
	f[13] ^= 1;
	CU_ASSERT_EQUAL(net_job_frame_check(f, 20, 42, &seq, &ts), 0);
	CU_ASSERT_EQUAL(net_job_frame_check(f, sizeof(f), 42, &seq, &ts), 1);
}

static CU_TestInfo net_tests[] = {
	{ "frames round-trip, also MAC-swapped", test_roundtrip_and_macswap },
	{ "damage and foreign frames", test_damage_and_foreign },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "drive_net", NULL, NULL, NULL, NULL, net_tests },
	CU_SUITE_INFO_NULL,
};
