/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-blk's command line, following QEMU's vhost-user "backend
 * program conventions" (--socket-path, --fd, --print-capabilities).
 */
#ifndef SPLITVM_BLK_OPTIONS_H
#define SPLITVM_BLK_OPTIONS_H

#include <stdbool.h>

#include "be_sandbox.h"
#include "log.h"
#include "virtio.h"

#define BLK_OPTIONS_MAX_QUEUES	16

struct blk_options {
	const char *socket_path;	/* listen here ... */
	int sock_fd;			/* ... or serve this connected socket */
	const char *image;		/* open this image ... */
	int image_fd;			/* ... or use this open fd */
	bool read_only;
	bool writethrough;
	bool direct;
	bool allow_root;
	enum be_seccomp seccomp;	/* --seccomp= (default kill) */
	bool print_capabilities;
	bool help;
	unsigned num_queues;
	unsigned poll_us;
	unsigned mem_mb;		/* DPDK heap (no hugepages) */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	enum log_level log_level;
	unsigned verbose;		/* -v count: 2 shows DPDK's logs */
};

/*
 * Parse argv.  0 on success; on a usage error prints one line to stderr
 * and returns -EINVAL.
 */
int blk_options_parse(int argc, char **argv, struct blk_options *o)
	__attribute__((warn_unused_result));

void blk_options_usage(const char *prog);

/* The JSON --print-capabilities prints (vhost-user.json, type block). */
extern const char blk_capabilities_json[];

#endif
