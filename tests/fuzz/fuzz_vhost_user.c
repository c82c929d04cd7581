/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the vhost-user decoder: arbitrary bytes as a
 * request, as a request/reply pair, or as a socket byte stream, with a
 * fuzzer-chosen number of (/dev/null) fds.  Must never crash, and every
 * fd must be closed once the message is done with (abort() otherwise).
 *
 * Input: b0 mode (bits 0-1) and channel (bit 2); b1 fd counts (low
 * nibble: first message, high: second; each % 10, so 9 > the maximum
 * of 8 is reachable); b2 nvrings; b3-b4 length of the first message in
 * reply mode; the rest is message bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

/* libFuzzer's entry points (no header declares them). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEST_FDS	9

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Rejections are expected here; only real errors would matter. */
	log_init("fuzz", LOG_LEVEL_ERR);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		abort();
	return 0;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void open_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 0);
		if (fds[i] < 0)
			abort();
	}
}

/* After a message is finished with, none of its fds may stay open. */
static void assert_closed(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fcntl(fds[i], F_GETFD) != -1 || errno != EBADF)
			abort();
	}
}

/* Touch what a handler would read from a request that passed. */
static void use_request(const struct vhost_user_msg *msg,
			enum vhost_user_channel channel)
{
	char buf[64];
	int ret;

	(void)vhost_user_expects_reply(msg, channel, msg->payload.u64);
	if (!vhost_user_request_info(channel, msg->hdr.request))
		abort();	/* decode accepted an unknown request */
	ret = vhost_user_protocol_features_format(msg->payload.u64, buf,
						  1 + msg->hdr.size % 64);
	if (ret && ret != -ENOSPC)
		abort();
	if (strlen(buf) > 63)
		abort();
}

static void fuzz_decode(const uint8_t *data, size_t size, unsigned nfds,
			enum vhost_user_channel channel, unsigned nvrings)
{
	struct vhost_user_msg msg;
	int fds[MAX_TEST_FDS];

	open_fds(fds, nfds);
	if (vhost_user_msg_parse(&msg, data, size, fds, nfds) == 0 &&
	    vhost_user_decode(&msg, channel, nvrings) == 0) {
		if (msg.nfds > VHOST_USER_MAX_FDS)
			abort();
		use_request(&msg, channel);
	}
	vhost_user_msg_close_fds(&msg);
	assert_closed(fds, nfds);
}

static void fuzz_reply(const uint8_t *data, size_t size, size_t req_len,
		       unsigned req_nfds, unsigned rep_nfds,
		       enum vhost_user_channel channel, unsigned nvrings)
{
	struct vhost_user_msg req, rep;
	int req_fds[MAX_TEST_FDS], rep_fds[MAX_TEST_FDS];

	if (req_len > size)
		req_len = size;
	open_fds(req_fds, req_nfds);
	open_fds(rep_fds, rep_nfds);
	/* Only a request that passes decode is ever sent and answered. */
	if (vhost_user_msg_parse(&req, data, req_len, req_fds, req_nfds) == 0 &&
	    vhost_user_decode(&req, channel, nvrings) == 0) {
		vhost_user_msg_close_fds(&req);
		if (vhost_user_msg_parse(&rep, data + req_len, size - req_len,
					 rep_fds, rep_nfds) == 0 &&
		    vhost_user_reply_check(&req, &rep, channel) == 0 &&
		    rep.nfds > 1)
			abort();	/* no reply carries more than one */
		vhost_user_msg_close_fds(&rep);
	} else {
		vhost_user_msg_close_fds(&req);
		for (unsigned i = 0; i < rep_nfds; i++)
			close(rep_fds[i]);
	}
	assert_closed(req_fds, req_nfds);
	assert_closed(rep_fds, rep_nfds);
}

/* The bytes as a stream: every message in it, fds on the first write. */
static void fuzz_stream(const uint8_t *data, size_t size, unsigned nfds,
			enum vhost_user_channel channel, unsigned nvrings)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_TEST_FDS)];
	} control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct vhost_user_msg msg;
	int fds[MAX_TEST_FDS], sv[2];

	if (!size || size > 64 * 1024)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	open_fds(fds, nfds);
	if (nfds) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	if (sendmsg(sv[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)size)
		abort();
	/* The peer's copies are ours to close; received ones are new fds. */
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	close(sv[0]);

	for (int n = 0; n < 64; n++) {
		int ret = vhost_user_recv(sv[1], &msg, 0);

		if (ret && ret != -EINVAL)
			break;	/* EOF, timeout or lost framing */
		if (ret == 0 && vhost_user_decode(&msg, channel, nvrings) == 0)
			use_request(&msg, channel);
		vhost_user_msg_close_fds(&msg);
	}
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum vhost_user_channel channel;
	unsigned mode, nfds_a, nfds_b, nvrings;
	size_t req_len;
	int before;

	if (size < 5)
		return 0;
	mode = data[0] & 3;
	channel = (data[0] & 4) ? VHOST_USER_CHANNEL_BACKEND :
				  VHOST_USER_CHANNEL_FRONTEND;
	nfds_a = (data[1] & 0xf) % (MAX_TEST_FDS + 1);
	nfds_b = (data[1] >> 4) % (MAX_TEST_FDS + 1);
	nvrings = data[2] + 1;
	req_len = data[3] | (size_t)data[4] << 8;
	data += 5;
	size -= 5;

	before = count_open_fds();
	switch (mode) {
	case 0:
		fuzz_decode(data, size, nfds_a, channel, nvrings);
		break;
	case 1:
		fuzz_reply(data, size, req_len, nfds_a, nfds_b, channel,
			   nvrings);
		break;
	default:
		fuzz_stream(data, size, nfds_a, channel, nvrings);
		break;
	}
	if (count_open_fds() != before)
		abort();	/* an fd leaked */
	return 0;
}
