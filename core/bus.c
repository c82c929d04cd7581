/* SPDX-License-Identifier: GPL-2.0-only */
#include "bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_device_ops *ops;
	void *opaque;
};

/*
 * A sorted array searched by bisection.  Ranges change rarely (device
 * setup, later PCI BAR moves) and are looked up on every exit, hence the
 * read-write lock.
 */
struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range *ranges;
	unsigned nr, cap;
};

int bus_create(const char *name, struct bus **out)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return -ENOMEM;
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
	*out = bus;
	return 0;
}

void bus_destroy(struct bus *bus)
{
	if (!bus)
		return;
	pthread_rwlock_destroy(&bus->lock);
	free(bus->ranges);
	free(bus);
}

/* Index of the first range whose end is above addr. */
static unsigned bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr - r->base >= r->len && addr > r->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned i = bus_lower_bound(bus, addr);

	if (i < bus->nr && addr >= bus->ranges[i].base &&
	    addr - bus->ranges[i].base < bus->ranges[i].len)
		return &bus->ranges[i];
	return NULL;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_device_ops *ops, void *opaque)
{
	unsigned i;
	int ret = 0;

	if (!len || base + len - 1 < base || !ops || !ops->read || !ops->write)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base <= base + len - 1) {
		log_err(bus->name, "%s at 0x%llx+0x%llx overlaps %s at 0x%llx",
			ops->name, (unsigned long long)base,
			(unsigned long long)len, bus->ranges[i].ops->name,
			(unsigned long long)bus->ranges[i].base);
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	unsigned i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->ranges));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static uint64_t bus_load_le(const void *data, unsigned size)
{
	const uint8_t *p = data;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void bus_store_le(void *data, uint64_t v, unsigned size)
{
	uint8_t *p = data;

	for (unsigned i = 0; i < size; i++)
		p[i] = v >> (8 * i);
}

static bool bus_size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size)
{
	const struct bus_range *r;
	bool found = false;

	if (bus_size_ok(size)) {
		pthread_rwlock_rdlock(&bus->lock);
		r = bus_find(bus, addr);
		if (r) {
			bus_store_le(data, r->ops->read(r->opaque, addr - r->base,
							size), size);
			found = true;
		}
		pthread_rwlock_unlock(&bus->lock);
	}
	if (!found)
		memset(data, 0xff, size <= 8 ? size : 8);
	return found;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data,
	       unsigned size)
{
	const struct bus_range *r;
	bool found = false;

	if (!bus_size_ok(size))
		return false;
	pthread_rwlock_rdlock(&bus->lock);
	r = bus_find(bus, addr);
	if (r) {
		r->ops->write(r->opaque, addr - r->base,
			      bus_load_le(data, size), size);
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return found;
}
