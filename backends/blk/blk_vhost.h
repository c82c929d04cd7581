/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The DPDK side of splitvm-blk: registers the vhost-user socket with
 * librte_vhost, answers the blk-specific messages in a pre-message hook,
 * checks memory tables before DPDK maps them, and runs one blk_queue
 * thread per virtqueue while the front-end has the device started.
 */
#ifndef SPLITVM_BLK_VHOST_H
#define SPLITVM_BLK_VHOST_H

#include <sched.h>
#include <stdio.h>

#include "blk_req.h"

struct blk_vhost_config {
	const char *socket_path;
	const struct blk_disk *disk;
	int image_fd;
	unsigned num_queues;
	unsigned poll_us;
	cpu_set_t worker_cpus;		/* queue threads run here */
};

struct blk_vhost;

/* After rte_eal_init(): listen on cfg->socket_path. */
int blk_vhost_start(const struct blk_vhost_config *cfg, struct blk_vhost **out)
	__attribute__((warn_unused_result));

/* Print per-queue counters. */
void blk_vhost_print_stats(struct blk_vhost *b, FILE *f);

/* Stop the queues, close the connection and unregister the socket. */
void blk_vhost_stop(struct blk_vhost *b);

#endif
