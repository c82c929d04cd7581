/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fio-like block jobs on a drive_dev: one thread keeps every queue at its
 * depth, polls (or sleeps on the call eventfds) for completions, records
 * latencies and, in verify mode, writes and checks self-describing blocks
 * (verify.h) against a generation map of the job's range.
 */
#ifndef SPLITVM_DRIVE_JOB_H
#define SPLITVM_DRIVE_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "drive_dev.h"
#include "histogram.h"
#include "vhost_user.h"

enum drive_rw {
	DRIVE_RW_READ,
	DRIVE_RW_WRITE,
	DRIVE_RW_RANDREAD,
	DRIVE_RW_RANDWRITE,
	DRIVE_RW_RW,		/* sequential, mixed by rwmixread */
	DRIVE_RW_RANDRW,	/* random, mixed by rwmixread */
};

enum drive_op { DRIVE_OP_READ, DRIVE_OP_WRITE, DRIVE_OP_FLUSH, DRIVE_OP_NR };

struct drive_job_opts {
	enum drive_rw rw;
	unsigned rwmixread;	/* percent of reads in the mixed modes */
	uint32_t bs;		/* bytes per request, multiple of 512 */
	uint64_t offset;	/* start of the range, bytes */
	uint64_t size;		/* length of the range, bytes (multiple of bs) */
	uint64_t count;		/* reads and writes in the main phase; 0: see
				   runtime (FLUSHes do not count) */
	double runtime;		/* seconds; 0 with count 0: one pass */
	uint64_t fsync;		/* a FLUSH after every fsync writes; 0: never */
	bool verify;
	uint64_t seed;
	bool event_wait;	/* sleep on call eventfds instead of polling */
	int timeout_ms;		/* longest wait for any completion */
	bool progress;		/* a line per second on stderr */
	bool progress_tty;	/* ... redrawn in place */
	volatile sig_atomic_t *stop;	/* set by a signal: drain and end */
};

struct drive_stats {
	double elapsed;			/* seconds */
	uint64_t ios[DRIVE_OP_NR];
	uint64_t bytes[DRIVE_OP_NR];
	struct lat_hist lat[DRIVE_OP_NR];
	uint64_t io_errors;		/* VIRTIO_BLK_S_IOERR */
	uint64_t unsupported;		/* VIRTIO_BLK_S_UNSUPP */
	uint64_t verified;		/* blocks read and checked */
	unsigned nq;
	uint64_t queue_ios[VHOST_USER_MAX_VRINGS];	/* completed, by queue */
	uint64_t verify_errors;
	bool interrupted;
};

enum drive_phase {
	DRIVE_PHASE_FILL,	/* verify: write every block once */
	DRIVE_PHASE_MAIN,	/* the job as asked */
	DRIVE_PHASE_READBACK,	/* verify: read and check every block */
};

struct drive_job;

int drive_job_create(struct drive_dev *dev, const struct drive_job_opts *o,
		     struct drive_job **out)
	__attribute__((warn_unused_result));
void drive_job_destroy(struct drive_job *j);

/*
 * Run one phase to its end.  0 when it ran (I/O and verify errors are
 * counted in st), -EPROTO when the back-end broke a ring or a request's
 * status, -ETIMEDOUT when it stopped completing, other -errno.
 */
int drive_job_run(struct drive_job *j, enum drive_phase phase,
		  struct drive_stats *st)
	__attribute__((warn_unused_result));

const char *drive_rw_name(enum drive_rw rw);
const char *drive_phase_name(enum drive_phase p);

#endif
