/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

#define TAG	"relay"

struct blk_relay {
	int front_fd;		/* the socket we were given */
	int back_fd;		/* our connection to librte_vhost */
	int stop_fd;
	pid_t pid;
	bool running;
	pthread_t thread;
	char dir[64];
	char path[108];
};

int blk_relay_create(int fd, struct blk_relay **out)
{
	struct blk_relay *r;
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);

	*out = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	if (type != SOCK_STREAM || domain != AF_UNIX)
		return -ENOTSOCK;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->front_fd = fd;
	r->back_fd = -1;
	r->stop_fd = eventfd(0, EFD_CLOEXEC);
	snprintf(r->dir, sizeof(r->dir), "/tmp/splitvm-blk.XXXXXX");
	if (r->stop_fd < 0 || !mkdtemp(r->dir)) {
		int err = -errno;

		if (r->stop_fd >= 0)
			close(r->stop_fd);
		free(r);
		return err;
	}
	snprintf(r->path, sizeof(r->path), "%s/vhost.sock", r->dir);
	*out = r;
	return 0;
}

const char *blk_relay_path(const struct blk_relay *r)
{
	return r->path;
}

/* Copy one chunk and the fds that came with it; false at EOF or error. */
static bool blk_relay_copy(int from, int to)
{
	char buf[4096];
	union {
		char b[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	int fds[VHOST_USER_MAX_FDS], nfds = 0;
	struct cmsghdr *c;
	ssize_t n, sent;

	n = recvmsg(from, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return false;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (int i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				if (nfds < VHOST_USER_MAX_FDS)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		}
	}
	iov.iov_len = (size_t)n;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	sent = sendmsg(to, &mh, MSG_NOSIGNAL);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* Control messages are small; the rest of a short send follows. */
	while (sent > 0 && sent < n) {
		ssize_t more = send(to, buf + sent, (size_t)(n - sent),
				    MSG_NOSIGNAL);

		if (more <= 0)
			return false;
		sent += more;
	}
	return sent == n;
}

static void *blk_relay_thread(void *arg)
{
	struct blk_relay *r = arg;
	struct pollfd p[3] = {
		{ .fd = r->front_fd, .events = POLLIN },
		{ .fd = r->back_fd, .events = POLLIN },
		{ .fd = r->stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			return NULL;
		if (p[0].revents && !blk_relay_copy(r->front_fd, r->back_fd))
			break;
		if (p[1].revents && !blk_relay_copy(r->back_fd, r->front_fd))
			break;
	}
	log_info(TAG, "front-end socket closed: exiting");
	kill(r->pid, SIGTERM);
	return NULL;
}

int blk_relay_start(struct blk_relay *r, pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	r->back_fd = fd;
	r->pid = pid;
	ret = -pthread_create(&r->thread, NULL, blk_relay_thread, r);
	if (!ret)
		r->running = true;
	return ret;
}

void blk_relay_destroy(struct blk_relay *r)
{
	if (!r)
		return;
	if (r->running) {
		if (eventfd_write(r->stop_fd, 1) == 0)
			pthread_join(r->thread, NULL);
	}
	if (r->back_fd >= 0)
		close(r->back_fd);
	close(r->stop_fd);
	unlink(r->path);
	rmdir(r->dir);
	free(r);
}
