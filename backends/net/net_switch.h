/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's forwarding decisions, pure C (no DPDK) so unit tests link
 * them: the L2 MAC table with learning and ageing, and cross-connect pairs.
 */
#ifndef SPLITVM_NET_SWITCH_H
#define SPLITVM_NET_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#define NET_SWITCH_MAX_PORTS 64
#define NET_SWITCH_NO_PORT   UINT16_MAX

struct net_switch;

/* A MAC address as the low 48 bits of an integer, first octet highest. */
static inline uint64_t net_mac_from_bytes(const uint8_t m[6])
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 |
	       (uint64_t)m[2] << 24 | (uint64_t)m[3] << 16 |
	       (uint64_t)m[4] << 8 | m[5];
}

/* Broadcast and multicast share the I/G bit, the low bit of octet 0. */
static inline bool net_mac_is_group(uint64_t mac)
{
	return mac & (1ull << 40);
}

/*
 * entries: table size, rounded up to a power of two (at least 16);
 * age_ns: how long an entry lives after the last frame seen from it.
 */
int net_switch_create(unsigned entries, uint64_t age_ns,
		      struct net_switch **out) __attribute__((warn_unused_result));
void net_switch_destroy(struct net_switch *sw);

enum net_learn_result {
	NET_LEARN_NEW,		/* a new entry */
	NET_LEARN_REFRESHED,	/* same port, timestamp renewed */
	NET_LEARN_MOVED,	/* the address showed up on another port */
	NET_LEARN_FULL,		/* no free slot within the probe window */
	NET_LEARN_INVALID,	/* a group address or port out of range */
};

/*
 * Entries are keyed by (VLAN, MAC): the same address may live on different
 * VLANs on different ports. vlan is 0 (the VLAN-unaware ports' domain) to
 * 4095; a larger one is NET_LEARN_INVALID or unknown.
 */
/* Note that frames from src in vlan arrive on port at time now (ns). */
enum net_learn_result net_switch_learn(struct net_switch *sw, uint16_t vlan,
				       uint64_t src, uint16_t port,
				       uint64_t now);

/* The port dst was last seen on in vlan, or NET_SWITCH_NO_PORT (unknown,
 * aged out, or a group address: the caller floods). */
uint16_t net_switch_lookup(const struct net_switch *sw, uint16_t vlan,
			   uint64_t dst, uint64_t now);

/* Forget every address learned on port (it went down). */
void net_switch_flush_port(struct net_switch *sw, uint16_t port);

/* Live (not aged) entries, for stats and tests. */
unsigned net_switch_count(const struct net_switch *sw, uint64_t now);

/* Cross-connect: ports are paired in order, 0<->1, 2<->3, ...; nports must
 * be even. The peer of port, or NET_SWITCH_NO_PORT when out of range. */
uint16_t net_xconnect_peer(uint16_t port, uint16_t nports);

#endif
