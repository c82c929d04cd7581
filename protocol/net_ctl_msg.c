/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_ctl_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool net_ctl_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NET_CTL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int net_ctl_format_add(const char *name, const struct net_vlan_config *vlan,
		       char *buf, size_t len)
{
	char members[NET_CTL_MAX_LINE + 1];
	int w;

	if (!net_ctl_name_ok(name))
		return -EINVAL;
	/* Only validated values go in: a name of [A-Za-z0-9_-], numbers,
	 * and a trunk list of digits, ':' and '-' (or "all"). */
	if (net_vlan_format_json(vlan, members, sizeof(members)))
		return -ENOSPC;
	w = snprintf(buf, len, "{\"op\":\"add\",\"name\":\"%s\"%s}\n", name,
		     members);
	if (w < 0 || (size_t)w >= len || (size_t)w - 1 > NET_CTL_MAX_LINE) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}
