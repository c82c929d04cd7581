/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user messages over a SOCK_STREAM unix socket: fds travel as
 * SCM_RIGHTS, every wait is bounded by a deadline.
 */
#include "vhost_user.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Room for one full message's worth of fds and no more. */
#define FD_CONTROL_SIZE	CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until deadline; 0 when it is worth retrying. */
static int wait_ready(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		/* Ready, or HUP/ERR: the next call reports which. */
		return 0;
	}
}

int vhost_user_send(int sock, const struct vhost_user_msg *msg,
		    int timeout_ms)
{
	union {
		struct cmsghdr align;
		char buf[FD_CONTROL_SIZE];
	} control;
	size_t total, sent = 0;
	int64_t deadline;
	int ret;

	if (timeout_ms < 0 || msg->nfds > VHOST_USER_MAX_FDS ||
	    msg->hdr.size > VHOST_USER_PAYLOAD_MAX_SIZE)
		return -EINVAL;
	for (unsigned i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] < 0)
			return -EBADF;
	}

	deadline = now_ms() + timeout_ms;
	total = VHOST_USER_HEADER_SIZE + msg->hdr.size;
	while (sent < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		/* Whatever of header and payload is still unsent. */
		if (sent < VHOST_USER_HEADER_SIZE) {
			iov[0].iov_base = (char *)&msg->hdr + sent;
			iov[0].iov_len = VHOST_USER_HEADER_SIZE - sent;
			iov[1].iov_base = (void *)&msg->payload;
			iov[1].iov_len = msg->hdr.size;
			mh.msg_iovlen = msg->hdr.size ? 2 : 1;
		} else {
			iov[0].iov_base = (char *)&msg->payload +
					  (sent - VHOST_USER_HEADER_SIZE);
			iov[0].iov_len = total - sent;
			mh.msg_iovlen = 1;
		}
		/* The fds ride with the first byte, and only once. */
		if (sent == 0 && msg->nfds) {
			struct cmsghdr *cmsg;

			memset(&control, 0, sizeof(control));
			mh.msg_control = control.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * msg->nfds);
			cmsg = CMSG_FIRSTHDR(&mh);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int) * msg->nfds);
			memcpy(CMSG_DATA(cmsg), msg->fds,
			       sizeof(int) * msg->nfds);
		}

		n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return -ECONNRESET;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			ret = wait_ready(sock, POLLOUT, deadline);
			if (ret)
				return ret;
			continue;
		}
		sent += n;
	}
	return 0;
}

/*
 * Keep the SCM_RIGHTS fds of one read: as many as the message has room
 * for; the others are closed and the message marked as carrying too many.
 */
static void collect_fds(struct msghdr *mh, struct vhost_user_msg *msg,
			bool *too_many)
{
	struct cmsghdr *cmsg;

	/* The kernel dropped fds that did not fit the control buffer. */
	if (mh->msg_flags & MSG_CTRUNC)
		*too_many = true;
	for (cmsg = CMSG_FIRSTHDR(mh); cmsg; cmsg = CMSG_NXTHDR(mh, cmsg)) {
		size_t n;
		int fd;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			       sizeof(fd));
			if (msg->nfds < VHOST_USER_MAX_FDS) {
				msg->fds[msg->nfds++] = fd;
			} else {
				close(fd);
				*too_many = true;
			}
		}
	}
}

/* Read exactly len bytes (in as many reads as it takes) by deadline. */
static int recv_bytes(int sock, void *buf, size_t len,
		      struct vhost_user_msg *msg, bool *too_many,
		      int64_t deadline)
{
	size_t got = 0;
	int ret;

	while (got < len) {
		union {
			struct cmsghdr align;
			char buf[FD_CONTROL_SIZE];
		} control;
		struct iovec iov = {
			.iov_base = (char *)buf + got,
			.iov_len = len - got,
		};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n;

		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			ret = wait_ready(sock, POLLIN, deadline);
			if (ret)
				return ret;
			continue;
		}
		collect_fds(&mh, msg, too_many);
		if (n == 0)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

int vhost_user_recv(int sock, struct vhost_user_msg *msg, int timeout_ms)
{
	bool too_many = false;
	int64_t deadline;
	int ret;

	vhost_user_msg_init(msg, 0, 0);
	msg->hdr.flags = 0;
	if (timeout_ms < 0)
		return -EINVAL;
	deadline = now_ms() + timeout_ms;

	ret = recv_bytes(sock, &msg->hdr, VHOST_USER_HEADER_SIZE, msg,
			 &too_many, deadline);
	if (!ret && msg->hdr.size > VHOST_USER_PAYLOAD_MAX_SIZE)
		ret = -EMSGSIZE;
	if (!ret && msg->hdr.size)
		ret = recv_bytes(sock, &msg->payload, msg->hdr.size, msg,
				 &too_many, deadline);
	/* A whole message was read: the stream is still in step. */
	if (!ret && too_many)
		ret = -EINVAL;
	if (ret)
		vhost_user_msg_close_fds(msg);
	return ret;
}
