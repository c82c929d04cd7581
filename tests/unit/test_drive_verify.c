/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's verify blocks: the CRC is zlib's CRC-32, a filled block
 * checks out, and every kind of damage is told apart.
 */
#include <string.h>

#include "verify.h"
#include "unit.h"

static void test_crc32_matches_zlib(void)
{
	static const char check[] = "123456789";
	uint8_t buf[4096 + 7];

	/* The CRC-32/ISO-HDLC check value, as zlib.crc32 gives it. */
	CU_ASSERT_EQUAL(drive_crc32(0, check, 9), 0xcbf43926u);
	CU_ASSERT_EQUAL(drive_crc32(0, "", 0), 0);
	/* Chaining and misaligned starts give the same answer. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	CU_ASSERT_EQUAL(drive_crc32(drive_crc32(0, buf + 1, 1000),
				    buf + 1001, 3000),
			drive_crc32(0, buf + 1, 4000));
	CU_ASSERT_EQUAL(drive_crc32(0, "a", 1), 0xe8b7be43u);
}

static void test_fill_then_check(void)
{
	static uint8_t a[4096], b[4096];
	struct drive_verify_hdr h;

	drive_verify_fill(a, sizeof(a), 8192, 3, 42);
	memcpy(&h, a, sizeof(h));
	CU_ASSERT_EQUAL(h.magic, DRIVE_VERIFY_MAGIC);
	CU_ASSERT_EQUAL(h.offset, 8192);
	CU_ASSERT_EQUAL(h.generation, 3);
	CU_ASSERT_EQUAL(h.seed, 42);
	CU_ASSERT_EQUAL(h.crc, drive_crc32(0, a + 8, sizeof(a) - 8));
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 8192, 3, 42, NULL),
			DRIVE_VERIFY_OK);
	/* Payload depends on every input. */
	drive_verify_fill(b, sizeof(b), 8192, 4, 42);
	CU_ASSERT(memcmp(a + 32, b + 32, sizeof(a) - 32) != 0);
	drive_verify_fill(b, sizeof(b), 8192 + 4096, 3, 42);
	CU_ASSERT(memcmp(a + 32, b + 32, sizeof(a) - 32) != 0);
	drive_verify_fill(b, sizeof(b), 8192, 3, 43);
	CU_ASSERT(memcmp(a + 32, b + 32, sizeof(a) - 32) != 0);
	/* Smallest block. */
	drive_verify_fill(b, DRIVE_VERIFY_MIN_BLOCK, 0, 1, 1);
	CU_ASSERT_EQUAL(drive_verify_check(b, DRIVE_VERIFY_MIN_BLOCK, 0, 1, 1,
					   NULL), DRIVE_VERIFY_OK);
}

static void test_damage_is_classified(void)
{
	static uint8_t a[4096];
	struct drive_verify_hdr found;

	memset(a, 0, sizeof(a));
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 0, 1, 42, NULL),
			DRIVE_VERIFY_BAD_MAGIC);

	drive_verify_fill(a, sizeof(a), 4096, 2, 42);
	a[2000] ^= 1;
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 4096, 2, 42, NULL),
			DRIVE_VERIFY_BAD_CRC);
	a[2000] ^= 1;
	/* A header field flipped is caught by the CRC too. */
	a[16] ^= 1;
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 4096, 2, 42, NULL),
			DRIVE_VERIFY_BAD_CRC);
	a[16] ^= 1;

	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 8192, 2, 42, &found),
			DRIVE_VERIFY_WRONG_OFFSET);
	CU_ASSERT_EQUAL(found.offset, 4096);
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 4096, 2, 7, NULL),
			DRIVE_VERIFY_WRONG_SEED);
	CU_ASSERT_EQUAL(drive_verify_check(a, sizeof(a), 4096, 3, 42, &found),
			DRIVE_VERIFY_WRONG_GENERATION);
	CU_ASSERT_EQUAL(found.generation, 2);
	CU_ASSERT_STRING_EQUAL(drive_verify_result_str(
			DRIVE_VERIFY_WRONG_GENERATION), "wrong generation");
}

static CU_TestInfo verify_tests[] = {
	{ "crc32 is zlib's", test_crc32_matches_zlib },
	{ "a filled block checks out", test_fill_then_check },
	{ "damage is classified", test_damage_is_classified },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "drive_verify", NULL, NULL, NULL, NULL, verify_tests },
	CU_SUITE_INFO_NULL,
};
