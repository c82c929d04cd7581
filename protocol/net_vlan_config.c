/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_vlan_config.h"

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

/* A port's configuration as text: access then its VLAN, or a trunk's
 * list between before and after, then native and its native VLAN. */
static int format_config(const struct net_vlan_config *c, char *buf,
			 size_t len, const char *access, const char *before,
			 const char *after, const char *native)
{
	size_t n;
	int w, r;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (c->mode == NET_VLAN_MODE_NONE)
		return 0;
	if (c->mode == NET_VLAN_MODE_ACCESS) {
		w = snprintf(buf, len, "%s%u", access, c->vid);
		return w >= 0 && (size_t)w < len ? 0 : -ENOSPC;
	}
	w = snprintf(buf, len, "%s", before);
	if (w < 0 || (size_t)w >= len)
		return -ENOSPC;
	r = net_vlan_format_list(c, buf + w, len - (size_t)w);
	if (r)
		return r;
	n = strlen(buf);
	w = snprintf(buf + n, len - n, "%s", after);
	if (w >= 0 && (size_t)w < len - n && c->vid) {
		n += (size_t)w;
		w = snprintf(buf + n, len - n, "%s%u", native, c->vid);
	}
	if (w < 0 || (size_t)w >= len - n) {
		buf[n] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int net_vlan_describe(const struct net_vlan_config *c, char *buf,
		      size_t len)
{
	return format_config(c, buf, len, "access vlan ", "trunk ", "",
			     " native ");
}

int net_vlan_format_json(const struct net_vlan_config *c, char *buf,
			 size_t len)
{
	return format_config(c, buf, len, ",\"vlan\":", ",\"trunk\":\"",
			     "\"", ",\"native\":");
}
