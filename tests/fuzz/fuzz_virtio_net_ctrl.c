/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the core's virtio-net control queue: arbitrary
 * bytes as the guest's descriptor table, rings and buffers.  Must never
 * touch memory outside guest RAM (a fault outside the mapping crashes),
 * never answer more than a ring's worth per call (the guest may write
 * the rings through its own acks, so that is the only bound), and
 * return only a count or the documented errors.
 *
 * Input: b0 flags (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bits 2-4 log2
 * of the queue size), b1 max_pairs, b2 how many times to run the queue;
 * the rest is copied to guest RAM at FUZZ_BASE: the descriptor table,
 * then the available ring, then the used ring, then buffers.  Guest RAM
 * is 16 MiB, so descriptors may point anywhere in it or beyond.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "log.h"
#include "virtio.h"
#include "virtio_net_ctrl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BASE	0x10000ull
#define FUZZ_AREA	0x10000ull

static struct guest_mem *mem;
static unsigned pairs_calls;

static int fuzz_set_pairs(void *opaque, unsigned pairs)
{
	(void)opaque;
	(void)pairs;
	pairs_calls++;
	return pairs_calls % 3 ? 0 : -EIO;
}

static const struct virtio_net_ctrl_ops fuzz_ops = {
	.set_queue_pairs = fuzz_set_pairs,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LEVEL_ERR);
	if (guest_mem_create(GUEST_MEM_MIN_SIZE, 0, &mem))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *area = guest_mem_ptr(mem, FUZZ_BASE, FUZZ_AREA);
	struct virtio_net_ctrl_config cfg = { .name = "fuzz", .mem = mem };
	struct virtio_net_ctrl *c;
	struct vring_used *used;
	unsigned runs;
	bool notify;
	int n;

	if (size < 3 || !area)
		return 0;
	cfg.event_idx = data[0] & 1;
	cfg.indirect = data[0] & 2;
	cfg.size = (uint16_t)(1u << ((data[0] >> 2) & 7));
	cfg.max_pairs = data[1];
	runs = 1 + data[2] % 4;
	data += 3;
	size -= 3;
	memset(area, 0, FUZZ_AREA);
	memcpy(area, data, size < FUZZ_AREA ? size : FUZZ_AREA);
	cfg.desc = FUZZ_BASE;
	cfg.driver = cfg.desc + virtio_split_desc_size(cfg.size);
	cfg.device = (cfg.driver + virtio_split_avail_size(cfg.size) + 3) &
		     ~3ull;
	used = guest_mem_ptr(mem, cfg.device, virtio_split_used_size(cfg.size));
	/* The device starts at index 0; the used ring is the device's. */
	memset(used, 0, virtio_split_used_size(cfg.size));
	if (virtio_net_ctrl_start(&cfg, &fuzz_ops, NULL, &c))
		abort();
	for (unsigned i = 0; i < runs; i++) {
		n = virtio_net_ctrl_process(c, &notify);
		if (n < 0) {
			if (n != -EINVAL && n != -EFAULT && n != -ELOOP)
				abort();
			break;
		}
		if (n > cfg.size)
			abort();
	}
	virtio_net_ctrl_stop(c);
	return 0;
}
