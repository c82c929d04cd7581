/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/common/be_huge: free huge page memory that a hugetlbfs mount
 * serves, from a /proc/mounts and a /sys/kernel/mm/hugepages made up in
 * a temporary directory.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "be_huge.h"
#include "unit.h"

static char dir[PATH_MAX];

/* 0, or -1 (no CUnit assertion here: setup() calls it too). */
static int put(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (!f)
		return -1;
	r = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : r;
}

/* free_hugepages of the pool of kb kB pages. */
static int pool(unsigned kb, unsigned free_pages)
{
	char rel[128], path[PATH_MAX * 2], text[32];

	snprintf(path, sizeof(path), "%s/sys/hugepages-%ukB", dir, kb);
	mkdir(path, 0700);
	snprintf(rel, sizeof(rel), "sys/hugepages-%ukB/free_hugepages", kb);
	snprintf(text, sizeof(text), "%u\n", free_pages);
	return put(rel, text);
}

static uint64_t free_with(const char *mounts, uint64_t default_kb)
{
	char m[PATH_MAX * 2], s[PATH_MAX * 2];
	uint64_t bytes = 12345;

	CU_ASSERT_EQUAL_FATAL(put("mounts", mounts), 0);
	snprintf(m, sizeof(m), "%s/mounts", dir);
	snprintf(s, sizeof(s), "%s/sys", dir);
	CU_ASSERT_EQUAL_FATAL(be_huge_free(m, s, default_kb, &bytes), 0);
	return bytes;
}

static int setup(void)
{
	char path[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "/tmp/test_be_huge.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/sys", dir);
	if (mkdir(path, 0700))
		return -1;
	return pool(2048, 100) || pool(1048576, 2) ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown(void)
{
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

#define PROC "proc /proc proc rw,nosuid 0 0\n"
#define MIB (1ull << 20)

static void test_no_mount(void)
{
	/* Free pages, but no hugetlbfs: EAL 22.11 would not use them. */
	CU_ASSERT_EQUAL(free_with(PROC "tmpfs /dev/shm tmpfs rw 0 0\n", 2048),
			0);
	CU_ASSERT_EQUAL(free_with("", 2048), 0);
}

static void test_sizes(void)
{
	CU_ASSERT_EQUAL(free_with(PROC "nodev /dev/hugepages hugetlbfs "
				  "rw,relatime,pagesize=2M 0 0\n", 2048),
			200 * MIB);
	/* Without pagesize=: the default size. */
	CU_ASSERT_EQUAL(free_with("hugetlbfs /mnt/h hugetlbfs rw 0 0\n", 2048),
			200 * MIB);
	CU_ASSERT_EQUAL(free_with("hugetlbfs /mnt/h hugetlbfs rw 0 0\n",
				  1048576), 2048 * MIB);
	/* Both sizes, each counted once however often it is mounted. */
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=2M 0 0\n"
				  "b /b hugetlbfs rw,pagesize=1G 0 0\n"
				  "c /c hugetlbfs rw,pagesize=2048k 0 0\n"
				  "d /d hugetlbfs rw 0 0\n", 2048),
			200 * MIB + 2048 * MIB);
	/* A size no pool exists for, an unknown unit, a size of 0 bytes:
	 * nothing (not the default size). */
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=16M 0 0\n", 2048),
			0);
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=2Q 0 0\n", 2048),
			0);
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=0 0 0\n", 2048),
			0);
	/* In bytes; and "xpagesize=" is another option. */
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=2097152 0 0\n",
				  1048576), 200 * MIB);
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,xpagesize=2M 0 0\n",
				  1048576), 2048 * MIB);
	/* No default size known (no Hugepagesize: line). */
	CU_ASSERT_EQUAL(free_with("d /d hugetlbfs rw 0 0\n", 0), 0);
}

static void test_pool_changes(void)
{
	CU_ASSERT_EQUAL_FATAL(pool(2048, 0), 0);
	CU_ASSERT_EQUAL(free_with("a /a hugetlbfs rw,pagesize=2M 0 0\n", 2048),
			0);
	CU_ASSERT_EQUAL_FATAL(pool(2048, 100), 0);
}

static void test_errors(void)
{
	uint64_t bytes = 1;

	CU_ASSERT_EQUAL(be_huge_free("/nonexistent/mounts", "/nonexistent",
				     2048, &bytes), -ENOENT);
	CU_ASSERT_EQUAL(bytes, 0);
}

static void test_default_kb(void)
{
	char m[PATH_MAX * 2];

	snprintf(m, sizeof(m), "%s/meminfo", dir);
	CU_ASSERT_EQUAL_FATAL(put("meminfo", "MemTotal: 1000 kB\n"
				  "Hugepagesize:       2048 kB\n"
				  "Hugetlb: 0 kB\n"), 0);
	CU_ASSERT_EQUAL(be_huge_default_kb(m), 2048);
	CU_ASSERT_EQUAL_FATAL(put("meminfo", "MemTotal: 1000 kB\n"), 0);
	CU_ASSERT_EQUAL(be_huge_default_kb(m), 0);
	CU_ASSERT_EQUAL(be_huge_default_kb("/nonexistent/meminfo"), 0);
}

static CU_TestInfo be_huge_tests[] = {
	{ "no hugetlbfs mounted", test_no_mount },
	{ "page sizes of the mounts", test_sizes },
	{ "an empty pool", test_pool_changes },
	{ "mounts unreadable", test_errors },
	{ "Hugepagesize", test_default_kb },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "be_huge", setup, teardown, NULL, NULL, be_huge_tests },
	CU_SUITE_INFO_NULL,
};
