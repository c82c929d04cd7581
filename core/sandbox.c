/* SPDX-License-Identifier: GPL-2.0-only */
#include "sandbox.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "heap_keep.h"
#include "log.h"

#define TAG "sandbox"

/* ---- the seccomp allowlist ---------------------------------------------- */

/*
 * Every system call the core makes once the VM is built: vm_run() (event
 * loop, signalfd, console, vCPU threads), the vCPU threads (KVM_RUN and
 * the exits they emulate, vhost-user requests on DRIVER_OK and reset),
 * the main loop (hang-ups, INTx forwarding, console), and the teardown.
 * Nothing here opens a file, executes a program or changes an identity:
 * what the VM needs is open already.  The one socket it may create is a
 * unix socket, to reconnect to a restarted vhost-user back-end.
 *
 * At most one argument condition per entry; nargs 0 allows any arguments.
 */
struct sandbox_syscall {
	int nr;
	unsigned nargs;
	struct scmp_arg_cmp arg;
	const char *why;
};

#define SB_ANY(name, why_) \
	{ .nr = SCMP_SYS(name), .nargs = 0, .why = why_ }
#define SB_ARG(name, idx, op_, a, b, why_) \
	{ .nr = SCMP_SYS(name), .nargs = 1, \
	  .arg = { .arg = idx, .op = op_, .datum_a = a, .datum_b = b }, \
	  .why = why_ }

static const struct sandbox_syscall sandbox_syscalls[] = {
	/* I/O on fds that are open already. */
	SB_ANY(read, "eventfds, signalfd, console input"),
	SB_ANY(write, "eventfds, UART output, log lines on stderr"),
	SB_ANY(close, "teardown; fds the vhost-user client received"),
	SB_ANY(sendmsg, "vhost-user requests (with fds) to back-ends"),
	SB_ANY(recvmsg, "vhost-user replies"),
	/* send(MSG_DONTWAIT) when the UART's output is a socket; no address. */
	SB_ARG(sendto, 4, SCMP_CMP_EQ, 0, 0, "UART output to a socket"),
	SB_ANY(poll, "vhost-user reply time-outs, UART output gating, MSI-X PBA"),
	/* The main thread's event loop, made by vm_run(). */
	SB_ANY(epoll_create1, "vm_run(): the event loop"),
	SB_ANY(epoll_ctl, "event loop: INTx call fds come and go at run time"),
	SB_ANY(epoll_wait, "event loop"),
	SB_ANY(eventfd2, "console_create(): the console's wake-up eventfd"),
	SB_ANY(signalfd4, "vm_run(): SIGINT/SIGTERM/SIGHUP as events"),
	/* Signals: blocking masks, the vCPU kick, dying of a fatal signal. */
	SB_ANY(rt_sigaction, "vcpu_start(): kick handler; console fatal signals"),
	SB_ANY(rt_sigprocmask, "vm_run() masks; raise(); thread start"),
	SB_ANY(rt_sigreturn, "return from the kick signal handler"),
	SB_ANY(restart_syscall, "a sleep interrupted by SIGSTOP/SIGCONT"),
	SB_ANY(getpid, "pthread_kill(), raise(): glibc 2.36 does not cache it"),
	SB_ANY(gettid, "raise() and abort() ask the kernel for their own tid"),
	/* tgkill is added separately: only to this process. */
	/* vCPU threads: pthread_create() (clone3 is refused with ENOSYS below). */
	SB_ARG(clone, 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD,
	       "pthread_create(): threads only, never a new process"),
	SB_ANY(set_robust_list, "every new thread (glibc)"),
	SB_ANY(rseq, "every new thread (glibc)"),
	SB_ARG(prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, 0,
	       "a vCPU thread names itself"),
	/* Filters only ever add restrictions. */
	SB_ARG(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0,
	       "sandbox_lockdown_*(): each thread narrows its own filter"),
	SB_ANY(futex, "mutexes, condition variables, pthread_join()"),
	SB_ANY(exit, "a vCPU thread ends"),
	SB_ANY(exit_group, "the process ends"),
	/* Memory: heap, thread stacks; never executable. */
	SB_ARG(mmap, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0,
	       "malloc, thread stacks (never PROT_EXEC)"),
	SB_ARG(mprotect, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0,
	       "thread stack guard pages, malloc arenas (never PROT_EXEC)"),
	SB_ANY(munmap, "free(), thread stacks, teardown of RAM and kvm_run"),
	SB_ANY(madvise, "glibc frees thread stacks and arena tails"),
	SB_ANY(brk, "malloc's main arena"),
	/*
	 * Time comes from the vDSO; these are its fall-backs when the
	 * host's clocksource has no vDSO support.
	 */
	SB_ANY(clock_gettime, "vhost-user and UART time-outs"),
	/* vhost_user_reconnect.c: a restarted back-end, by its socket path. */
	SB_ARG(socket, 0, SCMP_CMP_EQ, AF_UNIX, 0,
	       "reconnect to a vhost-user back-end (unix sockets only)"),
	SB_ANY(connect, "reconnect: the only sockets it can make are unix"),
	SB_ANY(timerfd_settime, "reconnect back-off timer; control API time-outs"),
	/* Not mmap: a region the old back-end shrinks would raise SIGBUS. */
	SB_ANY(pread64, "reconnect: a packed ring's position in the inflight region"),
	SB_ANY(time, "the RTC's time of day"),
};

/*
 * With --api-socket only: libmicrohttpd serving the control API from the
 * main loop, and control_unlisten() removing the socket at exit.
 */
static const struct sandbox_syscall sandbox_control_syscalls[] = {
	SB_ANY(accept4, "control API: a new connection"),
	SB_ANY(recvfrom, "control API: reading a request"),
	SB_ANY(shutdown, "control API: closing a connection"),
	SB_ANY(getsockname, "libmicrohttpd: the listening socket's family"),
	SB_ANY(getsockopt, "libmicrohttpd: socket options of a connection"),
	SB_ARG(fcntl, 1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC, 0,
	       "control_create(): libmicrohttpd's copy of the listening socket"),
	SB_ARG(fcntl, 1, SCMP_CMP_EQ, F_GETFL, 0, "libmicrohttpd: O_NONBLOCK"),
	SB_ARG(fcntl, 1, SCMP_CMP_EQ, F_SETFL, 0, "libmicrohttpd: O_NONBLOCK"),
	SB_ARG(fcntl, 1, SCMP_CMP_EQ, F_GETFD, 0, "libmicrohttpd: FD_CLOEXEC"),
	SB_ARG(fcntl, 1, SCMP_CMP_EQ, F_SETFD, 0, "libmicrohttpd: FD_CLOEXEC"),
	SB_ANY(timerfd_create, "control API: connection time-outs"),
	SB_ANY(newfstatat, "control_unlisten(): is the socket still ours"),
	SB_ANY(unlink, "control_unlisten(): remove the socket at exit"),
};

/* ioctl() by request number; which fd is not checked. */
static const struct sandbox_ioctl {
	unsigned long req;
	const char *why;
} sandbox_ioctls[] = {
	{ KVM_RUN, "vCPU threads: run the guest" },
	/* vcpu_setup() runs on each vCPU thread, before its first KVM_RUN. */
	{ KVM_SET_CPUID2, "vcpu_setup(): CPUID" },
	{ KVM_SET_MSRS, "vcpu_setup(): MSRs" },
	{ KVM_GET_LAPIC, "vcpu_setup(): LINT0/LINT1 wiring" },
	{ KVM_SET_LAPIC, "vcpu_setup(): LINT0/LINT1 wiring" },
	{ KVM_GET_REGS, "vcpu_setup() boot registers; crash register dump" },
	{ KVM_SET_REGS, "vcpu_setup(): boot vCPU entry registers" },
	{ KVM_GET_SREGS, "vcpu_setup() boot registers; crash register dump" },
	{ KVM_SET_SREGS, "vcpu_setup(): boot vCPU entry registers" },
	/* Interrupts and doorbells, changed by the guest while it runs. */
	{ KVM_IRQ_LINE_STATUS, "UART and INTx interrupt lines" },
	{ KVM_SET_GSI_ROUTING, "MSI-X vectors programmed by the guest" },
	{ KVM_IRQFD, "queue call eventfds bound to MSI-X GSIs" },
	{ KVM_IOEVENTFD, "queue kick eventfds as the driver sets up queues" },
	/* The console. */
	{ TCGETS, "console: isatty(), tcgetattr()" },
	{ TCSETS, "console: raw mode, and the terminal restored at exit" },
};

/* arg == v; libseccomp's SCMP_A<n> macros leave datum_b implicit. */
static int sandbox_rule_eq(scmp_filter_ctx ctx, uint32_t action, int nr,
			   unsigned arg, scmp_datum_t v)
{
	const struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0,
	};

	return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

/*
 * The filter belongs to the process, so does this: the mode the process
 * filter was loaded with, which the per-thread tightening follows.
 */
static enum sandbox_seccomp sandbox_mode = SANDBOX_SECCOMP_OFF;

static int sandbox_add_syscalls(scmp_filter_ctx ctx,
				const struct sandbox_syscall *list, size_t n,
				const char **what)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		*what = list[i].why;
		ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, list[i].nr,
					     list[i].nargs,
					     list[i].nargs ? &list[i].arg : NULL);
	}
	return ret;
}

static int sandbox_seccomp_load(const struct sandbox_config *cfg)
{
	enum sandbox_seccomp mode = cfg->seccomp;
	uint32_t deflt = mode == SANDBOX_SECCOMP_LOG ? SCMP_ACT_LOG
						     : SCMP_ACT_KILL_PROCESS;
	const char *what = "seccomp_init";
	scmp_filter_ctx ctx;
	int ret = 0;

	ctx = seccomp_init(deflt);
	if (!ctx) {
		log_err(TAG, "seccomp_init failed");
		return -ENOMEM;
	}
	/* One filter for every thread, those that exist and those to come. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	what = "TSYNC";
	if (!ret)
		ret = sandbox_add_syscalls(ctx, sandbox_syscalls,
					   sizeof(sandbox_syscalls) /
					   sizeof(sandbox_syscalls[0]), &what);
	if (!ret && cfg->control_api)
		ret = sandbox_add_syscalls(ctx, sandbox_control_syscalls,
					   sizeof(sandbox_control_syscalls) /
					   sizeof(sandbox_control_syscalls[0]),
					   &what);
	for (size_t i = 0; !ret && i < sizeof(sandbox_ioctls) /
					sizeof(sandbox_ioctls[0]); i++) {
		what = sandbox_ioctls[i].why;
		ret = sandbox_rule_eq(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      sandbox_ioctls[i].req);
	}
	/* pthread_kill() and raise(): signals to our own threads only. */
	if (!ret) {
		what = "tgkill";
		ret = sandbox_rule_eq(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 0,
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
		log_err(TAG, "seccomp filter (%s): %s", what, strerror(-ret));
	else
		sandbox_mode = mode;
	seccomp_release(ctx);
	return ret;
}

/* ---- per-thread tightening ---------------------------------------------- */

/*
 * Stacked on the process filter by one thread for itself (no TSYNC): what
 * that thread, from then on, must never do although the process may.
 * The kernel runs both filters; the stricter answer wins.
 */
struct sandbox_deny {
	int nr;
	bool is_ioctl;		/* nr is an ioctl request, not a syscall */
	unsigned long req;
	const char *why;
};

#define SB_DENY(name, why_)	{ .nr = SCMP_SYS(name), .why = why_ }
#define SB_DENY_IOCTL(r, why_)	{ .is_ioctl = true, .req = r, .why = why_ }

/* A vCPU thread once vcpu_setup() is done: it only runs the guest. */
static const struct sandbox_deny sandbox_vcpu_deny[] = {
	SB_DENY(clone, "threads are the main thread's business"),
	SB_DENY(epoll_create1, "the event loop is the main thread's"),
	SB_DENY(epoll_ctl, "vCPUs signal the loop through eventfds instead"),
	SB_DENY(epoll_wait, "the event loop is the main thread's"),
	SB_DENY(signalfd4, "signals are the main thread's"),
	SB_DENY(prctl, "named already"),
	SB_DENY(seccomp, "its filter is final"),
	SB_DENY_IOCTL(KVM_SET_CPUID2, "vCPU set up already"),
	SB_DENY_IOCTL(KVM_SET_MSRS, "vCPU set up already"),
	SB_DENY_IOCTL(KVM_GET_LAPIC, "vCPU set up already"),
	SB_DENY_IOCTL(KVM_SET_LAPIC, "vCPU set up already"),
	SB_DENY_IOCTL(KVM_SET_REGS, "vCPU set up already"),
	SB_DENY_IOCTL(KVM_SET_SREGS, "vCPU set up already"),
	SB_DENY_IOCTL(TCGETS, "the console is the main thread's"),
};

/* The main thread once every vCPU thread exists: it never runs a vCPU. */
static const struct sandbox_deny sandbox_main_deny[] = {
	SB_DENY(clone, "every vCPU thread exists"),
	SB_DENY(seccomp, "its filter is final"),
	SB_DENY_IOCTL(KVM_RUN, "only vCPU threads run vCPUs"),
	SB_DENY_IOCTL(KVM_SET_CPUID2, "vCPU setup is the vCPU threads'"),
	SB_DENY_IOCTL(KVM_SET_MSRS, "vCPU setup is the vCPU threads'"),
	SB_DENY_IOCTL(KVM_GET_LAPIC, "vCPU setup is the vCPU threads'"),
	SB_DENY_IOCTL(KVM_SET_LAPIC, "vCPU setup is the vCPU threads'"),
	SB_DENY_IOCTL(KVM_GET_REGS, "vCPU registers are the vCPU threads'"),
	SB_DENY_IOCTL(KVM_SET_REGS, "vCPU registers are the vCPU threads'"),
	SB_DENY_IOCTL(KVM_GET_SREGS, "vCPU registers are the vCPU threads'"),
	SB_DENY_IOCTL(KVM_SET_SREGS, "vCPU registers are the vCPU threads'"),
};

static int sandbox_thread_load(const char *who, const struct sandbox_deny *deny,
			       size_t n)
{
	uint32_t act;
	scmp_filter_ctx ctx;
	int ret;

	if (sandbox_mode == SANDBOX_SECCOMP_OFF)
		return 0;
	act = sandbox_mode == SANDBOX_SECCOMP_LOG ? SCMP_ACT_LOG
						  : SCMP_ACT_KILL_PROCESS;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* no_new_privs is set already; prctl() is not on every list. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; !ret && i < n; i++) {
		if (deny[i].is_ioctl)
			ret = sandbox_rule_eq(ctx, act, SCMP_SYS(ioctl), 1,
					      deny[i].req);
		else
			ret = seccomp_rule_add(ctx, act, deny[i].nr, 0);
	}
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret)
		log_err(TAG, "%s: per-thread seccomp filter: %s", who,
			strerror(-ret));
	return ret;
}

int sandbox_lockdown_vcpu_thread(const char *name)
{
	return sandbox_thread_load(name, sandbox_vcpu_deny,
				   sizeof(sandbox_vcpu_deny) /
				   sizeof(sandbox_vcpu_deny[0]));
}

int sandbox_lockdown_main_thread(void)
{
	return sandbox_thread_load("main thread", sandbox_main_deny,
				   sizeof(sandbox_main_deny) /
				   sizeof(sandbox_main_deny[0]));
}

/* ---- identity and capabilities ------------------------------------------ */

static int sandbox_parse_id(const char *text, unsigned long *id)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	*id = strtoul(text, &end, 10);
	if (*end)
		return -EINVAL;
	/* (uid_t)-1 means "unchanged" to setresuid(). */
	if (errno || *id >= UINT_MAX)
		return -ERANGE;
	return 0;
}

int sandbox_parse_user(const char *text, uid_t *uid, gid_t *gid)
{
	char user[256];
	const char *group = strchr(text, ':');
	size_t len = group ? (size_t)(group - text) : strlen(text);
	struct passwd *pw = NULL;
	unsigned long id;
	int ret;

	if (len == 0 || len >= sizeof(user) || (group && !group[1]))
		return -EINVAL;
	memcpy(user, text, len);
	user[len] = '\0';

	ret = sandbox_parse_id(user, &id);
	if (ret == -ERANGE)
		return ret;
	if (ret == 0) {
		*uid = id;
		pw = getpwuid(*uid);
		*gid = pw ? pw->pw_gid : (gid_t)id;
	} else {
		pw = getpwnam(user);
		if (!pw)
			return -ENOENT;
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (!group)
		return 0;

	group++;
	ret = sandbox_parse_id(group, &id);
	if (ret == -ERANGE)
		return ret;
	if (ret == 0) {
		*gid = id;
	} else {
		struct group *gr = getgrnam(group);

		if (!gr)
			return -ENOENT;
		*gid = gr->gr_gid;
	}
	return 0;
}

/* What the kernel says now: every uid and gid is the wanted one. */
static int sandbox_check_ids(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid ||
	    sg != gid || getgroups(0, NULL) != 0)
		return -EPERM;
	/* And there is no way back. */
	if (uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

/* Not root: clear what we can; the bounding set needs CAP_SETPCAP. */
static int sandbox_drop_caps_unprivileged(void)
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
	if (!setpcap)
		log_debug(TAG, "capability bounding set left as it is: "
			  "clearing it needs CAP_SETPCAP (no_new_privs keeps "
			  "it from ever being used)");
	return 0;
}

static int sandbox_drop_privileges(const struct sandbox_config *cfg)
{
	bool root = geteuid() == 0;
	uid_t uid = cfg->has_user ? cfg->uid : SANDBOX_DEFAULT_UID;
	gid_t gid = cfg->has_user ? cfg->gid : SANDBOX_DEFAULT_GID;
	int ret;

	if (!root) {
		if (cfg->has_user && (uid != getuid() || gid != getgid())) {
			log_err(TAG, "--user %u:%u: only root can switch to "
				"another user", (unsigned)uid, (unsigned)gid);
			return -EPERM;
		}
		ret = sandbox_drop_caps_unprivileged();
		if (ret)
			log_err(TAG, "cannot drop capabilities: %s",
				strerror(-ret));
		return ret;
	}

	if (uid == 0)
		log_warn(TAG, "--user %u: staying root (without capabilities)",
			 (unsigned)uid);
	capng_clear(CAPNG_SELECT_ALL);
	/* setgroups(0), setresgid, setresuid, then nothing kept. */
	ret = capng_change_id(uid, gid, CAPNG_DROP_SUPP_GRP |
			      CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (ret) {
		log_err(TAG, "cannot switch to uid %u gid %u and drop "
			"capabilities (libcap-ng error %d: %s)", (unsigned)uid,
			(unsigned)gid, ret, strerror(errno));
		return -EPERM;
	}
	ret = sandbox_check_ids(uid, gid);
	if (ret) {
		log_err(TAG, "uid/gid not what was asked for after the switch");
		return ret;
	}
	return 0;
}

/* No capability left in any set (what /proc/PID/status shows as 0). */
static int sandbox_check_caps(void)
{
	if (capng_get_caps_process())
		return -EPERM;
	/* The ambient set is empty whenever the permitted set is. */
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return -EPERM;
	return 0;
}

int sandbox_enter_identity(const struct sandbox_config *cfg)
{
	int ret;

	ret = sandbox_drop_privileges(cfg);
	if (ret)
		return ret;
	ret = sandbox_check_caps();
	if (ret) {
		log_err(TAG, "capabilities are still present after dropping them");
		return ret;
	}
	/*
	 * Not dumpable: no process of the same uid (a back-end running as
	 * the same nobody, say) may ptrace us or read /proc/PID/mem, which
	 * is guest RAM.  A uid change already did this; starting unprivileged
	 * did not.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		ret = -errno;
		log_err(TAG, "PR_SET_DUMPABLE: %s", strerror(-ret));
		return ret;
	}
	/* No exec can give anything back (seccomp needs it too, unprivileged). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		log_err(TAG, "PR_SET_NO_NEW_PRIVS: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int sandbox_apply(const struct sandbox_config *cfg)
{
	static const char *const modes[] = {
		[SANDBOX_SECCOMP_KILL] = "kill",
		[SANDBOX_SECCOMP_LOG] = "log",
		[SANDBOX_SECCOMP_OFF] = "off",
	};
	int ret;

	if (cfg->disabled) {
		log_warn(TAG, "--sandbox=off: the core keeps its privileges and "
			 "makes any system call");
		return 0;
	}
	ret = sandbox_enter_identity(cfg);
	if (ret)
		return ret;
	/* Said before the filter: getuid() is not on the list. */
	log_info(TAG, "running as uid %u gid %u, no capabilities, "
		 "no_new_privs, seccomp %s", (unsigned)geteuid(),
		 (unsigned)getegid(), modes[cfg->seccomp]);
	if (cfg->seccomp == SANDBOX_SECCOMP_OFF) {
		log_warn(TAG, "--seccomp=off: no system call filter");
		return 0;
	}
	/* glibc must never shrink a thread heap (the vCPU and control API
	 * threads have their own) under the filter. */
	if (heap_keep()) {
		log_err(TAG, "mallopt(M_TRIM_THRESHOLD) failed");
		return -EINVAL;
	}
	return sandbox_seccomp_load(cfg);
}

void sandbox_run_test_probe(void)
{
	const char *what = getenv(SANDBOX_PROBE_ENV);
	int fd;

	if (!what)
		return;
	if (strcmp(what, "socket")) {
		log_warn(TAG, "%s=%s: unknown probe (only \"socket\")",
			 SANDBOX_PROBE_ENV, what);
		return;
	}
	log_info(TAG, "test probe: socket(AF_INET), which is not allowed");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_info(TAG, "test probe: socket(AF_INET) failed: %s",
			 strerror(errno));
		return;
	}
	log_info(TAG, "test probe: socket(AF_INET) succeeded");
	close(fd);
}
