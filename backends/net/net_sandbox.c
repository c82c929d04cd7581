/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_sandbox.h"

#include <fcntl.h>
#include <stdbool.h>

#include "net_uplink_args.h"

/*
 * The vhost ports need nothing beyond what every back-end does: once they
 * are up, the forwarding loop copies between mapped guest memory and
 * sleeps on kick eventfds, and librte_vhost's event thread serves the
 * vhost-user connections; both are on the common list.  Uplinks add the
 * calls of their driver's data path, each group only when an uplink of
 * that kind is configured; the lists come from running the uplink tests
 * with --seccomp=log.  Probe, configure and start (socket, bind, ioctl,
 * netlink, opening /dev/net/tun) all happen before the filter.
 */

/*
 * EAL's interrupt thread builds a new epoll set whenever a driver adds or
 * removes an interrupt source (memif: its control connection, queue
 * eventfds on connect), with the old epoll_create().
 */
static const struct be_sandbox_rule net_uplink_rules[] = {
	BE_ALLOW(epoll_create, "EAL interrupt thread: driver interrupts"),
};

/*
 * A memif client creates the shared memory when the server says hello,
 * which may be after the filter (and again after every reconnect): one
 * sealed memfd per connection. ftruncate then also reaches a guest
 * memfd; the core seals guest RAM against shrinking (F_SEAL_SHRINK).
 */
static const struct be_sandbox_rule net_memif_client_rules[] = {
	BE_ALLOW(memfd_create, "memif client: the region it shares"),
	BE_ALLOW(ftruncate, "memif client: size of its region memfd"),
	BE_ALLOW_ARG(fcntl, 1, SCMP_CMP_EQ, F_ADD_SEALS, 0,
		     "memif client: seal its region against shrinking"),
};

/* tap: the rx and tx queues are read and written with iovecs. */
static const struct be_sandbox_rule net_tap_rules[] = {
	BE_ALLOW(readv, "tap: receive a frame into an mbuf chain"),
	BE_ALLOW(writev, "tap: transmit an mbuf chain"),
};

/* af_packet: the tx ring is flushed with an empty send. */
static const struct be_sandbox_rule net_af_packet_rules[] = {
	BE_ALLOW(sendto, "af_packet: kick the kernel to send the tx ring"),
};

static bool net_any(const char *devargs)
{
	(void)devargs;
	return true;
}

static bool net_is_tap(const char *devargs)
{
	return net_uplink_type_of(devargs) == NET_UPLINK_TAP;
}

static bool net_is_af_packet(const char *devargs)
{
	return net_uplink_type_of(devargs) == NET_UPLINK_AF_PACKET;
}

#define NET_RULES(a) a, sizeof(a) / sizeof(a[0])

static const struct {
	bool (*wanted)(const char *devargs);
	const struct be_sandbox_rule *rules;
	size_t n;
} net_rule_groups[] = {
	{ net_any, NET_RULES(net_uplink_rules) },
	{ net_uplink_memif_client, NET_RULES(net_memif_client_rules) },
	{ net_is_tap, NET_RULES(net_tap_rules) },
	{ net_is_af_packet, NET_RULES(net_af_packet_rules) },
};

const struct be_sandbox_policy *net_sandbox_policy_for(
	const struct net_options *o)
{
	static struct be_sandbox_rule rules[sizeof(net_uplink_rules) /
					    sizeof(net_uplink_rules[0]) +
					    sizeof(net_memif_client_rules) /
					    sizeof(net_memif_client_rules[0]) +
					    sizeof(net_tap_rules) /
					    sizeof(net_tap_rules[0]) +
					    sizeof(net_af_packet_rules) /
					    sizeof(net_af_packet_rules[0])];
	static struct be_sandbox_policy policy;
	size_t n = 0;

	for (size_t g = 0; g < sizeof(net_rule_groups) /
	     sizeof(net_rule_groups[0]); g++) {
		bool want = false;

		for (unsigned i = 0; i < o->nports && !want; i++)
			want = o->ports[i].kind == NET_PORT_UPLINK &&
			       net_rule_groups[g].wanted(o->ports[i].devargs);
		for (size_t k = 0; want && k < net_rule_groups[g].n; k++)
			rules[n++] = net_rule_groups[g].rules[k];
	}
	policy = (struct be_sandbox_policy){
		.kind = "splitvm-net",
		.rules = n ? rules : NULL,
		.nrules = n,
	};
	return &policy;
}
