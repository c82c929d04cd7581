/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's net mode: send numbered, checksummed, timestamped frames
 * on a vhost-user net back-end's transmit queue and take whatever comes
 * back on the receive queue (a back-end that loops or forwards them back,
 * such as testpmd in macswap mode): rates, round-trip latency, frames lost,
 * corrupted or reordered.
 */
#ifndef SPLITVM_DRIVE_NET_JOB_H
#define SPLITVM_DRIVE_NET_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "drive_dev.h"
#include "histogram.h"

/* Frames splitvm-drive sends carry this EtherType (IEEE local experimental). */
#define NET_JOB_ETHERTYPE	0x88b5
#define NET_JOB_MAGIC		0x4e44565au	/* "ZVDN" little-endian */
/* Ethernet header, magic, crc, seq, timestamp. */
#define NET_JOB_MIN_FRAME	60
#define NET_JOB_MAX_FRAME	1514
/* Receive buffer: virtio-net header plus the largest frame, rounded. */
#define NET_JOB_BUF_SIZE	2048
/* Longest --gap-us: 60 s. */
#define NET_JOB_MAX_GAP_US	60000000u

struct net_job_opts {
	uint32_t frame_size;	/* bytes of Ethernet frame, no FCS */
	unsigned tx_depth;	/* frames in flight on the transmit queue */
	uint64_t count;		/* frames to send; 0: see runtime */
	double runtime;		/* seconds */
	int drain_ms;		/* wait this long for the last frames back */
	bool event_wait;
	uint32_t gap_us;	/* >0: one frame at a time, idle this long
				 * after each comes back (tx_depth ignored) */
	int timeout_ms;		/* longest wait for a transmit completion */
	bool progress;
	bool progress_tty;
	uint64_t seed;
	volatile sig_atomic_t *stop;
};

struct net_stats {
	double elapsed;		/* from the first frame sent to the last in */
	uint64_t sent;
	uint64_t received;	/* our frames back, intact */
	uint64_t bad;		/* our EtherType but damaged */
	uint64_t foreign;	/* not ours at all */
	uint64_t reordered;	/* came back after a later one */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	struct lat_hist rtt;
	bool interrupted;
};

/*
 * Run on a drive_dev of type DRIVE_DEV_NET (vring 0 receive, 1 transmit).
 * 0 when it ran (losses and damage are in st), -EPROTO when the back-end
 * broke a ring, -ETIMEDOUT when it stopped taking frames, -ECONNRESET
 * when it hung up.
 */
int net_job_run(struct drive_dev *dev, const struct net_job_opts *o,
		struct net_stats *st)
	__attribute__((warn_unused_result));

/* Build and check frames (exposed for the unit tests). */
void net_job_frame_fill(uint8_t *frame, uint32_t len, uint64_t seq,
			uint64_t tx_ns, uint64_t seed);
/* 1: ours and intact (*seq, *tx_ns set), 0: not ours, -1: ours, damaged. */
int net_job_frame_check(const uint8_t *frame, uint32_t len, uint64_t seed,
			uint64_t *seq, uint64_t *tx_ns);

/*
 * The whole net mode of the program: open the device, run, print (text or
 * JSON).  Returns the exit status (0, 1 error, 3 damaged frames).
 */
int drive_net_main(const struct drive_dev_opts *dopts,
		   const struct net_job_opts *o, bool json);

#endif
