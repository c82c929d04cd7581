/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_poll.h"

void blk_poll_init(struct blk_poll *p, uint64_t max_ns)
{
	p->max_ns = max_ns;
	p->min_ns = max_ns < BLK_POLL_MIN_NS ? max_ns : BLK_POLL_MIN_NS;
	p->ns = max_ns;
	p->long_waits = 0;
}

void blk_poll_slept(struct blk_poll *p, uint64_t idle_ns)
{
	if (idle_ns <= p->max_ns) {
		p->ns = p->max_ns;
		p->long_waits = 0;
		return;
	}
	if (++p->long_waits < BLK_POLL_LONG_WAITS)
		return;
	p->long_waits = BLK_POLL_LONG_WAITS;
	p->ns /= 2;
	if (p->ns < p->min_ns)
		p->ns = p->min_ns;
}
