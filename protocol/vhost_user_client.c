/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user front-end client: one request/reply exchange at a time over
 * the codec of vhost_user.h, with the negotiated state and the "broken"
 * latch that keeps a misbehaving back-end from hurting the caller.
 */
#include "vhost_user_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define TAG "vhost-user"

/* Pause between connection attempts while the back-end starts. */
#define CONNECT_RETRY_MS	10

struct vhost_user_client {
	int sock;
	int timeout_ms;
	char name[64];			/* for log lines: path or "fd 5" */

	bool quiet;			/* breaking logs at debug level */
	bool features_sent;		/* GET_FEATURES sent, reply not read */
	bool have_features;		/* GET_FEATURES answered */
	uint64_t features_offered;
	uint64_t features_acked;
	bool have_protocol_features;
	uint64_t protocol_offered;
	uint64_t protocol_acked;

	/* First error that broke the client; 0 while healthy. */
	int error;
	uint32_t error_request;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool has_protocol(const struct vhost_user_client *c, unsigned bit)
{
	return c->protocol_acked & VHOST_USER_PROTOCOL_F_BIT(bit);
}

/* ---- connection ---------------------------------------------------------- */

static int client_new(int fd, const char *name, int timeout_ms,
		      struct vhost_user_client **out)
{
	struct vhost_user_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->sock = fd;
	c->timeout_ms = timeout_ms;
	if (name)
		snprintf(c->name, sizeof(c->name), "%s", name);
	else
		snprintf(c->name, sizeof(c->name), "fd %d", fd);
	*out = c;
	return 0;
}

int vhost_user_client_from_fd(int fd, const char *name, int timeout_ms,
			      struct vhost_user_client **out)
{
	int type, domain, ret;
	socklen_t len;

	*out = NULL;
	if (fd < 0)
		return -EBADF;
	ret = 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		ret = -errno;
	len = sizeof(domain);
	if (!ret && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		ret = -errno;
	if (!ret && (type != SOCK_STREAM || domain != AF_UNIX))
		ret = -EINVAL;
	if (!ret && timeout_ms <= 0)
		ret = -EINVAL;
	if (!ret)
		ret = client_new(fd, name, timeout_ms, out);
	if (ret)
		close(fd);
	return ret;
}

/* Failures that end when the back-end gets to listen(). */
static bool connect_retryable(int err)
{
	return err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
}

static int client_connect(const char *path, int timeout_ms, bool retry,
			  struct vhost_user_client **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline;
	int fd, err;

	*out = NULL;
	if (timeout_ms <= 0)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left;

		/*
		 * Non-blocking: a full backlog is EAGAIN rather than an
		 * unbounded wait; the codec never relies on blocking I/O.
		 */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		err = errno;
		close(fd);
		if (err == EINTR)
			continue;
		if (!connect_retryable(err) || !retry)
			return -err;
		left = deadline - now_ms();
		if (left <= 0) {
			log_debug(TAG, "%s: nobody accepted within %d ms (%s)",
				  path, timeout_ms, strerror(err));
			return -ETIMEDOUT;
		}
		sleep_ms(left < CONNECT_RETRY_MS ? (int)left : CONNECT_RETRY_MS);
	}
	err = client_new(fd, path, timeout_ms, out);
	if (err)
		close(fd);
	return err;
}

int vhost_user_client_connect(const char *path, int timeout_ms,
			      struct vhost_user_client **out)
{
	return client_connect(path, timeout_ms, true, out);
}

int vhost_user_client_connect_once(const char *path, int timeout_ms,
				   struct vhost_user_client **out)
{
	return client_connect(path, timeout_ms, false, out);
}

void vhost_user_client_close(struct vhost_user_client *c)
{
	if (!c)
		return;
	if (c->sock >= 0)
		close(c->sock);
	free(c);
}

void vhost_user_client_set_quiet(struct vhost_user_client *c, bool quiet)
{
	c->quiet = quiet;
}

int vhost_user_client_set_timeout(struct vhost_user_client *c, int timeout_ms)
{
	if (timeout_ms <= 0)
		return -EINVAL;
	c->timeout_ms = timeout_ms;
	return 0;
}

int vhost_user_client_error(const struct vhost_user_client *c,
			    const char **request)
{
	if (request)
		*request = c->error ?
			vhost_user_request_name(VHOST_USER_CHANNEL_FRONTEND,
						c->error_request) : NULL;
	return c->error;
}

bool vhost_user_client_broken(const struct vhost_user_client *c)
{
	return c->error != 0;
}

int vhost_user_client_fd(const struct vhost_user_client *c)
{
	return c->sock;
}

uint64_t vhost_user_client_features(const struct vhost_user_client *c)
{
	return c->features_acked;
}

uint64_t vhost_user_client_protocol_features(const struct vhost_user_client *c)
{
	return c->protocol_acked;
}

/* ---- one exchange -------------------------------------------------------- */

/* Latch the first error; the stream can no longer be trusted. */
static int client_break(struct vhost_user_client *c, uint32_t request,
			int err)
{
	if (!c->error) {
		c->error = err;
		c->error_request = request;
		log_msg(c->quiet ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERR, TAG,
			"%s: %s: %s; connection unusable", c->name,
			vhost_user_request_name(VHOST_USER_CHANNEL_FRONTEND,
						request), strerror(-err));
	}
	return err;
}

/*
 * Check an outgoing request with the same table a back-end applies, so
 * the caller's indices, sizes and ranges are refused here, not by the
 * peer.  The fds are replaced by -1 in the copy: the decoder closes the
 * fds of a message it rejects, and these belong to the caller.
 */
static int request_validate(const struct vhost_user_msg *req)
{
	struct vhost_user_msg copy = *req;

	for (unsigned i = 0; i < req->nfds && i < VHOST_USER_MAX_FDS; i++) {
		if (req->fds[i] < 0)
			return -EBADF;
		copy.fds[i] = -1;
	}
	return vhost_user_decode(&copy, VHOST_USER_CHANNEL_FRONTEND,
				 VHOST_USER_MAX_VRINGS);
}

/*
 * Send req and, when the protocol wants one, receive and check its reply
 * into *reply (which then owns the reply's fds; may be NULL for acks).
 * Returns 0, the caller-input errors of request_validate (nothing sent),
 * -EREMOTEIO for a refusal, -EPIPE when already broken, or the error that
 * broke the client now.
 */
static int client_call(struct vhost_user_client *c, struct vhost_user_msg *req,
		       struct vhost_user_msg *reply)
{
	const struct vhost_user_request_info *info;
	struct vhost_user_msg local;
	struct vhost_user_msg *rep = reply ? reply : &local;
	uint32_t id = req->hdr.request;
	int64_t deadline, left;
	int ret;

	if (reply)
		vhost_user_msg_init(reply, 0, 0);
	if (c->error)
		return -EPIPE;
	ret = request_validate(req);
	if (ret)
		return ret;
	info = vhost_user_request_info(VHOST_USER_CHANNEL_FRONTEND, id);
	if (info->reply == VHOST_USER_REPLY_ON_NEED_REPLY &&
	    has_protocol(c, VHOST_USER_PROTOCOL_F_REPLY_ACK))
		req->hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;

	deadline = now_ms() + c->timeout_ms;
	ret = vhost_user_send(c->sock, req, c->timeout_ms);
	if (ret)
		return client_break(c, id, ret);
	if (!vhost_user_expects_reply(req, VHOST_USER_CHANNEL_FRONTEND,
				      c->protocol_acked))
		return 0;

	left = deadline - now_ms();
	ret = vhost_user_recv(c->sock, rep, left > 0 ? (int)left : 0);
	if (!ret)
		ret = vhost_user_reply_check(req, rep,
					     VHOST_USER_CHANNEL_FRONTEND);
	/* GET_CONFIG's empty reply is a well-formed refusal. */
	if (ret == -EREMOTEIO)
		return ret;
	if (ret)
		return client_break(c, id, ret);

	if (info->reply != VHOST_USER_REPLY_ALWAYS) {
		/* An ack: checked to be a u64 without fds. */
		if (rep->payload.u64) {
			log_warn(TAG, "%s: back-end refused %s (status %llu)",
				 c->name, info->name,
				 (unsigned long long)rep->payload.u64);
			return -EREMOTEIO;
		}
	}
	return 0;
}

/* Requests with a u64 reply and no payload of their own. */
static int call_get_u64(struct vhost_user_client *c, uint32_t request,
			uint64_t *value)
{
	struct vhost_user_msg req, reply;
	int ret;

	vhost_user_msg_init(&req, request, 0);
	ret = client_call(c, &req, &reply);
	if (!ret)
		*value = reply.payload.u64;
	return ret;
}

static int call_set_u64(struct vhost_user_client *c, uint32_t request,
			uint64_t value)
{
	struct vhost_user_msg req;

	vhost_user_msg_init(&req, request, sizeof(uint64_t));
	req.payload.u64 = value;
	return client_call(c, &req, NULL);
}

static int call_state(struct vhost_user_client *c, uint32_t request,
		      unsigned idx, uint32_t num)
{
	struct vhost_user_msg req;

	if (idx >= VHOST_USER_MAX_VRINGS)
		return -EINVAL;
	vhost_user_msg_init(&req, request, sizeof(req.payload.state));
	req.payload.state.index = idx;
	req.payload.state.num = num;
	return client_call(c, &req, NULL);
}

/* ---- negotiation --------------------------------------------------------- */

int vhost_user_client_get_features(struct vhost_user_client *c,
				   uint64_t *features)
{
	int ret = vhost_user_client_get_features_send(c);

	if (!ret)
		ret = vhost_user_client_get_features_recv(c, features);
	return ret;
}

int vhost_user_client_get_features_send(struct vhost_user_client *c)
{
	struct vhost_user_msg req;
	int ret;

	if (c->error)
		return -EPIPE;
	if (c->features_sent)
		return -EPROTO;
	vhost_user_msg_init(&req, VHOST_USER_GET_FEATURES, 0);
	ret = vhost_user_send(c->sock, &req, c->timeout_ms);
	if (ret)
		return client_break(c, VHOST_USER_GET_FEATURES, ret);
	c->features_sent = true;
	return 0;
}

int vhost_user_client_get_features_recv(struct vhost_user_client *c,
					uint64_t *features)
{
	struct vhost_user_msg req, reply;
	int ret;

	if (c->error)
		return -EPIPE;
	if (!c->features_sent)
		return -EPROTO;
	c->features_sent = false;
	vhost_user_msg_init(&req, VHOST_USER_GET_FEATURES, 0);
	ret = vhost_user_recv(c->sock, &reply, c->timeout_ms);
	if (!ret)
		ret = vhost_user_reply_check(&req, &reply,
					     VHOST_USER_CHANNEL_FRONTEND);
	if (ret) {
		vhost_user_msg_close_fds(&reply);
		return client_break(c, VHOST_USER_GET_FEATURES,
				    ret == -EREMOTEIO ? -EPROTO : ret);
	}
	*features = reply.payload.u64;
	c->have_features = true;
	c->features_offered = *features;
	return 0;
}

int vhost_user_client_set_features(struct vhost_user_client *c,
				   uint64_t features)
{
	int ret;

	if (c->error)
		return -EPIPE;
	if (!c->have_features)
		return -EPROTO;
	if (features & ~c->features_offered)
		return -EINVAL;
	ret = call_set_u64(c, VHOST_USER_SET_FEATURES, features);
	if (!ret)
		c->features_acked = features;
	return ret;
}

int vhost_user_client_get_protocol_features(struct vhost_user_client *c,
					    uint64_t *features)
{
	int ret;

	if (c->error)
		return -EPIPE;
	if (!(c->features_offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return -EOPNOTSUPP;
	ret = call_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES, features);
	if (!ret) {
		c->have_protocol_features = true;
		c->protocol_offered = *features;
	}
	return ret;
}

int vhost_user_client_set_protocol_features(struct vhost_user_client *c,
					    uint64_t features)
{
	int ret;

	if (c->error)
		return -EPIPE;
	if (!c->have_protocol_features)
		return -EPROTO;
	if (features & ~c->protocol_offered)
		return -EINVAL;
	/*
	 * Sent under the previous agreement: REPLY_ACK only applies from
	 * the next request on, as the back-end learns of it only now.
	 */
	ret = call_set_u64(c, VHOST_USER_SET_PROTOCOL_FEATURES, features);
	if (!ret)
		c->protocol_acked = features;
	return ret;
}

int vhost_user_client_set_owner(struct vhost_user_client *c)
{
	struct vhost_user_msg req;

	vhost_user_msg_init(&req, VHOST_USER_SET_OWNER, 0);
	return client_call(c, &req, NULL);
}

int vhost_user_client_get_queue_num(struct vhost_user_client *c,
				    uint64_t *num)
{
	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_MQ))
		return -EOPNOTSUPP;
	return call_get_u64(c, VHOST_USER_GET_QUEUE_NUM, num);
}

/* ---- memory -------------------------------------------------------------- */

static void region_to_wire(struct vhost_user_mem_region *w,
			   const struct vhost_user_client_region *r)
{
	w->guest_phys_addr = r->gpa;
	w->memory_size = r->size;
	w->userspace_addr = r->hva;
	w->mmap_offset = r->mmap_offset;
}

int vhost_user_client_set_mem_table(struct vhost_user_client *c,
				    const struct vhost_user_client_region *regions,
				    unsigned n)
{
	struct vhost_user_msg req;

	if (n > VHOST_USER_MEMORY_BASELINE_NREGIONS || (n && !regions))
		return -EINVAL;
	vhost_user_msg_init(&req, VHOST_USER_SET_MEM_TABLE,
			    VHOST_USER_MEM_TABLE_SIZE(n));
	req.payload.mem_table.nregions = n;
	for (unsigned i = 0; i < n; i++) {
		region_to_wire(&req.payload.mem_table.regions[i], &regions[i]);
		/* Not vhost_user_msg_add_fd: -1 must reach the validator. */
		req.fds[i] = regions[i].fd;
	}
	req.nfds = n;
	return client_call(c, &req, NULL);
}

int vhost_user_client_get_max_mem_slots(struct vhost_user_client *c,
					uint64_t *slots)
{
	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	return call_get_u64(c, VHOST_USER_GET_MAX_MEM_SLOTS, slots);
}

static int call_mem_reg(struct vhost_user_client *c, uint32_t request,
			const struct vhost_user_client_region *region,
			bool with_fd)
{
	struct vhost_user_msg req;

	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	if (!region)
		return -EINVAL;
	vhost_user_msg_init(&req, request, sizeof(req.payload.mem_reg));
	region_to_wire(&req.payload.mem_reg.region, region);
	if (with_fd) {
		req.fds[0] = region->fd;
		req.nfds = 1;
	}
	return client_call(c, &req, NULL);
}

int vhost_user_client_add_mem_reg(struct vhost_user_client *c,
				  const struct vhost_user_client_region *region)
{
	return call_mem_reg(c, VHOST_USER_ADD_MEM_REG, region, true);
}

int vhost_user_client_rem_mem_reg(struct vhost_user_client *c,
				  const struct vhost_user_client_region *region)
{
	return call_mem_reg(c, VHOST_USER_REM_MEM_REG, region, false);
}

/* ---- vrings -------------------------------------------------------------- */

int vhost_user_client_set_vring_num(struct vhost_user_client *c,
				    unsigned idx, unsigned num)
{
	return call_state(c, VHOST_USER_SET_VRING_NUM, idx, num);
}

int vhost_user_client_set_vring_addr(struct vhost_user_client *c,
				     const struct vhost_user_vring_addr *addr)
{
	struct vhost_user_msg req;

	if (!addr)
		return -EINVAL;
	vhost_user_msg_init(&req, VHOST_USER_SET_VRING_ADDR,
			    sizeof(req.payload.addr));
	req.payload.addr = *addr;
	return client_call(c, &req, NULL);
}

int vhost_user_client_set_vring_base(struct vhost_user_client *c,
				     unsigned idx, uint32_t base)
{
	return call_state(c, VHOST_USER_SET_VRING_BASE, idx, base);
}

int vhost_user_client_get_vring_base(struct vhost_user_client *c,
				     unsigned idx, uint32_t *base)
{
	struct vhost_user_msg req, reply;
	int ret;

	if (idx >= VHOST_USER_MAX_VRINGS)
		return -EINVAL;
	vhost_user_msg_init(&req, VHOST_USER_GET_VRING_BASE,
			    sizeof(req.payload.state));
	req.payload.state.index = idx;
	ret = client_call(c, &req, &reply);
	if (!ret)
		*base = reply.payload.state.num;
	return ret;
}

static int call_vring_fd(struct vhost_user_client *c, uint32_t request,
			 unsigned idx, int fd)
{
	struct vhost_user_msg req;

	if (idx >= VHOST_USER_MAX_VRINGS)
		return -EINVAL;
	if (fd < -1)
		return -EBADF;
	vhost_user_msg_init(&req, request, sizeof(uint64_t));
	req.payload.u64 = idx;
	if (fd == -1) {
		req.payload.u64 |= VHOST_USER_VRING_NOFD_MASK;
	} else {
		req.fds[0] = fd;
		req.nfds = 1;
	}
	return client_call(c, &req, NULL);
}

int vhost_user_client_set_vring_kick(struct vhost_user_client *c,
				     unsigned idx, int fd)
{
	return call_vring_fd(c, VHOST_USER_SET_VRING_KICK, idx, fd);
}

int vhost_user_client_set_vring_call(struct vhost_user_client *c,
				     unsigned idx, int fd)
{
	return call_vring_fd(c, VHOST_USER_SET_VRING_CALL, idx, fd);
}

int vhost_user_client_set_vring_err(struct vhost_user_client *c,
				    unsigned idx, int fd)
{
	return call_vring_fd(c, VHOST_USER_SET_VRING_ERR, idx, fd);
}

int vhost_user_client_set_vring_enable(struct vhost_user_client *c,
				       unsigned idx, bool enable)
{
	if (c->error)
		return -EPIPE;
	if (!(c->features_acked & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return -EOPNOTSUPP;
	return call_state(c, VHOST_USER_SET_VRING_ENABLE, idx, enable ? 1 : 0);
}

/* ---- device config ------------------------------------------------------- */

static int config_init(struct vhost_user_client *c, struct vhost_user_msg *req,
		       uint32_t request, uint32_t offset, uint32_t size,
		       const void *buf)
{
	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	/* The validator checks offset + size; the copy needs size first. */
	if (!buf || !size || size > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	vhost_user_msg_init(req, request, VHOST_USER_CONFIG_HEADER_SIZE + size);
	req->payload.config.offset = offset;
	req->payload.config.size = size;
	req->payload.config.flags = VHOST_USER_CONFIG_WRITABLE;
	if (request == VHOST_USER_SET_CONFIG)
		memcpy(req->payload.config.region, buf, size);
	return 0;
}

int vhost_user_client_get_config(struct vhost_user_client *c,
				 uint32_t offset, uint32_t size, void *buf)
{
	struct vhost_user_msg req, reply;
	int ret;

	ret = config_init(c, &req, VHOST_USER_GET_CONFIG, offset, size, buf);
	if (!ret)
		ret = client_call(c, &req, &reply);
	/* reply_check made sure the reply carries exactly size bytes. */
	if (!ret)
		memcpy(buf, reply.payload.config.region, size);
	return ret;
}

int vhost_user_client_set_config(struct vhost_user_client *c,
				 uint32_t offset, uint32_t size,
				 const void *buf)
{
	struct vhost_user_msg req;
	int ret;

	ret = config_init(c, &req, VHOST_USER_SET_CONFIG, offset, size, buf);
	if (!ret)
		ret = client_call(c, &req, NULL);
	return ret;
}

/* ---- inflight I/O tracking ----------------------------------------------- */

int vhost_user_client_get_inflight_fd(struct vhost_user_client *c,
				      uint16_t num_queues, uint16_t queue_size,
				      int *fd, uint64_t *mmap_size,
				      uint64_t *mmap_offset)
{
	struct vhost_user_msg req, reply;
	int ret;

	*fd = -1;
	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
		return -EOPNOTSUPP;
	vhost_user_msg_init(&req, VHOST_USER_GET_INFLIGHT_FD,
			    sizeof(req.payload.inflight));
	req.payload.inflight.num_queues = num_queues;
	req.payload.inflight.queue_size = queue_size;
	ret = client_call(c, &req, &reply);
	if (ret)
		return ret;
	/* reply_check: one fd exactly when mmap_size != 0. */
	*fd = vhost_user_msg_take_fd(&reply, 0);
	*mmap_size = reply.payload.inflight.mmap_size;
	*mmap_offset = reply.payload.inflight.mmap_offset;
	vhost_user_msg_close_fds(&reply);
	return 0;
}

int vhost_user_client_set_inflight_fd(struct vhost_user_client *c, int fd,
				      uint64_t mmap_size, uint64_t mmap_offset,
				      uint16_t num_queues, uint16_t queue_size)
{
	struct vhost_user_msg req;

	if (c->error)
		return -EPIPE;
	if (!has_protocol(c, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))
		return -EOPNOTSUPP;
	vhost_user_msg_init(&req, VHOST_USER_SET_INFLIGHT_FD,
			    sizeof(req.payload.inflight));
	req.payload.inflight.mmap_size = mmap_size;
	req.payload.inflight.mmap_offset = mmap_offset;
	req.payload.inflight.num_queues = num_queues;
	req.payload.inflight.queue_size = queue_size;
	req.fds[0] = fd;
	req.nfds = 1;
	return client_call(c, &req, NULL);
}
