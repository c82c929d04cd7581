/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's software offloads (backends/net/net_offload.c) on frames
 * a guest controls: input = want (1 byte), gso_size (2), contiguous
 * header bytes (1), then the frame. Whatever it is, parsing stays inside
 * the frame, and a frame that passes the checks is completed and
 * segmented inside buffers of exactly the size claimed (ASan checks).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_ol_frame f;
	unsigned want;
	uint32_t mss, hl;
	size_t hlen, len;
	uint8_t *frame;

	if (size < 4)
		return 0;
	want = data[0] & 7;
	mss = (uint32_t)data[1] << 8 | data[2];
	len = size - 4;
	hlen = (size_t)data[3] * 4;
	frame = malloc(len ? len : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 4, len);
	if (net_ol_parse(frame, hlen, len, &f))
		goto out;
	hl = (uint32_t)f.l2_len + f.l3_len + f.l4_len;
	if (hl > hlen || hl > len ||
	    (size_t)f.l2_len + f.l3_len + f.l4_total > len ||
	    f.l4_total < f.l4_len)
		abort();
	if (net_ol_check(&f, want, mss, 1500))
		goto out;
	if (want & (NET_OL_TSO4 | NET_OL_TSO6)) {
		unsigned n = net_ol_tso_segs(&f, mss);
		uint32_t off = hl;

		if (n > NET_OL_MAX_SEGS)
			abort();
		for (unsigned i = 0; i < n; i++) {
			uint32_t pay = net_ol_tso_seg_payload(&f, mss, i);
			uint8_t *seg = malloc(hl + pay);

			if (!seg)
				break;
			if (hl + pay > 1514 + 4 || off + pay > len)
				abort();
			memcpy(seg + hl, frame + off, pay);
			if (net_ol_tso_fill(seg, frame, &f, mss, i) != hl + pay)
				abort();
			off += pay;
			free(seg);
		}
	} else {
		net_ol_csum_fill(frame, &f);
	}
out:
	free(frame);
	return 0;
}
