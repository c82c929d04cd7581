/* SPDX-License-Identifier: GPL-2.0-only */
#include "testutil.h"

#include <dirent.h>
#include <time.h>

#include "bus.h"
#include "pci.h"

static int test_count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int test_count_fds(void)
{
	return test_count_entries("/proc/self/fd");
}

int test_count_threads(void)
{
	return test_count_entries("/proc/self/task");
}

int64_t test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_pci_select(struct bus *pio, unsigned devfn, unsigned reg)
{
	uint32_t addr = PCI_CONFIG_ENABLE | devfn << 8 | (reg & 0xfc);

	bus_write(pio, PCI_CONFIG_ADDRESS_PORT, &addr, 4);
}

uint32_t test_pci_cfg_read(struct bus *pio, unsigned devfn, unsigned reg,
			   unsigned size)
{
	uint32_t v = 0;

	test_pci_select(pio, devfn, reg);
	bus_read(pio, PCI_CONFIG_DATA_PORT + (reg & 3), &v, size);
	return v;
}

void test_pci_cfg_write(struct bus *pio, unsigned devfn, unsigned reg,
			unsigned size, uint32_t value)
{
	test_pci_select(pio, devfn, reg);
	bus_write(pio, PCI_CONFIG_DATA_PORT + (reg & 3), &value, size);
}
