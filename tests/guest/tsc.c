/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TSC frequency, measured once against the PIT (1.193182 MHz), for tests
 * that report times in nanoseconds.
 *
 * Channel 0 runs as a rate generator over its full 16-bit range (55 ms a
 * turn) and its count is latched and read until 50 ms of PIT time have
 * passed, wraps followed by adding up the differences.  Channel 2 and its
 * output bit in port 0x61, what Linux uses, is not there on every VMM
 * (splitvm leaves port 0x61 unimplemented); channel 0 is the one every PC
 * VMM has, and its interrupt pin is still masked when this runs.
 *
 * Each port access is a VM exit (through the CPL0 gate where CPL3 has no
 * IOPL), so a latch happened somewhere between the TSC readings taken
 * around its command: the midpoints are used, and half the widths of the
 * first and last intervals make the error bound reported.  A vCPU that
 * is preempted during those readings widens them (to several percent on
 * a busy host), so the measurement is repeated up to TSC_CAL_TRIES times
 * and the one with the smallest bound kept.  A preemption between two
 * reads longer than a turn of the counter (55 ms) would lose 65536 ticks
 * unseen, so a try is thrown away when two reads are further apart than
 * TSC_CAL_MAX_GAP_TICKS (half a turn) by the rate measured so far, or,
 * before there is a rate, than TSC_CAL_EARLY_GAP cycles (55 ms at 0.5
 * GHz); reads normally come every 0.1 ms or less.  A try whose error
 * bound exceeds TSC_CAL_MAX_PPM (a preemption during its first or last
 * read) is thrown away too.  The channel is stopped
 * afterwards (pit_stop()), as the timer test leaves it.
 */
#include "guest.h"

#define PIT_HZ			1193182u
#define PIT_CH0			0x40
#define PIT_MODE		0x43
#define PIT_CH0_RATE		0x34	/* channel 0, low then high, mode 2 */
#define PIT_CH0_LATCH		0x00
#define TSC_CAL_MS		50
#define TSC_CAL_TICKS		(PIT_HZ * TSC_CAL_MS / 1000)
/* Give up if the count never moves (no PIT): 1 s at 4 GHz, 4 s at 1 GHz. */
#define TSC_CAL_TIMEOUT_MS	(4 * 1000)
#define TSC_CAL_TRIES		10
#define TSC_CAL_MAX_GAP_TICKS	32768u
#define TSC_CAL_EARLY_TICKS	1024u	/* below: no rate to go by yet */
#define TSC_CAL_EARLY_GAP	27500000ull
#define TSC_CAL_GOOD_PPM	1000	/* stop trying below this bound */
#define TSC_CAL_MAX_PPM		2000	/* never keep a try above it */

static bool tsc_calibrated;
static uint64_t tsc_khz_cached;
static uint64_t tsc_err_ppm_cached;

/* The count, latched between *before and *after (TSC). */
static uint16_t tsc_pit_read(uint64_t *before, uint64_t *after)
{
	uint8_t lo, hi;

	*before = rdtsc();
	outb(PIT_MODE, PIT_CH0_LATCH);
	*after = rdtsc();
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return (uint16_t)(lo | hi << 8);
}

enum tsc_cal_result {
	TSC_CAL_OK,
	TSC_CAL_NO_PIT,		/* the count never got there */
	TSC_CAL_PREEMPTED,	/* a gap that may hide a lost turn */
};

static enum tsc_cal_result tsc_measure(uint64_t *khz, uint64_t *ppm)
{
	uint64_t a0, b0, a, b, prev_a, deadline, cycles, err, ticks = 0;
	uint16_t prev, now;

	outb(PIT_MODE, PIT_CH0_RATE);
	outb(PIT_CH0, 0);		/* reload 0: 65536 counts */
	outb(PIT_CH0, 0);
	deadline = tsc_deadline_ms(TSC_CAL_TIMEOUT_MS);
	prev = tsc_pit_read(&a0, &b0);
	prev_a = a0;
	while (ticks < TSC_CAL_TICKS) {
		now = tsc_pit_read(&a, &b);
		/* gap / (elapsed / ticks) > max, without dividing. */
		if (ticks < TSC_CAL_EARLY_TICKS ?
		    a - prev_a > TSC_CAL_EARLY_GAP :
		    (a - prev_a) * ticks >
		    (uint64_t)TSC_CAL_MAX_GAP_TICKS * (prev_a - a0)) {
			pit_stop();
			return TSC_CAL_PREEMPTED;
		}
		/* Counting down, modulo 2^16: read well within one turn. */
		ticks += (uint16_t)(prev - now);
		prev = now;
		prev_a = a;
		if (tsc_expired(deadline)) {
			pit_stop();
			return TSC_CAL_NO_PIT;
		}
	}
	pit_stop();
	cycles = (a + b) / 2 - (a0 + b0) / 2;
	err = (b - a) / 2 + (b0 - a0) / 2;
	if (!cycles)
		return TSC_CAL_NO_PIT;
	*khz = cycles * PIT_HZ / ticks / 1000;
	*ppm = err * 1000000 / cycles;
	return TSC_CAL_OK;
}

uint64_t tsc_khz(void)
{
	uint64_t khz, ppm, worst_ppm = 0;
	enum tsc_cal_result res;
	unsigned int gaps = 0, wide = 0;

	if (tsc_calibrated)
		return tsc_khz_cached;
	tsc_calibrated = true;
	for (unsigned int i = 0; i < TSC_CAL_TRIES; i++) {
		res = tsc_measure(&khz, &ppm);
		if (res == TSC_CAL_NO_PIT)
			break;
		if (res == TSC_CAL_PREEMPTED) {
			gaps++;
			continue;
		}
		if (ppm > TSC_CAL_MAX_PPM) {
			wide++;
			worst_ppm = ppm > worst_ppm ? ppm : worst_ppm;
			res = TSC_CAL_PREEMPTED;
			continue;
		}
		if (!tsc_khz_cached || ppm < tsc_err_ppm_cached) {
			tsc_khz_cached = khz;
			tsc_err_ppm_cached = ppm;
		}
		if (ppm < TSC_CAL_GOOD_PPM)
			break;
	}
	if (!tsc_khz_cached && res == TSC_CAL_NO_PIT)
		guest_printf("guest: warning: TSC calibration failed: the PIT count did not move\n");
	else if (!tsc_khz_cached)
		guest_printf("guest: warning: TSC calibration failed: every try preempted (%u with a gap of half a PIT turn, %u with an error bound above %u ppm, worst %llu)\n",
			     gaps, wide, TSC_CAL_MAX_PPM,
			     (unsigned long long)worst_ppm);
	return tsc_khz_cached;
}

uint64_t tsc_calibration_ppm(void)
{
	tsc_khz();
	return tsc_err_ppm_cached;
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	uint64_t khz = tsc_khz();

	if (!khz)
		return 0;
	/* cycles * 1e6 / khz, without overflowing 64 bits. */
	return cycles / khz * 1000000 + cycles % khz * 1000000 / khz;
}
