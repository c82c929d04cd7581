/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_sandbox.h"

#include <sys/ioctl.h>

/*
 * splitvm-net needs nothing beyond what every back-end does: once its
 * ports are up, the forwarding loop copies between mapped guest memory
 * and sleeps on kick eventfds, and librte_vhost's event thread serves
 * the vhost-user connections; both are on the common list.  An entry
 * goes here with the reason splitvm-net, and only it, needs it.
 */
/*
 * Statistics go to stdout (SIGUSR1, exit): on its first write glibc asks
 * whether stdout is a terminal, which is an ioctl when it is a character
 * device (a tty, /dev/null as the core's supervisor gives it).
 */
static const struct be_sandbox_ioctl net_ioctls[] = {
	{ TCGETS, "stdio: isatty() of stdout before the statistics" },
};

const struct be_sandbox_policy net_sandbox_policy = {
	.kind = "splitvm-net",
	.rules = NULL,
	.nrules = 0,
	.ioctls = net_ioctls,
	.nioctls = sizeof(net_ioctls) / sizeof(net_ioctls[0]),
};

/*
 * --control: a port added at run time is a new listening socket made by
 * librte_vhost (socket(AF_UNIX) and unlink are on the common list).
 * and a pidfd of the process that asked for the port.  Nothing else: the
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

const struct be_sandbox_policy net_sandbox_ctl_policy = {
	.kind = "splitvm-net --control",
	.rules = net_ctl_rules,
	.nrules = sizeof(net_ctl_rules) / sizeof(net_ctl_rules[0]),
	.ioctls = net_ioctls,
	.nioctls = sizeof(net_ioctls) / sizeof(net_ioctls[0]),
};
