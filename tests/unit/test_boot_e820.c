/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest memory map for the RAM layouts guest_mem produces around the
 * PCI hole: exact entries, sorted and non-overlapping, reserved ranges
 * where the EBDA and the ACPI tables live.
 */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <errno.h>

#include "boot/boot_internal.h"
#include "guest_mem.h"
#include "platform.h"
#include "unit.h"

struct want {
	uint64_t addr, size;
	uint32_t type;
};

static void check_sorted(const struct boot_e820_entry *e, int n)
{
	for (int i = 1; i < n; i++)
		CU_ASSERT(e[i - 1].addr + e[i - 1].size <= e[i].addr);
	for (int i = 0; i < n; i++)
		CU_ASSERT(e[i].size > 0);
}

static void check_map(uint64_t mem_size, const struct want *want, int nwant)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
	struct boot_e820_entry e[BOOT_E820_MAX];
	unsigned nr = guest_mem_layout(mem_size, r);
	int n = boot_e820_build(r, nr, e, BOOT_E820_MAX);

	CU_ASSERT_EQUAL_FATAL(n, nwant);
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(e[i].addr, want[i].addr);
		CU_ASSERT_EQUAL(e[i].size, want[i].size);
		CU_ASSERT_EQUAL(e[i].type, want[i].type);
	}
	check_sorted(e, n);
}

#define LOW_FIXED \
	{ 0, 0x9fc00, E820_RAM }, \
	{ 0x9fc00, 0x400, E820_RESERVED }, \
	{ 0xe0000, 0x20000, E820_RESERVED }

static void test_16m(void)
{
	const struct want w[] = {
		LOW_FIXED,
		{ 0x100000, (16ull << 20) - 0x100000, E820_RAM },
	};

	check_map(16ull << 20, w, 4);
}

static void test_64m(void)
{
	const struct want w[] = {
		LOW_FIXED,
		{ 0x100000, (64ull << 20) - 0x100000, E820_RAM },
	};

	check_map(64ull << 20, w, 4);
}

/* Exactly up to the hole: still one region, nothing above 4 GiB. */
static void test_3g(void)
{
	const struct want w[] = {
		LOW_FIXED,
		{ 0x100000, PLATFORM_PCI_HOLE_START - 0x100000, E820_RAM },
	};

	check_map(3ull << 30, w, 4);
}

static void test_4g(void)
{
	const struct want w[] = {
		LOW_FIXED,
		{ 0x100000, PLATFORM_PCI_HOLE_START - 0x100000, E820_RAM },
		{ PLATFORM_HIGH_RAM_START, 1ull << 30, E820_RAM },
	};

	check_map(4ull << 30, w, 5);
}

static void test_6g(void)
{
	const struct want w[] = {
		LOW_FIXED,
		{ 0x100000, PLATFORM_PCI_HOLE_START - 0x100000, E820_RAM },
		{ PLATFORM_HIGH_RAM_START, 3ull << 30, E820_RAM },
	};

	check_map(6ull << 30, w, 5);
}

/* Nothing of the map falls in the PCI hole or outside RAM, except the reserved ranges. */
static void test_no_ram_in_hole(void)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
	struct boot_e820_entry e[BOOT_E820_MAX];
	unsigned nr = guest_mem_layout(6ull << 30, r);
	int n = boot_e820_build(r, nr, e, BOOT_E820_MAX);

	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		uint64_t end = e[i].addr + e[i].size;

		CU_ASSERT(end <= PLATFORM_PCI_HOLE_START ||
			  e[i].addr >= PLATFORM_HIGH_RAM_START);
		if (e[i].type == E820_RAM)
			CU_ASSERT(end <= BOOT_EBDA_START ||
				  e[i].addr >= BOOT_KERNEL_MIN_GPA);
	}
}

static void test_too_small_table(void)
{
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
	struct boot_e820_entry e[4];
	unsigned nr = guest_mem_layout(6ull << 30, r);

	CU_ASSERT_EQUAL(boot_e820_build(r, nr, e, 4), -E2BIG);
	CU_ASSERT_EQUAL(boot_e820_build(r, nr, e, 2), -E2BIG);
}

/* The map boot_load() hands over is built from real guest memory. */
static void test_from_guest_mem(void)
{
	struct guest_mem *mem;
	struct boot_e820_entry e[BOOT_E820_MAX];
	struct guest_region r[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
	int n;

	CU_ASSERT_FATAL(guest_mem_create(64ull << 20, 0, &mem) == 0);
	nr = guest_mem_nr_regions(mem);
	for (unsigned i = 0; i < nr; i++)
		r[i] = *guest_mem_region(mem, i);
	n = boot_e820_build(r, nr, e, BOOT_E820_MAX);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(e[3].addr + e[3].size, guest_mem_low_end(mem));
	guest_mem_destroy(mem);
}

static CU_TestInfo e820_tests[] = {
	{ "16 MiB", test_16m },
	{ "64 MiB", test_64m },
	{ "3 GiB (up to the PCI hole)", test_3g },
	{ "4 GiB (1 GiB above 4 GiB)", test_4g },
	{ "6 GiB", test_6g },
	{ "no RAM in the holes", test_no_ram_in_hole },
	{ "table too small", test_too_small_table },
	{ "from guest_mem regions", test_from_guest_mem },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "boot_e820", NULL, NULL, NULL, NULL, e820_tests },
	CU_SUITE_INFO_NULL,
};
