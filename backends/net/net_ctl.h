/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net --control PATH: a unix socket taking one-line JSON requests
 * that add and remove switch ports at run time (pure C, no DPDK: the
 * ports themselves are changed through net_ctl_ops).
 */
#ifndef SPLITVM_NET_CTL_H
#define SPLITVM_NET_CTL_H

#include <stddef.h>
#include <stdio.h>

#include "net_ctl_msg.h"
#include "net_vlan.h"

enum net_ctl_op {
	NET_CTL_ADD,		/* {"op":"add","name":"N"}, and "vlan":N or
				 * "trunk":"LIST" ("native":N) */
	NET_CTL_REMOVE,		/* {"op":"remove","name":"N"} */
	NET_CTL_LIST,		/* {"op":"list"} */
	NET_CTL_QUIT,		/* {"op":"quit"}: only when no port is left */
	NET_CTL_STATS,		/* {"op":"stats"}: the counters */
};

struct net_ctl_request {
	enum net_ctl_op op;
	char name[NET_CTL_NAME_MAX + 1];
	struct net_vlan_config vlan;	/* add: as --port's vlan=, trunk= */
};

/*
 * Parse and validate one request (without its newline).  0, or -EINVAL
 * with a reason for the reply in err.
 */
int net_ctl_parse(const char *line, size_t len, struct net_ctl_request *req,
		  char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The socket path of port NAME: next to the control socket, NAME.sock.
 * 0 or -ENAMETOOLONG.
 */
int net_ctl_port_path(const char *control_path, const char *name, char *out,
		      size_t len)
	__attribute__((warn_unused_result));

/*
 * A socket at path that nobody listens on (left by a dead process) is
 * removed: 0 (also when nothing is there); -EADDRINUSE when someone
 * listens, -EEXIST for a file that is not a socket, or -errno.
 */
int net_clear_stale_socket(const char *path)
	__attribute__((warn_unused_result));

/* What the control thread asks of the back-end (net_backend.c). */
struct net_ctl_ops {
	/* 0, -EEXIST (name in use), -ENOSPC (no free port), -errno. */
	int (*add)(void *ctx, const char *name, const char *path,
		   const struct net_vlan_config *vlan);
	/* Ports left (>= 0), or -ENOENT. */
	int (*remove)(void *ctx, const char *name);
	/* Names of the ports added through the socket, comma separated,
	 * each quoted; returns the count. */
	int (*list)(void *ctx, char *buf, size_t len);
	/* Stop the process: called for "quit" once no port is left. */
	void (*quit)(void *ctx);
	/* The statistics as one JSON object (--stats-format json's line)
	 * to f. 0 or -errno. */
	int (*stats)(void *ctx, FILE *f);
};

struct net_ctl;

/*
 * Listen on path (a stale socket left by a dead process is replaced, a
 * live one is an error) and serve requests on a thread of its own, one
 * connection at a time.  Start it before the seccomp filter is loaded.
 */
int net_ctl_start(const char *path, const struct net_ctl_ops *ops, void *ctx,
		  struct net_ctl **out)
	__attribute__((warn_unused_result));
/* Stop the thread, close and remove the socket.  NULL is fine. */
void net_ctl_stop(struct net_ctl *ctl);

#endif
