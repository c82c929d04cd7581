/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core/sandbox.c: --user parsing, and the allowlist itself, applied in a
 * forked child that then tries what the core does and what it must not.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "unit.h"

static void test_parse_user(void)
{
	uid_t u;
	gid_t g;

	CU_ASSERT_EQUAL(sandbox_parse_user("root", &u, &g), 0);
	CU_ASSERT(u == 0 && g == 0);
	CU_ASSERT_EQUAL(sandbox_parse_user("0", &u, &g), 0);
	CU_ASSERT(u == 0 && g == 0);
	CU_ASSERT_EQUAL(sandbox_parse_user("nobody", &u, &g), 0);
	CU_ASSERT(u == 65534 && g == 65534);
	CU_ASSERT_EQUAL(sandbox_parse_user("nobody:nogroup", &u, &g), 0);
	CU_ASSERT(u == 65534 && g == 65534);
	CU_ASSERT_EQUAL(sandbox_parse_user("root:nogroup", &u, &g), 0);
	CU_ASSERT(u == 0 && g == 65534);
	/* A number nobody has: gid defaults to the same number. */
	CU_ASSERT_EQUAL(sandbox_parse_user("4242", &u, &g), 0);
	CU_ASSERT(u == 4242 && g == 4242);
	CU_ASSERT_EQUAL(sandbox_parse_user("4242:17", &u, &g), 0);
	CU_ASSERT(u == 4242 && g == 17);
}

static void test_parse_user_errors(void)
{
	uid_t u = 1;
	gid_t g = 1;

	CU_ASSERT_EQUAL(sandbox_parse_user("", &u, &g), -EINVAL);
	CU_ASSERT_EQUAL(sandbox_parse_user(":", &u, &g), -EINVAL);
	CU_ASSERT_EQUAL(sandbox_parse_user(":0", &u, &g), -EINVAL);
	CU_ASSERT_EQUAL(sandbox_parse_user("root:", &u, &g), -EINVAL);
	CU_ASSERT_EQUAL(sandbox_parse_user("no-such-user-here", &u, &g),
			-ENOENT);
	CU_ASSERT_EQUAL(sandbox_parse_user("root:no-such-group-here", &u, &g),
			-ENOENT);
	/* (uid_t)-1 means "leave unchanged" to the kernel: never a target. */
	CU_ASSERT_EQUAL(sandbox_parse_user("4294967295", &u, &g), -ERANGE);
	CU_ASSERT_EQUAL(sandbox_parse_user("1:4294967295", &u, &g), -ERANGE);
	CU_ASSERT_EQUAL(sandbox_parse_user("99999999999999999999", &u, &g),
			-ERANGE);
}

/* ---- the filter, in a child ---------------------------------------------- */

enum probe {
	PROBE_ALLOWED,		/* what the core does: must survive */
	PROBE_SOCKET,		/* socket(AF_INET) */
	PROBE_OPEN,		/* open("/dev/null") */
	PROBE_FORK,		/* a new process */
	PROBE_EXEC_MAP,		/* PROT_EXEC memory */
	PROBE_KVM_IOCTL,	/* an ioctl request not on the list */
	PROBE_KILL_OTHER,	/* a signal to another process */
	PROBE_VCPU_SETUP,	/* a locked-down vCPU thread: KVM_SET_CPUID2 */
	PROBE_VCPU_THREAD,	/* a locked-down vCPU thread: pthread_create */
	PROBE_VCPU_RUNS,	/* a locked-down vCPU thread: what it still does */
	PROBE_MAIN_RUN,		/* the locked-down main thread: KVM_RUN */
	PROBE_MAIN_ALLOWED,	/* the locked-down main thread: its event loop */
};

/* Made before the sandbox, as the core's fds are. */
static int fds[2] = { -1, -1 };
static pid_t parent;

static void *thread_fn(void *arg)
{
	return arg;
}

static int child_allowed(void)
{
	struct termios tio;
	pthread_t t;
	void *ret = NULL;
	char c = 'x';
	void *p;

	/* A thread, as vm_run() starts the vCPUs (clone3 -> clone). */
	if (pthread_create(&t, NULL, thread_fn, &c) ||
	    pthread_join(t, &ret) || ret != &c)
		return 10;
	if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
		return 11;
	/* The console's ioctl, on something that is not a terminal. */
	if (ioctl(fds[0], TCGETS, &tio) == 0 || errno != ENOTTY)
		return 12;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 13;
	memset(p, 1, 1 << 20);
	free(malloc(1 << 22));
	if (munmap(p, 1 << 20) < 0)
		return 14;
	/* Signals to ourselves: the vCPU kick. */
	signal(SIGUSR1, SIG_IGN);
	if (pthread_kill(pthread_self(), SIGUSR1))
		return 15;
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* What a vCPU thread does after its lockdown, or one thing it must not. */
static void *vcpu_thread_fn(void *arg)
{
	enum probe what = *(enum probe *)arg;
	struct kvm_cpuid2 cpuid = { .nent = 0 };
	struct kvm_regs regs;
	pthread_t t;
	char c = 'v';

	if (sandbox_lockdown_vcpu_thread("vcpu-test"))
		return (void *)1;
	switch (what) {
	case PROBE_VCPU_SETUP:
		/* On a pipe it would fail with ENOTTY: the filter kills first. */
		ioctl(fds[0], KVM_SET_CPUID2, &cpuid);
		return (void *)1;
	case PROBE_VCPU_THREAD:
		pthread_create(&t, NULL, thread_fn, NULL);
		return (void *)1;
	default:
		/* Registers for a crash dump, eventfd-style I/O, a signal. */
		if (ioctl(fds[0], KVM_GET_REGS, &regs) == 0 || errno != ENOTTY)
			return (void *)2;
		if (write(fds[1], &c, 1) != 1 || read(fds[0], &c, 1) != 1)
			return (void *)3;
		free(malloc(100));
		return NULL;
	}
}

static int child_thread_probe(enum probe what)
{
	pthread_t t;
	void *ret = (void *)99;

	if (pthread_create(&t, NULL, vcpu_thread_fn, &what) ||
	    pthread_join(t, &ret))
		return 98;
	return (int)(intptr_t)ret;
}

static int child_probe(enum probe what)
{
	struct termios tio;
	void *p;

	switch (what) {
	case PROBE_ALLOWED:
		return child_allowed();
	case PROBE_SOCKET:
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 1 : 2;
	case PROBE_OPEN:
		return open("/dev/null", O_RDONLY) >= 0 ? 1 : 2;
	case PROBE_FORK: {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		return pid > 0 ? 1 : 2;
	}
	case PROBE_EXEC_MAP:
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p != MAP_FAILED ? 1 : 2;
	case PROBE_KVM_IOCTL:
		/* On a pipe it would fail; the filter must kill first. */
		return ioctl(0, KVM_CREATE_VM, 0) == 0 ? 1 : 2;
	case PROBE_KILL_OTHER:
		return kill(parent, 0) == 0 ? 1 : 2;
	case PROBE_VCPU_SETUP:
	case PROBE_VCPU_THREAD:
	case PROBE_VCPU_RUNS:
		return child_thread_probe(what);
	case PROBE_MAIN_RUN:
		if (sandbox_lockdown_main_thread())
			return 3;
		return ioctl(fds[0], KVM_RUN, 0) == 0 ? 1 : 2;
	case PROBE_MAIN_ALLOWED: {
		int ep;

		if (sandbox_lockdown_main_thread())
			return 3;
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || ioctl(fds[0], TCGETS, &tio) == 0)
			return 4;
		close(ep);
		return 0;
	}
	}
	return 3;
}

/* The child's wait status after entering the sandbox and probing. */
static int run_probe(enum sandbox_seccomp mode, enum probe what)
{
	struct sandbox_config cfg = { .seccomp = mode };
	int status = -1;
	pid_t pid;

	parent = getpid();
	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		log_set_level(LOG_LEVEL_ERR);
		if (sandbox_apply(&cfg))
			_exit(99);
		_exit(child_probe(what));
	}
	close(fds[0]);
	close(fds[1]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static bool killed_by_sigsys(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static void test_filter_allows_the_core(void)
{
	int st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_ALLOWED);

	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

static void test_filter_kills(void)
{
	static const enum probe forbidden[] = {
		PROBE_SOCKET, PROBE_OPEN, PROBE_FORK, PROBE_EXEC_MAP,
		PROBE_KVM_IOCTL, PROBE_KILL_OTHER,
	};

	for (unsigned i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		int st = run_probe(SANDBOX_SECCOMP_KILL, forbidden[i]);

		CU_ASSERT(killed_by_sigsys(st));
		if (!killed_by_sigsys(st))
			fprintf(stderr, "probe %d: wait status 0x%x\n",
				forbidden[i], st);
	}
}

static void test_vcpu_thread_lockdown(void)
{
	int st;

	st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_VCPU_SETUP);
	CU_ASSERT(killed_by_sigsys(st));
	st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_VCPU_THREAD);
	CU_ASSERT(killed_by_sigsys(st));
	st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_VCPU_RUNS);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Without the process filter there is nothing to tighten. */
	st = run_probe(SANDBOX_SECCOMP_OFF, PROBE_VCPU_THREAD);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static void test_main_thread_lockdown(void)
{
	int st;

	st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_MAIN_RUN);
	CU_ASSERT(killed_by_sigsys(st));
	st = run_probe(SANDBOX_SECCOMP_KILL, PROBE_MAIN_ALLOWED);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_filter_log_and_off(void)
{
	int st;

	/* log: the call goes through (and the kernel logs it). */
	st = run_probe(SANDBOX_SECCOMP_LOG, PROBE_OPEN);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	st = run_probe(SANDBOX_SECCOMP_OFF, PROBE_SOCKET);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static CU_TestInfo sandbox_tests[] = {
	{ "parse --user", test_parse_user },
	{ "parse --user errors", test_parse_user_errors },
	{ "filter allows what the core does", test_filter_allows_the_core },
	{ "filter kills the rest", test_filter_kills },
	{ "seccomp log and off", test_filter_log_and_off },
	{ "vCPU thread lockdown", test_vcpu_thread_lockdown },
	{ "main thread lockdown", test_main_thread_lockdown },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "sandbox", NULL, NULL, NULL, NULL, sandbox_tests },
	CU_SUITE_INFO_NULL,
};
