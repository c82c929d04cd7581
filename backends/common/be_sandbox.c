/* SPDX-License-Identifier: GPL-2.0-only */
#include "be_sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "heap_keep.h"
#include "log.h"

#define TAG	"sandbox"

/*
 * What every back-end does once it is serving, whatever its kind:
 * librte_vhost's event thread (accept, vhost-user messages with fds,
 * mapping the memfds it receives), DPDK's EAL threads (interrupt thread,
 * timers), signals, threads, memory and the log.  Nothing here opens a
 * file, makes a non-local socket, runs a program or changes identity.
 */
static const struct be_sandbox_rule be_common_rules[] = {
	/* I/O on fds that are open already. */
	BE_ALLOW(read, "eventfds, EAL interrupt pipe"),
	BE_ALLOW(write, "eventfds (kick/call), log lines on stderr, stats"),
	BE_ALLOW(close, "vhost-user connections and the fds they carried"),
	BE_ALLOW(recvmsg, "librte_vhost: vhost-user requests with fds"),
	BE_ALLOW(sendmsg, "librte_vhost: vhost-user replies with fds"),
	BE_ALLOW(accept4, "librte_vhost: a frontend connects"),
	BE_ALLOW(accept, "librte_vhost: a frontend connects"),
	/* Local sockets only: librte_vhost's client mode, our own relays. */
	BE_ALLOW_ARG(socket, 0, SCMP_CMP_EQ, AF_UNIX, 0,
		     "AF_UNIX only: client-mode reconnect"),
	BE_ALLOW(connect, "connect of an AF_UNIX socket (the only kind)"),
	BE_ALLOW(poll, "librte_vhost's fdset, waits with a time-out"),
	BE_ALLOW(ppoll, "poll() as glibc may issue it"),
	BE_ALLOW(epoll_create1, "EAL interrupt thread"),
	BE_ALLOW(epoll_ctl, "EAL interrupt thread, kick fds of new rings"),
	BE_ALLOW(epoll_wait, "EAL interrupt thread, idle waits on kicks"),
	BE_ALLOW(epoll_pwait, "epoll_wait() as glibc may issue it"),
	BE_ALLOW(eventfd2, "per-queue stop eventfds created at ring start"),
	/* Signals: masks, stopping, statistics on SIGUSR1. */
	BE_ALLOW(rt_sigaction, "signal dispositions"),
	BE_ALLOW(rt_sigprocmask, "signal masks, thread start"),
	BE_ALLOW(rt_sigreturn, "return from a signal handler"),
	BE_ALLOW(rt_sigtimedwait, "sigwait() of the main thread"),
	BE_ALLOW(restart_syscall, "a wait interrupted by SIGSTOP/SIGCONT"),
	BE_ALLOW(getpid, "pthread_kill(), raise(); glibc does not cache it"),
	BE_ALLOW(gettid, "raise(), abort(), DPDK's thread ids"),
	/* tgkill is added separately: only to this process. */
	/* Threads (queue threads start with the rings); never a process. */
	BE_ALLOW_ARG(clone, 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD,
		     "pthread_create(): threads only, never a new process"),
	BE_ALLOW(set_robust_list, "every new thread (glibc)"),
	BE_ALLOW(rseq, "every new thread (glibc)"),
	BE_ALLOW_ARG(prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, 0,
		     "a new thread names itself"),
	BE_ALLOW(sched_getaffinity, "pthread_getaffinity_np() on new threads"),
	BE_ALLOW(sched_setaffinity, "queue threads move to the worker CPUs"),
	BE_ALLOW(sched_yield, "rte_pause loops, spin locks"),
	BE_ALLOW(futex, "mutexes, condition variables, pthread_join()"),
	BE_ALLOW(exit, "a thread ends"),
	BE_ALLOW(exit_group, "the process ends"),
	/* Memory: guest memfds, heap, stacks; never executable. */
	BE_ALLOW_ARG(mmap, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0,
		     "guest memfds, rings, malloc, stacks (never PROT_EXEC)"),
	BE_ALLOW_ARG(mprotect, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0,
		     "stack guard pages, malloc arenas (never PROT_EXEC)"),
	BE_ALLOW(munmap, "guest memory of a closed connection, free()"),
	BE_ALLOW(madvise, "librte_vhost: MADV_DONTDUMP on guest memory"),
	BE_ALLOW(brk, "malloc's main arena"),
	/* fstat() is newfstatat(fd, "", AT_EMPTY_PATH): no path lookup. */
	BE_ALLOW_ARG(newfstatat, 3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
		     AT_EMPTY_PATH, "fstat(): size of a received memfd"),
	BE_ALLOW(fstat, "fstat() of a received memfd"),
	/*
	 * librte_vhost (built with NUMA support) asks on which node each
	 * new ring and guest region lies; it only reads the policy.
	 */
	BE_ALLOW(get_mempolicy, "librte_vhost: NUMA node of rings and memory"),
	/* File status flags of fds we hold (librte_vhost: O_NONBLOCK). */
	BE_ALLOW_ARG(fcntl, 1, SCMP_CMP_EQ, F_GETFL, 0, "O_NONBLOCK"),
	BE_ALLOW_ARG(fcntl, 1, SCMP_CMP_EQ, F_SETFL, 0, "O_NONBLOCK"),
	BE_ALLOW_ARG(fcntl, 1, SCMP_CMP_EQ, F_GETFD, 0, "FD_CLOEXEC"),
	BE_ALLOW_ARG(fcntl, 1, SCMP_CMP_EQ, F_SETFD, 0, "FD_CLOEXEC"),
	/*
	 * Teardown at exit: librte_vhost removes its listening socket, the
	 * --fd relay its socket and private directory, and EAL's runtime
	 * directory goes.  These are path calls; what they may remove is
	 * bounded by the back-end's uid (see docs/architecture.md).
	 */
	BE_ALLOW(unlink, "removal of our own sockets at exit"),
	BE_ALLOW(rmdir, "removal of our own (empty) directories at exit"),
	/* Time (vDSO fall-backs) and sleeps. */
	BE_ALLOW(clock_gettime, "time-outs, rates (vDSO fall-back)"),
	BE_ALLOW(clock_nanosleep, "idle back-off, reconnect waits"),
	BE_ALLOW(nanosleep, "idle back-off, reconnect waits"),
};

int be_sandbox_parse_seccomp(const char *text, enum be_seccomp *out)
{
	if (!strcmp(text, "kill"))
		*out = BE_SECCOMP_KILL;
	else if (!strcmp(text, "log"))
		*out = BE_SECCOMP_LOG;
	else if (!strcmp(text, "off"))
		*out = BE_SECCOMP_OFF;
	else
		return -EINVAL;
	return 0;
}

static int be_rule_eq(scmp_filter_ctx ctx, int nr, unsigned arg,
		      scmp_datum_t v)
{
	const struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0,
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int be_add_rules(scmp_filter_ctx ctx, const struct be_sandbox_rule *r,
			size_t n, const char **what)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		*what = r[i].why;
		ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r[i].nr,
					     r[i].nargs,
					     r[i].nargs ? &r[i].arg : NULL);
	}
	return ret;
}

static int be_seccomp_load(const struct be_sandbox_policy *p,
			   enum be_seccomp mode)
{
	uint32_t deflt = mode == BE_SECCOMP_LOG ? SCMP_ACT_LOG
						: SCMP_ACT_KILL_PROCESS;
	const char *what = "seccomp_init";
	scmp_filter_ctx ctx;
	int ret;

	ctx = seccomp_init(deflt);
	if (!ctx) {
		log_err(TAG, "seccomp_init failed");
		return -ENOMEM;
	}
	/*
	 * EAL's and librte_vhost's threads exist already: TSYNC puts them
	 * under the same filter (or fails the load); threads created later
	 * inherit it.
	 */
	what = "TSYNC";
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = be_add_rules(ctx, be_common_rules,
				   sizeof(be_common_rules) /
				   sizeof(be_common_rules[0]), &what);
	if (!ret)
		ret = be_add_rules(ctx, p->rules, p->nrules, &what);
	for (size_t i = 0; !ret && i < p->nioctls; i++) {
		what = p->ioctls[i].why;
		ret = be_rule_eq(ctx, SCMP_SYS(ioctl), 1, p->ioctls[i].req);
	}
	/* pthread_kill() and raise(): signals to our own threads only. */
	if (!ret) {
		what = "tgkill";
		ret = be_rule_eq(ctx, SCMP_SYS(tgkill), 0,
				 (scmp_datum_t)getpid());
	}
	/* kill() of ourselves only: the --fd relay stops us on hang-up. */
	if (!ret) {
		what = "kill";
		ret = be_rule_eq(ctx, SCMP_SYS(kill), 0,
				 (scmp_datum_t)getpid());
	}
	/*
	 * clone3 passes its flags in memory, which seccomp cannot read:
	 * ENOSYS makes glibc fall back to clone, whose flags it can.
	 */
	if (!ret) {
		what = "clone3";
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	}
	if (!ret) {
		what = "seccomp_load";
		ret = seccomp_load(ctx);
	}
	if (ret)
		log_err(TAG, "%s seccomp filter (%s): %s", p->kind, what,
			strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

/*
 * Every capability set emptied; the bounding set too when we may (it
 * takes CAP_SETPCAP: root started with --allow-root).  Unprivileged
 * there is nothing to drop, and no_new_privs keeps a bounding set that
 * stays from ever being used.
 */
static int be_drop_caps(void)
{
	bool setpcap;

	if (capng_get_caps_process())
		return -EPERM;
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	if (setpcap && capng_apply(CAPNG_SELECT_BOUNDS))
		return -EPERM;
	if (capng_apply(CAPNG_SELECT_CAPS))
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	/* What /proc/PID/status now shows as 0. */
	if (capng_get_caps_process() ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return -EPERM;
	return 0;
}

int be_sandbox_drop_privileges(void)
{
	int ret;

	/* Capabilities are per thread: this runs before EAL makes any. */
	ret = be_drop_caps();
	if (ret) {
		log_err(TAG, "cannot drop capabilities: %s", strerror(-ret));
		return ret;
	}
	/* Not dumpable: no same-uid process may ptrace us or read guest RAM
	 * through /proc/PID/mem. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		log_err(TAG, "prctl: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int be_sandbox_apply(const struct be_sandbox_policy *p, enum be_seccomp mode)
{
	static const char *const modes[] = {
		[BE_SECCOMP_KILL] = "kill",
		[BE_SECCOMP_LOG] = "log",
		[BE_SECCOMP_OFF] = "off",
	};

	if (capng_get_caps_process() ||
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		log_err(TAG, "be_sandbox_drop_privileges() was not called");
		return -EPERM;
	}
	log_info(TAG, "%s: uid %u, no capabilities, no_new_privs, seccomp %s",
		 p->kind, (unsigned)geteuid(), modes[mode]);
	if (mode == BE_SECCOMP_OFF) {
		log_warn(TAG, "--seccomp=off: no system call filter");
		return 0;
	}
	/* glibc must never shrink a thread heap under the filter. */
	if (heap_keep()) {
		log_err(TAG, "mallopt(M_TRIM_THRESHOLD) failed");
		return -EINVAL;
	}
	return be_seccomp_load(p, mode);
}

static void be_probe_result(const char *what, int ret)
{
	if (ret < 0)
		log_info(TAG, "test probe: %s failed: %s", what,
			 strerror(errno));
	else
		log_err(TAG, "test probe: %s succeeded", what);
}

void be_sandbox_probe(void)
{
	const char *what = getenv(BE_SANDBOX_PROBE_ENV);
	int fd;

	if (!what)
		return;
	if (!strcmp(what, "kvm")) {
		log_info(TAG, "test probe: open(/dev/kvm)");
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		be_probe_result("open(/dev/kvm)", fd);
	} else if (!strcmp(what, "file")) {
		log_info(TAG, "test probe: open(/etc/hostname)");
		fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
		be_probe_result("open(/etc/hostname)", fd);
	} else if (!strcmp(what, "inet")) {
		log_info(TAG, "test probe: socket(AF_INET)");
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		be_probe_result("socket(AF_INET)", fd);
	} else {
		return;
	}
	if (fd >= 0)
		close(fd);
}

void be_sandbox_probe_memfd(int fd)
{
	const char *what = getenv(BE_SANDBOX_PROBE_ENV);

	if (!what || strcmp(what, "memfd"))
		return;
	log_info(TAG, "test probe: ftruncate(guest memfd %d, 0)", fd);
	be_probe_result("ftruncate(guest memfd)", ftruncate(fd, 0));
}
