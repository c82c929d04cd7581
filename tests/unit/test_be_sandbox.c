/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backends/common/be_sandbox: the back-ends' jail.  Each case runs in a
 * forked child, which enters the sandbox and then tries one thing; the
 * parent asserts how the child ended (exit status or SIGSYS).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "be_sandbox.h"
#include "unit.h"

static const struct be_sandbox_rule test_rules[] = {
	BE_ALLOW(getppid, "the test's own extra entry"),
};

static const struct be_sandbox_policy test_policy = {
	.kind = "test",
	.rules = test_rules,
	.nrules = 1,
};

enum try {
	TRY_NOTHING,		/* allowed calls only: exit 0 */
	TRY_POLICY,		/* the policy's own entry */
	TRY_UNIX_SOCKET,	/* AF_UNIX: allowed */
	TRY_INET_SOCKET,	/* AF_INET: refused */
	TRY_FORK,		/* clone without CLONE_THREAD */
	TRY_EXEC_MMAP,		/* PROT_EXEC */
	TRY_KILL_PARENT,	/* kill() of another process */
	TRY_OPEN,		/* openat() of any file */
	TRY_THREAD_BEFORE,	/* a thread created before the filter */
	TRY_THREAD_AFTER,	/* a thread created after the filter */
	TRY_ARENA_TRIM,		/* free() shrinking a thread's malloc arena */
};

static void *inet_thread(void *arg)
{
	int *go = arg;

	while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Under TSYNC's filter too: this kills the whole process. */
	if (socket(AF_INET, SOCK_STREAM, 0) >= 0)
		_exit(3);
	_exit(4);
	return NULL;
}

/*
 * A thread's malloc arena (not the main one): fill it with blocks under
 * the mmap threshold, free them all.  The top of the heap then exceeds
 * the trim threshold and glibc shrinks the heap, which the first time
 * reads /proc/sys/vm/overcommit_memory: queue threads start and stop
 * while a back-end serves, so this happens after the filter is on.
 */
static void *arena_thread(void *arg)
{
	enum { N = 64, SIZE = 64 << 10 };
	void *blocks[N];

	(void)arg;
	for (unsigned i = 0; i < N; i++) {
		blocks[i] = malloc(SIZE);
		if (!blocks[i])
			_exit(13);
		memset(blocks[i], 1, SIZE);
	}
	for (unsigned i = N; i--;)
		free(blocks[i]);
	return NULL;
}

static int child(enum be_seccomp mode, enum try what)
{
	static int go;
	pthread_t t;
	void *p;

	if (what == TRY_THREAD_BEFORE &&
	    pthread_create(&t, NULL, inet_thread, &go))
		return 10;
	if (be_sandbox_drop_privileges())
		return 11;
	/* prctl() other than PR_SET_NAME is off the list: ask before. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 12;
	if (be_sandbox_apply(&test_policy, mode))
		return 11;
	switch (what) {
	case TRY_NOTHING:
		return getpid() > 0 ? 0 : 13;
	case TRY_POLICY:
		return getppid() > 0 ? 0 : 13;
	case TRY_UNIX_SOCKET:
		return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 13;
	case TRY_INET_SOCKET:
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 3 : 4;
	case TRY_FORK:
		return fork() >= 0 ? 3 : 4;
	case TRY_EXEC_MMAP:
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p != MAP_FAILED ? 3 : 4;
	case TRY_KILL_PARENT:
		return kill(getppid(), 0) == 0 ? 3 : 4;
	case TRY_OPEN:
		return fopen("/etc/hostname", "r") ? 3 : 4;
	case TRY_THREAD_BEFORE:
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		return 13;
	case TRY_THREAD_AFTER:
		go = 1;
		if (pthread_create(&t, NULL, inet_thread, &go))
			return 13;
		pthread_join(t, NULL);
		return 13;
	case TRY_ARENA_TRIM:
		if (pthread_create(&t, NULL, arena_thread, NULL))
			return 13;
		pthread_join(t, NULL);
		return 0;
	}
	return 14;
}

/* The child's wait status. */
static int run(enum be_seccomp mode, enum try what)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child(mode, what));
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	return status;
}

#define ASSERT_EXIT(st, code) \
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == (code))
#define ASSERT_SIGSYS(st) \
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)

static void test_parse(void)
{
	enum be_seccomp m = BE_SECCOMP_OFF;

	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("kill", &m), 0);
	CU_ASSERT_EQUAL(m, BE_SECCOMP_KILL);
	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("log", &m), 0);
	CU_ASSERT_EQUAL(m, BE_SECCOMP_LOG);
	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("off", &m), 0);
	CU_ASSERT_EQUAL(m, BE_SECCOMP_OFF);
	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("", &m), -EINVAL);
	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("KILL", &m), -EINVAL);
	CU_ASSERT_EQUAL(be_sandbox_parse_seccomp("kill ", &m), -EINVAL);
}

static void test_allowed(void)
{
	ASSERT_EXIT(run(BE_SECCOMP_KILL, TRY_NOTHING), 0);
	ASSERT_EXIT(run(BE_SECCOMP_KILL, TRY_POLICY), 0);
	ASSERT_EXIT(run(BE_SECCOMP_KILL, TRY_UNIX_SOCKET), 0);
	ASSERT_EXIT(run(BE_SECCOMP_KILL, TRY_ARENA_TRIM), 0);
}

static void test_refused(void)
{
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_INET_SOCKET));
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_FORK));
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_EXEC_MMAP));
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_KILL_PARENT));
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_OPEN));
}

static void test_threads(void)
{
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_THREAD_BEFORE));
	ASSERT_SIGSYS(run(BE_SECCOMP_KILL, TRY_THREAD_AFTER));
}

/* log: the same calls go through (the kernel logs them); off: no filter. */
static void test_log_and_off(void)
{
	ASSERT_EXIT(run(BE_SECCOMP_LOG, TRY_INET_SOCKET), 3);
	ASSERT_EXIT(run(BE_SECCOMP_LOG, TRY_OPEN), 3);
	ASSERT_EXIT(run(BE_SECCOMP_OFF, TRY_INET_SOCKET), 3);
}

/* The filter without the privilege drop first is refused. */
static void test_order(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
			_exit(2);	/* inherited: cannot test here */
		_exit(be_sandbox_apply(&test_policy, BE_SECCOMP_KILL) ==
		      -EPERM ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) != 1);
}

static CU_TestInfo be_sandbox_tests[] = {
	{ "--seccomp values", test_parse },
	{ "allowed calls pass, malloc arenas shrink", test_allowed },
	{ "inet socket, fork, PROT_EXEC, kill, open are fatal", test_refused },
	{ "threads before (TSYNC) and after inherit the filter", test_threads },
	{ "log and off modes", test_log_and_off },
	{ "filter only after the privilege drop", test_order },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "be_sandbox", NULL, NULL, NULL, NULL, be_sandbox_tests },
	CU_SUITE_INFO_NULL,
};
