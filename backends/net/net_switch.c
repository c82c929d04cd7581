/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_switch.h"

#include <errno.h>
#include <stdlib.h>

/*
 * Open addressing with linear probing over a bounded window. Slots are
 * never emptied again once used: an aged or flushed entry stays in place
 * (stale) and is reused by a later insert, so a lookup can stop at the
 * first never-used slot, and the cost of a miss is bounded by the window.
 */
#define NET_SWITCH_PROBE 16

struct net_switch_entry {
	uint64_t mac;		/* MAC in bits 0-47, VLAN in 48-59; bit 63
				 * set = slot in use */
	uint64_t last_seen;	/* ns; 0 = stale (flushed) */
	uint16_t port;
};

#define ENTRY_USED (1ull << 63)
#define ENTRY_VLAN_SHIFT 48
#define ENTRY_VLAN_MAX 4095

/* The (VLAN, MAC) key, or 0 when either is out of range or a group. */
static uint64_t entry_key(uint16_t vlan, uint64_t mac)
{
	if (net_mac_is_group(mac) || mac >> 48 || vlan > ENTRY_VLAN_MAX)
		return 0;
	return mac | (uint64_t)vlan << ENTRY_VLAN_SHIFT | ENTRY_USED;
}

struct net_switch {
	struct net_switch_entry *slots;
	uint64_t mask;
	uint64_t age_ns;
};

int net_switch_create(unsigned entries, uint64_t age_ns,
		      struct net_switch **out)
{
	struct net_switch *sw;
	uint64_t n = 16;

	if (entries == 0 || entries > (1u << 24) || age_ns == 0)
		return -EINVAL;
	while (n < entries)
		n <<= 1;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	sw->slots = calloc(n, sizeof(*sw->slots));
	if (!sw->slots) {
		free(sw);
		return -ENOMEM;
	}
	sw->mask = n - 1;
	sw->age_ns = age_ns;
	*out = sw;
	return 0;
}

void net_switch_destroy(struct net_switch *sw)
{
	if (!sw)
		return;
	free(sw->slots);
	free(sw);
}

static uint64_t net_switch_hash(uint64_t key)
{
	/* Fibonacci hashing; the high bits mix all six octets and the VLAN. */
	return (key * 0x9e3779b97f4a7c15ull) >> 32;
}

static bool entry_live(const struct net_switch *sw,
		       const struct net_switch_entry *e, uint64_t now)
{
	if (!(e->mac & ENTRY_USED) || e->last_seen == 0)
		return false;
	/* A clock that went backwards keeps the entry rather than aging it. */
	return now < e->last_seen || now - e->last_seen < sw->age_ns;
}

enum net_learn_result net_switch_learn(struct net_switch *sw, uint16_t vlan,
				       uint64_t src, uint16_t port,
				       uint64_t now)
{
	struct net_switch_entry *reuse = NULL;
	uint64_t h, key = entry_key(vlan, src);

	if (!key || port >= NET_SWITCH_MAX_PORTS)
		return NET_LEARN_INVALID;
	if (now == 0)
		now = 1;	/* 0 marks a flushed entry */
	h = net_switch_hash(key & ~ENTRY_USED);
	for (unsigned i = 0; i < NET_SWITCH_PROBE; i++) {
		struct net_switch_entry *e = &sw->slots[(h + i) & sw->mask];

		if (e->mac == key) {
			enum net_learn_result r = NET_LEARN_REFRESHED;

			if (!entry_live(sw, e, now))
				r = NET_LEARN_NEW;
			else if (e->port != port)
				r = NET_LEARN_MOVED;
			e->port = port;
			e->last_seen = now;
			return r;
		}
		if (!reuse && !entry_live(sw, e, now))
			reuse = e;
		if (!(e->mac & ENTRY_USED))
			break;	/* the address is not further along */
	}
	if (!reuse)
		return NET_LEARN_FULL;
	reuse->mac = key;
	reuse->port = port;
	reuse->last_seen = now;
	return NET_LEARN_NEW;
}

uint16_t net_switch_lookup(const struct net_switch *sw, uint16_t vlan,
			   uint64_t dst, uint64_t now)
{
	uint64_t h, key = entry_key(vlan, dst);

	if (!key)
		return NET_SWITCH_NO_PORT;
	h = net_switch_hash(key & ~ENTRY_USED);
	for (unsigned i = 0; i < NET_SWITCH_PROBE; i++) {
		const struct net_switch_entry *e =
			&sw->slots[(h + i) & sw->mask];

		if (e->mac == key)
			return entry_live(sw, e, now) ? e->port
						       : NET_SWITCH_NO_PORT;
		if (!(e->mac & ENTRY_USED))
			break;
	}
	return NET_SWITCH_NO_PORT;
}

void net_switch_flush_port(struct net_switch *sw, uint16_t port)
{
	for (uint64_t i = 0; i <= sw->mask; i++) {
		struct net_switch_entry *e = &sw->slots[i];

		if ((e->mac & ENTRY_USED) && e->port == port)
			e->last_seen = 0;
	}
}

unsigned net_switch_count(const struct net_switch *sw, uint64_t now)
{
	unsigned n = 0;

	for (uint64_t i = 0; i <= sw->mask; i++)
		n += entry_live(sw, &sw->slots[i], now);
	return n;
}

uint16_t net_xconnect_peer(uint16_t port, uint16_t nports)
{
	if (nports % 2 || port >= nports)
		return NET_SWITCH_NO_PORT;
	return port ^ 1;
}
