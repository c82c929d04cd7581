/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Checks that run on every received vhost-user request and reply before
 * anything acts on it, driven by the table in vhost_user_table.c.
 */
#include "vhost_user.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define TAG "vhost-user"

/* ---- message helpers --------------------------------------------------- */

static void msg_clear_fds(struct vhost_user_msg *msg)
{
	msg->nfds = 0;
	for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
		msg->fds[i] = -1;
}

void vhost_user_msg_init(struct vhost_user_msg *msg, uint32_t request,
			 uint32_t size)
{
	memset(msg, 0, sizeof(*msg));
	msg->hdr.request = request;
	msg->hdr.flags = VHOST_USER_VERSION;
	msg->hdr.size = size;
	msg_clear_fds(msg);
}

void vhost_user_reply_init(struct vhost_user_msg *reply,
			   const struct vhost_user_msg *request, uint32_t size)
{
	vhost_user_msg_init(reply, request->hdr.request, size);
	reply->hdr.flags |= VHOST_USER_FLAG_REPLY;
}

int vhost_user_msg_add_fd(struct vhost_user_msg *msg, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (msg->nfds >= VHOST_USER_MAX_FDS)
		return -E2BIG;
	msg->fds[msg->nfds++] = fd;
	return 0;
}

int vhost_user_msg_take_fd(struct vhost_user_msg *msg, unsigned i)
{
	int fd;

	if (i >= msg->nfds || i >= VHOST_USER_MAX_FDS)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

void vhost_user_msg_close_fds(struct vhost_user_msg *msg)
{
	unsigned n = msg->nfds < VHOST_USER_MAX_FDS ?
		     msg->nfds : VHOST_USER_MAX_FDS;

	for (unsigned i = 0; i < n; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	}
	msg_clear_fds(msg);
}

int vhost_user_msg_parse(struct vhost_user_msg *msg, const void *buf,
			 size_t len, const int *fds, size_t nfds)
{
	int ret = 0;

	vhost_user_msg_init(msg, 0, 0);
	if (nfds > VHOST_USER_MAX_FDS) {
		ret = -EINVAL;
	} else if (len < VHOST_USER_HEADER_SIZE) {
		ret = -EBADMSG;
	} else {
		memcpy(&msg->hdr, buf, VHOST_USER_HEADER_SIZE);
		if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX_SIZE ||
		    msg->hdr.size != len - VHOST_USER_HEADER_SIZE)
			ret = -EMSGSIZE;
		else
			memcpy(&msg->payload,
			       (const uint8_t *)buf + VHOST_USER_HEADER_SIZE,
			       msg->hdr.size);
	}
	if (ret) {
		for (size_t i = 0; i < nfds; i++) {
			if (fds[i] >= 0)
				close(fds[i]);
		}
		return ret;
	}
	for (size_t i = 0; i < nfds; i++)
		msg->fds[i] = fds[i];
	msg->nfds = nfds;
	return 0;
}

/* ---- checks ------------------------------------------------------------ */

/* Why the last check failed, for the debug log. */
struct check {
	const char *why;
};

static int fail(struct check *c, int err, const char *why)
{
	c->why = why;
	return err;
}

static int check_flags(struct check *c, uint32_t flags, bool reply)
{
	if ((flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return fail(c, -EPROTO, "version is not 1");
	if (flags & ~VHOST_USER_FLAGS_KNOWN)
		return fail(c, -EPROTO, "undefined flag bits");
	if (!reply && (flags & VHOST_USER_FLAG_REPLY))
		return fail(c, -EPROTO, "REPLY flag on a request");
	if (reply && !(flags & VHOST_USER_FLAG_REPLY))
		return fail(c, -EPROTO, "reply without the REPLY flag");
	if (reply && (flags & VHOST_USER_FLAG_NEED_REPLY))
		return fail(c, -EPROTO, "NEED_REPLY flag on a reply");
	return 0;
}

/*
 * Payload size: the table's range, then the exact size the variable
 * payloads announce.  Counts that exceed the spec's limits are bad
 * values (-EINVAL); sizes that disagree with them are -EMSGSIZE.
 */
static int check_size(struct check *c, const struct vhost_user_msg *msg,
		      enum vhost_user_payload_kind kind,
		      uint32_t min, uint32_t max)
{
	uint32_t size = msg->hdr.size;

	if (size < min)
		return fail(c, -EMSGSIZE, "payload too short");
	if (size > max)
		return fail(c, -EMSGSIZE, "payload too long");

	switch (kind) {
	case VHOST_USER_PAYLOAD_MEM_TABLE:
		if (msg->payload.mem_table.nregions >
		    VHOST_USER_MEMORY_BASELINE_NREGIONS)
			return fail(c, -EINVAL, "more than 8 regions");
		if (size != VHOST_USER_MEM_TABLE_SIZE(
				msg->payload.mem_table.nregions))
			return fail(c, -EMSGSIZE,
				    "size does not match nregions");
		break;
	case VHOST_USER_PAYLOAD_CONFIG:
		if (msg->payload.config.size > VHOST_USER_MAX_CONFIG_SIZE)
			return fail(c, -EINVAL, "config size above 256");
		if (size != VHOST_USER_CONFIG_HEADER_SIZE +
			    msg->payload.config.size)
			return fail(c, -EMSGSIZE,
				    "size does not match config size");
		break;
	default:
		break;
	}
	return 0;
}

static int check_fds(struct check *c, const struct vhost_user_msg *msg,
		     enum vhost_user_fd_rule rule)
{
	unsigned want_min, want_max;

	switch (rule) {
	case VHOST_USER_FDS_NONE:
		want_min = want_max = 0;
		break;
	case VHOST_USER_FDS_ONE:
		want_min = want_max = 1;
		break;
	case VHOST_USER_FDS_OPTIONAL:
	case VHOST_USER_FDS_DISCARD:
		want_min = 0;
		want_max = 1;
		break;
	case VHOST_USER_FDS_PER_REGION:
		/* check_size() bounded nregions already. */
		want_min = want_max = msg->payload.mem_table.nregions;
		break;
	case VHOST_USER_FDS_UNLESS_NOFD:
		/* The u64 leads the vring_area payload too. */
		want_min = want_max =
			(msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
		break;
	case VHOST_USER_FDS_IF_MMAP_SIZE:
		want_min = want_max = msg->payload.inflight.mmap_size ? 1 : 0;
		break;
	case VHOST_USER_FDS_IF_SUCCESS:
		want_min = 0;
		want_max = msg->payload.u64 ? 0 : 1;
		break;
	default:
		return fail(c, -EINVAL, "unknown fd rule");
	}
	if (msg->nfds < want_min)
		return fail(c, -EINVAL, "missing fd");
	if (msg->nfds > want_max)
		return fail(c, -EINVAL, "more fds than the message takes");
	return 0;
}

static int check_vring(struct check *c, uint64_t index, unsigned nvrings)
{
	if (nvrings > VHOST_USER_MAX_VRINGS)
		nvrings = VHOST_USER_MAX_VRINGS;
	if (index >= nvrings)
		return fail(c, -EINVAL, "vring index out of range");
	return 0;
}

/* Nonzero, no address range wraps, the fd range fits in an off_t. */
static int check_region(struct check *c, const struct vhost_user_mem_region *r,
			bool mapped)
{
	uint64_t last = r->memory_size - 1;

	if (!r->memory_size)
		return fail(c, -EINVAL, "empty memory region");
	if (r->guest_phys_addr > UINT64_MAX - last)
		return fail(c, -EINVAL, "guest range wraps");
	if (r->userspace_addr > UINT64_MAX - last)
		return fail(c, -EINVAL, "user range wraps");
	if (mapped && (r->memory_size > (uint64_t)INT64_MAX ||
		       r->mmap_offset > (uint64_t)INT64_MAX - r->memory_size))
		return fail(c, -EINVAL, "mmap range beyond any file");
	return 0;
}

static int check_mem_table(struct check *c,
			   const struct vhost_user_mem_table *t)
{
	int ret;

	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct vhost_user_mem_region *a = &t->regions[i];

		ret = check_region(c, a, true);
		if (ret)
			return ret;
		for (uint32_t j = 0; j < i; j++) {
			const struct vhost_user_mem_region *b = &t->regions[j];

			/* Both ranges are known not to wrap. */
			if (a->guest_phys_addr <=
			    b->guest_phys_addr + (b->memory_size - 1) &&
			    b->guest_phys_addr <=
			    a->guest_phys_addr + (a->memory_size - 1))
				return fail(c, -EINVAL,
					    "guest ranges of two regions overlap");
		}
	}
	return 0;
}

static int check_log(struct check *c, const struct vhost_user_log *log)
{
	if (log->mmap_size > (uint64_t)INT64_MAX ||
	    log->mmap_offset > (uint64_t)INT64_MAX - log->mmap_size)
		return fail(c, -EINVAL, "log range beyond any file");
	return 0;
}

static int check_inflight(struct check *c,
			  const struct vhost_user_inflight *in,
			  unsigned nvrings, bool with_fd)
{
	if (!in->num_queues || in->num_queues > nvrings)
		return fail(c, -EINVAL, "inflight queue count out of range");
	if (!in->queue_size || in->queue_size > VHOST_USER_MAX_QUEUE_SIZE)
		return fail(c, -EINVAL, "inflight queue size out of range");
	if (with_fd && (!in->mmap_size ||
			in->mmap_size > (uint64_t)INT64_MAX ||
			in->mmap_offset > (uint64_t)INT64_MAX - in->mmap_size))
		return fail(c, -EINVAL, "inflight range beyond any file");
	return 0;
}

static int check_config(struct check *c, const struct vhost_user_config *cfg)
{
	if (!cfg->size)
		return fail(c, -EINVAL, "empty config access");
	/* size <= 256 already, so the sum cannot wrap. */
	if (cfg->offset > VHOST_USER_MAX_CONFIG_SIZE - cfg->size)
		return fail(c, -EINVAL, "config access beyond 256 bytes");
	if (cfg->flags > VHOST_USER_CONFIG_MIGRATION)
		return fail(c, -EINVAL, "unknown config flags");
	return 0;
}

/* Values of front-end requests; sizes and fds are already known good. */
static int check_frontend_values(struct check *c,
				 const struct vhost_user_msg *msg,
				 unsigned nvrings)
{
	const union vhost_user_payload *p = &msg->payload;
	int ret;

	switch (msg->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return check_mem_table(c, &p->mem_table);
	case VHOST_USER_ADD_MEM_REG:
		return check_region(c, &p->mem_reg.region, true);
	case VHOST_USER_REM_MEM_REG:
		/* Identified by addresses and size; mmap_offset is ignored. */
		return check_region(c, &p->mem_reg.region, false);
	case VHOST_USER_SET_LOG_BASE:
		return check_log(c, &p->log);
	case VHOST_USER_SET_VRING_NUM:
		ret = check_vring(c, p->state.index, nvrings);
		if (!ret && (!p->state.num ||
			     p->state.num > VHOST_USER_MAX_QUEUE_SIZE))
			ret = fail(c, -EINVAL, "queue size out of range");
		return ret;
	case VHOST_USER_SET_VRING_ADDR:
		ret = check_vring(c, p->addr.index, nvrings);
		if (!ret && (p->addr.flags & ~VHOST_USER_VRING_F_LOG))
			ret = fail(c, -EINVAL, "unknown vring address flags");
		return ret;
	case VHOST_USER_SET_VRING_BASE:
		/* Split or packed ring layout of num: the handler knows. */
		return check_vring(c, p->state.index, nvrings);
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_VRING_KICK:
		ret = check_vring(c, p->state.index, nvrings);
		if (!ret && p->state.num)
			ret = fail(c, -EINVAL, "reserved num is not 0");
		return ret;
	case VHOST_USER_SET_VRING_ENABLE:
	case VHOST_USER_SET_VRING_ENDIAN:
		ret = check_vring(c, p->state.index, nvrings);
		if (!ret && p->state.num > 1)
			ret = fail(c, -EINVAL, "num is neither 0 nor 1");
		return ret;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if (p->u64 & ~(VHOST_USER_VRING_INDEX_MASK |
			       VHOST_USER_VRING_NOFD_MASK))
			return fail(c, -EINVAL, "reserved vring bits set");
		return check_vring(c, p->u64 & VHOST_USER_VRING_INDEX_MASK,
				   nvrings);
	case VHOST_USER_NET_SET_MTU:
		/* virtio-net: 68 <= mtu <= 65535. */
		if (p->u64 < 68 || p->u64 > 65535)
			return fail(c, -EINVAL, "MTU out of range");
		return 0;
	case VHOST_USER_IOTLB_MSG:
		if (p->iotlb.type != VHOST_USER_IOTLB_UPDATE &&
		    p->iotlb.type != VHOST_USER_IOTLB_INVALIDATE)
			return fail(c, -EINVAL, "IOTLB type a front-end cannot send");
		if (p->iotlb.perm > VHOST_USER_IOTLB_PERM_RW)
			return fail(c, -EINVAL, "unknown IOTLB permission");
		return 0;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return check_config(c, &p->config);
	case VHOST_USER_GET_INFLIGHT_FD:
		return check_inflight(c, &p->inflight, nvrings, false);
	case VHOST_USER_SET_INFLIGHT_FD:
		return check_inflight(c, &p->inflight, nvrings, true);
	case VHOST_USER_SET_STATUS:
		if (p->u64 > 0xff)
			return fail(c, -EINVAL, "device status above 8 bits");
		return 0;
	case VHOST_USER_SET_DEVICE_STATE_FD:
		if (p->device_state.direction > VHOST_USER_TRANSFER_LOAD)
			return fail(c, -EINVAL, "unknown transfer direction");
		if (p->device_state.phase != VHOST_USER_MIGRATION_STOPPED)
			return fail(c, -EINVAL, "unknown migration phase");
		return 0;
	default:
		return 0;
	}
}

static int check_backend_values(struct check *c,
				const struct vhost_user_msg *msg,
				unsigned nvrings)
{
	const union vhost_user_payload *p = &msg->payload;
	int ret;

	switch (msg->hdr.request) {
	case VHOST_USER_BACKEND_IOTLB_MSG:
		if (p->iotlb.type != VHOST_USER_IOTLB_MISS &&
		    p->iotlb.type != VHOST_USER_IOTLB_ACCESS_FAIL)
			return fail(c, -EINVAL, "IOTLB type a back-end cannot send");
		if (p->iotlb.perm > VHOST_USER_IOTLB_PERM_RW)
			return fail(c, -EINVAL, "unknown IOTLB permission");
		return 0;
	case VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG:
		if (p->area.u64 & ~(VHOST_USER_VRING_INDEX_MASK |
				    VHOST_USER_VRING_NOFD_MASK))
			return fail(c, -EINVAL, "reserved vring bits set");
		ret = check_vring(c, p->area.u64 & VHOST_USER_VRING_INDEX_MASK,
				  nvrings);
		if (!ret && msg->nfds &&
		    (!p->area.size || p->area.size > (uint64_t)INT64_MAX ||
		     p->area.offset > (uint64_t)INT64_MAX - p->area.size))
			ret = fail(c, -EINVAL, "notifier range beyond any file");
		return ret;
	case VHOST_USER_BACKEND_VRING_CALL:
	case VHOST_USER_BACKEND_VRING_ERR:
		ret = check_vring(c, p->state.index, nvrings);
		if (!ret && p->state.num)
			ret = fail(c, -EINVAL, "reserved num is not 0");
		return ret;
	default:
		return 0;
	}
}

static void reject_log(const struct vhost_user_msg *msg,
		       enum vhost_user_channel channel, const char *what,
		       int err, const struct check *c)
{
	log_debug(TAG, "%s %s (%u) rejected: %s (%s)", what,
		  vhost_user_request_name(channel, msg->hdr.request),
		  msg->hdr.request, c->why ? c->why : "?", strerror(-err));
}

int vhost_user_decode(struct vhost_user_msg *msg,
		      enum vhost_user_channel channel, unsigned nvrings)
{
	const struct vhost_user_request_info *info = NULL;
	struct check c = { NULL };
	int ret;

	/* Do not assume received message fields contain sensible values. */
	if (msg->nfds > VHOST_USER_MAX_FDS)
		ret = fail(&c, -EINVAL, "more than 8 fds");
	else if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX_SIZE)
		ret = fail(&c, -EMSGSIZE, "payload larger than any message");
	else
		ret = check_flags(&c, msg->hdr.flags, false);
	if (!ret) {
		info = vhost_user_request_info(channel, msg->hdr.request);
		if (!info)
			ret = fail(&c, -EBADMSG, "unknown request");
		else if (info->payload == VHOST_USER_PAYLOAD_UNSUPPORTED)
			ret = fail(&c, -EOPNOTSUPP, "request not supported");
	}
	if (!ret)
		ret = check_size(&c, msg, info->payload, info->min_size,
				 info->max_size);
	if (!ret)
		ret = check_fds(&c, msg, info->fds);
	if (!ret && channel == VHOST_USER_CHANNEL_FRONTEND)
		ret = check_frontend_values(&c, msg, nvrings);
	if (!ret && channel == VHOST_USER_CHANNEL_BACKEND)
		ret = check_backend_values(&c, msg, nvrings);

	if (ret) {
		reject_log(msg, channel, "request", ret, &c);
		vhost_user_msg_close_fds(msg);
		return ret;
	}
	if (info->fds == VHOST_USER_FDS_DISCARD)
		vhost_user_msg_close_fds(msg);
	return 0;
}

bool vhost_user_expects_reply(const struct vhost_user_msg *request,
			      enum vhost_user_channel channel,
			      uint64_t protocol_features)
{
	const struct vhost_user_request_info *info =
		vhost_user_request_info(channel, request->hdr.request);
	bool ack = protocol_features &
		   VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);

	if (!info)
		return false;
	switch (info->reply) {
	case VHOST_USER_REPLY_ALWAYS:
		return true;
	case VHOST_USER_REPLY_IF_REPLY_ACK:
		return ack;
	case VHOST_USER_REPLY_IF_LOG_SHMFD:
		if (protocol_features &
		    VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD))
			return true;
		/* fall through */
	case VHOST_USER_REPLY_ON_NEED_REPLY:
	default:
		return ack && (request->hdr.flags & VHOST_USER_FLAG_NEED_REPLY);
	}
}

static int check_reply_values(struct check *c,
			      const struct vhost_user_msg *request,
			      const struct vhost_user_msg *reply,
			      enum vhost_user_channel channel)
{
	const union vhost_user_payload *p = &reply->payload;

	if (channel != VHOST_USER_CHANNEL_FRONTEND)
		return 0;
	switch (request->hdr.request) {
	case VHOST_USER_GET_VRING_BASE:
		if (p->state.index != request->payload.state.index)
			return fail(c, -EINVAL, "reply for another vring");
		return 0;
	case VHOST_USER_GET_CONFIG:
		if (p->config.size != request->payload.config.size)
			return fail(c, -EMSGSIZE, "config size differs from request");
		return 0;
	case VHOST_USER_SET_DEVICE_STATE_FD:
		if (p->u64 & ~(VHOST_USER_DEVICE_STATE_ERROR_MASK |
			       VHOST_USER_DEVICE_STATE_NOFD_MASK))
			return fail(c, -EINVAL, "reserved status bits set");
		if ((p->u64 & VHOST_USER_DEVICE_STATE_ERROR_MASK) &&
		    !(p->u64 & VHOST_USER_DEVICE_STATE_NOFD_MASK))
			return fail(c, -EINVAL, "error and fd both announced");
		return 0;
	default:
		return 0;
	}
}

int vhost_user_reply_check(const struct vhost_user_msg *request,
			   struct vhost_user_msg *reply,
			   enum vhost_user_channel channel)
{
	const struct vhost_user_request_info *info = NULL;
	struct check c = { NULL };
	bool always;
	int ret;

	if (reply->nfds > VHOST_USER_MAX_FDS)
		ret = fail(&c, -EINVAL, "more than 8 fds");
	else if (reply->hdr.size > VHOST_USER_PAYLOAD_MAX_SIZE)
		ret = fail(&c, -EMSGSIZE, "payload larger than any message");
	else
		ret = check_flags(&c, reply->hdr.flags, true);
	if (!ret && reply->hdr.request != request->hdr.request)
		ret = fail(&c, -EPROTO, "reply to a different request");
	if (!ret) {
		info = vhost_user_request_info(channel, request->hdr.request);
		if (!info)
			ret = fail(&c, -EBADMSG, "unknown request");
		else if (info->payload == VHOST_USER_PAYLOAD_UNSUPPORTED)
			ret = fail(&c, -EOPNOTSUPP, "request not supported");
	}
	if (!ret && channel == VHOST_USER_CHANNEL_FRONTEND &&
	    request->hdr.request == VHOST_USER_GET_CONFIG &&
	    reply->hdr.size == 0)
		ret = fail(&c, -EREMOTEIO, "back-end failed GET_CONFIG");
	if (!ret) {
		always = info->reply == VHOST_USER_REPLY_ALWAYS;
		ret = check_size(&c, reply, info->reply_payload,
				 info->reply_min_size, info->reply_max_size);
		if (!ret)
			ret = check_fds(&c, reply, always ?
					info->reply_fds : VHOST_USER_FDS_NONE);
		if (!ret && always)
			ret = check_reply_values(&c, request, reply, channel);
	}
	if (ret) {
		reject_log(reply, channel, "reply to", ret, &c);
		vhost_user_msg_close_fds(reply);
	}
	return ret;
}
