/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's control socket requests as a client writes them (the
 * switch's parser is backends/net/net_ctl.c): the limits both sides
 * keep, and the one request the core's supervisor builds with values.
 */
#ifndef SPLITVM_NET_CTL_MSG_H
#define SPLITVM_NET_CTL_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "net_vlan_config.h"

/* A request line is at most this long, without its newline. */
#define NET_CTL_MAX_LINE	512
/* Port names: [A-Za-z0-9_-], 1 to this many bytes. */
#define NET_CTL_NAME_MAX	40

/* Whether s is a port name the switch takes. */
bool net_ctl_name_ok(const char *s);

/*
 * {"op":"add","name":NAME} with the VLAN members of vlan
 * (net_vlan_format_json()) and a newline, into buf: 0; -EINVAL for a
 * name net_ctl_name_ok() refuses; -ENOSPC when it does not fit buf or
 * the line is longer than the switch takes.
 */
int net_ctl_format_add(const char *name, const struct net_vlan_config *vlan,
		       char *buf, size_t len)
	__attribute__((warn_unused_result));

#endif
