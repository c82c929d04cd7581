/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive --probe: send a vhost-user blk back-end requests it must
 * answer with an error or refuse (past the end, unknown type, wrong
 * descriptor layouts, a descriptor loop, ...), each on a fresh
 * connection, and check that it then still serves a normal read.
 */
#ifndef SPLITVM_DRIVE_BLK_PROBE_H
#define SPLITVM_DRIVE_BLK_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "drive_dev.h"

enum blk_probe_outcome {
	BLK_PROBE_STATUS,	/* completed, status byte written */
	BLK_PROBE_NO_STATUS,	/* completed, status byte untouched */
	BLK_PROBE_NO_COMPLETION,/* not completed within the probe timeout */
	BLK_PROBE_HUNG_UP,	/* the back-end closed the connection */
	BLK_PROBE_RING_BROKEN,	/* the completion itself broke the ring */
	BLK_PROBE_SETUP_FAILED,	/* could not connect / set up */
	BLK_PROBE_SKIPPED,	/* needs a feature the back-end lacks */
};

struct blk_probe_result {
	const char *name;
	const char *what;	/* the request, in words */
	const char *expect;	/* what a correct back-end does */
	enum blk_probe_outcome outcome;
	uint8_t status;		/* with BLK_PROBE_STATUS */
	bool touched;		/* wrote into a buffer it may only read */
	bool served_after;	/* a normal read on the same connection worked */
	bool pass;
};

/* Number of probes; results[] must hold that many. */
unsigned blk_probe_count(void);

/*
 * Run every probe (dopts: socket and timeouts; queues, slots and sizes
 * are the probe's own).  probe_ms bounds the wait for a bad request's
 * answer.  0 when every probe ran (see pass), -errno when not even the
 * first connection could be set up.
 */
int blk_probe_run(const struct drive_dev_opts *dopts, int probe_ms,
		  struct blk_probe_result *results)
	__attribute__((warn_unused_result));

const char *blk_probe_outcome_str(enum blk_probe_outcome o);

/*
 * The whole --probe mode: run, print a table (or JSON).  Returns the exit
 * status: 0 all passed, 3 some failed, 1 no connection.
 */
int drive_probe_main(const struct drive_dev_opts *dopts, int probe_ms,
		     bool json);

#endif
