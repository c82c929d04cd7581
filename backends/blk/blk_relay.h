/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --fd N: librte_vhost only listens on or connects to a path, so an
 * already connected vhost-user socket is served through a private
 * socket in a 0700 directory; a thread copies messages and their fds
 * between the two.  Only control messages pass here: guest memory and
 * the kick/call eventfds go straight to the process.
 */
#ifndef SPLITVM_BLK_RELAY_H
#define SPLITVM_BLK_RELAY_H

#include <sys/types.h>

struct blk_relay;

/* Check fd is a connected unix stream socket; pick the private path. */
int blk_relay_create(int fd, struct blk_relay **out)
	__attribute__((warn_unused_result));
const char *blk_relay_path(const struct blk_relay *r);
/* Connect to the path (DPDK listens there now) and start copying;
 * when either side hangs up, SIGTERM goes to pid. */
int blk_relay_start(struct blk_relay *r, pid_t pid)
	__attribute__((warn_unused_result));
void blk_relay_destroy(struct blk_relay *r);

#endif
