/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_sandbox.h"

#include <fcntl.h>
#include <sys/mman.h>

/*
 * What splitvm-blk does once serving, beyond what every back-end does:
 * queue threads set up an io_uring each when the driver starts a ring,
 * requests go through it (and its worker threads, which the kernel
 * creates: no syscall of ours), flushes, and librte_vhost allocating the
 * inflight region for GET_INFLIGHT_FD.
 */
static const struct be_sandbox_rule blk_rules[] = {
	BE_ALLOW(io_uring_setup, "a queue thread starts with its ring"),
	BE_ALLOW(io_uring_enter, "submit and reap requests"),
	BE_ALLOW(io_uring_register, "liburing: ring set-up and files"),
	BE_ALLOW(fdatasync, "FLUSH, writethrough mode"),
	BE_ALLOW(fsync, "FLUSH when fdatasync is not enough"),
	BE_ALLOW(fallocate, "DISCARD and WRITE_ZEROES"),
	BE_ALLOW(pread64, "synchronous fall-back I/O"),
	BE_ALLOW(pwrite64, "synchronous fall-back I/O"),
	BE_ALLOW(preadv, "synchronous fall-back I/O"),
	BE_ALLOW(pwritev, "synchronous fall-back I/O"),
	/*
	 * librte_vhost's inflight region: memfd_create, then ftruncate to
	 * its size.  ftruncate cannot be limited to that fd: the guest RAM
	 * memfds are protected by the seals the core puts on them instead.
	 */
	BE_ALLOW(memfd_create, "librte_vhost: GET_INFLIGHT_FD region"),
	BE_ALLOW(ftruncate, "librte_vhost: size of the inflight memfd"),
};

const struct be_sandbox_policy blk_sandbox_policy = {
	.kind = "splitvm-blk",
	.rules = blk_rules,
	.nrules = sizeof(blk_rules) / sizeof(blk_rules[0]),
};
