/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whether a back-end can take its DPDK memory from huge pages. EAL's
 * --in-memory mode backs its memory with hugetlb memfds, which needs
 * neither root nor a writable hugetlbfs: only free pages in the pool and
 * (EAL 22.11 insists) a hugetlbfs mount of that page size somewhere.
 */
#ifndef SPLITVM_BE_HUGE_H
#define SPLITVM_BE_HUGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bytes free in the huge page pools that a hugetlbfs mount serves, read
 * from mounts (a /proc/mounts) and sysfs (a /sys/kernel/mm/hugepages:
 * hugepages-<kB>kB/free_hugepages); a mount without pagesize= serves
 * default_kb (/proc/meminfo's Hugepagesize). Each size counts once.
 * 0 (with *free_bytes 0 when there is no mount or no free page), or
 * -errno when mounts cannot be read.
 */
int be_huge_free(const char *mounts, const char *sysfs, uint64_t default_kb,
		 uint64_t *free_bytes);

/* /proc/meminfo's Hugepagesize in kB, or 0 when it has none. */
uint64_t be_huge_default_kb(const char *meminfo);

/* be_huge_free on this machine's /proc and /sys. */
int be_huge_free_here(uint64_t *free_bytes);

#endif
