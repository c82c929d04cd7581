/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The block pattern splitvm-drive writes in verify mode: every block starts
 * with a header naming where it belongs, which write made it and which run,
 * and a CRC-32 (zlib's, so a host script can check a disk image with
 * zlib.crc32) over everything after the CRC field.
 */
#ifndef SPLITVM_DRIVE_VERIFY_H
#define SPLITVM_DRIVE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define DRIVE_VERIFY_MAGIC	0x4b44565au	/* "ZVDK" little-endian */

/* Little-endian, at the start of every block; crc covers bytes [8, len). */
struct drive_verify_hdr {
	uint32_t magic;
	uint32_t crc;
	uint64_t offset;	/* byte offset of the block on the disk */
	uint64_t generation;	/* 1 for the first write, +1 per rewrite */
	uint64_t seed;		/* the run's seed */
};
_Static_assert(sizeof(struct drive_verify_hdr) == 32, "verify header");

/* Smallest block that can carry a header (and a whole sector). */
#define DRIVE_VERIFY_MIN_BLOCK	512

enum drive_verify_result {
	DRIVE_VERIFY_OK,
	DRIVE_VERIFY_BAD_MAGIC,		/* never written by a drive run */
	DRIVE_VERIFY_BAD_CRC,		/* torn or corrupted */
	DRIVE_VERIFY_WRONG_OFFSET,	/* misdirected: data of another block */
	DRIVE_VERIFY_WRONG_SEED,	/* left over from another run */
	DRIVE_VERIFY_WRONG_GENERATION,	/* lost (stale) or phantom write */
};

/* zlib-compatible CRC-32 (IEEE, reflected); start with crc = 0. */
uint32_t drive_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * Fill block (len >= DRIVE_VERIFY_MIN_BLOCK, a multiple of 8) with the
 * header and a payload derived from (offset, generation, seed).
 */
void drive_verify_fill(void *block, size_t len, uint64_t offset,
		       uint64_t generation, uint64_t seed);

/*
 * Check a block read back at offset against the generation it must hold.
 * found (may be NULL) gets the header as read.
 */
enum drive_verify_result drive_verify_check(const void *block, size_t len,
					    uint64_t offset,
					    uint64_t generation, uint64_t seed,
					    struct drive_verify_hdr *found);

const char *drive_verify_result_str(enum drive_verify_result r);

#endif
