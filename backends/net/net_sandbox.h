/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net's seccomp allowlist, on top of every back-end's list. */
#ifndef SPLITVM_NET_SANDBOX_H
#define SPLITVM_NET_SANDBOX_H

#include "be_sandbox.h"

extern const struct be_sandbox_policy net_sandbox_policy;
/* With --control: ports added at run time listen on new sockets. */
extern const struct be_sandbox_policy net_sandbox_ctl_policy;

#endif
