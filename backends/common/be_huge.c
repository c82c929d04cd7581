/* SPDX-License-Identifier: GPL-2.0-only */
#include "be_huge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Mount option pagesize=N[KMG] (N alone: bytes) in kB: 0 when the mount
 * has none (it serves the default size), -1 when it cannot be read.
 */
static int64_t opt_pagesize_kb(const char *opts)
{
	const char *p = opts;
	uint64_t v;
	char *end;

	/* Only as a whole option: at the start or after a comma. */
	while ((p = strstr(p, "pagesize=")) && p != opts && p[-1] != ',')
		p++;
	if (!p)
		return 0;
	errno = 0;
	v = strtoull(p + strlen("pagesize="), &end, 10);
	if (errno || end == p + strlen("pagesize=") || v >= (1ull << 40))
		return -1;
	switch (*end) {
	case 'K': case 'k':
		break;
	case 'M': case 'm':
		v <<= 10;
		break;
	case 'G': case 'g':
		v <<= 20;
		break;
	case ',': case '\0':
		v >>= 10;		/* bytes */
		break;
	default:
		return -1;
	}
	return v ? (int64_t)v : -1;
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

#define BE_HUGE_SIZES 8

int be_huge_free(const char *mounts, const char *sysfs, uint64_t default_kb,
		 uint64_t *free_bytes)
{
	uint64_t seen[BE_HUGE_SIZES], total = 0;
	unsigned nseen = 0;
	char line[1024];
	FILE *f;

	*free_bytes = 0;
	f = fopen(mounts, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char type[64], opts[512];
		uint64_t pages;
		int64_t kb;
		char path[256];
		bool dup = false;

		if (sscanf(line, "%*s %*s %63s %511s", type, opts) != 2 ||
		    strcmp(type, "hugetlbfs"))
			continue;
		kb = opt_pagesize_kb(opts);
		if (!kb)
			kb = (int64_t)default_kb;
		if (kb <= 0)
			continue;
		for (unsigned i = 0; i < nseen; i++)
			dup |= seen[i] == (uint64_t)kb;
		if (dup || nseen == BE_HUGE_SIZES)
			continue;
		seen[nseen++] = (uint64_t)kb;
		snprintf(path, sizeof(path), "%s/hugepages-%" PRId64
			 "kB/free_hugepages", sysfs, kb);
		pages = read_u64(path);
		total += pages * (uint64_t)kb * 1024;
	}
	fclose(f);
	*free_bytes = total;
	return 0;
}

uint64_t be_huge_default_kb(const char *meminfo)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen(meminfo, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int be_huge_free_here(uint64_t *free_bytes)
{
	return be_huge_free("/proc/mounts", "/sys/kernel/mm/hugepages",
			    be_huge_default_kb("/proc/meminfo"), free_bytes);
}
