/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the C test programs: counting this process's fds and
 * threads (leak checks), and type-1 PCI configuration access through the
 * core's port bus, as a guest driver does it.
 */
#ifndef SPLITVM_TESTUTIL_H
#define SPLITVM_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

struct bus;
struct pci_root;

/* Entries of /proc/self/fd and /proc/self/task, or -1 if unreadable. */
int test_count_fds(void);
int test_count_threads(void);

/*
 * Checks for the test programs that are not CUnit (kvm suite): count,
 * print each failure with its place, and end with one summary line.
 */
extern unsigned test_checks_passed, test_checks_failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) { \
			test_checks_passed++; \
		} else { \
			test_checks_failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* Print "name: N passed, M failed"; returns the exit status. */
int test_checks_report(const char *name);

/* CLOCK_MONOTONIC in milliseconds, for time-out assertions. */
int64_t test_now_ms(void);

/* CONFIG_ADDRESS / CONFIG_DATA cycles on bus 0 for devfn. */
uint32_t test_pci_cfg_read(struct bus *pio, unsigned devfn, unsigned reg,
			   unsigned size);
void test_pci_cfg_write(struct bus *pio, unsigned devfn, unsigned reg,
			unsigned size, uint32_t value);

/*
 * Port and MMIO buses with a PCI root on them, as vm.c builds them.
 * On failure nothing is left and the outputs are NULL.
 */
int test_pci_machine_create(uint64_t ram_end, struct bus **pio,
			    struct bus **mmio, struct pci_root **root);
void test_pci_machine_destroy(struct bus *pio, struct bus *mmio,
			      struct pci_root *root);

#endif
