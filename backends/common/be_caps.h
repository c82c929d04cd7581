/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For a back-end that must open a device with a capability after its
 * threads exist (splitvm-net's tap and af_packet uplinks, opened by DPDK
 * after rte_eal_init): keep just those capabilities through the set-up,
 * then take every capability out of every thread before the seccomp
 * filter. Without such a device, be_sandbox_drop_privileges() is all.
 */
#ifndef SPLITVM_BE_CAPS_H
#define SPLITVM_BE_CAPS_H

#include <stddef.h>

/*
 * be_sandbox_drop_privileges(), except that those of caps[] the process
 * holds stay in the effective and permitted sets (with CAP_SETPCAP, if
 * held, to empty the bounding set later); threads created from here on
 * inherit them. A capability of caps[] that is not held is logged.
 * 0 or a negative errno.
 */
int be_caps_drop_but(const int *caps, size_t n)
	__attribute__((warn_unused_result));

/*
 * Every capability set of every thread emptied (the bounding set too
 * when CAP_SETPCAP was kept), each other thread doing it itself in a
 * signal handler, then checked in /proc/self/task. 0 or -errno.
 */
int be_caps_drop_all_threads(void) __attribute__((warn_unused_result));

#endif
