/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes a seed corpus for fuzz_virtio_net_ctrl into the directory
 * argv[1]: well-formed control commands (VQ_PAIRS_SET in three buffers,
 * in one buffer plus ack, through an indirect table, and an unsupported
 * class), in the fuzz target's input format, so the fuzzer starts from
 * chains that reach the command instead of rediscovering the layout.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "virtio.h"

#define BASE		0x10000ull	/* FUZZ_BASE in the target */
#define QSIZE_LOG2	3
#define QSIZE		(1u << QSIZE_LOG2)
#define BUFS		0x200u		/* buffers, offset in the area */
#define ITABLE		0x300u		/* an indirect table */

static uint8_t area[0x400];
static const char *dir;
static unsigned seeds;

static void put_desc(unsigned off, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(area + off + i * sizeof(d), &d, sizeof(d));
}

/* Header, avail ring with `n` entries of head 0, command bytes. */
static int write_seed(uint8_t flags, unsigned n, const uint8_t *cmd,
		      size_t cmd_len)
{
	uint16_t avail[3] = { 0, (uint16_t)n, 0 };
	uint8_t hdr[3] = { (uint8_t)(flags | QSIZE_LOG2 << 2), 4, 1 };
	char path[4096];
	FILE *f;

	memcpy(area + virtio_split_desc_size(QSIZE), avail, sizeof(avail));
	memcpy(area + BUFS, cmd, cmd_len);
	snprintf(path, sizeof(path), "%s/seed%02u", dir, seeds++);
	f = fopen(path, "wb");
	if (!f || fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr) ||
	    fwrite(area, 1, sizeof(area), f) != sizeof(area) || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const uint8_t mq[] = { VIRTIO_NET_CTRL_MQ,
			       VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	const uint8_t rx[] = { VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
			       1 };
	int ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	/* Header, data, ack: three buffers. */
	put_desc(0, 0, BASE + BUFS, 2, VRING_DESC_F_NEXT, 1);
	put_desc(0, 1, BASE + BUFS + 2, 2, VRING_DESC_F_NEXT, 2);
	put_desc(0, 2, BASE + BUFS + 8, 1, VRING_DESC_F_WRITE, 0);
	ret |= write_seed(0, 1, mq, sizeof(mq));
	ret |= write_seed(1, 2, mq, sizeof(mq));	/* EVENT_IDX */
	ret |= write_seed(0, 1, rx, sizeof(rx));
	/* Header and data in one buffer. */
	memset(area, 0, sizeof(area));
	put_desc(0, 0, BASE + BUFS, 4, VRING_DESC_F_NEXT, 1);
	put_desc(0, 1, BASE + BUFS + 8, 1, VRING_DESC_F_WRITE, 0);
	ret |= write_seed(0, 1, mq, sizeof(mq));
	/* The three buffers through an indirect table. */
	memset(area, 0, sizeof(area));
	put_desc(ITABLE, 0, BASE + BUFS, 2, VRING_DESC_F_NEXT, 1);
	put_desc(ITABLE, 1, BASE + BUFS + 2, 2, VRING_DESC_F_NEXT, 2);
	put_desc(ITABLE, 2, BASE + BUFS + 8, 1, VRING_DESC_F_WRITE, 0);
	put_desc(0, 0, BASE + ITABLE, 3 * sizeof(struct vring_desc),
		 VRING_DESC_F_INDIRECT, 0);
	ret |= write_seed(2, 1, mq, sizeof(mq));
	return ret;
}
