/* SPDX-License-Identifier: GPL-2.0-only */
#include "be_caps.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "be_sandbox.h"
#include "log.h"

#define TAG	"sandbox"

static bool be_caps_bounding;		/* CAP_SETPCAP kept: empty it too */
static atomic_int be_caps_done, be_caps_failed;

static int be_caps_keep(const int *caps, size_t n)
{
	bool setpcap;

	if (capng_get_caps_process())
		return -EPERM;
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_CAPS);
	for (size_t i = 0; i < n; i++) {
		/* libcap-ng's copy is cleared already: ask the kernel
		 * what the thread holds. */
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &hdr, d))
			return -errno;
		if (!(d[caps[i] / 32].permitted & (1u << (caps[i] % 32)))) {
			log_warn(TAG, "%s is not held: what needs it will fail",
				 capng_capability_to_name((unsigned)caps[i]));
			continue;
		}
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
				 (unsigned)caps[i]))
			return -EINVAL;
		log_info(TAG, "keeping %s until the devices are open",
			 capng_capability_to_name((unsigned)caps[i]));
	}
	if (setpcap && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE |
				    CAPNG_PERMITTED, CAP_SETPCAP))
		return -EINVAL;
	be_caps_bounding = setpcap;
	if (capng_apply(CAPNG_SELECT_CAPS))
		return -EPERM;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int be_caps_drop_but(const int *caps, size_t n)
{
	int r = be_caps_keep(caps, n);

	if (r)
		log_err(TAG, "cannot drop capabilities: %s", strerror(-r));
	return r;
}

/*
 * Capabilities are per thread and capset() changes only the caller's:
 * this runs in every thread (async-signal-safe: raw system calls only).
 * The bounding set first, while CAP_SETPCAP is still effective.
 */
static int be_caps_thread_drop(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (be_caps_bounding) {
		for (int c = 0; c < 64; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
			    errno != EINVAL)
				return -1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -1;
	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &hdr, d);
}

static void be_caps_handler(int sig)
{
	int saved = errno;

	(void)sig;
	if (be_caps_thread_drop())
		atomic_fetch_add(&be_caps_failed, 1);
	atomic_fetch_add(&be_caps_done, 1);
	errno = saved;
}

/* One field of /proc/self/task/TID/status as a number (hex for Cap*). */
static int be_caps_status(int tid, const char *key, unsigned long long *out)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			*out = strtoull(line + klen + 1, NULL, 16);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static bool be_caps_thread_clean(int tid)
{
	static const char *const keys[] = { "CapEff", "CapPrm", "CapAmb",
					     "CapInh", "CapBnd" };
	unsigned long long v;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (k == 4 && !be_caps_bounding)
			break;
		if (be_caps_status(tid, keys[k], &v))
			return true;	/* the thread ended */
		if (v)
			return false;
	}
	return true;
}

/* Signal every other thread still holding something; how many, or -errno. */
static int be_caps_signal_threads(int sig)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	struct dirent *e;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name);

		if (tid <= 0 || tid == self || be_caps_thread_clean(tid))
			continue;
		if (syscall(SYS_tgkill, getpid(), tid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int be_caps_drop_all_threads(void)
{
	const int sig = SIGRTMIN + 3;
	struct sigaction sa, old;
	int r = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = be_caps_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old))
		return -errno;
	/* A few passes: a thread started meanwhile inherited what is left. */
	for (int pass = 0; pass < 5; pass++) {
		int n;

		atomic_store(&be_caps_done, 0);
		n = be_caps_signal_threads(sig);
		if (n <= 0) {
			r = n;
			break;
		}
		for (int w = 0; w < 2000 && atomic_load(&be_caps_done) < n; w++) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
		if (atomic_load(&be_caps_done) < n) {
			log_err(TAG, "%d threads did not drop their capabilities "
				"(signal blocked?)", n - atomic_load(&be_caps_done));
			r = -ETIMEDOUT;
			break;
		}
		r = -EAGAIN;
	}
	if (!r && atomic_load(&be_caps_failed))
		r = -EPERM;
	if (!r && be_caps_thread_drop())
		r = -errno;
	sigaction(sig, &old, NULL);
	if (r) {
		log_err(TAG, "cannot drop the capabilities kept for the "
			"devices: %s", strerror(-r));
		return r;
	}
	log_info(TAG, "devices open: every thread dropped its capabilities");
	return 0;
}
