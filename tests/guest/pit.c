/* SPDX-License-Identifier: GPL-2.0-only */
/* The 8254 PIT, channel 0: the guest's periodic timer source. */
#include "guest.h"

#define PIT_CH0			0x40
#define PIT_MODE		0x43
#define PIT_HZ			1193182u
/* Channel 0, low then high byte, binary; mode 2 or mode 0. */
#define PIT_CH0_RATE		0x34
#define PIT_CH0_ONESHOT		0x30

void pit_start_periodic(unsigned int hz)
{
	uint32_t div = (PIT_HZ + hz / 2) / hz;

	outb(PIT_MODE, PIT_CH0_RATE);
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, (div >> 8) & 0xff);
}

/*
 * As Linux does: a mode change alone keeps the counter running, so load a
 * one-shot count; it fires once more, into a pin that is masked by now.
 */
void pit_stop(void)
{
	outb(PIT_MODE, PIT_CH0_ONESHOT);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
}
