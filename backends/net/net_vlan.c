/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_vlan.h"

#include <string.h>

bool net_vlan_read_tag(const uint8_t *buf, size_t hlen, uint16_t *tci,
		       bool *short_tag)
{
	*short_tag = false;
	if (hlen < 14 || ((unsigned)buf[12] << 8 | buf[13]) != NET_VLAN_TPID)
		return false;
	if (hlen < 14 + NET_VLAN_TAG_LEN) {
		*short_tag = true;
		return false;
	}
	*tci = (uint16_t)(buf[14] << 8 | buf[15]);
	return true;
}

int net_vlan_ingress(const struct net_vlan_config *c, bool tagged,
		     uint16_t tci)
{
	uint16_t vid = tci & 0xfff;

	switch (c->mode) {
	case NET_VLAN_MODE_NONE:
		return NET_VLAN_UNAWARE;
	case NET_VLAN_MODE_ACCESS:
		return tagged ? -1 : c->vid;
	case NET_VLAN_MODE_TRUNK:
		if (!tagged)
			return c->vid ? c->vid : -1;
		if (vid < NET_VLAN_MIN || vid > NET_VLAN_MAX)
			return -1;
		return vid == c->vid || net_vlan_allowed(c, vid) ? vid : -1;
	}
	return -1;
}

void net_vlan_push(uint8_t *dst, const uint8_t *src, size_t len, uint16_t tci)
{
	memcpy(dst, src, 12);
	dst[12] = NET_VLAN_TPID >> 8;
	dst[13] = NET_VLAN_TPID & 0xff;
	dst[14] = (uint8_t)(tci >> 8);
	dst[15] = (uint8_t)tci;
	memcpy(dst + 16, src + 12, len - 12);
}

void net_vlan_pop(uint8_t *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, 12);
	memcpy(dst + 12, src + 16, len - 16);
}

void net_vlan_push_in_place(uint8_t *start, uint16_t tci)
{
	memmove(start, start + NET_VLAN_TAG_LEN, 12);
	start[12] = NET_VLAN_TPID >> 8;
	start[13] = NET_VLAN_TPID & 0xff;
	start[14] = (uint8_t)(tci >> 8);
	start[15] = (uint8_t)tci;
}

void net_vlan_pop_in_place(uint8_t *start)
{
	memmove(start + NET_VLAN_TAG_LEN, start, 12);
}
