/* SPDX-License-Identifier: GPL-2.0-only */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
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

unsigned test_checks_passed, test_checks_failed;

int test_checks_report(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, test_checks_passed,
	       test_checks_failed);
	return test_checks_failed ? 1 : 0;
}

int test_pci_machine_create(uint64_t ram_end, struct bus **pio,
			    struct bus **mmio, struct pci_root **root)
{
	struct pci_root_config cfg = { .ram_end = ram_end };
	int ret;

	*pio = *mmio = NULL;
	*root = NULL;
	ret = bus_create("pio", pio);
	if (!ret)
		ret = bus_create("mmio", mmio);
	if (!ret) {
		cfg.pio = *pio;
		cfg.mmio = *mmio;
		ret = pci_root_create(&cfg, root);
	}
	if (ret) {
		test_pci_machine_destroy(*pio, *mmio, *root);
		*pio = *mmio = NULL;
		*root = NULL;
	}
	return ret;
}

void test_pci_machine_destroy(struct bus *pio, struct bus *mmio,
			      struct pci_root *root)
{
	pci_root_destroy(root);
	bus_destroy(mmio);
	bus_destroy(pio);
}
