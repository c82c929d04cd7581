/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-port 802.1Q VLANs for splitvm-net's switch, pure C (unit tested):
 * the ingress and egress decisions and tag push/pop on buffers; a port's
 * configuration and its parsing are protocol/net_vlan_config.h's.
 */
#ifndef SPLITVM_NET_VLAN_H
#define SPLITVM_NET_VLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_vlan_config.h"

#define NET_VLAN_TPID 0x8100
#define NET_VLAN_TAG_LEN 4
/* The largest untagged frame (no MTU feature is offered): 1500 + 14. */
#define NET_VLAN_UNTAGGED_MAX 1514

/*
 * The frame's tag as read from its first hlen bytes: true and *tci when
 * its EtherType is 802.1Q (hlen must cover the tag: else false and
 * *short_tag set, a frame to drop).
 */
bool net_vlan_read_tag(const uint8_t *buf, size_t hlen, uint16_t *tci,
		       bool *short_tag);

/*
 * Ingress: the VLAN a frame received on a port with this configuration
 * belongs to (tagged: with tag tci), or -1 when the port does not take it
 * (a tagged frame on an access port, a VLAN a trunk does not carry, an
 * untagged frame on a trunk without a native VLAN, VLAN id 0 or 4095).
 * An unaware port's frames are all NET_VLAN_UNAWARE.
 */
int net_vlan_ingress(const struct net_vlan_config *c, bool tagged,
		     uint16_t tci);

enum net_vlan_egress {
	NET_VLAN_OUT_NOT,	/* the port is not in that VLAN */
	NET_VLAN_OUT_AS_IS,	/* VLAN-unaware: the frame as received */
	NET_VLAN_OUT_UNTAGGED,	/* access, or a trunk's native VLAN */
	NET_VLAN_OUT_TAGGED,	/* a trunk's other VLANs */
};

/* Egress: how a frame of VLAN vlan leaves a port with configuration c. */
static inline enum net_vlan_egress
net_vlan_egress(const struct net_vlan_config *c, uint16_t vlan)
{
	switch (c->mode) {
	case NET_VLAN_MODE_NONE:
		return vlan == NET_VLAN_UNAWARE ? NET_VLAN_OUT_AS_IS
						: NET_VLAN_OUT_NOT;
	case NET_VLAN_MODE_ACCESS:
		return vlan == c->vid ? NET_VLAN_OUT_UNTAGGED
				      : NET_VLAN_OUT_NOT;
	case NET_VLAN_MODE_TRUNK:
		if (vlan == NET_VLAN_UNAWARE)
			return NET_VLAN_OUT_NOT;
		if (vlan == c->vid)
			return NET_VLAN_OUT_UNTAGGED;
		return net_vlan_allowed(c, vlan) ? NET_VLAN_OUT_TAGGED
						 : NET_VLAN_OUT_NOT;
	}
	return NET_VLAN_OUT_NOT;
}

/*
 * Tag push and pop on plain buffers. Push: the frame of len bytes at src
 * (untagged, len >= 12) into dst with an 802.1Q tag (TPID 0x8100, tci)
 * after the MAC addresses: len + 4 bytes. Pop: the tagged frame at src
 * (len >= 16) into dst without its tag: len - 4 bytes. dst and src must
 * not overlap.
 */
void net_vlan_push(uint8_t *dst, const uint8_t *src, size_t len,
		   uint16_t tci);
void net_vlan_pop(uint8_t *dst, const uint8_t *src, size_t len);

/*
 * In place: the frame now starts at start (4 bytes before its old
 * start, which held its MAC addresses): move them down and write the
 * tag. Pop: move the MAC addresses over the tag; the frame then starts
 * 4 bytes later.
 */
void net_vlan_push_in_place(uint8_t *start, uint16_t tci);
void net_vlan_pop_in_place(uint8_t *start);

#endif
