/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "guest_mem.h"
#include "platform.h"
#include "unit.h"

static void test_layout_small(void)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];

	CU_ASSERT_EQUAL(guest_mem_layout(512ull << 20, r), 1);
	CU_ASSERT_EQUAL(r[0].gpa, 0);
	CU_ASSERT_EQUAL(r[0].size, 512ull << 20);
	CU_ASSERT_EQUAL(r[0].offset, 0);
}

static void test_layout_exactly_hole(void)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];

	CU_ASSERT_EQUAL(guest_mem_layout(3ull << 30, r), 1);
	CU_ASSERT_EQUAL(r[0].size, 3ull << 30);
}

static void test_layout_split_around_hole(void)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];

	CU_ASSERT_EQUAL(guest_mem_layout(6ull << 30, r), 2);
	CU_ASSERT_EQUAL(r[0].gpa, 0);
	CU_ASSERT_EQUAL(r[0].size, PLATFORM_PCI_HOLE_START);
	CU_ASSERT_EQUAL(r[1].gpa, PLATFORM_HIGH_RAM_START);
	CU_ASSERT_EQUAL(r[1].size, (6ull << 30) - PLATFORM_PCI_HOLE_START);
	/* The high region continues the memfd where the low one ends. */
	CU_ASSERT_EQUAL(r[1].offset, PLATFORM_PCI_HOLE_START);
}

static void test_create_sealed_memfd(void)
{
	struct guest_mem *mem;
	const struct guest_region *r;
	int seals;

	CU_ASSERT_FATAL(guest_mem_create(32ull << 20, 0, &mem) == 0);
	CU_ASSERT_EQUAL(guest_mem_size(mem), 32ull << 20);
	CU_ASSERT_EQUAL(guest_mem_nr_regions(mem), 1);
	r = guest_mem_region(mem, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(r->fd >= 0);
	seals = fcntl(r->fd, F_GET_SEALS);
	CU_ASSERT(seals & F_SEAL_SHRINK);
	CU_ASSERT(seals & F_SEAL_GROW);
	CU_ASSERT(seals & F_SEAL_SEAL);
	/* A backend given this fd cannot shrink it under the guest. */
	CU_ASSERT(ftruncate(r->fd, 4096) < 0 && errno == EPERM);
	CU_ASSERT(ftruncate(r->fd, 64ull << 20) < 0 && errno == EPERM);
	CU_ASSERT_PTR_NULL(guest_mem_region(mem, 1));
	guest_mem_destroy(mem);
}

static void test_bounds(void)
{
	struct guest_mem *mem;
	uint64_t size = 16ull << 20;
	char buf[8] = "abcdefg";

	CU_ASSERT_FATAL(guest_mem_create(size, 0, &mem) == 0);
	CU_ASSERT_PTR_NOT_NULL(guest_mem_ptr(mem, 0, size));
	CU_ASSERT_PTR_NOT_NULL(guest_mem_ptr(mem, size - 8, 8));
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, size - 8, 9));
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, size, 1));
	/* Sums that wrap around must not pass the check. */
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, 8, UINT64_MAX - 4));
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, UINT64_MAX, 2));

	CU_ASSERT_EQUAL(guest_mem_write(mem, 0x1000, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(memcmp(guest_mem_ptr(mem, 0x1000, 8), buf, 8), 0);
	CU_ASSERT_EQUAL(guest_mem_write(mem, size - 4, buf, 8), -EFAULT);
	memset(buf, 0, sizeof(buf));
	CU_ASSERT_EQUAL(guest_mem_read(mem, 0x1000, buf, 8), 0);
	CU_ASSERT_STRING_EQUAL(buf, "abcdefg");
	guest_mem_destroy(mem);
}

static void test_high_region_addressing(void)
{
	struct guest_mem *mem;
	uint64_t size = (3ull << 30) + (16ull << 20);
	uint32_t v = 0xdeadbeef, back = 0;
	const struct guest_region *hi;

	/* Sparse memfd: only touched pages cost anything. */
	CU_ASSERT_FATAL(guest_mem_create(size, 0, &mem) == 0);
	CU_ASSERT_EQUAL(guest_mem_nr_regions(mem), 2);
	CU_ASSERT_EQUAL(guest_mem_low_end(mem), PLATFORM_PCI_HOLE_START);
	/* Nothing in the PCI hole is RAM. */
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, PLATFORM_PCI_HOLE_START, 1));
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, PLATFORM_PCI_HOLE_START - 4, 8));
	CU_ASSERT_EQUAL(guest_mem_write(mem, PLATFORM_HIGH_RAM_START + 16,
					&v, 4), 0);
	hi = guest_mem_region(mem, 1);
	/* The same bytes through the fd at the region's offset. */
	CU_ASSERT_EQUAL(pread(hi->fd, &back, 4, hi->offset + 16), 4);
	CU_ASSERT_EQUAL(back, v);
	CU_ASSERT_PTR_NULL(guest_mem_ptr(mem, PLATFORM_HIGH_RAM_START +
					 (16ull << 20), 1));
	guest_mem_destroy(mem);
}

static void test_rejects_bad_sizes(void)
{
	struct guest_mem *mem = NULL;

	CU_ASSERT_EQUAL(guest_mem_create(1ull << 20, 0, &mem), -EINVAL);
	CU_ASSERT_EQUAL(guest_mem_create((32ull << 20) + 1, 0, &mem), -EINVAL);
	CU_ASSERT_PTR_NULL(mem);
}

static CU_TestInfo guest_mem_tests[] = {
	{ "layout below the hole", test_layout_small },
	{ "layout of exactly 3 GiB", test_layout_exactly_hole },
	{ "layout split around the PCI hole", test_layout_split_around_hole },
	{ "memfd is sealed against resizing", test_create_sealed_memfd },
	{ "bounds checks", test_bounds },
	{ "high region addressing", test_high_region_addressing },
	{ "bad sizes rejected", test_rejects_bad_sizes },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "guest_mem", NULL, NULL, NULL, NULL, guest_mem_tests },
	CU_SUITE_INFO_NULL,
};
