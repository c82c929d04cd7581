/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive --net --probe: malformed transmit chains and receive
 * buffers a vhost-user net back-end must survive.  After each one a good
 * frame must still get through on the same connection and on a new one.
 */
#ifndef SPLITVM_DRIVE_NET_PROBE_H
#define SPLITVM_DRIVE_NET_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "drive_dev.h"

struct net_probe_result {
	const char *name;
	const char *what;	/* the chain or buffer, in words */
	bool setup_ok;		/* the connections came up */
	bool hung_up;		/* the back-end closed a connection */
	bool ring_broken;	/* a used entry broke the ring protocol */
	bool bad_returned;	/* the bad chain or buffer came back used */
	bool forwarded;		/* something but the good frame arrived */
	bool served_after;	/* the good frame behind it got through */
	bool alive_after;	/* a new connection forwards a good frame */
	bool skipped;		/* not expressible on this ring layout */
	bool pass;
};

/* Number of probes; results[] must hold that many. */
unsigned net_probe_count(void);

/*
 * Run every probe.  dopts->socket is the port the bad chains go to;
 * peer, when not NULL, the port frames sent there come out of (a switch
 * or cross-connect), else they must come back on the same connection (a
 * reflector such as testpmd in macswap mode).  probe_ms bounds each wait.
 * dopts->packed: packed rings, where the probes that need a next index or
 * an indirect table are skipped.
 * 0 when every probe ran (see pass), -ENOTCONN when not even the first
 * connection came up.
 */
int net_probe_run(const struct drive_dev_opts *dopts, const char *peer,
		  int probe_ms, uint64_t seed, struct net_probe_result *results)
	__attribute__((warn_unused_result));

/* Run, print a table or JSON; the exit status (0 passed, 3 failed, 1). */
int drive_net_probe_main(const struct drive_dev_opts *dopts, const char *peer,
			 int probe_ms, uint64_t seed, bool json);

#endif
