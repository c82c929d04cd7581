/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PC's MC146818 CMOS clock at ports 0x70/0x71: the host's UTC wall
 * clock (plus whatever offset the guest sets) and 128 bytes of CMOS RAM.
 */
#ifndef SPLITVM_DEVICES_RTC_H
#define SPLITVM_DEVICES_RTC_H

#include <stdint.h>
#include <time.h>

struct bus_device_ops;
struct rtc;

int rtc_create(struct rtc **out) __attribute__((warn_unused_result));
void rtc_destroy(struct rtc *rtc);

/* Registered over 2 ports: index (0x70) and data (0x71). */
extern const struct bus_device_ops rtc_bus_ops;

/*
 * Record the RAM size in the CMOS bytes firmware reads: base and extended
 * memory below 4 GiB from low_bytes (0x15-0x18, 0x30/0x31, 0x34/0x35 in
 * 64 KiB units above 16 MiB) and high_bytes above 4 GiB (0x5b-0x5d).
 */
void rtc_set_memory(struct rtc *rtc, uint64_t low_bytes, uint64_t high_bytes);

/* Tests: read time from now(ctx) instead of the host clock. */
void rtc_set_clock(struct rtc *rtc, time_t (*now)(void *ctx), void *ctx);

#endif
