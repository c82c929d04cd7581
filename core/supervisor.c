/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The back-end supervisor (see supervisor.h and docs/architecture.md):
 * spawns splitvm-blk per --disk path= and joins splitvm-net switches per
 * --net switch=, restarts what exits with growing delays, and reports
 * each back-end's state to the core over a socketpair.
 */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/sched.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend_msg.h"
#include "log.h"
#include "net_ctl_msg.h"
#include "sandbox.h"

#define TAG "supervisor"

/* At most one exit line per device this often; the others are counted. */
#define SV_LOG_EVERY_MS		5000
/* How long a new switch gets to listen on its control socket. */
#define SV_SWITCH_START_MS	10000
#define SV_STOP_GRACE_MS	3000

struct sv_state {
	pid_t pid;
	int pidfd;
	enum backend_state state;
	unsigned restarts;
	unsigned delay_ms;
	uint64_t started_ms;
	uint64_t restart_at_ms;
	uint64_t last_log_ms;
	unsigned unlogged;
	uint32_t last_exit;
	bool requested;
};

static struct supervisor_config *sv;
static volatile sig_atomic_t sv_stop;

static void sv_on_term(int sig)
{
	(void)sig;
	sv_stop = 1;
}
static struct sv_state st[VM_MAX_VHOST_USER_DEVS];

static uint64_t sv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

unsigned supervisor_next_delay(unsigned prev_ms, uint64_t ran_ms,
			       bool requested)
{
	if (requested)
		return 0;
	if (!prev_ms || ran_ms >= SUPERVISOR_STABLE_MS)
		return SUPERVISOR_DELAY_MIN_MS;
	return prev_ms >= SUPERVISOR_DELAY_MAX_MS / 2 ? SUPERVISOR_DELAY_MAX_MS
						      : prev_ms * 2;
}

static void sv_report(unsigned i, int result)
{
	struct backend_msg m = {
		.type = BACKEND_MSG_STATUS,
		.dev = sv->dev_index[i],
		.pid = st[i].pid,
		.state = st[i].state,
		.restarts = st[i].restarts,
		.result = result,
		.last_exit = st[i].last_exit,
	};

	/* Never block on the core: it reads when its loop runs. */
	if (send(sv->sock_fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		log_debug(TAG, "report: %s", strerror(errno));
}

/* ---- starting a process ------------------------------------------------- */

/*
 * In the child, right after fork: fds 0-2 as they are (stdin and stdout
 * are /dev/null in the supervisor), keep[0..n) moved to 3.., the program
 * at the next fd (close-on-exec), everything else closed, then exec.
 */
__attribute__((noreturn))
static void sv_exec(int bin_fd, const int *keep, unsigned n, char **argv)
{
	char *envp[4];
	char xdg[SUPERVISOR_PATH_MAX + 20];
	unsigned ne = 0;
	const char *probe = getenv("SPLITVM_TEST_BACKEND_PROBE");
	static char probe_env[64];
	int fd = 3, tmp[4], bin;

	/* Move every kept fd above the targets first, then down. */
	if (n > sizeof(tmp) / sizeof(tmp[0]))
		_exit(127);
	for (unsigned i = 0; i < n; i++)
		tmp[i] = fcntl(keep[i], F_DUPFD, 64);
	bin = fcntl(bin_fd, F_DUPFD_CLOEXEC, 64);
	for (unsigned i = 0; i < n; i++, fd++)
		dup2(tmp[i], fd);
	dup3(bin, fd, O_CLOEXEC);
	close_range((unsigned)fd + 1, ~0u, 0);
	/* Sockets 0770: the core's group (the directory's) may connect. */
	umask(007);
	/* The back-end sets up its own signals; ignoring is inherited. */
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	snprintf(xdg, sizeof(xdg), "XDG_RUNTIME_DIR=%s", sv->vm_dir);
	envp[ne++] = "PATH=/usr/bin:/bin";
	envp[ne++] = xdg;
	if (probe && strlen(probe) < 32) {
		snprintf(probe_env, sizeof(probe_env),
			 "SPLITVM_TEST_BACKEND_PROBE=%s", probe);
		envp[ne++] = probe_env;
	}
	envp[ne] = NULL;
	execveat(fd, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

static int sv_spawn_blk(unsigned i)
{
	struct supervisor_dev *d = &sv->devs[i];
	char queues[16];
	char *argv[16];
	unsigned n = 0;
	pid_t pid;

	snprintf(queues, sizeof(queues), "%u", d->queues);
	argv[n++] = "splitvm-blk";
	argv[n++] = "--socket-path";
	argv[n++] = d->sock_path;
	argv[n++] = "--image-fd";
	argv[n++] = "3";
	argv[n++] = "--num-queues";
	argv[n++] = queues;
	argv[n++] = "--seccomp";
	argv[n++] = (char *)sv->seccomp;
	if (d->readonly)
		argv[n++] = "--read-only";
	if (sv->verbosity <= 0)
		argv[n++] = "-q";
	argv[n] = NULL;
	/* What a dead predecessor left: the socket exists again once the
	 * new one listens. */
	unlink(d->sock_path);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* A VM's disk dies with its supervisor (kept across exec). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sv_exec(sv->blk_bin_fd, &d->image_fd, 1, argv);
	}
	st[i].pid = pid;
	st[i].pidfd = pidfd_open(pid, 0);
	return 0;
}

/* ---- a splitvm-net switch shared with other VMs ------------------------- */

static int sv_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One request line, one reply line (at most len - 1 bytes). */
static int sv_switch_call(int fd, const char *req, char *reply, size_t len)
{
	size_t used = 0;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -EPIPE;
	while (used < len - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		r = read(fd, reply + used, len - 1 - used);
		if (r <= 0)
			return -EPIPE;
		used += (size_t)r;
		if (memchr(reply, '\n', used))
			break;
	}
	reply[used] = '\0';
	return strstr(reply, "\"ok\":true") ? 0 : -EPROTO;
}

/* Start splitvm-net on dir/control.sock, detached: it outlives this VM. */
static int sv_start_switch(unsigned i, const char *ctl)
{
	char *argv[] = { "splitvm-net", "--control", (char *)ctl, "--seccomp",
			 (char *)sv->seccomp, sv->verbosity > 0 ? "-v" : "-q",
			 NULL };
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Its own session, reparented to init when this child ends. */
		setsid();
		if (fork() == 0) {
			snprintf(sv->vm_dir, sizeof(sv->vm_dir), "%s",
				 sv->devs[i].switch_dir);
			sv_exec(sv->net_bin_fd, NULL, 0, argv);
		}
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return 0;
}

/* Add this device's port to its switch, starting the switch if needed. */
static int sv_switch_join(unsigned i)
{
	struct supervisor_dev *d = &sv->devs[i];
	char path[SUPERVISOR_PATH_MAX + 16], req[NET_CTL_MAX_LINE + 2];
	char reply[256];
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int lock, fd, r;

	snprintf(path, sizeof(path), "%s/lock", d->switch_dir);
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		r = -errno;
		log_err(d->name, "switch lock %s: %s", path, strerror(-r));
		if (lock >= 0)
			close(lock);
		return r;
	}
	/* Under the lock: one core at a time starts the switch. */
	snprintf(path, sizeof(path), "%s/control.sock", d->switch_dir);
	fd = sv_connect(path);
	if (fd < 0) {
		uint64_t deadline = sv_now_ms() + SV_SWITCH_START_MS;

		log_info(d->name, "starting switch %s", d->switch_dir);
		r = sv_start_switch(i, path);
		while (!r && (fd = sv_connect(path)) < 0 &&
		       sv_now_ms() < deadline)
			usleep(20000);
	}
	if (fd < 0) {
		log_err(d->name, "switch %s does not answer", path);
		r = fd;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		r = -errno;
		goto out_fd;
	}
	/* With the port's VLANs every time: a restarted switch gets the
	 * port back as it was (options.c made sure the line fits). */
	r = net_ctl_format_add(d->port_name, &d->vlan, req, sizeof(req));
	if (!r)
		r = sv_switch_call(fd, req, reply, sizeof(reply));
	/* Our port exists already: the switch never noticed we left. */
	if (r == -EPROTO && strstr(reply, "exists"))
		r = 0;
	if (r) {
		log_err(d->name, "switch %s: add port %s: %s", d->switch_dir,
			d->port_name, r == -EPROTO ? reply : strerror(-r));
		goto out_fd;
	}
	st[i].pid = cred.pid;
	st[i].pidfd = pidfd_open(cred.pid, 0);
out_fd:
	close(fd);
out:
	close(lock);
	return r;
}

/* Remove our port; the last VM to leave stops the switch. */
static void sv_switch_leave(unsigned i)
{
	struct supervisor_dev *d = &sv->devs[i];
	char path[SUPERVISOR_PATH_MAX + 16], req[128], reply[256];
	int lock, fd;

	snprintf(path, sizeof(path), "%s/lock", d->switch_dir);
	lock = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		if (lock >= 0)
			close(lock);
		return;
	}
	snprintf(path, sizeof(path), "%s/control.sock", d->switch_dir);
	fd = sv_connect(path);
	if (fd >= 0) {
		snprintf(req, sizeof(req),
			 "{\"op\":\"remove\",\"name\":\"%s\"}\n", d->port_name);
		if (!sv_switch_call(fd, req, reply, sizeof(reply)) &&
		    strstr(reply, "\"ports\":0}")) {
			log_info(d->name, "last port left: stopping switch %s",
				 d->switch_dir);
			sv_switch_call(fd, "{\"op\":\"quit\"}\n", reply,
				       sizeof(reply));
		}
		close(fd);
	}
	close(lock);
}

/* ---- supervision -------------------------------------------------------- */

static int sv_start(unsigned i)
{
	int r;

	st[i].pid = 0;
	st[i].pidfd = -1;
	r = sv->devs[i].kind == BACKEND_BLK ? sv_spawn_blk(i) : sv_switch_join(i);
	st[i].started_ms = sv_now_ms();
	st[i].requested = false;
	st[i].state = r ? BACKEND_STATE_RESTARTING : BACKEND_STATE_STARTING;
	if (r)
		st[i].restart_at_ms = sv_now_ms() + st[i].delay_ms;
	else
		log_debug(sv->devs[i].name, "back-end pid %d", st[i].pid);
	sv_report(i, 0);
	return r;
}

static void sv_describe_exit(uint32_t status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "gone");
}

/* Its pidfd is readable: the back-end is gone; schedule the restart. */
static void sv_on_exit(unsigned i)
{
	struct supervisor_dev *d = &sv->devs[i];
	struct sv_state *s = &st[i];
	uint64_t now = sv_now_ms();
	char how[48] = "gone";
	int status = 0;

	if (d->kind == BACKEND_BLK && waitpid(s->pid, &status, WNOHANG) > 0) {
		s->last_exit = (uint32_t)status;
		sv_describe_exit((uint32_t)status, how, sizeof(how));
	}
	close(s->pidfd);
	s->pidfd = -1;
	s->delay_ms = supervisor_next_delay(s->delay_ms, now - s->started_ms,
					    s->requested);
	s->restart_at_ms = now + s->delay_ms;
	s->state = BACKEND_STATE_RESTARTING;
	if (now - s->last_log_ms >= SV_LOG_EVERY_MS || !s->last_log_ms) {
		log_warn(d->name, "%s (pid %d) %s; restart %u in %u ms%s",
			 d->kind == BACKEND_BLK ? "splitvm-blk" : "switch",
			 s->pid, how, s->restarts + 1, s->delay_ms,
			 s->unlogged ? " (earlier exits not logged: see the "
			 "restart count)" : "");
		s->last_log_ms = now;
		s->unlogged = 0;
	} else {
		s->unlogged++;
	}
	s->pid = 0;
	sv_report(i, 0);
}

static void sv_restart_due(unsigned i)
{
	st[i].restarts++;
	/* A start that failed at once (no switch) backs off the same way. */
	if (sv_start(i))
		st[i].delay_ms = supervisor_next_delay(st[i].delay_ms, 0, false);
}

/* STARTING becomes RUNNING once the back-end's socket exists. */
static void sv_check_listening(unsigned i)
{
	struct stat sb;

	if (st[i].state == BACKEND_STATE_STARTING &&
	    (sv->devs[i].kind == BACKEND_SWITCH ||
	     (!lstat(sv->devs[i].sock_path, &sb) && S_ISSOCK(sb.st_mode)))) {
		st[i].state = BACKEND_STATE_RUNNING;
		sv_report(i, 0);
	}
}

static void sv_on_request(const struct backend_msg *m)
{
	for (unsigned i = 0; i < sv->ndevs; i++) {
		if (sv->dev_index[i] != m->dev)
			continue;
		if (sv->devs[i].kind != BACKEND_BLK) {
			sv_report(i, -EBUSY);
			return;
		}
		log_info(sv->devs[i].name, "restart requested");
		st[i].requested = true;
		if (st[i].pid > 0)
			kill(st[i].pid, SIGTERM);
		else
			st[i].restart_at_ms = sv_now_ms();
		return;
	}
}

static int sv_remove(const char *path, const struct stat *sb, int type,
		     struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* The VM is over: stop our back-ends, leave the switches, clean up. */
__attribute__((noreturn)) static void sv_shutdown(void)
{
	uint64_t deadline = sv_now_ms() + SV_STOP_GRACE_MS;

	for (unsigned i = 0; i < sv->ndevs; i++) {
		if (sv->devs[i].kind == BACKEND_BLK && st[i].pid > 0)
			kill(st[i].pid, SIGTERM);
		else if (sv->devs[i].kind == BACKEND_SWITCH)
			sv_switch_leave(i);
	}
	for (unsigned i = 0; i < sv->ndevs; i++) {
		if (sv->devs[i].kind != BACKEND_BLK || st[i].pid <= 0)
			continue;
		while (waitpid(st[i].pid, NULL, WNOHANG) == 0) {
			if (sv_now_ms() > deadline) {
				kill(st[i].pid, SIGKILL);
				waitpid(st[i].pid, NULL, 0);
				break;
			}
			usleep(10000);
		}
		unlink(sv->devs[i].sock_path);
	}
	/* The sockets, and DPDK runtime directories of back-ends killed
	 * before they removed their own: the directory is ours alone. */
	if (nftw(sv->vm_dir, sv_remove, 8, FTW_DEPTH | FTW_PHYS))
		log_warn(TAG, "cannot remove %s: %s", sv->vm_dir, strerror(errno));
	_exit(0);
}

/*
 * The supervisor's own filter, inherited by every back-end it starts (the
 * back-ends stack their allowlist on it once set up): what neither it
 * nor a starting back-end has any use for, and KVM's ioctls.
 */
static int sv_seccomp(void)
{
	static const int deny[] = {
		SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
		SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
		SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
		SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot),
		SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
		SCMP_SYS(init_module), SCMP_SYS(finit_module),
		SCMP_SYS(delete_module), SCMP_SYS(bpf),
		SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
		SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(open_by_handle_at),
		SCMP_SYS(name_to_handle_at), SCMP_SYS(iopl), SCMP_SYS(ioperm),
		SCMP_SYS(acct), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
		SCMP_SYS(adjtimex), SCMP_SYS(quotactl), SCMP_SYS(syslog),
		SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
		SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
		SCMP_SYS(setgroups), SCMP_SYS(pidfd_getfd),
	};
	const struct scmp_arg_cmp kvm = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xff00,
		.datum_b = 0xae00,	/* _IOC type KVMIO */
	};
	/* No network sockets (DPDK's EAL itself makes a netlink one). */
	static const int families[] = { AF_INET, AF_INET6, AF_PACKET, AF_VSOCK };
	/*
	 * EPERM rather than death: start-up code probes (DPDK's EAL tries
	 * iopl() and carries on without it), and the kill comes later, from
	 * each back-end's own allowlist.
	 */
	uint32_t act = strcmp(sv->seccomp, "log") ? SCMP_ACT_ERRNO(EPERM)
						   : SCMP_ACT_LOG;
	scmp_filter_ctx ctx;
	int r = 0;

	if (!strcmp(sv->seccomp, "off"))
		return 0;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; !r && i < sizeof(deny) / sizeof(deny[0]); i++)
		r = seccomp_rule_add(ctx, act, deny[i], 0);
	if (!r)
		r = seccomp_rule_add_array(ctx, act, SCMP_SYS(ioctl), 1, &kvm);
	for (size_t i = 0; !r && i < sizeof(families) / sizeof(families[0]); i++) {
		const struct scmp_arg_cmp fam = {
			.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)families[i],
		};

		r = seccomp_rule_add_array(ctx, act, SCMP_SYS(socket), 1, &fam);
	}
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

static void sv_jail(void)
{
	struct sandbox_config sc = {
		.has_user = sv->change_id,
		.uid = sv->uid,
		.gid = sv->gid,
	};
	int r;

	struct sigaction sa = { .sa_handler = sv_on_term };

	/* Out of the core's session: a Ctrl-C on its terminal is the guest's. */
	setsid();
	prctl(PR_SET_NAME, "splitvm-superv");
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM: clean up as when the core goes (no SA_RESTART: poll
	 * returns EINTR). */
	sigaction(SIGTERM, &sa, NULL);
	r = sandbox_enter_identity(&sc);
	if (!r)
		r = sv_seccomp();
	if (r) {
		log_err(TAG, "cannot drop privileges: %s", strerror(-r));
		_exit(1);
	}
}

/* Every fd but stdio, the core's socket and what the back-ends need. */
static void sv_close_others(void)
{
	int keep[VM_MAX_VHOST_USER_DEVS + 4];
	unsigned n = 0, lo = 3;

	keep[n++] = sv->sock_fd;
	keep[n++] = sv->blk_bin_fd;
	keep[n++] = sv->net_bin_fd;
	for (unsigned i = 0; i < sv->ndevs; i++)
		keep[n++] = sv->devs[i].image_fd;
	/* Ascending, then close the gaps between them. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if (keep[i] > (int)lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

void supervisor_main(struct supervisor_config *cfg)
{
	sv = cfg;
	sv_close_others();
	log_init("splitvm-supervisor", cfg->verbosity > 0 ? LOG_LEVEL_DEBUG
				       : cfg->verbosity < 0 ? LOG_LEVEL_ERR
				       : LOG_LEVEL_INFO);
	sv_jail();
	log_info(TAG, "uid %u gid %u, no capabilities, no_new_privs, seccomp "
		 "denylist; %u back-end%s", (unsigned)getuid(), (unsigned)getgid(),
		 sv->ndevs, sv->ndevs == 1 ? "" : "s");
	for (unsigned i = 0; i < sv->ndevs; i++) {
		st[i].pidfd = -1;
		sv_start(i);
	}
	for (;;) {
		struct pollfd p[VM_MAX_VHOST_USER_DEVS + 1];
		unsigned owner[VM_MAX_VHOST_USER_DEVS + 1];
		uint64_t now = sv_now_ms();
		int timeout = -1, n = 0;

		p[n++] = (struct pollfd){ .fd = sv->sock_fd, .events = POLLIN };
		for (unsigned i = 0; i < sv->ndevs; i++) {
			if (st[i].pidfd >= 0) {
				owner[n] = i;
				p[n++] = (struct pollfd){ .fd = st[i].pidfd,
							  .events = POLLIN };
			}
			if (st[i].state == BACKEND_STATE_STARTING)
				timeout = 50;
			if (st[i].state == BACKEND_STATE_RESTARTING) {
				int64_t left = (int64_t)(st[i].restart_at_ms - now);

				if (left < 0)
					left = 0;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			_exit(1);
		if (sv_stop)
			sv_shutdown();
		if (p[0].revents) {
			struct backend_msg m;
			ssize_t r = recv(sv->sock_fd, &m, sizeof(m), MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN))
				sv_shutdown();	/* the core is gone */
			if (r == sizeof(m) && m.type == BACKEND_MSG_SHUTDOWN)
				sv_shutdown();
			if (r == sizeof(m) && m.type == BACKEND_MSG_RESTART)
				sv_on_request(&m);
		}
		for (int k = 1; k < n; k++)
			if (p[k].revents)
				sv_on_exit(owner[k]);
		now = sv_now_ms();
		for (unsigned i = 0; i < sv->ndevs; i++) {
			if (st[i].state == BACKEND_STATE_RESTARTING &&
			    now >= st[i].restart_at_ms)
				sv_restart_due(i);
			sv_check_listening(i);
		}
	}
}
