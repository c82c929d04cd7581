/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_uplink_args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/capability.h>

#include "log.h"

#define TAG "options"

/* Both prefixes name the same virtual drivers (DPDK keeps eth_ aliases). */
static const struct {
	const char *driver;
	enum net_uplink_type type;
} net_uplink_drivers[] = {
	{ "memif", NET_UPLINK_MEMIF },
	{ "tap", NET_UPLINK_TAP },
	{ "af_packet", NET_UPLINK_AF_PACKET },
	{ "ring", NET_UPLINK_RING },
};

static const char *const net_uplink_type_names[] = {
	[NET_UPLINK_OTHER] = "other",
	[NET_UPLINK_MEMIF] = "memif",
	[NET_UPLINK_TAP] = "tap",
	[NET_UPLINK_AF_PACKET] = "af_packet",
	[NET_UPLINK_RING] = "ring",
	[NET_UPLINK_PCI] = "pci",
};

const char *net_uplink_type_name(enum net_uplink_type t)
{
	return (unsigned)t < sizeof(net_uplink_type_names) /
		sizeof(net_uplink_type_names[0]) ? net_uplink_type_names[t] : "?";
}

int net_uplink_devname(const char *devargs, char *buf, size_t len)
{
	size_t n = strcspn(devargs, ",");

	if (n >= len)
		return -ENOSPC;
	memcpy(buf, devargs, n);
	buf[n] = '\0';
	return 0;
}

/* n hexadecimal digits at s, then the character end. */
static bool hex_run(const char *s, size_t n, char end)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return s[n] == end;
}

bool net_uplink_is_pci(const char *devargs)
{
	const char *s = devargs;

	/* Optional domain: DDDD: */
	if (hex_run(s, 4, ':') && hex_run(s + 5, 2, ':'))
		s += 5;
	if (!hex_run(s, 2, ':') || !hex_run(s + 3, 2, '.'))
		return false;
	s += 6;
	return *s >= '0' && *s <= '7' && (s[1] == '\0' || s[1] == ',');
}

enum net_uplink_type net_uplink_type_of(const char *devargs)
{
	char name[64];
	const char *drv;

	if (net_uplink_is_pci(devargs))
		return NET_UPLINK_PCI;
	if (net_uplink_devname(devargs, name, sizeof(name)))
		return NET_UPLINK_OTHER;
	if (!strncmp(name, "net_", 4) || !strncmp(name, "eth_", 4))
		drv = name + 4;
	else
		return NET_UPLINK_OTHER;
	for (size_t i = 0; i < sizeof(net_uplink_drivers) /
	     sizeof(net_uplink_drivers[0]); i++) {
		size_t n = strlen(net_uplink_drivers[i].driver);

		/* The driver name, then the instance: net_memif0, net_tap_x. */
		if (!strncmp(drv, net_uplink_drivers[i].driver, n) &&
		    (drv[n] == '\0' || isdigit((unsigned char)drv[n]) ||
		     drv[n] == '_'))
			return net_uplink_drivers[i].type;
	}
	return NET_UPLINK_OTHER;
}

/* The value of key in devargs (after the device name), or NULL. */
static const char *devargs_value(const char *devargs, const char *key,
				 size_t *len)
{
	size_t klen = strlen(key);
	const char *s = strchr(devargs, ',');

	while (s) {
		const char *next;

		s++;
		next = strchr(s, ',');
		if (!strncmp(s, key, klen) && s[klen] == '=') {
			s += klen + 1;
			*len = next ? (size_t)(next - s) : strlen(s);
			return s;
		}
		s = next;
	}
	return NULL;
}

bool net_uplink_memif_client(const char *devargs)
{
	size_t len = 0;
	const char *role;

	if (net_uplink_type_of(devargs) != NET_UPLINK_MEMIF)
		return false;
	role = devargs_value(devargs, "role", &len);
	/* DPDK 22.11 still accepts the old names master/slave. */
	return !role || (len == 6 && !strncmp(role, "client", 6)) ||
	       (len == 5 && !strncmp(role, "slave", 5));
}

/*
 * DEVARGS[,name=NAME][,offload=off][,vlan=N|trunk=LIST[,native=N]]:
 * name=, offload= and the VLAN keys are ours and taken out; every other key goes to the driver, which validates its own
 * (a bad one fails the probe).
 */
int net_uplink_parse(const char *arg, struct net_port_config *p)
{
	size_t used = 0;
	const char *s = arg;
	bool first = true;
	char err[160];
	int r;

	p->kind = NET_PORT_UPLINK;
	p->devargs[0] = '\0';
	for (const char *c = arg; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			log_err(TAG, "--uplink: control character in '%s'", arg);
			return -EINVAL;
		}
	}
	while (s) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		if (len == 0) {
			log_err(TAG, "--uplink %s: empty %s", arg,
				first ? "device name" : "parameter");
			return -EINVAL;
		}
		if (!first && len > 5 && !strncmp(s, "name=", 5)) {
			r = net_port_set_name(p, "--uplink", s + 5, len - 5);
			if (r)
				return r;
		} else if (!first && len == 11 &&
			   !strncmp(s, "offload=off", 11)) {
			p->no_offload = true;
		} else if (!first && (r = net_vlan_parse_param(&p->vlan, s, len,
								err, sizeof(err))) <= 0) {
			if (r < 0) {
				log_err(TAG, "--uplink %s: %s", arg, err);
				return r;
			}
		} else {
			if (used + len + 2 > sizeof(p->devargs)) {
				log_err(TAG, "--uplink: devargs longer than %zu bytes",
					sizeof(p->devargs) - 1);
				return -EINVAL;
			}
			if (used)
				p->devargs[used++] = ',';
			memcpy(p->devargs + used, s, len);
			used += len;
			p->devargs[used] = '\0';
		}
		first = false;
		s = comma ? comma + 1 : NULL;
	}
	if (strchr(p->devargs, '=') && strcspn(p->devargs, "=") <
	    strcspn(p->devargs, ",")) {
		log_err(TAG, "--uplink %s: starts with a parameter, not a device "
			"name (net_memif0, net_tap0, 0000:01:00.0, ...)", arg);
		return -EINVAL;
	}
	return net_port_check_vlan(p, "--uplink", arg);
}

bool net_uplink_teardown_sandboxed(const char *devargs)
{
	enum net_uplink_type t = net_uplink_type_of(devargs);

	return t == NET_UPLINK_MEMIF || t == NET_UPLINK_RING;
}

bool net_uplink_eal_cleanup_safe(const char *devargs)
{
	return net_uplink_type_of(devargs) == NET_UPLINK_RING;
}

static size_t caps_add(int *caps, size_t n, size_t max, int cap)
{
	for (size_t i = 0; i < n; i++)
		if (caps[i] == cap)
			return n;
	if (n < max)
		caps[n++] = cap;
	return n;
}

size_t net_uplink_caps(const struct net_options *o, int *caps, size_t max)
{
	size_t n = 0;

	for (unsigned i = 0; i < o->nports; i++) {
		if (o->ports[i].kind != NET_PORT_UPLINK)
			continue;
		switch (net_uplink_type_of(o->ports[i].devargs)) {
		case NET_UPLINK_TAP:
			/* TUNSETIFF, interface flags and address. */
			n = caps_add(caps, n, max, CAP_NET_ADMIN);
			break;
		case NET_UPLINK_AF_PACKET:
			/* socket(AF_PACKET, SOCK_RAW); rte_eth_dev_start()
			 * restores promiscuous mode and the MAC by ioctl. */
			n = caps_add(caps, n, max, CAP_NET_RAW);
			n = caps_add(caps, n, max, CAP_NET_ADMIN);
			break;
		default:
			break;
		}
	}
	return n;
}
