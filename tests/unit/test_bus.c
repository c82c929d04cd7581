/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "unit.h"

struct fake_dev {
	uint64_t last_offset, last_value;
	unsigned last_size, reads, writes;
	uint64_t read_value;
};

static uint64_t fake_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_offset = offset;
	d->last_size = size;
	return d->read_value;
}

static void fake_write(void *opaque, uint64_t offset, uint64_t value,
		       unsigned size)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_offset = offset;
	d->last_value = value;
	d->last_size = size;
}

static const struct bus_device_ops fake_ops = {
	.name = "fake",
	.read = fake_read,
	.write = fake_write,
};

static void test_dispatch_offsets(void)
{
	struct fake_dev a = { .read_value = 0x1122334455667788ull }, b = { 0 };
	struct bus *bus;
	uint8_t data[8];

	CU_ASSERT_FATAL(bus_create("test", &bus) == 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x3f8, 8, &fake_ops, &a), 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x60, 1, &fake_ops, &b), 0);

	data[0] = 0x41;
	CU_ASSERT_TRUE(bus_write(bus, 0x3fd, data, 1));
	CU_ASSERT_EQUAL(a.last_offset, 5);
	CU_ASSERT_EQUAL(a.last_value, 0x41);
	CU_ASSERT_EQUAL(b.writes, 0);

	CU_ASSERT_TRUE(bus_read(bus, 0x3f8, data, 4));
	CU_ASSERT_EQUAL(a.last_size, 4);
	/* Little-endian, truncated to the access size. */
	CU_ASSERT_EQUAL(data[0], 0x88);
	CU_ASSERT_EQUAL(data[3], 0x55);

	CU_ASSERT_TRUE(bus_write(bus, 0x60, data, 1));
	CU_ASSERT_EQUAL(b.writes, 1);
	CU_ASSERT_EQUAL(b.last_offset, 0);
	bus_destroy(bus);
}

static void test_unclaimed(void)
{
	struct fake_dev a = { 0 };
	struct bus *bus;
	uint8_t data[4] = { 0 };

	CU_ASSERT_FATAL(bus_create("test", &bus) == 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x100, 0x10, &fake_ops, &a), 0);
	CU_ASSERT_FALSE(bus_read(bus, 0xff, data, 4));
	/* Nothing behind the address reads as all ones. */
	CU_ASSERT_EQUAL(data[0], 0xff);
	CU_ASSERT_EQUAL(data[3], 0xff);
	CU_ASSERT_FALSE(bus_read(bus, 0x110, data, 1));
	CU_ASSERT_FALSE(bus_write(bus, 0x110, data, 1));
	CU_ASSERT_TRUE(bus_read(bus, 0x10f, data, 1));
	/* Odd sizes are refused without reaching the device. */
	CU_ASSERT_FALSE(bus_write(bus, 0x100, data, 3));
	CU_ASSERT_EQUAL(a.writes, 0);
	bus_destroy(bus);
}

static void test_overlap_rejected(void)
{
	struct fake_dev a = { 0 };
	struct bus *bus;

	CU_ASSERT_FATAL(bus_create("test", &bus) == 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x1000, 0x100, &fake_ops, &a), 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x10ff, 1, &fake_ops, &a), -EEXIST);
	CU_ASSERT_EQUAL(bus_register(bus, 0xf00, 0x101, &fake_ops, &a), -EEXIST);
	CU_ASSERT_EQUAL(bus_register(bus, 0xf00, 0x1000, &fake_ops, &a), -EEXIST);
	CU_ASSERT_EQUAL(bus_register(bus, 0xf00, 0x100, &fake_ops, &a), 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0x1100, 0x100, &fake_ops, &a), 0);
	CU_ASSERT_EQUAL(bus_register(bus, 0, 0, &fake_ops, &a), -EINVAL);
	CU_ASSERT_EQUAL(bus_register(bus, UINT64_MAX, 2, &fake_ops, &a), -EINVAL);
	bus_destroy(bus);
}

static void test_many_and_unregister(void)
{
	struct fake_dev devs[64];
	struct bus *bus;
	uint8_t v = 0;

	memset(devs, 0, sizeof(devs));
	CU_ASSERT_FATAL(bus_create("test", &bus) == 0);
	/* Registered out of order: lookups must still find each one. */
	for (unsigned i = 0; i < 64; i++) {
		unsigned k = (i * 37) % 64;

		CU_ASSERT_EQUAL(bus_register(bus, 0x10000 + k * 0x10, 4,
					     &fake_ops, &devs[k]), 0);
	}
	for (unsigned k = 0; k < 64; k++) {
		CU_ASSERT_TRUE(bus_write(bus, 0x10000 + k * 0x10 + 3, &v, 1));
		CU_ASSERT_EQUAL(devs[k].writes, 1);
		CU_ASSERT_EQUAL(devs[k].last_offset, 3);
		CU_ASSERT_FALSE(bus_write(bus, 0x10000 + k * 0x10 + 4, &v, 1));
	}
	CU_ASSERT_EQUAL(bus_unregister(bus, 0x10000 + 5 * 0x10), 0);
	CU_ASSERT_FALSE(bus_write(bus, 0x10000 + 5 * 0x10, &v, 1));
	CU_ASSERT_EQUAL(bus_unregister(bus, 0x10000 + 5 * 0x10), -ENOENT);
	CU_ASSERT_TRUE(bus_write(bus, 0x10000 + 6 * 0x10, &v, 1));
	bus_destroy(bus);
}

static CU_TestInfo bus_tests[] = {
	{ "dispatch with offsets", test_dispatch_offsets },
	{ "unclaimed accesses", test_unclaimed },
	{ "overlaps rejected", test_overlap_rejected },
	{ "many ranges, unregister", test_many_and_unregister },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "bus", NULL, NULL, NULL, NULL, bus_tests },
	CU_SUITE_INFO_NULL,
};
