/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_sandbox.h"

#include <fcntl.h>
#include <stdbool.h>
#include <sys/ioctl.h>

#include "net_uplink_args.h"

/*
 * The vhost ports need nothing beyond what every back-end does: once they
 * are up, the forwarding loop copies between mapped guest memory and
 * sleeps on kick eventfds, and librte_vhost's event thread serves the
 * vhost-user connections; both are on the common list.  Uplinks add the
 * calls of their driver's data path, each group only when an uplink of
 * that kind is configured; the lists come from running the uplink tests
 * with --seccomp=log.  Probe, configure and start (socket, bind, ioctl,
 * netlink, opening /dev/net/tun) all happen before the filter.  --control
 * adds what a port created at run time needs.  More forwarding threads
 * (--threads, --cpus), more queue pairs and the chain guard add nothing:
 * the EAL's lcore threads and each worker's wake-up eventfd exist before
 * the filter, launching a worker after it needs only calls on the common
 * list (the EAL wakes its lcore), the guard reads memory librte_vhost
 * mapped and writes used rings, and its message hooks run on
 * librte_vhost's event thread (net_control_mq_uplink and net_mq_testpmd
 * run all of it under the kill filter).
 */

/*
 * Statistics go to stdout (SIGUSR1, exit): on its first write glibc asks
 * whether stdout is a terminal, which is an ioctl when it is a character
 * device (a tty, /dev/null as the core's supervisor gives it).
 */
static const struct be_sandbox_ioctl net_ioctls[] = {
	{ TCGETS, "stdio: isatty() of stdout before the statistics" },
};

/*
 * --control: a port added at run time is a new listening socket made by
 * librte_vhost (socket(AF_UNIX) and unlink are on the common list), and
 * a pidfd of the process that asked for the port.  Nothing else: the
 * path is built from a validated name in the switch's own directory
 * (net_ctl.c), never opened as a file.
 */
static const struct be_sandbox_rule net_ctl_rules[] = {
	BE_ALLOW(bind, "--control: a new port's socket"),
	BE_ALLOW(listen, "--control: a new port's socket"),
	/* Who asked for a port, watched so its port goes when it dies. */
	BE_ALLOW(getsockopt, "--control: SO_PEERCRED of the requester"),
	BE_ALLOW(pidfd_open, "--control: watch a port's owner"),
};

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

/* Groups wanted when an uplink's devargs match; ctl is separate. */
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

static bool net_group_wanted(const struct net_options *o, size_t g)
{
	for (unsigned i = 0; i < o->nports; i++)
		if (o->ports[i].kind == NET_PORT_UPLINK &&
		    net_rule_groups[g].wanted(o->ports[i].devargs))
			return true;
	return false;
}

const struct be_sandbox_policy *net_sandbox_policy_for(
	const struct net_options *o)
{
	static struct be_sandbox_rule rules[sizeof(net_ctl_rules) /
					    sizeof(net_ctl_rules[0]) +
					    sizeof(net_uplink_rules) /
					    sizeof(net_uplink_rules[0]) +
					    sizeof(net_memif_client_rules) /
					    sizeof(net_memif_client_rules[0]) +
					    sizeof(net_tap_rules) /
					    sizeof(net_tap_rules[0]) +
					    sizeof(net_af_packet_rules) /
					    sizeof(net_af_packet_rules[0])];
	static struct be_sandbox_policy policy;
	size_t n = 0;

	for (size_t k = 0; o->control_path[0] &&
	     k < sizeof(net_ctl_rules) / sizeof(net_ctl_rules[0]); k++)
		rules[n++] = net_ctl_rules[k];
	for (size_t g = 0; g < sizeof(net_rule_groups) /
	     sizeof(net_rule_groups[0]); g++) {
		if (!net_group_wanted(o, g))
			continue;
		for (size_t k = 0; k < net_rule_groups[g].n; k++)
			rules[n++] = net_rule_groups[g].rules[k];
	}
	policy = (struct be_sandbox_policy){
		.kind = o->control_path[0] ? "splitvm-net --control"
					   : "splitvm-net",
		.rules = n ? rules : NULL,
		.nrules = n,
		.ioctls = net_ioctls,
		.nioctls = sizeof(net_ioctls) / sizeof(net_ioctls[0]),
	};
	return &policy;
}
