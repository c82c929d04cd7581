/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CMOS RTC driven through ports 0x70/0x71 as a guest would, with the
 * clock pinned to a known instant.
 */
#include <string.h>
#include <time.h>

#include "bus.h"
#include "devices/rtc.h"
#include "unit.h"

#define IDX 0
#define DATA 1

#define REG_SECONDS	0x00
#define REG_MINUTES	0x02
#define REG_HOURS	0x04
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d
#define REG_CENTURY	0x32

#define B_SET		0x80
#define B_UIE		0x10
#define B_BINARY	0x04
#define B_24H		0x02

struct test_clock {
	time_t t;
};

static struct rtc *rtc;
static struct test_clock clk;

static time_t test_now(void *ctx)
{
	return ((struct test_clock *)ctx)->t;
}

static time_t utc(int year, int mon, int mday, int hour, int min, int sec)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec,
	};

	return timegm(&tm);
}

static void setup(void)
{
	if (rtc_create(&rtc)) {
		rtc = NULL;
		return;
	}
	/* Thursday 2024-02-29 13:05:09 UTC: a leap day, afternoon. */
	clk.t = utc(2024, 2, 29, 13, 5, 9);
	rtc_set_clock(rtc, test_now, &clk);
}

static void teardown(void)
{
	rtc_destroy(rtc);
	rtc = NULL;
}

static uint8_t cmos_read(uint8_t index)
{
	rtc_bus_ops.write(rtc, IDX, index, 1);
	return rtc_bus_ops.read(rtc, DATA, 1);
}

static void cmos_write(uint8_t index, uint8_t v)
{
	rtc_bus_ops.write(rtc, IDX, index, 1);
	rtc_bus_ops.write(rtc, DATA, v, 1);
}

static void test_bcd_default(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	CU_ASSERT_EQUAL(cmos_read(REG_B), 0x02);	/* 24h, BCD */
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x09);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 0x05);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x13);
	CU_ASSERT_EQUAL(cmos_read(REG_WDAY), 0x05);	/* Sunday is 1 */
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 0x29);
	CU_ASSERT_EQUAL(cmos_read(REG_MONTH), 0x02);
	CU_ASSERT_EQUAL(cmos_read(REG_YEAR), 0x24);
	CU_ASSERT_EQUAL(cmos_read(REG_CENTURY), 0x20);
	/* The clock moves with the host's. */
	clk.t += 3600 * 11 + 60 * 54 + 51;		/* 2024-03-01 01:00:00 */
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x01);
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 0x01);
	CU_ASSERT_EQUAL(cmos_read(REG_MONTH), 0x03);
}

static void test_binary(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	cmos_write(REG_B, B_24H | B_BINARY);
	CU_ASSERT_EQUAL(cmos_read(REG_B), B_24H | B_BINARY);
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 9);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 5);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 13);
	CU_ASSERT_EQUAL(cmos_read(REG_WDAY), 5);
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 29);
	CU_ASSERT_EQUAL(cmos_read(REG_MONTH), 2);
	CU_ASSERT_EQUAL(cmos_read(REG_YEAR), 24);
	CU_ASSERT_EQUAL(cmos_read(REG_CENTURY), 20);
}

static void test_12h(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	cmos_write(REG_B, 0);				/* 12h, BCD */
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x81);	/* 1 PM */
	clk.t = utc(2024, 2, 29, 0, 30, 0);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x12);	/* 12 AM */
	clk.t = utc(2024, 2, 29, 12, 30, 0);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x92);	/* 12 PM */
	clk.t = utc(2024, 2, 29, 11, 30, 0);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x11);	/* 11 AM */
	cmos_write(REG_B, B_BINARY);			/* 12h, binary */
	clk.t = utc(2024, 2, 29, 23, 30, 0);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x80 | 11);
	/* Writing hours in 12h mode: 0x87 binary is 7 PM. */
	cmos_write(REG_HOURS, 0x80 | 7);
	cmos_write(REG_B, B_24H | B_BINARY);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 19);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 30);
}

static void test_status_registers(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	CU_ASSERT_EQUAL(cmos_read(REG_A), 0x26);	/* UIP clear */
	cmos_write(REG_A, 0xff);
	CU_ASSERT_EQUAL(cmos_read(REG_A), 0x7f);	/* UIP is read-only */
	CU_ASSERT_EQUAL(cmos_read(REG_D), 0x80);
	cmos_write(REG_D, 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_D), 0x80);	/* read-only, battery good */

	/* C: UF after an update, cleared by the read. */
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x10);
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x00);
	clk.t++;
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x10);
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x00);
	cmos_write(REG_C, 0xff);
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x00);
	/* With UIE set, IRQF accompanies UF (no interrupt is delivered). */
	cmos_write(REG_B, B_24H | B_UIE);
	clk.t++;
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x90);
	CU_ASSERT_EQUAL(cmos_read(REG_C), 0x00);
}

static void test_cmos_ram(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i != REG_CENTURY)
			cmos_write(i, i ^ 0x5a);
	}
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i != REG_CENTURY)
			CU_ASSERT_EQUAL(cmos_read(i), i ^ 0x5a);
	}
	/* RAM writes did not disturb the clock. */
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x09);
	CU_ASSERT_EQUAL(cmos_read(REG_CENTURY), 0x20);
	/* Alarm registers are plain storage. */
	cmos_write(0x01, 0x42);
	CU_ASSERT_EQUAL(cmos_read(0x01), 0x42);
}

static void test_index_port(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	/* Bit 7 of the index is the NMI mask, not part of the index. */
	cmos_write(0x80 | 0x20, 0x77);
	CU_ASSERT_EQUAL(cmos_read(0x20), 0x77);
	CU_ASSERT_EQUAL(cmos_read(0x80 | 0x20), 0x77);
	CU_ASSERT_EQUAL(cmos_read(0x80 | REG_D), 0x80);
	CU_ASSERT_EQUAL(cmos_read(0x80 | REG_SECONDS), 0x09);
	/* The index port is write-only. */
	CU_ASSERT_EQUAL(rtc_bus_ops.read(rtc, IDX, 1), 0xff);
	/* outw(0x70): index in the low byte, data in the high byte. */
	rtc_bus_ops.write(rtc, IDX, (0x55 << 8) | 0x21, 2);
	CU_ASSERT_EQUAL(cmos_read(0x21), 0x55);
}

static void test_set_time(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	/* Like Linux's mc146818_set_time(): SET, fields one by one, clear SET.
	 * Day 31 goes in while the month is still February. */
	cmos_write(REG_B, B_SET | B_24H);
	cmos_write(REG_MDAY, 0x31);
	cmos_write(REG_MONTH, 0x12);
	cmos_write(REG_YEAR, 0x30);
	cmos_write(REG_HOURS, 0x23);
	cmos_write(REG_MINUTES, 0x59);
	cmos_write(REG_SECONDS, 0x58);
	/* Frozen while SET is on. */
	clk.t += 100;
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x58);
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 0x31);
	cmos_write(REG_B, B_24H);
	CU_ASSERT_EQUAL(cmos_read(REG_YEAR), 0x30);
	CU_ASSERT_EQUAL(cmos_read(REG_MONTH), 0x12);
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 0x31);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x23);
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x58);
	/* Kept as an offset: the guest's clock runs on from there. */
	clk.t += 2;
	CU_ASSERT_EQUAL(cmos_read(REG_SECONDS), 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_MDAY), 0x01);
	CU_ASSERT_EQUAL(cmos_read(REG_MONTH), 0x01);
	CU_ASSERT_EQUAL(cmos_read(REG_YEAR), 0x31);
	CU_ASSERT_EQUAL(cmos_read(REG_CENTURY), 0x20);
	CU_ASSERT_EQUAL(cmos_read(REG_WDAY), 0x04);	/* 2031-01-01: Wed */

	/* Without SET a single field changes the running clock. */
	cmos_write(REG_MINUTES, 0x10);
	CU_ASSERT_EQUAL(cmos_read(REG_MINUTES), 0x10);
	CU_ASSERT_EQUAL(cmos_read(REG_HOURS), 0x00);
	CU_ASSERT_EQUAL(cmos_read(REG_YEAR), 0x31);
	/* Setting SET clears UIE. */
	cmos_write(REG_B, B_SET | B_UIE | B_24H);
	CU_ASSERT_EQUAL(cmos_read(REG_B), B_SET | B_24H);
	cmos_write(REG_B, B_24H);
}

static void test_memory_size(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(rtc);
	rtc_set_memory(rtc, 3ull << 30, 1ull << 30);
	/* Base memory: 640 KiB. */
	CU_ASSERT_EQUAL(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	/* 1 MiB to 64 MiB in KiB, saturated. */
	CU_ASSERT_EQUAL(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);
	CU_ASSERT_EQUAL(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
	/* Above 16 MiB in 64 KiB units: (3 GiB - 16 MiB) / 64 KiB. */
	CU_ASSERT_EQUAL(cmos_read(0x34) | cmos_read(0x35) << 8, 0xbf00);
	/* Above 4 GiB in 64 KiB units, three bytes. */
	CU_ASSERT_EQUAL(cmos_read(0x5b) | cmos_read(0x5c) << 8 |
			cmos_read(0x5d) << 16, 0x4000);

	rtc_set_memory(rtc, 8ull << 20, 0);
	CU_ASSERT_EQUAL(cmos_read(0x17) | cmos_read(0x18) << 8, 7 * 1024);
	CU_ASSERT_EQUAL(cmos_read(0x34) | cmos_read(0x35) << 8, 0);
	CU_ASSERT_EQUAL(cmos_read(0x5b), 0);
}

static CU_TestInfo rtc_tests[] = {
	{ "BCD time (default)", test_bcd_default },
	{ "binary time", test_binary },
	{ "12-hour mode", test_12h },
	{ "registers A, C, D", test_status_registers },
	{ "CMOS RAM round trip", test_cmos_ram },
	{ "index port and NMI bit", test_index_port },
	{ "guest sets the time", test_set_time },
	{ "memory size bytes", test_memory_size },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "rtc", NULL, NULL, setup, teardown, rtc_tests },
	CU_SUITE_INFO_NULL,
};
