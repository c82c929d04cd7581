/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The port I/O and MMIO buses: devices register address ranges with a
 * const ops table; vCPU exits are dispatched here.
 */
#ifndef SPLITVM_BUS_H
#define SPLITVM_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus;

/*
 * A device's accessors.  offset is relative to the registered base; size is
 * 1, 2, 4 or 8; values are little-endian and zero-extended.  They run on
 * vCPU threads, possibly several at once: a device with state locks it.
 */
struct bus_device_ops {
	const char *name;
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value,
		      unsigned size);
};

int bus_create(const char *name, struct bus **out)
	__attribute__((warn_unused_result));
void bus_destroy(struct bus *bus);

/* -EEXIST if [base, base + len) overlaps a registered range. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_device_ops *ops, void *opaque)
	__attribute__((warn_unused_result));
/* -ENOENT if no range starts at base. */
int bus_unregister(struct bus *bus, uint64_t base)
	__attribute__((warn_unused_result));

/*
 * Dispatch an access.  Returns false when no device claims addr; a read
 * then yields all ones, as on a real bus with nothing behind the address.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data,
	       unsigned size);

#endif
