/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A splitvm-net port's 802.1Q VLAN configuration (access, trunk or
 * VLAN-unaware) and its text forms: the vlan=, trunk=, native= parameters
 * and the members of a control socket's add request, shared by
 * splitvm-net and the core, which asks a switch for its ports.
 */
#ifndef SPLITVM_NET_VLAN_CONFIG_H
#define SPLITVM_NET_VLAN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * VLAN ids 1 to 4094 are usable (0 means "priority tag only" and 4095 is
 * reserved, IEEE 802.1Q). VLAN-unaware ports form their own domain,
 * numbered NET_VLAN_UNAWARE in the MAC table, which never exchanges a
 * frame with a VLAN port.
 */
#define NET_VLAN_UNAWARE 0
#define NET_VLAN_MIN 1
#define NET_VLAN_MAX 4094

enum net_vlan_mode {
	NET_VLAN_MODE_NONE,	/* VLAN-unaware: tags pass untouched */
	NET_VLAN_MODE_ACCESS,	/* untagged frames of one VLAN */
	NET_VLAN_MODE_TRUNK,	/* tagged frames of the allowed VLANs */
};

struct net_vlan_config {
	enum net_vlan_mode mode;
	uint16_t vid;		/* access: its VLAN; trunk: native, or 0 */
	bool all;		/* trunk=all (for printing) */
	uint64_t allowed[4096 / 64];	/* trunk: bit per VLAN id */
};

static inline bool net_vlan_allowed(const struct net_vlan_config *c,
				    uint16_t vid)
{
	return (c->allowed[(vid >> 6) & 63] >> (vid & 63)) & 1;
}

/*
 * One "key=value" parameter of a --port or --uplink (len bytes at s, not
 * terminated): vlan=N, trunk=LIST (N or A-B items separated by ':', or
 * "all"), native=N. 0 when it was one of them and valid; 1 when it is no
 * VLAN parameter (the caller looks further); -EINVAL with a one-line
 * reason in err.
 */
int net_vlan_parse_param(struct net_vlan_config *c, const char *s, size_t len,
			 char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Whether the parameters given fit together (native= needs trunk=). 0 or
 * -EINVAL with a reason. */
int net_vlan_config_check(const struct net_vlan_config *c, char *err,
			  size_t errlen)
	__attribute__((warn_unused_result));

/*
 * A trunk's VLANs as the parser takes them ("all", or "10:20-29"), into
 * buf. 0, or -ENOSPC (buf then holds what fitted, terminated).
 */
int net_vlan_format_list(const struct net_vlan_config *c, char *buf,
			 size_t len);

/*
 * For people: "" (unaware), "access vlan 10", "trunk 10:20 native 5",
 * into buf. 0, or -ENOSPC (buf holds what fitted, terminated).
 */
int net_vlan_describe(const struct net_vlan_config *c, char *buf,
		      size_t len);

/*
 * The members of a control socket add request ({"op":"add",...}) that
 * give this configuration, each preceded by a comma: "" (unaware),
 * ",\"vlan\":10", or ",\"trunk\":\"10:20-29\",\"native\":5". Only
 * digits, ':', '-' and "all" go inside the string, so it needs no
 * escaping. 0, or -ENOSPC (buf holds what fitted, terminated).
 */
int net_vlan_format_json(const struct net_vlan_config *c, char *buf,
			 size_t len);

/* "access" / "trunk" / "none". */
const char *net_vlan_mode_name(enum net_vlan_mode m);

#endif
