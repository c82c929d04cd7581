/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_sandbox.h"

/*
 * splitvm-net needs nothing beyond what every back-end does: once its
 * ports are up, the forwarding loop copies between mapped guest memory
 * and sleeps on kick eventfds, and librte_vhost's event thread serves
 * the vhost-user connections; both are on the common list.  An entry
 * goes here with the reason splitvm-net, and only it, needs it.
 */
const struct be_sandbox_policy net_sandbox_policy = {
	.kind = "splitvm-net",
	.rules = NULL,
	.nrules = 0,
};
