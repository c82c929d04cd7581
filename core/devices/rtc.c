/* SPDX-License-Identifier: GPL-2.0-only */
#include "devices/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

#define TAG "rtc"

#define RTC_CMOS_SIZE		128
#define RTC_INDEX_MASK		0x7f	/* bit 7 of port 0x70 masks NMI */

/* Clock registers. */
#define RTC_SECONDS		0x00
#define RTC_MINUTES		0x02
#define RTC_HOURS		0x04
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32	/* IBM's place; ACPI FADT may point here */

#define RTC_A_UIP		0x80
#define RTC_B_SET		0x80
#define RTC_B_PIE		0x40
#define RTC_B_AIE		0x20
#define RTC_B_UIE		0x10
#define RTC_B_BINARY		0x04	/* DM: binary, not BCD */
#define RTC_B_24H		0x02
#define RTC_C_IRQF		0x80
#define RTC_C_UF		0x10
#define RTC_D_VRT		0x80	/* battery good: RAM and time valid */
#define RTC_HOURS_PM		0x80

/* A PC BIOS leaves a 32.768 kHz time base at 1024 Hz, 24 hours, BCD. */
#define RTC_A_DEFAULT		0x26
#define RTC_B_DEFAULT		RTC_B_24H

/* CMOS RAM bytes describing memory (IBM AT layout, plus later additions). */
#define RTC_MEM_BASE_LO		0x15	/* KiB below 640 KiB */
#define RTC_MEM_EXT_LO		0x17	/* KiB from 1 MiB, up to 64 MiB */
#define RTC_CHECKSUM_FIRST	0x10
#define RTC_CHECKSUM_LAST	0x2d
#define RTC_CHECKSUM_HI		0x2e
#define RTC_MEM_EXT2_LO		0x30	/* copy of 0x17/0x18 */
#define RTC_MEM_ABOVE_16M_LO	0x34	/* 64 KiB units from 16 MiB to 4 GiB */
#define RTC_MEM_ABOVE_4G_LO	0x5b	/* 64 KiB units above 4 GiB, 3 bytes */

#define KIB			1024ull
#define MIB			(1024 * KIB)

/*
 * The clock is not a counter that ticks: every read converts the host's
 * time (plus the guest's offset) at that instant, from one clock sample,
 * so no register is ever seen mid-update and UIP always reads 0.  A guest
 * reading several registers across a second boundary can see them from
 * two different seconds, as it could on hardware if it ignored UIP;
 * Linux re-reads the seconds to catch that.
 *
 * No interrupts: periodic, alarm and update-ended interrupts are not
 * raised, and only UF is ever set in register C (for guests that poll it).
 */
struct rtc {
	pthread_mutex_t lock;
	time_t (*now)(void *ctx);
	void *now_ctx;
	uint8_t index;
	/* A, B, alarms and RAM; the time registers are computed. */
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;		/* guest time minus host time, seconds */
	/* While B.SET is on, updates stop and the guest edits a frozen copy. */
	bool setting;
	struct tm frozen;
	time_t uf_second;	/* the second UF was last reported for */
	bool irq_warned;
};

static time_t rtc_host_now(void *ctx)
{
	return time(NULL);
}

static bool rtc_binary(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & RTC_B_BINARY;
}

static uint8_t rtc_encode(const struct rtc *rtc, unsigned v)
{
	v %= 100;
	return rtc_binary(rtc) ? v : ((v / 10) << 4) | (v % 10);
}

/* Not validated: a bad BCD digit gives a big value, timegm() normalizes. */
static unsigned rtc_decode(const struct rtc *rtc, uint8_t v)
{
	return rtc_binary(rtc) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_encode_hours(const struct rtc *rtc, int hour)
{
	unsigned h12;

	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_encode(rtc, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return rtc_encode(rtc, h12) | (hour >= 12 ? RTC_HOURS_PM : 0);
}

static int rtc_decode_hours(const struct rtc *rtc, uint8_t v)
{
	int h;

	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_decode(rtc, v);
	h = rtc_decode(rtc, v & ~RTC_HOURS_PM) % 12;
	return (v & RTC_HOURS_PM) ? h + 12 : h;
}

static time_t rtc_guest_time_locked(const struct rtc *rtc)
{
	return rtc->now(rtc->now_ctx) + rtc->offset;
}

static struct tm rtc_guest_tm_locked(const struct rtc *rtc)
{
	struct tm tm;
	time_t t;

	if (rtc->setting)
		return rtc->frozen;
	t = rtc_guest_time_locked(rtc);
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	return tm;
}

/* The guest's calendar becomes the clock: keep it as an offset from ours. */
static void rtc_commit_locked(struct rtc *rtc, struct tm tm)
{
	time_t t;

	tm.tm_isdst = 0;
	errno = 0;
	t = timegm(&tm);
	if (t == (time_t)-1 && errno) {
		log_debug(TAG, "ignoring unrepresentable guest time (year %d)",
			  tm.tm_year + 1900);
		return;
	}
	rtc->offset = (int64_t)t - rtc->now(rtc->now_ctx);
}

static bool rtc_is_time_reg(unsigned index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static uint8_t rtc_read_time_locked(const struct rtc *rtc, unsigned index)
{
	struct tm tm = rtc_guest_tm_locked(rtc);
	int year = tm.tm_year + 1900;

	switch (index) {
	case RTC_SECONDS:
		return rtc_encode(rtc, tm.tm_sec);
	case RTC_MINUTES:
		return rtc_encode(rtc, tm.tm_min);
	case RTC_HOURS:
		return rtc_encode_hours(rtc, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return rtc_encode(rtc, tm.tm_wday + 1);	/* 1 = Sunday */
	case RTC_DAY_OF_MONTH:
		return rtc_encode(rtc, tm.tm_mday);
	case RTC_MONTH:
		return rtc_encode(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_encode(rtc, year % 100);
	default:
		return rtc_encode(rtc, year / 100);
	}
}

static void rtc_write_time_locked(struct rtc *rtc, unsigned index, uint8_t v)
{
	struct tm tm = rtc_guest_tm_locked(rtc);
	int year = tm.tm_year + 1900;

	switch (index) {
	case RTC_SECONDS:
		tm.tm_sec = rtc_decode(rtc, v);
		break;
	case RTC_MINUTES:
		tm.tm_min = rtc_decode(rtc, v);
		break;
	case RTC_HOURS:
		tm.tm_hour = rtc_decode_hours(rtc, v);
		break;
	case RTC_DAY_OF_WEEK:
		return;		/* follows from the date */
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = rtc_decode(rtc, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = (int)rtc_decode(rtc, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = year / 100 * 100 + (int)rtc_decode(rtc, v) - 1900;
		break;
	default:
		tm.tm_year = (int)rtc_decode(rtc, v) * 100 + year % 100 - 1900;
		break;
	}
	/* With SET on, fields change one by one; an odd date in between is fine. */
	if (rtc->setting)
		rtc->frozen = tm;
	else
		rtc_commit_locked(rtc, tm);
}

static uint8_t rtc_read_c_locked(struct rtc *rtc)
{
	uint8_t c = 0;
	time_t t;

	/* UF: an update cycle has ended since the last read. */
	if (!rtc->setting) {
		t = rtc_guest_time_locked(rtc);
		if (t != rtc->uf_second) {
			rtc->uf_second = t;
			c |= RTC_C_UF;
		}
	}
	if ((c & RTC_C_UF) && (rtc->cmos[RTC_REG_B] & RTC_B_UIE))
		c |= RTC_C_IRQF;
	return c;
}

static void rtc_write_b_locked(struct rtc *rtc, uint8_t v)
{
	uint8_t old = rtc->cmos[RTC_REG_B];

	/* Setting SET clears UIE (MC146818A datasheet). */
	if (v & RTC_B_SET)
		v &= ~RTC_B_UIE;
	if (!(old & RTC_B_SET) && (v & RTC_B_SET)) {
		rtc->frozen = rtc_guest_tm_locked(rtc);
		rtc->setting = true;
	} else if ((old & RTC_B_SET) && !(v & RTC_B_SET)) {
		rtc->setting = false;
		rtc_commit_locked(rtc, rtc->frozen);
	}
	/*
	 * DM and 24/12 take effect at once: the registers are converted on
	 * every read, where a real chip wants them rewritten after a change.
	 */
	rtc->cmos[RTC_REG_B] = v;
	if ((v & (RTC_B_PIE | RTC_B_AIE | RTC_B_UIE)) && !rtc->irq_warned) {
		log_warn(TAG, "guest enabled RTC interrupts (B=0x%02x); they are not emulated",
			 v);
		rtc->irq_warned = true;
	}
}

static uint8_t rtc_read_data_locked(struct rtc *rtc)
{
	unsigned index = rtc->index;

	if (rtc_is_time_reg(index))
		return rtc_read_time_locked(rtc, index);
	switch (index) {
	case RTC_REG_A:
		return rtc->cmos[RTC_REG_A] & ~RTC_A_UIP;
	case RTC_REG_C:
		return rtc_read_c_locked(rtc);
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->cmos[index];
	}
}

static void rtc_write_data_locked(struct rtc *rtc, uint8_t v)
{
	unsigned index = rtc->index;

	if (rtc_is_time_reg(index)) {
		rtc_write_time_locked(rtc, index, v);
		return;
	}
	switch (index) {
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & ~RTC_A_UIP;
		break;
	case RTC_REG_B:
		rtc_write_b_locked(rtc, v);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;		/* read-only */
	default:
		rtc->cmos[index] = v;
		break;
	}
}

/* ISA splits a wide access into byte cycles: outw(0x70) sets index and data. */
static uint64_t rtc_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *rtc = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = 0xff;	/* the index port is write-only */

		if (offset + i == 1)
			b = rtc_read_data_locked(rtc);
		v |= b << (8 * i);
	}
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_bus_write(void *opaque, uint64_t offset, uint64_t value,
			  unsigned size)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = value >> (8 * i);

		if (offset + i == 0)
			rtc->index = b & RTC_INDEX_MASK;
		else if (offset + i == 1)
			rtc_write_data_locked(rtc, b);
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_device_ops rtc_bus_ops = {
	.name = "rtc",
	.read = rtc_bus_read,
	.write = rtc_bus_write,
};

static void rtc_put16_locked(struct rtc *rtc, unsigned index, uint64_t v)
{
	rtc->cmos[index] = v & 0xff;
	rtc->cmos[index + 1] = (v >> 8) & 0xff;
}

static uint64_t rtc_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void rtc_set_memory(struct rtc *rtc, uint64_t low_bytes, uint64_t high_bytes)
{
	uint64_t ext = 0, above_16m = 0, above_4g;
	unsigned sum = 0;

	if (low_bytes > MIB)
		ext = rtc_min((low_bytes - MIB) / KIB, 0xffff);
	if (low_bytes > 16 * MIB)
		above_16m = rtc_min((low_bytes - 16 * MIB) / (64 * KIB), 0xffff);
	above_4g = rtc_min(high_bytes / (64 * KIB), 0xffffff);

	pthread_mutex_lock(&rtc->lock);
	rtc_put16_locked(rtc, RTC_MEM_BASE_LO, rtc_min(low_bytes / KIB, 640));
	rtc_put16_locked(rtc, RTC_MEM_EXT_LO, ext);
	rtc_put16_locked(rtc, RTC_MEM_EXT2_LO, ext);
	rtc_put16_locked(rtc, RTC_MEM_ABOVE_16M_LO, above_16m);
	rtc_put16_locked(rtc, RTC_MEM_ABOVE_4G_LO, above_4g);
	rtc->cmos[RTC_MEM_ABOVE_4G_LO + 2] = (above_4g >> 16) & 0xff;
	/* The AT BIOS checksum over 0x10-0x2d covers the sizes just set. */
	for (unsigned i = RTC_CHECKSUM_FIRST; i <= RTC_CHECKSUM_LAST; i++)
		sum += rtc->cmos[i];
	rtc->cmos[RTC_CHECKSUM_HI] = (sum >> 8) & 0xff;
	rtc->cmos[RTC_CHECKSUM_HI + 1] = sum & 0xff;
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_set_clock(struct rtc *rtc, time_t (*now)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->now = now ? now : rtc_host_now;
	rtc->now_ctx = ctx;
	pthread_mutex_unlock(&rtc->lock);
}

int rtc_create(struct rtc **out)
{
	struct rtc *rtc;
	int ret;

	if (!out)
		return -EINVAL;
	rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return -ENOMEM;
	ret = -pthread_mutex_init(&rtc->lock, NULL);
	if (ret)
		goto err_free;
	rtc->now = rtc_host_now;
	rtc->cmos[RTC_REG_A] = RTC_A_DEFAULT;
	rtc->cmos[RTC_REG_B] = RTC_B_DEFAULT;
	*out = rtc;
	return 0;

err_free:
	free(rtc);
	return ret;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
