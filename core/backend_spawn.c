/* SPDX-License-Identifier: GPL-2.0-only */
#include "backend_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_msg.h"
#include "event.h"
#include "log.h"
#include "supervisor.h"

#define TAG "backends"
/* How long the core waits at exit for the supervisor to clean up. */
#define BACKEND_STOP_TIMEOUT_MS	6000
/* How long the core waits at start for the back-ends to listen. */
#define BACKEND_START_TIMEOUT_MS	30000

struct backend_spawn {
	int fd;				/* to the supervisor, -1 once stopped */
	pid_t pid;
	struct event_loop *loop;	/* while watched */
	struct backend_spec specs[VM_MAX_VHOST_USER_DEVS];
	struct backend_msg status[VM_MAX_VHOST_USER_DEVS];
};

/* snprintf that says -ENAMETOOLONG instead of cutting a path short. */
static int backend_path(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int backend_path(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

bool backend_spawn_needed(const struct backend_config *cfg,
			  const struct vm_config *vm)
{
	for (unsigned i = 0; i < vm->nr_vhost_user; i++)
		if (cfg->specs[i].kind != BACKEND_EXTERNAL)
			return true;
	return false;
}

/* ---- before the fork: programs, images, directories --------------------- */

/*
 * The program as an O_PATH fd, so the supervisor can run it as another
 * user without needing to reach its directory: DIR/name with
 * --backend-dir, else next to splitvm (installed) or in the build tree.
 */
static int backend_open_program(const struct backend_config *cfg,
				const char *name, const char *subdir)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	const char *cands[2];
	unsigned n = 0;
	struct stat sb;
	ssize_t len;
	char *slash;

	if (cfg->dir) {
		snprintf(path, sizeof(path), "%s/%s", cfg->dir, name);
		cands[n++] = strdup(path);
	} else {
		len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (len < 0)
			return -errno;
		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/%s", exe, name);
		cands[n++] = strdup(path);
		snprintf(path, sizeof(path), "%s/../backends/%s/%s", exe, subdir,
			 name);
		cands[n++] = strdup(path);
	}
	for (unsigned i = 0; i < n; i++) {
		int fd = cands[i] ? open(cands[i], O_PATH | O_CLOEXEC) : -1;

		if (fd >= 0 && !fstat(fd, &sb) && S_ISREG(sb.st_mode) &&
		    (sb.st_mode & 0111)) {
			log_debug(TAG, "%s: %s", name, cands[i]);
			for (unsigned k = 0; k < n; k++)
				free((void *)cands[k]);
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	log_err(TAG, "cannot find the program %s (looked in %s%s%s; see "
		"--backend-dir)", name, cands[0] ? cands[0] : "?",
		n > 1 ? " and " : "", n > 1 && cands[1] ? cands[1] : "");
	for (unsigned k = 0; k < n; k++)
		free((void *)cands[k]);
	return -ENOENT;
}

/* Opened here, with the core's rights: the back-end needs no path. */
static int backend_open_image(const struct backend_spec *s)
{
	struct stat sb;
	uint64_t bytes = 0;
	int fd = open(s->image, (s->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		int r = -errno;

		log_err(TAG, "--disk path=%s: %s", s->image, strerror(-r));
		return r;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		bytes = (uint64_t)sb.st_size;
	else if (S_ISBLK(sb.st_mode) && ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		bytes = 0;
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		log_err(TAG, "--disk path=%s: not a file or a block device",
			s->image);
		close(fd);
		return -EINVAL;
	}
	if (bytes < 512) {
		log_err(TAG, "--disk path=%s: smaller than one 512-byte sector",
			s->image);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/*
 * A directory of ours: made with mode (and, as root, the owner and group
 * given), or, when it exists and may (exist_ok), checked to be a real
 * directory with that owner that nobody else may write to.
 */
static int backend_dir(const char *path, mode_t mode, uid_t uid, gid_t gid,
		       bool root, bool exist_ok)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0) {
		if ((root && chown(path, uid, gid)) || chmod(path, mode)) {
			int r = -errno;

			log_err(TAG, "%s: %s", path, strerror(-r));
			rmdir(path);
			return r;
		}
		return 0;
	}
	if (errno != EEXIST || !exist_ok) {
		int r = -errno;

		log_err(TAG, "cannot make %s: %s", path, strerror(-r));
		return r;
	}
	/*
	 * Another core may have made it a moment ago and not yet given it
	 * its owner and mode: give it a little while.
	 */
	for (int tries = 0; tries < 50; tries++) {
		if (lstat(path, &sb) || !S_ISDIR(sb.st_mode) ||
		    (sb.st_uid == uid && !(sb.st_mode & 022) &&
		     (sb.st_mode & 07777) == mode))
			break;
		usleep(10000);
	}
	if (lstat(path, &sb) || !S_ISDIR(sb.st_mode) || sb.st_uid != uid ||
	    (sb.st_mode & 022)) {
		log_err(TAG, "%s exists but is not a directory owned by uid %u "
			"that only it may write to", path, (unsigned)uid);
		return -EPERM;
	}
	if (root && sb.st_gid != gid) {
		log_err(TAG, "%s belongs to group %u, this VM's core runs as "
			"group %u: VMs sharing a switch need the same --user "
			"group", path, (unsigned)sb.st_gid, (unsigned)gid);
		return -EPERM;
	}
	return 0;
}

/*
 * BASE/u<UID>/vm-<PID>/ (0710 + setgid, group: the core's) for this VM's
 * sockets; BASE/u<UID>/net-<NAME>/ for each switch.  BASE is
 * /run/splitvm as root, else $XDG_RUNTIME_DIR/splitvm or
 * /tmp/splitvm-<uid>.
 */
static int backend_dirs(const struct backend_config *cfg, uid_t uid, gid_t gid,
			struct supervisor_config *sc, char *user_dir, size_t len)
{
	bool root = geteuid() == 0;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char base[SUPERVISOR_PATH_MAX];
	mode_t dmode = root ? 02710 : 0700;
	int r;

	if (root)
		snprintf(base, sizeof(base), "/run/splitvm");
	else if (xdg && xdg[0] == '/' && strlen(xdg) < 48)
		snprintf(base, sizeof(base), "%s/splitvm", xdg);
	else
		snprintf(base, sizeof(base), "/tmp/splitvm-%u",
			 (unsigned)getuid());
	r = backend_dir(base, root ? 0711 : 0700, root ? 0 : getuid(), 0, false,
			true);
	if (!r)
		r = backend_path(user_dir, len, "%s/u%u", base, (unsigned)uid);
	if (!r)
		r = backend_dir(user_dir, root ? 0711 : 0700, uid, gid, root,
				true);
	if (!r)
		r = backend_path(sc->vm_dir, sizeof(sc->vm_dir), "%s/vm-%d",
				 user_dir, (int)getpid());
	if (!r)
		r = backend_dir(sc->vm_dir, dmode, uid, cfg->core_gid, root,
				false);
	(void)cfg;
	return r;
}

/* Root: --backend-user, else the dedicated user, else nobody. */
static int backend_identity(const struct backend_config *cfg, uid_t *uid,
			    gid_t *gid)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		*uid = getuid();
		*gid = getgid();
		if (cfg->has_user && (cfg->uid != *uid || cfg->gid != *gid)) {
			log_err(TAG, "--backend-user: only root can run the "
				"back-ends as another user");
			return -EPERM;
		}
		return 0;
	}
	if (cfg->has_user) {
		*uid = cfg->uid;
		*gid = cfg->gid;
	} else if ((pw = getpwnam(BACKEND_DEFAULT_USER))) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		*uid = 65534;
		*gid = 65534;
	}
	if (*uid == 0) {
		log_err(TAG, "--backend-user: back-ends never run as root");
		return -EPERM;
	}
	return 0;
}

static int backend_fill(const struct backend_config *cfg, struct vm_config *vm,
			struct supervisor_config *sc, const char *user_dir)
{
	unsigned nblk = 0, nnet = 0;
	int r;

	for (unsigned i = 0; i < vm->nr_vhost_user; i++) {
		const struct backend_spec *s = &cfg->specs[i];
		struct vhost_user_dev_spec *vs = &vm->vhost_user[i];
		struct supervisor_dev *d = &sc->devs[sc->ndevs];
		bool blk = vs->type == VHOST_USER_DEV_BLK;
		unsigned no = blk ? nblk++ : nnet++;

		if (s->kind == BACKEND_EXTERNAL)
			continue;
		memset(d, 0, sizeof(*d));
		d->kind = s->kind;
		d->image_fd = -1;
		snprintf(d->name, sizeof(d->name), "%s%u", blk ? "blk" : "net", no);
		if (s->kind == BACKEND_BLK) {
			r = backend_open_image(s);
			if (r < 0)
				return r;
			d->image_fd = r;
			d->readonly = s->readonly;
			d->queues = vs->queues ? vs->queues : 1;
			r = backend_path(d->sock_path, sizeof(d->sock_path),
					 "%s/%s.sock", sc->vm_dir, d->name);
		} else {
			r = backend_path(d->switch_dir, sizeof(d->switch_dir),
					 "%s/net-%s", user_dir, s->switch_name);
			if (!r)
				r = backend_dir(d->switch_dir,
						geteuid() ? 0700 : 02710, sc->uid,
						cfg->core_gid, geteuid() == 0,
						true);
			d->vlan = s->vlan;
			if (!r)
				r = backend_path(d->port_name, sizeof(d->port_name),
						 "vm%d-%s", (int)getpid(), d->name);
			if (!r)
				r = backend_path(d->sock_path, sizeof(d->sock_path),
						 "%s/%s.sock", d->switch_dir,
						 d->port_name);
		}
		if (r)
			return r;
		if (strlen(d->sock_path) >= sizeof(vs->socket_path))
			return -ENAMETOOLONG;
		strcpy(vs->socket_path, d->sock_path);
		sc->dev_index[sc->ndevs++] = i;
	}
	return 0;
}

static void backend_close_fds(struct supervisor_config *sc)
{
	for (unsigned i = 0; i < sc->ndevs; i++)
		if (sc->devs[i].image_fd >= 0)
			close(sc->devs[i].image_fd);
	if (sc->blk_bin_fd >= 0)
		close(sc->blk_bin_fd);
	if (sc->net_bin_fd >= 0)
		close(sc->net_bin_fd);
}

static bool backend_read_reports(struct backend_spawn *bs);

/*
 * Until every spawned back-end listens (a switch may have to start
 * first), so that the devices' own 5 s connect time-out is not spent on
 * DPDK's start-up.  After BACKEND_START_TIMEOUT_MS the devices try anyway
 * and say what they find.
 */
static void backend_wait_running(struct backend_spawn *bs)
{
	struct timespec t0, now;
	long waited = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (waited < BACKEND_START_TIMEOUT_MS) {
		struct pollfd p = { .fd = bs->fd, .events = POLLIN };
		bool all = true;

		/* Running, or died starting: waiting longer will not help. */
		for (unsigned i = 0; i < VM_MAX_VHOST_USER_DEVS; i++)
			if (bs->specs[i].kind != BACKEND_EXTERNAL &&
			    bs->status[i].state != BACKEND_STATE_RUNNING &&
			    bs->status[i].state != BACKEND_STATE_RESTARTING &&
			    !bs->status[i].restarts)
				all = false;
		if (all)
			return;
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return;
		if (!backend_read_reports(bs))
			return;		/* the supervisor is gone */
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - t0.tv_sec) * 1000 +
			 (now.tv_nsec - t0.tv_nsec) / 1000000;
	}
	log_warn(TAG, "back-ends not all listening after %d s; connecting anyway",
		 BACKEND_START_TIMEOUT_MS / 1000);
}

int backend_spawn_start(const struct backend_config *cfg, struct vm_config *vm,
			struct backend_spawn **out)
{
	static struct supervisor_config sc;
	char user_dir[SUPERVISOR_PATH_MAX];
	struct backend_spawn *bs;
	bool need_blk = false, need_net = false;
	int sp[2], r;

	memset(&sc, 0, sizeof(sc));
	sc.blk_bin_fd = sc.net_bin_fd = -1;
	sc.seccomp = cfg->seccomp ? cfg->seccomp : "kill";
	sc.verbosity = cfg->verbosity;
	for (unsigned i = 0; i < vm->nr_vhost_user; i++) {
		need_blk |= cfg->specs[i].kind == BACKEND_BLK;
		need_net |= cfg->specs[i].kind == BACKEND_SWITCH;
	}
	r = backend_identity(cfg, &sc.uid, &sc.gid);
	if (r)
		return r;
	sc.change_id = geteuid() == 0;
	if (need_blk && (sc.blk_bin_fd = backend_open_program(cfg,
					"splitvm-blk", "blk")) < 0)
		return sc.blk_bin_fd;
	if (need_net && (sc.net_bin_fd = backend_open_program(cfg,
					"splitvm-net", "net")) < 0) {
		r = sc.net_bin_fd;
		goto err;
	}
	r = backend_dirs(cfg, sc.uid, sc.gid, &sc, user_dir, sizeof(user_dir));
	if (r)
		goto err;
	r = backend_fill(cfg, vm, &sc, user_dir);
	if (r) {
		if (r == -ENAMETOOLONG)
			log_err(TAG, "socket path under %s too long", user_dir);
		rmdir(sc.vm_dir);
		goto err;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
				 SOCK_NONBLOCK, 0, sp)) {
		r = bs ? -errno : -ENOMEM;
		free(bs);
		rmdir(sc.vm_dir);
		goto err;
	}
	memcpy(bs->specs, cfg->specs, sizeof(bs->specs));
	fflush(NULL);
	bs->pid = fork();
	if (bs->pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* The console is the core's: not ours, not the back-ends'. */
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(sp[0]);
		sc.sock_fd = sp[1];
		supervisor_main(&sc);
	}
	r = bs->pid < 0 ? -errno : 0;
	close(sp[1]);
	backend_close_fds(&sc);
	if (r) {
		close(sp[0]);
		free(bs);
		log_err(TAG, "fork: %s", strerror(-r));
		return r;
	}
	bs->fd = sp[0];
	for (unsigned i = 0; i < VM_MAX_VHOST_USER_DEVS; i++)
		bs->status[i].dev = i;
	log_info(TAG, "supervisor pid %d starts %u back-end%s in %s",
		 (int)bs->pid, sc.ndevs, sc.ndevs == 1 ? "" : "s", sc.vm_dir);
	backend_wait_running(bs);
	*out = bs;
	return 0;
err:
	backend_close_fds(&sc);
	return r;
}

/* ---- while the VM runs (main thread) ------------------------------------- */

/* Keep what the supervisor reported; false once it hung up. */
static bool backend_read_reports(struct backend_spawn *bs)
{
	struct backend_msg m;
	ssize_t n;

	/* read/write: recvfrom is not on the core's seccomp list. */
	while ((n = read(bs->fd, &m, sizeof(m))) == sizeof(m)) {
		/* From a less privileged process: checked before use. */
		if (m.type != BACKEND_MSG_STATUS || m.dev >= VM_MAX_VHOST_USER_DEVS ||
		    m.state > BACKEND_STATE_STOPPED)
			continue;
		if (m.result == -EBUSY)
			log_warn(TAG, "dev %u: a switch other VMs share is not "
				 "restarted for one of them", m.dev);
		bs->status[m.dev] = m;
	}
	return n != 0;
}

static void backend_on_message(void *opaque, int fd, uint32_t events)
{
	struct backend_spawn *bs = opaque;

	if (!backend_read_reports(bs) || (events & (EPOLLHUP | EPOLLERR))) {
		log_err(TAG, "the back-end supervisor is gone: spawned back-ends "
			"are no longer restarted");
		event_loop_del(bs->loop, fd);
		bs->loop = NULL;
	}
}

int backend_spawn_watch(struct backend_spawn *bs, struct event_loop *loop)
{
	int r;

	if (!bs)
		return 0;
	r = event_loop_add(loop, bs->fd, EPOLLIN, backend_on_message, bs);
	if (!r)
		bs->loop = loop;
	return r;
}

void backend_spawn_unwatch(struct backend_spawn *bs)
{
	if (bs && bs->loop) {
		event_loop_del(bs->loop, bs->fd);
		bs->loop = NULL;
	}
}

void backend_spawn_get(struct backend_spawn *bs, unsigned dev,
		       struct backend_status *out)
{
	static const char *const states[] = {
		[BACKEND_STATE_STARTING] = "starting",
		[BACKEND_STATE_RUNNING] = "running",
		[BACKEND_STATE_RESTARTING] = "restarting",
		[BACKEND_STATE_STOPPED] = "stopped",
	};
	const struct backend_msg *m;

	memset(out, 0, sizeof(*out));
	if (!bs || dev >= VM_MAX_VHOST_USER_DEVS ||
	    bs->specs[dev].kind == BACKEND_EXTERNAL)
		return;
	m = &bs->status[dev];
	out->spawned = true;
	out->program = bs->specs[dev].kind == BACKEND_BLK ? "splitvm-blk"
							   : "splitvm-net";
	out->switch_name = bs->specs[dev].kind == BACKEND_SWITCH ?
			   bs->specs[dev].switch_name : NULL;
	out->vlan = bs->specs[dev].kind == BACKEND_SWITCH ?
		    &bs->specs[dev].vlan : NULL;
	out->pid = m->pid;
	out->state = states[m->state];
	out->restarts = m->restarts;
}

int backend_spawn_restart(struct backend_spawn *bs, unsigned dev)
{
	struct backend_msg m = { .type = BACKEND_MSG_RESTART, .dev = dev };

	if (!bs || dev >= VM_MAX_VHOST_USER_DEVS ||
	    bs->specs[dev].kind == BACKEND_EXTERNAL)
		return -ENODEV;
	if (bs->specs[dev].kind == BACKEND_SWITCH)
		return -EBUSY;
	if (write(bs->fd, &m, sizeof(m)) != sizeof(m))
		return -EPIPE;
	return 0;
}

void backend_spawn_stop(struct backend_spawn *bs)
{
	struct backend_msg m = { .type = BACKEND_MSG_SHUTDOWN };
	struct pollfd p;
	int left = BACKEND_STOP_TIMEOUT_MS;

	if (!bs)
		return;
	backend_spawn_unwatch(bs);
	/* Then wait for the hang-up: everything it made is gone by then. */
	if (write(bs->fd, &m, sizeof(m)) == sizeof(m)) {
		p = (struct pollfd){ .fd = bs->fd, .events = POLLIN };
		while (left > 0 && poll(&p, 1, 100) >= 0) {
			char buf[sizeof(m)];

			if ((p.revents & POLLIN) &&
			    read(bs->fd, buf, sizeof(buf)) == 0)
				break;
			if (p.revents & (POLLHUP | POLLERR))
				break;
			left -= 100;
		}
	}
	close(bs->fd);
	free(bs);
}
