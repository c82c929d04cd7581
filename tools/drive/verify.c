/* SPDX-License-Identifier: GPL-2.0-only */
#include "verify.h"

#include <pthread.h>
#include <string.h>

/* Slicing-by-8: eight 256-entry tables, built once. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
				crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t drive_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_build);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc;
		crc = crc_table[7][v & 0xff] ^
		      crc_table[6][(v >> 8) & 0xff] ^
		      crc_table[5][(v >> 16) & 0xff] ^
		      crc_table[4][(v >> 24) & 0xff] ^
		      crc_table[3][(v >> 32) & 0xff] ^
		      crc_table[2][(v >> 40) & 0xff] ^
		      crc_table[1][(v >> 48) & 0xff] ^
		      crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finaliser: distinct inputs give unrelated streams. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

void drive_verify_fill(void *block, size_t len, uint64_t offset,
		       uint64_t generation, uint64_t seed)
{
	struct drive_verify_hdr hdr = {
		.magic = DRIVE_VERIFY_MAGIC,
		.offset = offset,
		.generation = generation,
		.seed = seed,
	};
	uint64_t x = mix64(seed ^ mix64(offset ^ mix64(generation)));
	uint8_t *p = block;

	for (size_t i = sizeof(hdr); i + 8 <= len; i += 8) {
		/* xorshift64: cheap and never stuck at zero once seeded. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += !x;
		memcpy(p + i, &x, 8);
	}
	memcpy(p, &hdr, sizeof(hdr));
	hdr.crc = drive_crc32(0, p + 8, len - 8);
	memcpy(p + 4, &hdr.crc, sizeof(hdr.crc));
}

enum drive_verify_result drive_verify_check(const void *block, size_t len,
					    uint64_t offset,
					    uint64_t generation, uint64_t seed,
					    struct drive_verify_hdr *found)
{
	struct drive_verify_hdr hdr;

	memcpy(&hdr, block, sizeof(hdr));
	if (found)
		*found = hdr;
	if (hdr.magic != DRIVE_VERIFY_MAGIC)
		return DRIVE_VERIFY_BAD_MAGIC;
	if (hdr.crc != drive_crc32(0, (const uint8_t *)block + 8, len - 8))
		return DRIVE_VERIFY_BAD_CRC;
	if (hdr.offset != offset)
		return DRIVE_VERIFY_WRONG_OFFSET;
	if (hdr.seed != seed)
		return DRIVE_VERIFY_WRONG_SEED;
	if (hdr.generation != generation)
		return DRIVE_VERIFY_WRONG_GENERATION;
	return DRIVE_VERIFY_OK;
}

const char *drive_verify_result_str(enum drive_verify_result r)
{
	switch (r) {
	case DRIVE_VERIFY_OK:			return "ok";
	case DRIVE_VERIFY_BAD_MAGIC:		return "no verify header";
	case DRIVE_VERIFY_BAD_CRC:		return "CRC mismatch";
	case DRIVE_VERIFY_WRONG_OFFSET:		return "wrong offset";
	case DRIVE_VERIFY_WRONG_SEED:		return "wrong seed";
	case DRIVE_VERIFY_WRONG_GENERATION:	return "wrong generation";
	}
	return "?";
}
