/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-blk's seccomp allowlist, on top of every back-end's list. */
#ifndef SPLITVM_BLK_SANDBOX_H
#define SPLITVM_BLK_SANDBOX_H

#include "be_sandbox.h"

extern const struct be_sandbox_policy blk_sandbox_policy;

#endif
