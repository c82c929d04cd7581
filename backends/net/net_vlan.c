/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_vlan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const net_vlan_mode_names[] = {
	[NET_VLAN_MODE_NONE] = "none",
	[NET_VLAN_MODE_ACCESS] = "access",
	[NET_VLAN_MODE_TRUNK] = "trunk",
};

const char *net_vlan_mode_name(enum net_vlan_mode m)
{
	return (unsigned)m < sizeof(net_vlan_mode_names) /
		sizeof(net_vlan_mode_names[0]) ? net_vlan_mode_names[m] : "?";
}

/* A VLAN id, len digits at s: 1 to 4094, else -1. */
static int vid_parse(const char *s, size_t len)
{
	unsigned v = 0;

	if (len == 0 || len > 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v >= NET_VLAN_MIN && v <= NET_VLAN_MAX ? (int)v : -1;
}

static void allow(struct net_vlan_config *c, unsigned vid)
{
	c->allowed[vid >> 6] |= 1ull << (vid & 63);
}

/* N or A-B items separated by ':', or "all". */
static int trunk_parse(struct net_vlan_config *c, const char *s, size_t len,
		       char *err, size_t errlen)
{
	size_t i = 0;

	if (len == 3 && !strncmp(s, "all", 3)) {
		c->all = true;
		for (unsigned v = NET_VLAN_MIN; v <= NET_VLAN_MAX; v++)
			allow(c, v);
		return 0;
	}
	while (i <= len) {
		size_t end = i, dash;
		int a, b;

		while (end < len && s[end] != ':')
			end++;
		for (dash = i; dash < end && s[dash] != '-'; dash++)
			;
		a = vid_parse(s + i, dash - i);
		b = dash < end ? vid_parse(s + dash + 1, end - dash - 1) : a;
		if (a < 0 || b < 0 || a > b) {
			snprintf(err, errlen, "trunk=%.*s: '%.*s' is not a VLAN "
				 "id from %d to %d or a range A-B of them "
				 "(items separated by ':', or 'all')",
				 (int)len, s, (int)(end - i), s + i,
				 NET_VLAN_MIN, NET_VLAN_MAX);
			return -EINVAL;
		}
		for (int v = a; v <= b; v++) {
			if (net_vlan_allowed(c, (uint16_t)v)) {
				snprintf(err, errlen, "trunk=%.*s: VLAN %d "
					 "listed twice", (int)len, s, v);
				return -EINVAL;
			}
			allow(c, (unsigned)v);
		}
		i = end + 1;
	}
	return 0;
}

/* key=V's VLAN id, or -1 with the reason in err. */
static int vid_value(const char *key, const char *eq, const char *v,
		     size_t vlen, char *err, size_t errlen)
{
	int vid = eq ? vid_parse(v, vlen) : -1;

	if (vid < 0)
		snprintf(err, errlen, "%s=%.*s: not a VLAN id from %d to %d",
			 key, (int)vlen, v, NET_VLAN_MIN, NET_VLAN_MAX);
	return vid;
}

int net_vlan_parse_param(struct net_vlan_config *c, const char *s, size_t len,
			 char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq ? (size_t)(eq - s) : len;
	const char *v = eq ? eq + 1 : s + len;
	size_t vlen = len - klen - (eq ? 1 : 0);
	int vid;

	if (klen == 4 && !strncmp(s, "vlan", 4)) {
		if (c->mode == NET_VLAN_MODE_ACCESS) {
			snprintf(err, errlen, "vlan= given twice");
			return -EINVAL;
		}
		if (c->mode == NET_VLAN_MODE_TRUNK || c->vid) {
			snprintf(err, errlen, "vlan= (an access port) and "
				 "trunk=/native= exclude each other");
			return -EINVAL;
		}
		vid = vid_value("vlan", eq, v, vlen, err, errlen);
		if (vid < 0)
			return -EINVAL;
		c->mode = NET_VLAN_MODE_ACCESS;
		c->vid = (uint16_t)vid;
		return 0;
	}
	if (klen == 5 && !strncmp(s, "trunk", 5)) {
		if (c->mode == NET_VLAN_MODE_ACCESS) {
			snprintf(err, errlen, "vlan= (an access port) and "
				 "trunk= exclude each other");
			return -EINVAL;
		}
		if (c->mode == NET_VLAN_MODE_TRUNK) {
			snprintf(err, errlen, "trunk= given twice (list the "
				 "VLANs in one, separated by ':')");
			return -EINVAL;
		}
		if (!eq) {
			snprintf(err, errlen, "trunk needs a list: trunk=10:20");
			return -EINVAL;
		}
		if (trunk_parse(c, v, vlen, err, errlen))
			return -EINVAL;
		c->mode = NET_VLAN_MODE_TRUNK;
		return 0;
	}
	if (klen == 6 && !strncmp(s, "native", 6)) {
		if (c->mode == NET_VLAN_MODE_ACCESS) {
			snprintf(err, errlen, "native= is for a trunk, not with "
				 "vlan=");
			return -EINVAL;
		}
		if (c->vid) {
			snprintf(err, errlen, "native= given twice");
			return -EINVAL;
		}
		vid = vid_value("native", eq, v, vlen, err, errlen);
		if (vid < 0)
			return -EINVAL;
		/* The mode follows from trunk=, which may come after. */
		c->vid = (uint16_t)vid;
		return 0;
	}
	return 1;
}

int net_vlan_config_check(const struct net_vlan_config *c, char *err,
			  size_t errlen)
{
	if (c->mode == NET_VLAN_MODE_NONE && c->vid) {
		snprintf(err, errlen, "native= needs trunk= (the VLANs the "
			 "trunk carries tagged)");
		return -EINVAL;
	}
	return 0;
}

int net_vlan_format_list(const struct net_vlan_config *c, char *buf,
			 size_t len)
{
	size_t used = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (c->all)
		return snprintf(buf, len, "all") < (int)len ? 0 : -ENOSPC;
	for (unsigned v = NET_VLAN_MIN; v <= NET_VLAN_MAX; v++) {
		unsigned e = v;
		int w;

		if (!net_vlan_allowed(c, (uint16_t)v))
			continue;
		while (e < NET_VLAN_MAX && net_vlan_allowed(c, (uint16_t)(e + 1)))
			e++;
		if (e == v)
			w = snprintf(buf + used, len - used, "%s%u",
				     used ? ":" : "", v);
		else
			w = snprintf(buf + used, len - used, "%s%u-%u",
				     used ? ":" : "", v, e);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			return -ENOSPC;
		}
		used += (size_t)w;
		v = e;
	}
	return 0;
}

int net_vlan_describe(const struct net_vlan_config *c, char *buf,
		      size_t len)
{
	size_t n;
	int w, r;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (c->mode == NET_VLAN_MODE_NONE)
		return 0;
	if (c->mode == NET_VLAN_MODE_ACCESS) {
		w = snprintf(buf, len, "access vlan %u", c->vid);
		return w >= 0 && (size_t)w < len ? 0 : -ENOSPC;
	}
	w = snprintf(buf, len, "trunk ");
	if (w < 0 || (size_t)w >= len)
		return -ENOSPC;
	r = net_vlan_format_list(c, buf + w, len - (size_t)w);
	if (r || !c->vid)
		return r;
	n = strlen(buf);
	w = snprintf(buf + n, len - n, " native %u", c->vid);
	return w >= 0 && (size_t)w < len - n ? 0 : -ENOSPC;
}

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
