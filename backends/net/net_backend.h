/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's DPDK side: EAL start-up, the vhost-user ports on
 * librte_vhost, and the forwarding loop. main.c is a thin layer over this.
 */
#ifndef SPLITVM_NET_BACKEND_H
#define SPLITVM_NET_BACKEND_H

#include <stdbool.h>
#include <stdio.h>

#include "net_ctl.h"
#include "net_options.h"

struct net_backend;

/* rte_eal_init with net_eal_args_build's arguments, then its (empty)
 * runtime directory removed, so that no exit leaves it. 0 or -errno. */
int net_eal_start(const struct net_options *o)
	__attribute__((warn_unused_result));
/* rte_eal_cleanup() when every uplink of o allows it, else left to the
 * exit (net_uplink_eal_cleanup_safe). */
void net_eal_stop(const struct net_options *o);

/* Mempool, MAC table, every port registered and listening/connecting. */
int net_backend_create(const struct net_options *o, struct net_backend **out)
	__attribute__((warn_unused_result));
/* Unregisters the ports (removing server sockets); NULL is fine. */
void net_backend_destroy(struct net_backend *be);

/* Forward until net_backend_request_stop(). 0 or -errno. */
int net_backend_run(struct net_backend *be)
	__attribute__((warn_unused_result));

/* Async-signal-safe: wake the forwarding loop to stop or to print. */
void net_backend_request_stop(struct net_backend *be);
void net_backend_request_stats(struct net_backend *be);

/* Print the statistics in the --stats-format to stdout. */
int net_backend_print_stats(struct net_backend *be)
	__attribute__((warn_unused_result));
/* The same to f, as one JSON line or as text; any thread. 0 or -errno. */
int net_backend_write_stats(struct net_backend *be, FILE *f, bool json)
	__attribute__((warn_unused_result));

/* The --control requests' effects (net_ctl.h), ctx: the backend. */
extern const struct net_ctl_ops net_backend_ctl_ops;
/* Before the sandbox, with --control: what the first port would set up. */
int net_backend_ctl_prepare(struct net_backend *be, const char *control_path)
	__attribute__((warn_unused_result));

#endif
