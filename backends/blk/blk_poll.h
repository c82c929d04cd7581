/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How long a queue polls before it sleeps: up to --poll-us, shorter while
 * the waits it sees are longer than that, so a queue waiting on a slow
 * device does not spin through every wait only to sleep anyway.
 */
#ifndef SPLITVM_BLK_POLL_H
#define SPLITVM_BLK_POLL_H

#include <stdint.h>

/* The shortest window: a driver refilling the ring answers within it. */
#define BLK_POLL_MIN_NS		20000u
/*
 * Long waits in a row before the window shrinks: one slow write among
 * fast ones must not make the next, fast, wait a sleep.
 */
#define BLK_POLL_LONG_WAITS	4u

struct blk_poll {
	uint64_t max_ns;	/* --poll-us */
	uint64_t min_ns;
	uint64_t ns;		/* the current window */
	unsigned long_waits;	/* in a row, longer than max_ns */
};

void blk_poll_init(struct blk_poll *p, uint64_t max_ns);

/*
 * The queue slept after polling p->ns without work, and the next work
 * came idle_ns after the last: a wait that polling up to max_ns would
 * have covered brings the window back to max_ns (latency first); from
 * the BLK_POLL_LONG_WAITS-th longer one in a row on, each halves it,
 * down to min_ns.
 */
void blk_poll_slept(struct blk_poll *p, uint64_t idle_ns);

#endif
