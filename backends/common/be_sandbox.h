/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The jail a vhost-user back-end puts itself in once its setup is done:
 * no_new_privs, no capabilities, a seccomp allowlist for its kind.
 */
#ifndef SPLITVM_BE_SANDBOX_H
#define SPLITVM_BE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <seccomp.h>

/*
 * Test hook: when set, the back-end tries what its sandbox must refuse,
 * once it is sandboxed.  "kvm": open("/dev/kvm"); "file": open an
 * unrelated file (/etc/hostname); "inet": socket(AF_INET); "memfd":
 * ftruncate() of the first guest memory fd, on the first device start.
 */
#define BE_SANDBOX_PROBE_ENV	"SPLITVM_TEST_BACKEND_PROBE"

enum be_seccomp {
	BE_SECCOMP_KILL,	/* default: a call off the list kills us */
	BE_SECCOMP_LOG,		/* allowed, but logged by the kernel */
	BE_SECCOMP_OFF,
};

/* One allowed system call, with at most one argument condition. */
struct be_sandbox_rule {
	int nr;
	unsigned nargs;			/* 0: any arguments */
	struct scmp_arg_cmp arg;
	const char *why;
};

#define BE_ALLOW(name, why_) \
	{ .nr = SCMP_SYS(name), .nargs = 0, .why = why_ }
#define BE_ALLOW_ARG(name, idx, op_, a, b, why_) \
	{ .nr = SCMP_SYS(name), .nargs = 1, \
	  .arg = { .arg = idx, .op = op_, .datum_a = a, .datum_b = b }, \
	  .why = why_ }

/* One allowed ioctl() request (any fd). */
struct be_sandbox_ioctl {
	unsigned long req;
	const char *why;
};

/* What one kind of back-end adds to the list every back-end shares. */
struct be_sandbox_policy {
	const char *kind;
	const struct be_sandbox_rule *rules;
	size_t nrules;
	const struct be_sandbox_ioctl *ioctls;
	size_t nioctls;
};

/* "kill", "log" or "off"; -EINVAL otherwise. */
int be_sandbox_parse_seccomp(const char *text, enum be_seccomp *out)
	__attribute__((warn_unused_result));

/*
 * First half, before any thread is created (capabilities are per thread
 * and inherited): every capability dropped (the bounding set too when we
 * hold CAP_SETPCAP, i.e. root with --allow-root), no_new_privs, not
 * dumpable.  Files opened before stay usable.  0 or a negative errno.
 */
int be_sandbox_drop_privileges(void) __attribute__((warn_unused_result));

/*
 * Second half, once set up (threads running, socket listening): checks
 * that no capability is left, then loads the seccomp filter of the
 * common list plus policy, synchronized to every thread (TSYNC) and
 * inherited by every thread created later.  0 or a negative errno.
 */
int be_sandbox_apply(const struct be_sandbox_policy *policy,
		     enum be_seccomp mode)
	__attribute__((warn_unused_result));

/* The BE_SANDBOX_PROBE_ENV probes that need no device ("kvm", "file",
 * "inet"); nothing when the variable is unset or names another probe. */
void be_sandbox_probe(void);

/* The "memfd" probe on a guest memory fd the back-end received. */
void be_sandbox_probe_memfd(int fd);

#endif
