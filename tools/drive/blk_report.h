/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's blk results: a few lines per phase for people, or one
 * JSON object for scripts (docs/splitvm-drive.md describes both).
 */
#ifndef SPLITVM_DRIVE_BLK_REPORT_H
#define SPLITVM_DRIVE_BLK_REPORT_H

#include <stdbool.h>

#include "drive_dev.h"
#include "drive_job.h"

struct blk_report {
	const char *socket;
	const struct drive_job_opts *job;
	unsigned iodepth;
	unsigned queues;
	unsigned queue_size;
};

void blk_report_phase(const struct blk_report *r, enum drive_phase p,
		      const struct drive_stats *st);

/* ran[p]: phase p ran and st[p] holds its numbers; dev may be NULL. */
void blk_report_json(const struct blk_report *r, const struct drive_dev *d,
		     const struct drive_stats *st, const bool *ran,
		     const char *error);

#endif
