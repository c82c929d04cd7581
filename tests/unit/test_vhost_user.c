/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * protocol/vhost_user: messages through real socketpairs (fds included),
 * every rejection the decoder and reply matcher promise, socket timeouts,
 * EOF and split reads, and the virtio layout helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user.h"
#include "virtio.h"
#include "testutil.h"
#include "unit.h"

#define FE VHOST_USER_CHANNEL_FRONTEND
#define BE VHOST_USER_CHANNEL_BACKEND
#define NVRINGS 4
#define PAGE 4096

/* ---- helpers ------------------------------------------------------------ */

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void make_pair(int sv[2])
{
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				   sv) == 0);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Bytes straight onto the socket, bypassing vhost_user_send's checks. */
static ssize_t send_raw(int sock, const void *buf, size_t len,
			const int *fds, unsigned nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Header + payload of msg, raw (no validation on the way out). */
static ssize_t send_raw_msg(int sock, const struct vhost_user_msg *msg,
			    const int *fds, unsigned nfds)
{
	uint8_t buf[VHOST_USER_HEADER_SIZE + 512];

	memcpy(buf, &msg->hdr, VHOST_USER_HEADER_SIZE);
	if (msg->hdr.size > sizeof(msg->payload))
		return -1;
	memcpy(buf + VHOST_USER_HEADER_SIZE, &msg->payload, msg->hdr.size);
	return send_raw(sock, buf, VHOST_USER_HEADER_SIZE + msg->hdr.size,
			fds, nfds);
}

/*
 * Send `out` through a fresh socketpair, receive it into `in` and decode
 * it; framing must succeed, the decode result is returned.
 */
static int roundtrip(const struct vhost_user_msg *out,
		     enum vhost_user_channel channel, unsigned nvrings,
		     struct vhost_user_msg *in)
{
	int sv[2], ret;

	make_pair(sv);
	ret = vhost_user_send(sv[0], out, 1000);
	CU_ASSERT_EQUAL(ret, 0);
	ret = vhost_user_recv(sv[1], in, 1000);
	CU_ASSERT_EQUAL(ret, 0);
	close_pair(sv);
	if (ret)
		return ret;
	return vhost_user_decode(in, channel, nvrings);
}

/* What arrived is byte for byte what left, with as many fds. */
static void assert_same_msg(const struct vhost_user_msg *out,
			    const struct vhost_user_msg *in)
{
	CU_ASSERT_EQUAL(in->hdr.request, out->hdr.request);
	CU_ASSERT_EQUAL(in->hdr.flags, out->hdr.flags);
	CU_ASSERT_EQUAL(in->hdr.size, out->hdr.size);
	CU_ASSERT_EQUAL(memcmp(&in->payload, &out->payload, out->hdr.size), 0);
	CU_ASSERT_EQUAL(in->nfds, out->nfds);
	for (unsigned i = 0; i < in->nfds && i < out->nfds; i++) {
		CU_ASSERT_TRUE(same_file(in->fds[i], out->fds[i]));
		/* Received with MSG_CMSG_CLOEXEC. */
		CU_ASSERT_TRUE(fcntl(in->fds[i], F_GETFD) & FD_CLOEXEC);
	}
}

/* Decode a hand-built message (no socket): framing is already right. */
static int decode_local(struct vhost_user_msg *msg,
			enum vhost_user_channel channel)
{
	return vhost_user_decode(msg, channel, NVRINGS);
}

/* Every test must give back every fd it opened. */
static int fds_at_start;

static void fd_setup(void)
{
	fds_at_start = test_count_fds();
}

static void fd_teardown(void)
{
	CU_ASSERT_EQUAL(test_count_fds(), fds_at_start);
}

/* ---- the table ---------------------------------------------------------- */

static void test_table_consistent(void)
{
	static const struct {
		enum vhost_user_channel channel;
		uint32_t count;
	} tables[] = {
		{ FE, VHOST_USER_REQUEST_COUNT },
		{ BE, VHOST_USER_BACKEND_REQUEST_COUNT },
	};

	for (size_t t = 0; t < 2; t++) {
		CU_ASSERT_PTR_NULL(vhost_user_request_info(tables[t].channel, 0));
		CU_ASSERT_PTR_NULL(vhost_user_request_info(tables[t].channel,
							   tables[t].count));
		CU_ASSERT_PTR_NULL(vhost_user_request_info(tables[t].channel,
							   UINT32_MAX));
		for (uint32_t r = 1; r < tables[t].count; r++) {
			const struct vhost_user_request_info *info =
				vhost_user_request_info(tables[t].channel, r);

			CU_ASSERT_PTR_NOT_NULL_FATAL(info);
			CU_ASSERT_PTR_NOT_NULL(info->name);
			CU_ASSERT_TRUE(info->min_size <= info->max_size);
			CU_ASSERT_TRUE(info->max_size <=
				       VHOST_USER_PAYLOAD_MAX_SIZE);
			CU_ASSERT_TRUE(info->reply_min_size <=
				       info->reply_max_size);
			CU_ASSERT_TRUE(info->reply_max_size <=
				       VHOST_USER_PAYLOAD_MAX_SIZE);
		}
	}

	/* A few rows checked against the spec by hand. */
	const struct vhost_user_request_info *i;

	i = vhost_user_request_info(FE, VHOST_USER_SET_MEM_TABLE);
	CU_ASSERT_EQUAL(i->fds, VHOST_USER_FDS_PER_REGION);
	CU_ASSERT_EQUAL(i->min_size, 8);
	CU_ASSERT_EQUAL(i->max_size, 264);
	i = vhost_user_request_info(FE, VHOST_USER_GET_VRING_BASE);
	CU_ASSERT_EQUAL(i->reply, VHOST_USER_REPLY_ALWAYS);
	CU_ASSERT_EQUAL(i->reply_payload, VHOST_USER_PAYLOAD_VRING_STATE);
	i = vhost_user_request_info(FE, VHOST_USER_SET_VRING_CALL);
	CU_ASSERT_EQUAL(i->fds, VHOST_USER_FDS_UNLESS_NOFD);
	i = vhost_user_request_info(FE, VHOST_USER_ADD_MEM_REG);
	CU_ASSERT_EQUAL(i->fds, VHOST_USER_FDS_ONE);
	CU_ASSERT_EQUAL(i->min_size, 40);
	i = vhost_user_request_info(FE, VHOST_USER_GET_CONFIG);
	CU_ASSERT_EQUAL(i->min_size, 12);
	CU_ASSERT_EQUAL(i->max_size, 268);
	i = vhost_user_request_info(BE, VHOST_USER_BACKEND_VRING_CALL);
	CU_ASSERT_EQUAL(i->payload, VHOST_USER_PAYLOAD_VRING_STATE);
	CU_ASSERT_EQUAL(i->fds, VHOST_USER_FDS_NONE);
}

/* ---- round trips, one per payload kind ----------------------------------- */

static void test_roundtrip_no_payload(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_GET_FEATURES, 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	vhost_user_msg_init(&out, VHOST_USER_RESET_DEVICE, 0);
	out.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

static void test_roundtrip_u64(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_SET_FEATURES, 8);
	out.payload.u64 = (1ull << 32) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	vhost_user_msg_init(&out, VHOST_USER_SET_STATUS, 8);
	out.payload.u64 = 0x0f;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

static void test_roundtrip_vring_state(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_NUM, 8);
	out.payload.state.index = NVRINGS - 1;
	out.payload.state.num = 256;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	/* Packed ring: wrap counters in bits 15 and 31 pass untouched. */
	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_BASE, 8);
	out.payload.state.index = 1;
	out.payload.state.num = 0x80058003u;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

static void test_roundtrip_vring_addr(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_ADDR,
			    sizeof(struct vhost_user_vring_addr));
	out.payload.addr.index = 2;
	out.payload.addr.flags = VHOST_USER_VRING_F_LOG;
	out.payload.addr.desc_user_addr = 0x7f0000001000ull;
	out.payload.addr.used_user_addr = 0x7f0000002000ull;
	out.payload.addr.avail_user_addr = 0x7f0000003000ull;
	out.payload.addr.log_guest_addr = 0x2000;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

/* Two memfd regions; the back-end's mapping must be the same memory. */
static void test_roundtrip_mem_table(void)
{
	struct vhost_user_msg out, in;
	size_t sizes[2] = { 2 * PAGE, 4 * PAGE };
	uint64_t offsets[2] = { 0, PAGE };
	uint8_t *front[2], *back[2];
	int memfd[2];

	vhost_user_msg_init(&out, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(2));
	out.payload.mem_table.nregions = 2;
	for (int i = 0; i < 2; i++) {
		struct vhost_user_mem_region *r =
			&out.payload.mem_table.regions[i];

		memfd[i] = memfd_create("vhost-user-test", MFD_CLOEXEC);
		CU_ASSERT_FATAL(memfd[i] >= 0);
		CU_ASSERT_FATAL(ftruncate(memfd[i],
					  offsets[i] + sizes[i]) == 0);
		front[i] = mmap(NULL, offsets[i] + sizes[i],
				PROT_READ | PROT_WRITE, MAP_SHARED, memfd[i], 0);
		CU_ASSERT_FATAL(front[i] != MAP_FAILED);
		r->guest_phys_addr = i ? 0x100000000ull : 0;
		r->memory_size = sizes[i];
		r->userspace_addr = (uintptr_t)front[i] + offsets[i];
		r->mmap_offset = offsets[i];
		CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, memfd[i]), 0);
	}

	CU_ASSERT_EQUAL_FATAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	CU_ASSERT_EQUAL_FATAL(in.nfds, 2);

	for (int i = 0; i < 2; i++) {
		const struct vhost_user_mem_region *r =
			&in.payload.mem_table.regions[i];
		uint8_t *host = front[i] + offsets[i];

		/* Map as a back-end does: the region's range of its fd. */
		back[i] = mmap(NULL, r->memory_size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, in.fds[i], r->mmap_offset);
		CU_ASSERT_FATAL(back[i] != MAP_FAILED);

		/* Front-end writes, back-end reads, and the other way. */
		for (size_t b = 0; b < r->memory_size; b += 512)
			host[b] = (uint8_t)(0x5a ^ b ^ i);
		for (size_t b = 0; b < r->memory_size; b += 512)
			CU_ASSERT_EQUAL(back[i][b], (uint8_t)(0x5a ^ b ^ i));
		back[i][r->memory_size - 1] = 0xc3;
		CU_ASSERT_EQUAL(host[r->memory_size - 1], 0xc3);
		/* The offset was honoured: nothing landed before it. */
		if (offsets[i])
			CU_ASSERT_EQUAL(front[i][offsets[i] - 1], 0);

		munmap(back[i], r->memory_size);
		munmap(front[i], offsets[i] + sizes[i]);
		close(memfd[i]);
	}
	vhost_user_msg_close_fds(&in);
}

static void test_roundtrip_mem_reg(void)
{
	struct vhost_user_msg out, in;
	int memfd = memfd_create("vhost-user-test", MFD_CLOEXEC);

	CU_ASSERT_FATAL(memfd >= 0);
	CU_ASSERT_FATAL(ftruncate(memfd, PAGE) == 0);
	vhost_user_msg_init(&out, VHOST_USER_ADD_MEM_REG,
			    sizeof(struct vhost_user_mem_reg));
	out.payload.mem_reg.region.guest_phys_addr = 0x200000;
	out.payload.mem_reg.region.memory_size = PAGE;
	out.payload.mem_reg.region.userspace_addr = 0x7f0000000000ull;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, memfd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	vhost_user_msg_close_fds(&in);

	/* REM_MEM_REG's stray fd is accepted and closed by the decoder. */
	out.hdr.request = VHOST_USER_REM_MEM_REG;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	CU_ASSERT_EQUAL(in.nfds, 0);
	CU_ASSERT_EQUAL(in.fds[0], -1);
	close(memfd);
}

static void test_roundtrip_log(void)
{
	struct vhost_user_msg out, in;
	int memfd = memfd_create("vhost-user-log", MFD_CLOEXEC);

	CU_ASSERT_FATAL(memfd >= 0);
	vhost_user_msg_init(&out, VHOST_USER_SET_LOG_BASE,
			    sizeof(struct vhost_user_log));
	out.payload.log.mmap_size = 8 * PAGE;
	out.payload.log.mmap_offset = PAGE;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, memfd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	vhost_user_msg_close_fds(&in);
	close(memfd);
}

static void test_roundtrip_vring_fds(void)
{
	struct vhost_user_msg out, in;
	int efd = new_eventfd();
	uint64_t v = 1;

	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_KICK, 8);
	out.payload.u64 = 3;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, efd), 0);
	CU_ASSERT_EQUAL_FATAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	/* The received eventfd is the same counter. */
	CU_ASSERT_EQUAL(write(in.fds[0], &v, sizeof(v)), (ssize_t)sizeof(v));
	v = 0;
	CU_ASSERT_EQUAL(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
	CU_ASSERT_EQUAL(v, 1);
	vhost_user_msg_close_fds(&in);

	/* NOFD: polling, no fd. */
	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_CALL, 8);
	out.payload.u64 = 1 | VHOST_USER_VRING_NOFD_MASK;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	close(efd);
}

static void test_roundtrip_iotlb(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_IOTLB_MSG,
			    sizeof(struct vhost_user_iotlb));
	out.payload.iotlb.iova = 0x1000;
	out.payload.iotlb.size = 0x2000;
	out.payload.iotlb.uaddr = 0x7f0000000000ull;
	out.payload.iotlb.perm = VHOST_USER_IOTLB_PERM_RW;
	out.payload.iotlb.type = VHOST_USER_IOTLB_UPDATE;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	/* The back-end's miss goes the other way. */
	out.hdr.request = VHOST_USER_BACKEND_IOTLB_MSG;
	out.payload.iotlb.type = VHOST_USER_IOTLB_MISS;
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	/* ...and a front-end may not send a miss. */
	out.hdr.request = VHOST_USER_IOTLB_MSG;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);
}

static void test_roundtrip_config(void)
{
	struct vhost_user_msg out, in;

	vhost_user_msg_init(&out, VHOST_USER_SET_CONFIG,
			    VHOST_USER_CONFIG_HEADER_SIZE + 6);
	out.payload.config.offset = 0;
	out.payload.config.size = 6;
	out.payload.config.flags = VHOST_USER_CONFIG_WRITABLE;
	memcpy(out.payload.config.region, "\x52\x54\x00\x12\x34\x56", 6);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	/* The largest message of all: a full 256-byte config space. */
	vhost_user_msg_init(&out, VHOST_USER_GET_CONFIG,
			    VHOST_USER_PAYLOAD_MAX_SIZE);
	out.payload.config.size = VHOST_USER_MAX_CONFIG_SIZE;
	for (int i = 0; i < VHOST_USER_MAX_CONFIG_SIZE; i++)
		out.payload.config.region[i] = (uint8_t)i;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

static void test_roundtrip_inflight(void)
{
	struct vhost_user_msg out, in;
	int memfd = memfd_create("vhost-user-inflight", MFD_CLOEXEC);

	CU_ASSERT_FATAL(memfd >= 0);
	vhost_user_msg_init(&out, VHOST_USER_SET_INFLIGHT_FD,
			    sizeof(struct vhost_user_inflight));
	out.payload.inflight.mmap_size = 2 * PAGE;
	out.payload.inflight.num_queues = 2;
	out.payload.inflight.queue_size = 128;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, memfd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	vhost_user_msg_close_fds(&in);
	close(memfd);

	/* GET_INFLIGHT_FD: the same payload, no fd. */
	vhost_user_msg_init(&out, VHOST_USER_GET_INFLIGHT_FD,
			    sizeof(struct vhost_user_inflight));
	out.payload.inflight.num_queues = NVRINGS;
	out.payload.inflight.queue_size = 1024;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
}

static void test_roundtrip_object_and_state(void)
{
	struct vhost_user_msg out, in;
	int pipefd[2];

	vhost_user_msg_init(&out, VHOST_USER_GET_SHARED_OBJECT,
			    sizeof(struct vhost_user_shared_object));
	for (int i = 0; i < 16; i++)
		out.payload.object.uuid[i] = (uint8_t)(0xa0 + i);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	out.hdr.request = VHOST_USER_BACKEND_SHARED_OBJECT_ADD;
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	CU_ASSERT_FATAL(pipe2(pipefd, O_CLOEXEC) == 0);
	vhost_user_msg_init(&out, VHOST_USER_SET_DEVICE_STATE_FD,
			    sizeof(struct vhost_user_device_state));
	out.payload.device_state.direction = VHOST_USER_TRANSFER_SAVE;
	out.payload.device_state.phase = VHOST_USER_MIGRATION_STOPPED;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, pipefd[1]), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	vhost_user_msg_close_fds(&in);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_roundtrip_backend_channel(void)
{
	struct vhost_user_msg out, in;
	int memfd = memfd_create("vhost-user-notifier", MFD_CLOEXEC);

	/* In-band notification, reserved num 0. */
	vhost_user_msg_init(&out, VHOST_USER_BACKEND_VRING_CALL, 8);
	out.payload.state.index = 1;
	out.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);

	/* CONFIG_CHANGE_MSG: empty, or the zero u64 some back-ends send. */
	vhost_user_msg_init(&out, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 0);
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	out.hdr.size = 8;
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	out.hdr.size = 16;
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), -EMSGSIZE);

	/* Host notifier: vring area plus an fd. */
	CU_ASSERT_FATAL(memfd >= 0);
	vhost_user_msg_init(&out, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
			    sizeof(struct vhost_user_vring_area));
	out.payload.area.u64 = 2;
	out.payload.area.size = PAGE;
	out.payload.area.offset = 4 * PAGE;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, memfd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, BE, NVRINGS, &in), 0);
	assert_same_msg(&out, &in);
	vhost_user_msg_close_fds(&in);
	close(memfd);

	/* The same numbers mean other requests on the main socket. */
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(FE, 4), "RESET_OWNER");
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(BE, 4), "VRING_CALL");
}

/* ---- rejections ---------------------------------------------------------- */

static void test_reject_truncated_header(void)
{
	static const uint8_t hdr[VHOST_USER_HEADER_SIZE] = { 1, 0, 0, 0, 1 };
	struct vhost_user_msg msg;
	int sv[2];

	for (size_t len = 0; len < VHOST_USER_HEADER_SIZE; len++)
		CU_ASSERT_EQUAL(vhost_user_msg_parse(&msg, hdr, len, NULL, 0),
				-EBADMSG);
	CU_ASSERT_EQUAL(vhost_user_msg_parse(&msg, hdr, sizeof(hdr), NULL, 0),
			0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);

	/* On a socket: half a header then silence, then half and EOF. */
	make_pair(sv);
	CU_ASSERT_EQUAL(send_raw(sv[0], hdr, 6, NULL, 0), 6);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 50), -ETIMEDOUT);
	close_pair(sv);
	make_pair(sv);
	CU_ASSERT_EQUAL(send_raw(sv[0], hdr, 6, NULL, 0), 6);
	close(sv[0]);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 1000), -ECONNRESET);
	close(sv[1]);
}

static void test_reject_payload_size(void)
{
	struct vhost_user_msg out, in;
	int sv[2];

	/* u64 requests take exactly 8 bytes. */
	vhost_user_msg_init(&out, VHOST_USER_SET_FEATURES, 4);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	out.hdr.size = 16;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	out.hdr.size = 0;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	/* No-payload requests take nothing. */
	vhost_user_msg_init(&out, VHOST_USER_GET_FEATURES, 8);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	/* Fixed structures take their size. */
	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_ADDR, 32);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	vhost_user_msg_init(&out, VHOST_USER_ADD_MEM_REG, 32);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);
	/* Memory table size must match nregions exactly. */
	vhost_user_msg_init(&out, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(1) + 8);
	out.payload.mem_table.nregions = 0;
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EMSGSIZE);

	/* Bigger than any message: refused before reading the payload. */
	vhost_user_msg_init(&out, VHOST_USER_SET_MEM_TABLE, 0);
	out.hdr.size = VHOST_USER_PAYLOAD_MAX_SIZE + 1;
	make_pair(sv);
	CU_ASSERT_EQUAL(send_raw(sv[0], &out.hdr, VHOST_USER_HEADER_SIZE,
				 NULL, 0), VHOST_USER_HEADER_SIZE);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &in, 100), -EMSGSIZE);
	CU_ASSERT_EQUAL(vhost_user_send(sv[0], &out, 0), -EINVAL);
	close_pair(sv);
}

static void test_reject_nregions(void)
{
	uint8_t buf[VHOST_USER_HEADER_SIZE + VHOST_USER_MEM_TABLE_SIZE(9)];
	struct vhost_user_header hdr = {
		.request = VHOST_USER_SET_MEM_TABLE,
		.flags = VHOST_USER_VERSION,
		.size = VHOST_USER_MEM_TABLE_SIZE(9),
	};
	struct vhost_user_msg msg;
	uint32_t nine = 9;

	/* nregions 9 in a payload of 8 regions: a bad count. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_MEM_TABLE,
			    sizeof(struct vhost_user_mem_table));
	msg.payload.mem_table.nregions = 9;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.mem_table.nregions = UINT32_MAX;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);

	/* A 9-region table is larger than any message can be. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + VHOST_USER_HEADER_SIZE, &nine, sizeof(nine));
	CU_ASSERT_EQUAL(vhost_user_msg_parse(&msg, buf, sizeof(buf), NULL, 0),
			-EMSGSIZE);
}

static void test_reject_fd_count_mem_table(void)
{
	struct vhost_user_msg out, in;
	int memfd[3], sv[2];

	vhost_user_msg_init(&out, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(2));
	out.payload.mem_table.nregions = 2;
	for (int i = 0; i < 3; i++) {
		memfd[i] = memfd_create("vhost-user-test", MFD_CLOEXEC);
		CU_ASSERT_FATAL(memfd[i] >= 0);
	}
	for (int i = 0; i < 2; i++) {
		out.payload.mem_table.regions[i].guest_phys_addr = i * PAGE;
		out.payload.mem_table.regions[i].memory_size = PAGE;
	}

	make_pair(sv);
	CU_ASSERT_EQUAL(send_raw_msg(sv[0], &out, memfd, 3),
			VHOST_USER_HEADER_SIZE + VHOST_USER_MEM_TABLE_SIZE(2));
	CU_ASSERT_EQUAL_FATAL(vhost_user_recv(sv[1], &in, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(in.nfds, 3);
	{
		int got[3] = { in.fds[0], in.fds[1], in.fds[2] };

		CU_ASSERT_EQUAL(vhost_user_decode(&in, FE, NVRINGS), -EINVAL);
		CU_ASSERT_EQUAL(in.nfds, 0);
		for (int i = 0; i < 3; i++)
			CU_ASSERT_FALSE(fd_is_open(got[i]));
	}

	/* Two regions, one fd: also wrong. */
	CU_ASSERT_EQUAL(send_raw_msg(sv[0], &out, memfd, 1),
			VHOST_USER_HEADER_SIZE + VHOST_USER_MEM_TABLE_SIZE(2));
	CU_ASSERT_EQUAL_FATAL(vhost_user_recv(sv[1], &in, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_decode(&in, FE, NVRINGS), -EINVAL);

	/* The sender's own fds are untouched. */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(fd_is_open(memfd[i]));
		close(memfd[i]);
	}
	close_pair(sv);
}

static void test_reject_fd_on_fdless_request(void)
{
	struct vhost_user_msg out, in;
	int efd = new_eventfd(), sv[2], got;

	vhost_user_msg_init(&out, VHOST_USER_SET_FEATURES, 8);
	make_pair(sv);
	CU_ASSERT_EQUAL(send_raw_msg(sv[0], &out, &efd, 1),
			VHOST_USER_HEADER_SIZE + 8);
	CU_ASSERT_EQUAL_FATAL(vhost_user_recv(sv[1], &in, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(in.nfds, 1);
	got = in.fds[0];
	CU_ASSERT_TRUE(fd_is_open(got));
	CU_ASSERT_EQUAL(vhost_user_decode(&in, FE, NVRINGS), -EINVAL);
	CU_ASSERT_FALSE(fd_is_open(got));
	CU_ASSERT_EQUAL(in.nfds, 0);
	CU_ASSERT_EQUAL(in.fds[0], -1);
	close_pair(sv);

	/* Same through vhost_user_send. */
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, efd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);

	/* SET_LOG_FD needs exactly one; two is wrong, none is wrong. */
	vhost_user_msg_init(&out, VHOST_USER_SET_LOG_FD, 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, efd), 0);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, efd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);

	/* A vring fd with NOFD set, and no fd without it. */
	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_ERR, 8);
	out.payload.u64 = VHOST_USER_VRING_NOFD_MASK;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, efd), 0);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);
	vhost_user_msg_init(&out, VHOST_USER_SET_VRING_ERR, 8);
	CU_ASSERT_EQUAL(roundtrip(&out, FE, NVRINGS, &in), -EINVAL);
	close(efd);
}

static void test_reject_unknown_request(void)
{
	static const uint32_t fe_bad[] = { 0, 45, 100, 0x8000, UINT32_MAX };
	static const uint32_t be_bad[] = { 0, 11, 44, UINT32_MAX };
	struct vhost_user_msg msg;
	int efd;

	for (size_t i = 0; i < sizeof(fe_bad) / sizeof(fe_bad[0]); i++) {
		vhost_user_msg_init(&msg, fe_bad[i], 0);
		CU_ASSERT_EQUAL(decode_local(&msg, FE), -EBADMSG);
		CU_ASSERT_STRING_EQUAL(vhost_user_request_name(FE, fe_bad[i]),
				       "UNKNOWN");
	}
	for (size_t i = 0; i < sizeof(be_bad) / sizeof(be_bad[0]); i++) {
		vhost_user_msg_init(&msg, be_bad[i], 0);
		CU_ASSERT_EQUAL(decode_local(&msg, BE), -EBADMSG);
	}
	/* Known, but we do not validate their payloads. */
	vhost_user_msg_init(&msg, VHOST_USER_CREATE_CRYPTO_SESSION, 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EOPNOTSUPP);
	vhost_user_msg_init(&msg, VHOST_USER_GET_SHMEM_CONFIG, 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EOPNOTSUPP);
	vhost_user_msg_init(&msg, VHOST_USER_BACKEND_SHMEM_MAP, 0);
	CU_ASSERT_EQUAL(decode_local(&msg, BE), -EOPNOTSUPP);

	/* The fds of a rejected unknown request are closed too. */
	efd = new_eventfd();
	vhost_user_msg_init(&msg, 77, 0);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, efd), 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EBADMSG);
	CU_ASSERT_FALSE(fd_is_open(efd));
}

static void test_reject_flags(void)
{
	static const uint32_t bad[] = {
		0x0, 0x2, 0x3,			/* version bits */
		VHOST_USER_VERSION | 0x10,	/* undefined bit */
		VHOST_USER_VERSION | 0x80000000u,
		VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, /* on a request */
	};
	struct vhost_user_msg msg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vhost_user_msg_init(&msg, VHOST_USER_GET_FEATURES, 0);
		msg.hdr.flags = bad[i];
		CU_ASSERT_EQUAL(decode_local(&msg, FE), -EPROTO);
	}
	vhost_user_msg_init(&msg, VHOST_USER_GET_FEATURES, 0);
	msg.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
}

static void test_reject_config_size(void)
{
	struct vhost_user_msg msg;

	/* Announces 16 config bytes, carries 4. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_CONFIG,
			    VHOST_USER_CONFIG_HEADER_SIZE + 4);
	msg.payload.config.size = 16;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EMSGSIZE);
	/* Announces fewer than it carries. */
	msg.payload.config.size = 2;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EMSGSIZE);
	/* More than a config space can be. */
	vhost_user_msg_init(&msg, VHOST_USER_GET_CONFIG,
			    VHOST_USER_PAYLOAD_MAX_SIZE);
	msg.payload.config.size = 300;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.config.size = UINT32_MAX;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	/* An access that runs past byte 256, an empty one, bad flags. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_CONFIG,
			    VHOST_USER_CONFIG_HEADER_SIZE + 8);
	msg.payload.config.size = 8;
	msg.payload.config.offset = 252;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.config.offset = UINT32_MAX - 4;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.config.offset = 248;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
	msg.payload.config.flags = 2;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_SET_CONFIG,
			    VHOST_USER_CONFIG_HEADER_SIZE);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
}

static void test_reject_values(void)
{
	struct vhost_user_msg msg;
	struct vhost_user_mem_region *r;

	/* vring index against the caller's vring count. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_VRING_NUM, 8);
	msg.payload.state.index = NVRINGS;
	msg.payload.state.num = 256;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.state.index = NVRINGS - 1;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
	CU_ASSERT_EQUAL(vhost_user_decode(&msg, FE, 0), -EINVAL);
	msg.payload.state.num = 0;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.state.num = VHOST_USER_MAX_QUEUE_SIZE + 1;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);

	vhost_user_msg_init(&msg, VHOST_USER_SET_VRING_KICK, 8);
	msg.payload.u64 = NVRINGS | VHOST_USER_VRING_NOFD_MASK;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.u64 = 1 | VHOST_USER_VRING_NOFD_MASK | (1ull << 9);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);

	vhost_user_msg_init(&msg, VHOST_USER_GET_VRING_BASE, 8);
	msg.payload.state.num = 1;	/* reserved */
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_SET_VRING_ENABLE, 8);
	msg.payload.state.num = 2;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_SET_VRING_ADDR,
			    sizeof(struct vhost_user_vring_addr));
	msg.payload.addr.flags = 2;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);

	/* Memory regions: empty, wrapping, overlapping. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(1));
	msg.payload.mem_table.nregions = 1;
	r = &msg.payload.mem_table.regions[0];
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);	/* no fd */
	vhost_user_msg_init(&msg, VHOST_USER_ADD_MEM_REG,
			    sizeof(struct vhost_user_mem_reg));
	r = &msg.payload.mem_reg.region;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);	/* size 0 */
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	r->memory_size = PAGE;
	r->guest_phys_addr = UINT64_MAX - 100;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	r->guest_phys_addr = 0;
	r->mmap_offset = (uint64_t)INT64_MAX;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);

	vhost_user_msg_init(&msg, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(2));
	msg.payload.mem_table.nregions = 2;
	msg.payload.mem_table.regions[0].guest_phys_addr = 0;
	msg.payload.mem_table.regions[0].memory_size = 2 * PAGE;
	msg.payload.mem_table.regions[1].guest_phys_addr = PAGE;
	msg.payload.mem_table.regions[1].memory_size = PAGE;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	/* Adjacent is fine. */
	msg.payload.mem_table.regions[1].guest_phys_addr = 2 * PAGE;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
	CU_ASSERT_EQUAL(msg.nfds, 2);
	vhost_user_msg_close_fds(&msg);

	/* Plain values. */
	vhost_user_msg_init(&msg, VHOST_USER_NET_SET_MTU, 8);
	msg.payload.u64 = 67;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	msg.payload.u64 = 1500;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
	vhost_user_msg_init(&msg, VHOST_USER_SET_STATUS, 8);
	msg.payload.u64 = 0x100;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_GET_INFLIGHT_FD,
			    sizeof(struct vhost_user_inflight));
	msg.payload.inflight.num_queues = NVRINGS + 1;
	msg.payload.inflight.queue_size = 128;
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_BACKEND_VRING_ERR, 8);
	msg.payload.state.num = 1;
	CU_ASSERT_EQUAL(decode_local(&msg, BE), -EINVAL);
	vhost_user_msg_init(&msg, VHOST_USER_SET_DEVICE_STATE_FD,
			    sizeof(struct vhost_user_device_state));
	msg.payload.device_state.phase = 1;
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&msg, new_eventfd()), 0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), -EINVAL);
}

/* ---- replies ------------------------------------------------------------- */

static void test_reply_match(void)
{
	struct vhost_user_msg req, rep;
	int sv[2];

	/* A real exchange: back-end answers GET_FEATURES. */
	vhost_user_msg_init(&req, VHOST_USER_GET_FEATURES, 0);
	make_pair(sv);
	CU_ASSERT_EQUAL(vhost_user_send(sv[0], &req, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &rep, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_decode(&rep, FE, NVRINGS), 0);
	vhost_user_reply_init(&rep, &req, 8);
	rep.payload.u64 = 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	CU_ASSERT_EQUAL(vhost_user_send(sv[1], &rep, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[0], &rep, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	CU_ASSERT_EQUAL(rep.payload.u64, 1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	close_pair(sv);

	/* No REPLY flag. */
	rep.hdr.flags = VHOST_USER_VERSION;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EPROTO);
	/* NEED_REPLY on a reply, bad version. */
	rep.hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY |
			VHOST_USER_FLAG_NEED_REPLY;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EPROTO);
	rep.hdr.flags = 2 | VHOST_USER_FLAG_REPLY;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EPROTO);
	/* A reply to another request. */
	vhost_user_reply_init(&rep, &req, 8);
	rep.hdr.request = VHOST_USER_GET_PROTOCOL_FEATURES;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EPROTO);
	/* Wrong size. */
	vhost_user_reply_init(&rep, &req, 4);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EMSGSIZE);
	vhost_user_reply_init(&rep, &req, 16);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EMSGSIZE);
	/* An fd where none belongs is closed. */
	{
		int efd = new_eventfd();

		vhost_user_reply_init(&rep, &req, 8);
		CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, efd), 0);
		CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE),
				-EINVAL);
		CU_ASSERT_FALSE(fd_is_open(efd));
	}
}

static void test_reply_payloads(void)
{
	struct vhost_user_msg req, rep;

	/* REPLY_ACK: a u64 status. */
	vhost_user_msg_init(&req, VHOST_USER_SET_VRING_NUM, 8);
	req.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	vhost_user_reply_init(&rep, &req, 8);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	vhost_user_reply_init(&rep, &req, 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EMSGSIZE);

	/* GET_VRING_BASE: the same vring. */
	vhost_user_msg_init(&req, VHOST_USER_GET_VRING_BASE, 8);
	req.payload.state.index = 2;
	vhost_user_reply_init(&rep, &req, 8);
	rep.payload.state.index = 2;
	rep.payload.state.num = 77;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	rep.payload.state.index = 1;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EINVAL);

	/* GET_CONFIG: the size asked for, or the empty failure reply. */
	vhost_user_msg_init(&req, VHOST_USER_GET_CONFIG,
			    VHOST_USER_CONFIG_HEADER_SIZE + 8);
	req.payload.config.size = 8;
	vhost_user_reply_init(&rep, &req, VHOST_USER_CONFIG_HEADER_SIZE + 8);
	rep.payload.config.size = 8;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	rep.payload.config.size = 4;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EMSGSIZE);
	vhost_user_reply_init(&rep, &req, VHOST_USER_CONFIG_HEADER_SIZE + 4);
	rep.payload.config.size = 4;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EMSGSIZE);
	vhost_user_reply_init(&rep, &req, 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EREMOTEIO);

	/* GET_INFLIGHT_FD: an fd exactly when there is an area. */
	vhost_user_msg_init(&req, VHOST_USER_GET_INFLIGHT_FD,
			    sizeof(struct vhost_user_inflight));
	vhost_user_reply_init(&rep, &req, sizeof(struct vhost_user_inflight));
	rep.payload.inflight.mmap_size = PAGE;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	vhost_user_msg_close_fds(&rep);
	rep.payload.inflight.mmap_size = 0;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);

	/* SET_DEVICE_STATE_FD: error and fd are exclusive. */
	vhost_user_msg_init(&req, VHOST_USER_SET_DEVICE_STATE_FD,
			    sizeof(struct vhost_user_device_state));
	vhost_user_reply_init(&rep, &req, 8);
	rep.payload.u64 = VHOST_USER_DEVICE_STATE_NOFD_MASK;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	rep.payload.u64 = 0;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EINVAL);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	vhost_user_msg_close_fds(&rep);
	rep.payload.u64 = 1;	/* error, yet "fd follows" */
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EINVAL);
	rep.payload.u64 = 1 | VHOST_USER_DEVICE_STATE_NOFD_MASK;
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);

	/* POSTCOPY_ADVISE: no payload, the userfaultfd. */
	vhost_user_msg_init(&req, VHOST_USER_POSTCOPY_ADVISE, 0);
	vhost_user_reply_init(&rep, &req, 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), -EINVAL);

	/* SET_LOG_BASE: u64 or empty acknowledgement. */
	vhost_user_msg_init(&req, VHOST_USER_SET_LOG_BASE,
			    sizeof(struct vhost_user_log));
	vhost_user_reply_init(&rep, &req, 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);
	vhost_user_reply_init(&rep, &req, 8);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, FE), 0);

	/* Back-end channel: the front-end hands out a dma-buf fd. */
	vhost_user_msg_init(&req, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP,
			    sizeof(struct vhost_user_shared_object));
	vhost_user_reply_init(&rep, &req, 8);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, BE), 0);
	vhost_user_msg_close_fds(&rep);
	rep.payload.u64 = 1;	/* failed: no fd may follow */
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&rep, new_eventfd()), 0);
	CU_ASSERT_EQUAL(vhost_user_reply_check(&req, &rep, BE), -EINVAL);
}

static void test_expects_reply(void)
{
	const uint64_t ack = VHOST_USER_PROTOCOL_F_BIT(
		VHOST_USER_PROTOCOL_F_REPLY_ACK);
	const uint64_t shmfd = VHOST_USER_PROTOCOL_F_BIT(
		VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	struct vhost_user_msg req;

	vhost_user_msg_init(&req, VHOST_USER_GET_FEATURES, 0);
	CU_ASSERT_TRUE(vhost_user_expects_reply(&req, FE, 0));
	vhost_user_msg_init(&req, VHOST_USER_SET_FEATURES, 8);
	CU_ASSERT_FALSE(vhost_user_expects_reply(&req, FE, ack));
	req.hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	CU_ASSERT_FALSE(vhost_user_expects_reply(&req, FE, 0));
	CU_ASSERT_TRUE(vhost_user_expects_reply(&req, FE, ack));
	vhost_user_msg_init(&req, VHOST_USER_SET_LOG_BASE, 16);
	CU_ASSERT_FALSE(vhost_user_expects_reply(&req, FE, 0));
	CU_ASSERT_TRUE(vhost_user_expects_reply(&req, FE, shmfd));
	vhost_user_msg_init(&req, VHOST_USER_NET_SET_MTU, 8);
	CU_ASSERT_TRUE(vhost_user_expects_reply(&req, FE, ack));
	CU_ASSERT_FALSE(vhost_user_expects_reply(&req, FE, 0));
	vhost_user_msg_init(&req, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP, 16);
	CU_ASSERT_TRUE(vhost_user_expects_reply(&req, BE, 0));
	vhost_user_msg_init(&req, 999, 0);
	CU_ASSERT_FALSE(vhost_user_expects_reply(&req, FE, ack));
}

/* ---- socket behaviour ---------------------------------------------------- */

static void test_recv_timeout(void)
{
	struct vhost_user_msg msg;
	int64_t t0, dt;
	int sv[2];

	make_pair(sv);
	t0 = test_now_ms();
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 100), -ETIMEDOUT);
	dt = test_now_ms() - t0;
	CU_ASSERT_TRUE(dt >= 95);
	CU_ASSERT_TRUE(dt < 1000);

	t0 = test_now_ms();
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 0), -ETIMEDOUT);
	CU_ASSERT_TRUE(test_now_ms() - t0 < 50);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, -1), -EINVAL);

	/* Header now, payload never: the deadline covers the whole message. */
	vhost_user_msg_init(&msg, VHOST_USER_SET_FEATURES, 8);
	CU_ASSERT_EQUAL(send_raw(sv[0], &msg.hdr, VHOST_USER_HEADER_SIZE,
				 NULL, 0), VHOST_USER_HEADER_SIZE);
	t0 = test_now_ms();
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 100), -ETIMEDOUT);
	dt = test_now_ms() - t0;
	CU_ASSERT_TRUE(dt >= 95 && dt < 1000);
	close_pair(sv);
}

static void test_send_timeout(void)
{
	struct vhost_user_msg msg;
	int sv[2], size = 4096, ret = 0, i;
	int64_t t0 = 0;

	make_pair(sv);
	CU_ASSERT(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size,
			     sizeof(size)) == 0);
	vhost_user_msg_init(&msg, VHOST_USER_GET_CONFIG,
			    VHOST_USER_PAYLOAD_MAX_SIZE);
	/* Nobody reads: the buffer fills and a send gives up in time. */
	for (i = 0; i < 100000; i++) {
		t0 = test_now_ms();
		ret = vhost_user_send(sv[0], &msg, 50);
		if (ret)
			break;
	}
	CU_ASSERT_EQUAL(ret, -ETIMEDOUT);
	CU_ASSERT_TRUE(test_now_ms() - t0 < 1000);
	close_pair(sv);
}

static void test_peer_close(void)
{
	struct vhost_user_msg msg;
	int sv[2];

	make_pair(sv);
	close(sv[0]);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 1000), -ECONNRESET);
	vhost_user_msg_init(&msg, VHOST_USER_GET_FEATURES, 0);
	CU_ASSERT_EQUAL(vhost_user_send(sv[1], &msg, 1000), -ECONNRESET);
	close(sv[1]);

	/* EOF inside the payload. */
	make_pair(sv);
	vhost_user_msg_init(&msg, VHOST_USER_SET_FEATURES, 8);
	CU_ASSERT_EQUAL(send_raw(sv[0], &msg, VHOST_USER_HEADER_SIZE + 4,
				 NULL, 0), VHOST_USER_HEADER_SIZE + 4);
	close(sv[0]);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &msg, 1000), -ECONNRESET);
	close(sv[1]);
}

struct split_writer {
	int sock, fd;
	const uint8_t *buf;
	size_t first, second, total;
};

/* First part (with the fd) now, the rest twice, 30 ms apart. */
static void *split_writer_run(void *arg)
{
	struct split_writer *w = arg;
	struct timespec pause = { .tv_nsec = 30 * 1000 * 1000 };

	if (send_raw(w->sock, w->buf, w->first, &w->fd, 1) != (ssize_t)w->first)
		return (void *)1;
	nanosleep(&pause, NULL);
	if (send_raw(w->sock, w->buf + w->first, w->second - w->first,
		     NULL, 0) != (ssize_t)(w->second - w->first))
		return (void *)1;
	nanosleep(&pause, NULL);
	if (send_raw(w->sock, w->buf + w->second, w->total - w->second,
		     NULL, 0) != (ssize_t)(w->total - w->second))
		return (void *)1;
	return NULL;
}

static void test_split_message(void)
{
	static const size_t splits[][2] = {
		{ 5, VHOST_USER_HEADER_SIZE },	/* header in two reads */
		{ VHOST_USER_HEADER_SIZE, 20 },	/* payload in two reads */
		{ 1, 30 },
	};
	uint8_t buf[VHOST_USER_HEADER_SIZE + sizeof(struct vhost_user_vring_area)];
	struct vhost_user_msg out, in;
	int memfd = memfd_create("vhost-user-split", MFD_CLOEXEC);

	CU_ASSERT_FATAL(memfd >= 0);
	vhost_user_msg_init(&out, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
			    sizeof(struct vhost_user_vring_area));
	out.payload.area.u64 = 1;
	out.payload.area.size = PAGE;
	out.payload.area.offset = 0x123000;
	memcpy(buf, &out.hdr, VHOST_USER_HEADER_SIZE);
	memcpy(buf + VHOST_USER_HEADER_SIZE, &out.payload, out.hdr.size);

	for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		struct split_writer w = {
			.fd = memfd, .buf = buf,
			.first = splits[s][0], .second = splits[s][1],
			.total = sizeof(buf),
		};
		pthread_t thread;
		void *result;
		int sv[2];

		make_pair(sv);
		w.sock = sv[0];
		CU_ASSERT_FATAL(pthread_create(&thread, NULL, split_writer_run,
					       &w) == 0);
		CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &in, 2000), 0);
		pthread_join(thread, &result);
		CU_ASSERT_PTR_NULL(result);
		CU_ASSERT_EQUAL(vhost_user_decode(&in, BE, NVRINGS), 0);
		CU_ASSERT_EQUAL(in.hdr.size, out.hdr.size);
		CU_ASSERT_EQUAL(memcmp(&in.payload, &out.payload,
				       out.hdr.size), 0);
		CU_ASSERT_EQUAL_FATAL(in.nfds, 1);
		CU_ASSERT_TRUE(same_file(in.fds[0], memfd));
		vhost_user_msg_close_fds(&in);
		close_pair(sv);
	}
	close(memfd);
}

static void test_too_many_fds(void)
{
	struct vhost_user_msg out, in;
	int before, fds[12], sv[2];

	before = test_count_fds();
	make_pair(sv);
	for (int i = 0; i < 12; i++)
		fds[i] = new_eventfd();

	/* The API refuses to send more than 8. */
	vhost_user_msg_init(&out, VHOST_USER_SET_OWNER, 0);
	for (int i = 0; i < VHOST_USER_MAX_FDS; i++)
		CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, fds[i]), 0);
	CU_ASSERT_EQUAL(vhost_user_msg_add_fd(&out, fds[8]), -E2BIG);
	out.nfds = 9;
	out.fds[7] = fds[8];
	CU_ASSERT_EQUAL(vhost_user_send(sv[0], &out, 100), -EINVAL);

	/* A peer that sends 9, then 12: refused, nothing kept. */
	vhost_user_msg_init(&out, VHOST_USER_SET_OWNER, 0);
	CU_ASSERT_EQUAL(send_raw_msg(sv[0], &out, fds, 9),
			VHOST_USER_HEADER_SIZE);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &in, 1000), -EINVAL);
	CU_ASSERT_EQUAL(in.nfds, 0);
	vhost_user_msg_init(&out, VHOST_USER_SET_FEATURES, 8);
	CU_ASSERT_EQUAL(send_raw_msg(sv[0], &out, fds, 12),
			VHOST_USER_HEADER_SIZE + 8);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &in, 1000), -EINVAL);
	/* The stream is still in step: the next message reads fine. */
	out.payload.u64 = 42;
	CU_ASSERT_EQUAL(vhost_user_send(sv[0], &out, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_recv(sv[1], &in, 1000), 0);
	CU_ASSERT_EQUAL(vhost_user_decode(&in, FE, NVRINGS), 0);
	CU_ASSERT_EQUAL(in.payload.u64, 42);

	for (int i = 0; i < 12; i++)
		close(fds[i]);
	close_pair(sv);
	CU_ASSERT_EQUAL(test_count_fds(), before);

	/* Framing from bytes: too many fds are closed as well. */
	for (int i = 0; i < 9; i++)
		fds[i] = new_eventfd();
	CU_ASSERT_EQUAL(vhost_user_msg_parse(&in, &out, VHOST_USER_HEADER_SIZE
					     + 8, fds, 9), -EINVAL);
	CU_ASSERT_EQUAL(test_count_fds(), before);
}

static void test_parse_framing(void)
{
	uint8_t buf[VHOST_USER_HEADER_SIZE + 8];
	struct vhost_user_header hdr = {
		.request = VHOST_USER_SET_FEATURES,
		.flags = VHOST_USER_VERSION,
		.size = 8,
	};
	struct vhost_user_msg msg;
	uint64_t v = 0x1234;
	int efd = new_eventfd();

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &v, sizeof(v));
	CU_ASSERT_EQUAL(vhost_user_msg_parse(&msg, buf, sizeof(buf), NULL, 0),
			0);
	CU_ASSERT_EQUAL(decode_local(&msg, FE), 0);
	CU_ASSERT_EQUAL(msg.payload.u64, 0x1234);
	/* Header size disagrees with the bytes: fds are closed. */
	CU_ASSERT_EQUAL(vhost_user_msg_parse(&msg, buf, sizeof(buf) - 1,
					     &efd, 1), -EMSGSIZE);
	CU_ASSERT_FALSE(fd_is_open(efd));
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void)
{
	char buf[64];

	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(FE, 5), "SET_MEM_TABLE");
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(FE, 21),
			       "SET_BACKEND_REQ_FD");
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(FE, 43),
			       "CHECK_DEVICE_STATE");
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(BE, 2),
			       "CONFIG_CHANGE_MSG");
	CU_ASSERT_STRING_EQUAL(vhost_user_request_name(BE, 99), "UNKNOWN");
	for (uint32_t r = 1; r < VHOST_USER_REQUEST_COUNT; r++)
		CU_ASSERT_STRING_NOT_EQUAL(vhost_user_request_name(FE, r),
					   "UNKNOWN");

	CU_ASSERT_STRING_EQUAL(vhost_user_protocol_feature_name(0), "MQ");
	CU_ASSERT_STRING_EQUAL(vhost_user_protocol_feature_name(3),
			       "REPLY_ACK");
	CU_ASSERT_STRING_EQUAL(vhost_user_protocol_feature_name(15),
			       "CONFIGURE_MEM_SLOTS");
	CU_ASSERT_STRING_EQUAL(vhost_user_protocol_feature_name(20), "SHMEM");
	CU_ASSERT_PTR_NULL(vhost_user_protocol_feature_name(21));
	for (unsigned b = 0; b < VHOST_USER_PROTOCOL_F_COUNT; b++)
		CU_ASSERT_PTR_NOT_NULL(vhost_user_protocol_feature_name(b));

	CU_ASSERT_EQUAL(vhost_user_protocol_features_format(0, buf,
							    sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(vhost_user_protocol_features_format(
		(1ull << 0) | (1ull << 3) | (1ull << 40), buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "MQ|REPLY_ACK|bit40");
	CU_ASSERT_EQUAL(vhost_user_protocol_features_format(
		(1ull << 0) | (1ull << 3), buf, 6), -ENOSPC);
	CU_ASSERT_EQUAL(strlen(buf), 2);	/* "MQ", terminated */
	CU_ASSERT_EQUAL(vhost_user_protocol_features_format(1, buf, 0),
			-ENOSPC);
}

/* ---- virtio layouts ------------------------------------------------------ */

static void test_virtio_layout(void)
{
	/* virtio 1.2 2.7: 16 * n, 6 + 2 * n, 6 + 8 * n. */
	CU_ASSERT_EQUAL(virtio_split_desc_size(256), 4096);
	CU_ASSERT_EQUAL(virtio_split_avail_size(256), 518);
	CU_ASSERT_EQUAL(virtio_split_used_size(256), 2054);
	CU_ASSERT_EQUAL(virtio_split_used_size(VIRTIO_QUEUE_SIZE_MAX),
			6 + 8ull * 32768);
	CU_ASSERT_EQUAL(VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_NET), 0x1041);
	CU_ASSERT_EQUAL(VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_BLOCK), 0x1042);
	CU_ASSERT_EQUAL(VIRTIO_PACKED_DESC_F_AVAIL, 0x80);
	CU_ASSERT_EQUAL(VIRTIO_PACKED_DESC_F_USED, 0x8000);
	CU_ASSERT_EQUAL(VIRTIO_NET_TXQ(1), 3);
	CU_ASSERT_EQUAL(VIRTIO_BLK_CONFIG_SIZE_1_2, 96);
	CU_ASSERT_EQUAL(VHOST_USER_MAX_QUEUE_SIZE, VIRTIO_QUEUE_SIZE_MAX);
}

static CU_TestInfo wire_tests[] = {
	{ "table is consistent", test_table_consistent },
	{ "names", test_names },
	{ "virtio layouts", test_virtio_layout },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo roundtrip_tests[] = {
	{ "no payload", test_roundtrip_no_payload },
	{ "u64", test_roundtrip_u64 },
	{ "vring state", test_roundtrip_vring_state },
	{ "vring address", test_roundtrip_vring_addr },
	{ "memory table with memfds", test_roundtrip_mem_table },
	{ "single memory region", test_roundtrip_mem_reg },
	{ "log", test_roundtrip_log },
	{ "vring fds", test_roundtrip_vring_fds },
	{ "iotlb", test_roundtrip_iotlb },
	{ "config", test_roundtrip_config },
	{ "inflight", test_roundtrip_inflight },
	{ "shared object and device state", test_roundtrip_object_and_state },
	{ "back-end channel", test_roundtrip_backend_channel },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo reject_tests[] = {
	{ "truncated header", test_reject_truncated_header },
	{ "payload size", test_reject_payload_size },
	{ "nregions 9", test_reject_nregions },
	{ "memory table fd count", test_reject_fd_count_mem_table },
	{ "fd on a request without fds", test_reject_fd_on_fdless_request },
	{ "unknown request", test_reject_unknown_request },
	{ "version and flags", test_reject_flags },
	{ "config size", test_reject_config_size },
	{ "values", test_reject_values },
	{ "parse framing", test_parse_framing },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo reply_tests[] = {
	{ "reply matches request", test_reply_match },
	{ "reply payloads", test_reply_payloads },
	{ "expects reply", test_expects_reply },
	CU_TEST_INFO_NULL,
};

static CU_TestInfo socket_tests[] = {
	{ "receive timeout", test_recv_timeout },
	{ "send timeout", test_send_timeout },
	{ "peer close", test_peer_close },
	{ "message split across writes", test_split_message },
	{ "more than 8 fds", test_too_many_fds },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "vhost_user wire", NULL, NULL, fd_setup, fd_teardown, wire_tests },
	{ "vhost_user roundtrip", NULL, NULL, fd_setup, fd_teardown,
	  roundtrip_tests },
	{ "vhost_user reject", NULL, NULL, fd_setup, fd_teardown,
	  reject_tests },
	{ "vhost_user reply", NULL, NULL, fd_setup, fd_teardown, reply_tests },
	{ "vhost_user socket", NULL, NULL, fd_setup, fd_teardown,
	  socket_tests },
	CU_SUITE_INFO_NULL,
};
