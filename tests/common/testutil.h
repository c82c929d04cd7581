/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the C test programs: counting this process's fds and
 * threads (leak checks), and type-1 PCI configuration access through the
 * core's port bus, as a guest driver does it.
 */
#ifndef SPLITVM_TESTUTIL_H
#define SPLITVM_TESTUTIL_H

#include <stdint.h>

struct bus;

/* Entries of /proc/self/fd and /proc/self/task, or -1 if unreadable. */
int test_count_fds(void);
int test_count_threads(void);

/* CLOCK_MONOTONIC in milliseconds, for time-out assertions. */
int64_t test_now_ms(void);

/* CONFIG_ADDRESS / CONFIG_DATA cycles on bus 0 for devfn. */
uint32_t test_pci_cfg_read(struct bus *pio, unsigned devfn, unsigned reg,
			   unsigned size);
void test_pci_cfg_write(struct bus *pio, unsigned devfn, unsigned reg,
			unsigned size, uint32_t value);

#endif
