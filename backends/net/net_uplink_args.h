/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --uplink DEVARGS[,name=NAME]: parsing, and what the devargs say about the
 * device (driver, PCI or virtual, memif role). Pure C, unit tested.
 */
#ifndef SPLITVM_NET_UPLINK_ARGS_H
#define SPLITVM_NET_UPLINK_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "net_options.h"

/* Kinds splitvm-net knows the privileges and system calls of. */
enum net_uplink_type {
	NET_UPLINK_OTHER,	/* any other PMD: no capability kept */
	NET_UPLINK_MEMIF,	/* net_memif: unix socket, shared memory */
	NET_UPLINK_TAP,		/* net_tap: a tap interface (CAP_NET_ADMIN) */
	NET_UPLINK_AF_PACKET,	/* net_af_packet: a raw socket (CAP_NET_RAW) */
	NET_UPLINK_RING,	/* net_ring: in-process rings */
	NET_UPLINK_PCI,		/* a PCI address: a NIC bound to vfio-pci */
};

/*
 * Fill p (kind, devargs without name=, name) from DEVARGS[,name=NAME].
 * 0, or -EINVAL after logging what is wrong.
 */
int net_uplink_parse(const char *arg, struct net_port_config *p)
	__attribute__((warn_unused_result));

/* The device name: devargs up to the first comma, into buf. 0 or -ENOSPC. */
int net_uplink_devname(const char *devargs, char *buf, size_t len)
	__attribute__((warn_unused_result));

/* [DDDD:]BB:DD.F, hexadecimal: a PCI address. */
bool net_uplink_is_pci(const char *devargs);

enum net_uplink_type net_uplink_type_of(const char *devargs);
const char *net_uplink_type_name(enum net_uplink_type t);

/* A net_memif uplink in the client role (DPDK's default): it creates the
 * shared memory itself (memfd_create, ftruncate) when it connects. */
bool net_uplink_memif_client(const char *devargs);

/*
 * Whether the driver's stop, close and removal stay within the seccomp
 * list (memif, ring); others (tap, af_packet, PCI) would take their
 * interface down with ioctl() or talk to the kernel: they are left open
 * and the process exit closes them.
 */
bool net_uplink_teardown_sandboxed(const char *devargs);

/*
 * Whether rte_eal_cleanup() may run once the uplink is closed: only when
 * its driver leaves nothing with the EAL's interrupt thread, which DPDK
 * 22.11 does not stop before it unmaps its memory (ring, which has no
 * interrupt source). memif does not qualify (see net_eal_stop), nor do
 * the drivers net_uplink_close leaves open, nor unknown ones.
 */
bool net_uplink_eal_cleanup_safe(const char *devargs);

/*
 * The capabilities o's uplinks need while they are opened (tap:
 * CAP_NET_ADMIN; af_packet: CAP_NET_RAW and CAP_NET_ADMIN), each once,
 * into caps (room for max). How many.
 */
size_t net_uplink_caps(const struct net_options *o, int *caps, size_t max);

#endif
