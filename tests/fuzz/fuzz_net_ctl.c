/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net --control requests (backends/net/net_ctl.c): whatever a
 * client writes on a line is parsed; a request that passes must carry a
 * name that yields a socket path next to the control socket.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_ctl_request req;
	char err[128], path[108];

	if (net_ctl_parse((const char *)data, size, &req, err, sizeof(err)))
		return 0;
	if (req.op == NET_CTL_ADD || req.op == NET_CTL_REMOVE) {
		/* Validated: no separator, no dot, bounded. */
		if (!req.name[0] || strchr(req.name, '/') ||
		    strchr(req.name, '.') || strlen(req.name) > NET_CTL_NAME_MAX)
			abort();
		if (net_ctl_port_path("/run/s/control.sock", req.name, path,
				      sizeof(path)) ||
		    strncmp(path, "/run/s/", 7) || strchr(path + 7, '/'))
			abort();
	} else if (req.name[0]) {
		abort();
	}
	return 0;
}
