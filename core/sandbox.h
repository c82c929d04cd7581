/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The core's own jail, entered once the VM is built and before the guest
 * runs: unprivileged uid/gid, no capabilities, no_new_privs, seccomp.
 */
#ifndef SPLITVM_SANDBOX_H
#define SPLITVM_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

/* nobody / nogroup on Debian: the default identity when started as root. */
#define SANDBOX_DEFAULT_UID	65534
#define SANDBOX_DEFAULT_GID	65534

/*
 * A test hook: when this environment variable is "socket", splitvm calls
 * socket(AF_INET) right after entering the sandbox, which the seccomp
 * filter must refuse (kill mode: the process dies of SIGSYS).
 */
#define SANDBOX_PROBE_ENV	"SPLITVM_TEST_SECCOMP_PROBE"

enum sandbox_seccomp {
	SANDBOX_SECCOMP_KILL,	/* default: a call off the list kills us */
	SANDBOX_SECCOMP_LOG,	/* allowed, but logged by the kernel */
	SANDBOX_SECCOMP_OFF,
};

struct sandbox_config {
	bool disabled;			/* --sandbox=off: none of it */
	enum sandbox_seccomp seccomp;	/* --seccomp= */
	bool has_user;			/* --user given */
	bool control_api;		/* --api-socket: allow serving it */
	uid_t uid;
	gid_t gid;
};

/*
 * "NAME", "UID", "NAME:GROUP" or "UID:GID" (numbers or names).  Without a
 * group: the user's primary group, or gid == uid for an unknown number.
 * -EINVAL for bad syntax, -ENOENT for an unknown name, -ERANGE for id -1.
 */
int sandbox_parse_user(const char *text, uid_t *uid, gid_t *gid)
	__attribute__((warn_unused_result));

/*
 * Enter the sandbox for the rest of the process's life.  Call it with no
 * thread other than the caller's alive (capabilities and ids are per
 * thread); the seccomp filter is synchronized to all threads anyway.
 * Every fd opened before stays usable.
 */
int sandbox_apply(const struct sandbox_config *cfg)
	__attribute__((warn_unused_result));

/*
 * The first half of sandbox_apply(): identity (cfg->uid/gid when root),
 * every capability dropped (bounding and ambient sets too when root),
 * not dumpable, no_new_privs; no seccomp.  The back-end supervisor
 * enters it as the back-end user.
 */
int sandbox_enter_identity(const struct sandbox_config *cfg)
	__attribute__((warn_unused_result));

/*
 * Per-thread tightening, on top of the process filter and only when
 * sandbox_apply() loaded one (else no-ops).  A vCPU thread calls the
 * first once its vCPU is set up, before the first KVM_RUN: no more vCPU
 * setup ioctls, threads, event loop or console.  The main thread calls
 * the second once every vCPU thread is started: no KVM_RUN, no vCPU
 * register access, no more threads.
 */
int sandbox_lockdown_vcpu_thread(const char *name)
	__attribute__((warn_unused_result));
int sandbox_lockdown_main_thread(void)
	__attribute__((warn_unused_result));

/* The SANDBOX_PROBE_ENV test hook; does nothing when the variable is unset. */
void sandbox_run_test_probe(void);

#endif
