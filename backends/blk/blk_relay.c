/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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
/* Larger than any message librte_vhost 22.11 sends or accepts. */
#define BLK_RELAY_MAX_PAYLOAD	4096

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

/* Read exactly len bytes; fds that arrive meanwhile are appended. */
static bool blk_relay_read(int from, uint8_t *buf, size_t len, int *fds,
			   int *nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;

	while (len) {
		struct iovec iov = { buf, len };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
		};
		struct cmsghdr *c;
		ssize_t n = recvmsg(from, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int k;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				if (*nfds < VHOST_USER_MAX_FDS)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Copy one vhost-user message with the fds that came with it.  Message
 * by message, reading as librte_vhost does (header, then payload): a
 * stream read can join several messages, and fds must stay with theirs.
 * False at EOF or on a malformed message.
 */
static bool blk_relay_copy(int from, int to)
{
	uint8_t buf[VHOST_USER_HEADER_SIZE + BLK_RELAY_MAX_PAYLOAD];
	struct vhost_user_header hdr;
	union {
		char b[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[VHOST_USER_MAX_FDS], nfds = 0;
	bool ok = false;
	size_t len, sent = 0;

	if (!blk_relay_read(from, buf, sizeof(hdr), fds, &nfds))
		goto out;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.size > BLK_RELAY_MAX_PAYLOAD) {
		log_err(TAG, "message %u with a %u-byte payload: closing",
			hdr.request, hdr.size);
		goto out;
	}
	if (!blk_relay_read(from, buf + sizeof(hdr), hdr.size, fds, &nfds))
		goto out;
	len = sizeof(hdr) + hdr.size;
	iov.iov_len = len;
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (sent < len) {
		ssize_t n;

		iov.iov_base = buf + sent;
		iov.iov_len = len - sent;
		n = sendmsg(to, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		sent += (size_t)n;
		mh.msg_control = NULL;		/* fds go with the first bytes */
		mh.msg_controllen = 0;
	}
	ok = true;
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return ok;
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
