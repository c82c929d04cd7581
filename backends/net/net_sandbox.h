/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's seccomp allowlist, on top of every back-end's list: what
 * the vhost ports need, plus what the data path of each kind of uplink
 * given on the command line needs (and only those kinds).
 */
#ifndef SPLITVM_NET_SANDBOX_H
#define SPLITVM_NET_SANDBOX_H

#include "be_sandbox.h"
#include "net_options.h"

/* The policy for o's uplinks (static storage: valid until the next call). */
const struct be_sandbox_policy *net_sandbox_policy_for(
	const struct net_options *o);

#endif
