/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the core's and the back-ends' sandboxes (like log.h, not a
 * wire format): glibc opens /proc/sys/vm/overcommit_memory the first
 * time free() shrinks a thread's malloc heap (check_may_shrink_heap),
 * which a seccomp filter refuses, and a thread may free long after the
 * filter is on. Thread heaps are at most 64 MiB: with a trim threshold
 * that large they are never shrunk (a heap left empty is still unmapped
 * whole), and nothing reads that file.
 */
#ifndef SPLITVM_HEAP_KEEP_H
#define SPLITVM_HEAP_KEEP_H

#include <errno.h>
#include <malloc.h>

/* glibc's largest thread heap (HEAP_MAX_SIZE on 64-bit). */
#define HEAP_KEEP_TRIM_THRESHOLD (64 << 20)

/*
 * A sanitizer build (meson -Db_sanitize=address) brings its own malloc,
 * which has no mallopt() and no glibc heap trimming to prevent.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_KEEP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_KEEP_SANITIZED 1
#endif
#endif
#ifndef HEAP_KEEP_SANITIZED
#define HEAP_KEEP_SANITIZED 0
#endif

/* Before a seccomp filter goes on: 0, or -EINVAL when glibc refused. */
static inline int heap_keep(void)
{
	if (mallopt(M_TRIM_THRESHOLD, HEAP_KEEP_TRIM_THRESHOLD) ||
	    HEAP_KEEP_SANITIZED)
		return 0;
	return -EINVAL;
}

#endif
