/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vhost-user request tables (payload, fds and reply of every request
 * in both directions) and the names logs and splitvm-ctl print.
 */
#include "vhost_user.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Payload shapes: kind, smallest and largest size.  The two variable
 * kinds get their exact size from a field (nregions, config size).
 */
#define P_NONE		VHOST_USER_PAYLOAD_NONE, 0, 0
#define P_U64		VHOST_USER_PAYLOAD_U64, 8, 8
#define P_VRING_FD	VHOST_USER_PAYLOAD_VRING_FD, 8, 8
#define P_STATE		VHOST_USER_PAYLOAD_VRING_STATE, \
			sizeof(struct vhost_user_vring_state), \
			sizeof(struct vhost_user_vring_state)
#define P_ADDR		VHOST_USER_PAYLOAD_VRING_ADDR, \
			sizeof(struct vhost_user_vring_addr), \
			sizeof(struct vhost_user_vring_addr)
#define P_MEM_TABLE	VHOST_USER_PAYLOAD_MEM_TABLE, \
			VHOST_USER_MEM_TABLE_SIZE(0), \
			sizeof(struct vhost_user_mem_table)
#define P_MEM_REG	VHOST_USER_PAYLOAD_MEM_REG, \
			sizeof(struct vhost_user_mem_reg), \
			sizeof(struct vhost_user_mem_reg)
#define P_LOG		VHOST_USER_PAYLOAD_LOG, \
			sizeof(struct vhost_user_log), \
			sizeof(struct vhost_user_log)
#define P_IOTLB		VHOST_USER_PAYLOAD_IOTLB, \
			sizeof(struct vhost_user_iotlb), \
			sizeof(struct vhost_user_iotlb)
#define P_CONFIG	VHOST_USER_PAYLOAD_CONFIG, \
			VHOST_USER_CONFIG_HEADER_SIZE, \
			VHOST_USER_PAYLOAD_MAX_SIZE
#define P_AREA		VHOST_USER_PAYLOAD_VRING_AREA, \
			sizeof(struct vhost_user_vring_area), \
			sizeof(struct vhost_user_vring_area)
#define P_INFLIGHT	VHOST_USER_PAYLOAD_INFLIGHT, \
			sizeof(struct vhost_user_inflight), \
			sizeof(struct vhost_user_inflight)
#define P_OBJECT	VHOST_USER_PAYLOAD_SHARED_OBJECT, \
			sizeof(struct vhost_user_shared_object), \
			sizeof(struct vhost_user_shared_object)
#define P_DEV_STATE	VHOST_USER_PAYLOAD_DEVICE_STATE, \
			sizeof(struct vhost_user_device_state), \
			sizeof(struct vhost_user_device_state)
#define P_UNSUPPORTED	VHOST_USER_PAYLOAD_UNSUPPORTED, 0, 0

/* Variadic so that a P_* shape (three values) can be passed through. */
#define REQ(prefix, id, fds_, ...) \
	[prefix##id] = { \
		.name = #id, \
		.fds = VHOST_USER_FDS_##fds_, \
		REQ_PAYLOAD(__VA_ARGS__)
#define REQ_PAYLOAD(...) REQ_PAYLOAD_(__VA_ARGS__)
#define REQ_PAYLOAD_(kind_, min_, max_) \
		.payload = kind_, .min_size = min_, .max_size = max_,
#define REPLY_PAYLOAD(...) REPLY_PAYLOAD_(__VA_ARGS__)
#define REPLY_PAYLOAD_(kind_, min_, max_) \
		.reply_payload = kind_, .reply_min_size = min_, \
		.reply_max_size = max_,

/* Requests answered only on demand: the answer is a u64 status. */
#define ACK(rule_) \
		.reply = VHOST_USER_REPLY_##rule_, \
		REPLY_PAYLOAD(P_U64) \
		.reply_fds = VHOST_USER_FDS_NONE, \
	}
/* Requests always answered, with their own payload. */
#define ALWAYS(payload_, fds_) \
		.reply = VHOST_USER_REPLY_ALWAYS, \
		REPLY_PAYLOAD(payload_) \
		.reply_fds = VHOST_USER_FDS_##fds_, \
	}

#define FE(id, payload_, fds_) REQ(VHOST_USER_, id, fds_, payload_)
#define BE(id, payload_, fds_) REQ(VHOST_USER_BACKEND_, id, fds_, payload_)

/* Front-end requests: what a back-end accepts on the main socket. */
static const struct vhost_user_request_info frontend_requests[] = {
	FE(GET_FEATURES, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(SET_FEATURES, P_U64, NONE) ACK(ON_NEED_REPLY),
	FE(SET_OWNER, P_NONE, NONE) ACK(ON_NEED_REPLY),
	FE(RESET_OWNER, P_NONE, NONE) ACK(ON_NEED_REPLY),
	FE(SET_MEM_TABLE, P_MEM_TABLE, PER_REGION) ACK(ON_NEED_REPLY),
	/*
	 * The spec's message list says u64, but its log description and
	 * every implementation use the 16-byte log payload.  The fd comes
	 * with LOG_SHMFD.  Back-ends answer with a u64 or, some, nothing.
	 */
	[VHOST_USER_SET_LOG_BASE] = {
		.name = "SET_LOG_BASE",
		REQ_PAYLOAD(P_LOG)
		.fds = VHOST_USER_FDS_OPTIONAL,
		.reply = VHOST_USER_REPLY_IF_LOG_SHMFD,
		REPLY_PAYLOAD(VHOST_USER_PAYLOAD_U64, 0, 8)
		.reply_fds = VHOST_USER_FDS_NONE,
	},
	FE(SET_LOG_FD, P_NONE, ONE) ACK(ON_NEED_REPLY),
	FE(SET_VRING_NUM, P_STATE, NONE) ACK(ON_NEED_REPLY),
	FE(SET_VRING_ADDR, P_ADDR, NONE) ACK(ON_NEED_REPLY),
	FE(SET_VRING_BASE, P_STATE, NONE) ACK(ON_NEED_REPLY),
	FE(GET_VRING_BASE, P_STATE, NONE) ALWAYS(P_STATE, NONE),
	FE(SET_VRING_KICK, P_VRING_FD, UNLESS_NOFD) ACK(ON_NEED_REPLY),
	FE(SET_VRING_CALL, P_VRING_FD, UNLESS_NOFD) ACK(ON_NEED_REPLY),
	FE(SET_VRING_ERR, P_VRING_FD, UNLESS_NOFD) ACK(ON_NEED_REPLY),
	FE(GET_PROTOCOL_FEATURES, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(SET_PROTOCOL_FEATURES, P_U64, NONE) ACK(ON_NEED_REPLY),
	FE(GET_QUEUE_NUM, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(SET_VRING_ENABLE, P_STATE, NONE) ACK(ON_NEED_REPLY),
	FE(SEND_RARP, P_U64, NONE) ACK(ON_NEED_REPLY),
	FE(NET_SET_MTU, P_U64, NONE) ACK(IF_REPLY_ACK),
	FE(SET_BACKEND_REQ_FD, P_NONE, ONE) ACK(IF_REPLY_ACK),
	FE(IOTLB_MSG, P_IOTLB, NONE) ALWAYS(P_U64, NONE),
	FE(SET_VRING_ENDIAN, P_STATE, NONE) ACK(ON_NEED_REPLY),
	FE(GET_CONFIG, P_CONFIG, NONE) ALWAYS(P_CONFIG, NONE),
	FE(SET_CONFIG, P_CONFIG, NONE) ACK(ON_NEED_REPLY),
	/* Its payload embeds QEMU-internal crypto structures. */
	FE(CREATE_CRYPTO_SESSION, P_UNSUPPORTED, NONE) ACK(ON_NEED_REPLY),
	FE(CLOSE_CRYPTO_SESSION, P_U64, NONE) ACK(ON_NEED_REPLY),
	FE(POSTCOPY_ADVISE, P_NONE, NONE) ALWAYS(P_NONE, ONE),
	FE(POSTCOPY_LISTEN, P_NONE, NONE) ACK(ON_NEED_REPLY),
	FE(POSTCOPY_END, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(GET_INFLIGHT_FD, P_INFLIGHT, NONE) ALWAYS(P_INFLIGHT, IF_MMAP_SIZE),
	FE(SET_INFLIGHT_FD, P_INFLIGHT, ONE) ACK(ON_NEED_REPLY),
	FE(GPU_SET_SOCKET, P_NONE, ONE) ACK(ON_NEED_REPLY),
	FE(RESET_DEVICE, P_NONE, NONE) ACK(ON_NEED_REPLY),
	FE(VRING_KICK, P_STATE, NONE) ACK(ON_NEED_REPLY),
	FE(GET_MAX_MEM_SLOTS, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(ADD_MEM_REG, P_MEM_REG, ONE) ACK(ON_NEED_REPLY),
	FE(REM_MEM_REG, P_MEM_REG, DISCARD) ACK(ON_NEED_REPLY),
	FE(SET_STATUS, P_U64, NONE) ACK(ON_NEED_REPLY),
	FE(GET_STATUS, P_NONE, NONE) ALWAYS(P_U64, NONE),
	FE(GET_SHARED_OBJECT, P_OBJECT, NONE) ALWAYS(P_U64, IF_SUCCESS),
	FE(SET_DEVICE_STATE_FD, P_DEV_STATE, ONE) ALWAYS(P_U64, UNLESS_NOFD),
	FE(CHECK_DEVICE_STATE, P_NONE, NONE) ALWAYS(P_U64, NONE),
	/* VIRTIO Shared Memory Regions: the spec text is still settling. */
	FE(GET_SHMEM_CONFIG, P_UNSUPPORTED, NONE) ACK(ON_NEED_REPLY),
};
_Static_assert(sizeof(frontend_requests) / sizeof(frontend_requests[0]) ==
	       VHOST_USER_REQUEST_COUNT, "one entry per front-end request");

/* Back-end requests: what the front-end accepts on the back-end channel. */
static const struct vhost_user_request_info backend_requests[] = {
	BE(IOTLB_MSG, P_IOTLB, NONE) ACK(ON_NEED_REPLY),
	/* No payload in the spec; some back-ends send a zero u64. */
	[VHOST_USER_BACKEND_CONFIG_CHANGE_MSG] = {
		.name = "CONFIG_CHANGE_MSG",
		REQ_PAYLOAD(VHOST_USER_PAYLOAD_NONE, 0, 8)
		.fds = VHOST_USER_FDS_NONE,
		ACK(ON_NEED_REPLY),
	BE(VRING_HOST_NOTIFIER_MSG, P_AREA, UNLESS_NOFD) ACK(ON_NEED_REPLY),
	BE(VRING_CALL, P_STATE, NONE) ACK(ON_NEED_REPLY),
	BE(VRING_ERR, P_STATE, NONE) ACK(ON_NEED_REPLY),
	BE(SHARED_OBJECT_ADD, P_OBJECT, NONE) ACK(ON_NEED_REPLY),
	BE(SHARED_OBJECT_REMOVE, P_OBJECT, NONE) ACK(ON_NEED_REPLY),
	BE(SHARED_OBJECT_LOOKUP, P_OBJECT, NONE) ALWAYS(P_U64, IF_SUCCESS),
	BE(SHMEM_MAP, P_UNSUPPORTED, NONE) ACK(ON_NEED_REPLY),
	BE(SHMEM_UNMAP, P_UNSUPPORTED, NONE) ACK(ON_NEED_REPLY),
};
_Static_assert(sizeof(backend_requests) / sizeof(backend_requests[0]) ==
	       VHOST_USER_BACKEND_REQUEST_COUNT,
	       "one entry per back-end request");

const struct vhost_user_request_info *
vhost_user_request_info(enum vhost_user_channel channel, uint32_t request)
{
	const struct vhost_user_request_info *table;
	size_t n;

	switch (channel) {
	case VHOST_USER_CHANNEL_FRONTEND:
		table = frontend_requests;
		n = sizeof(frontend_requests) / sizeof(frontend_requests[0]);
		break;
	case VHOST_USER_CHANNEL_BACKEND:
		table = backend_requests;
		n = sizeof(backend_requests) / sizeof(backend_requests[0]);
		break;
	default:
		return NULL;
	}
	if (request >= n || !table[request].name)
		return NULL;
	return &table[request];
}

const char *vhost_user_request_name(enum vhost_user_channel channel,
				    uint32_t request)
{
	const struct vhost_user_request_info *info =
		vhost_user_request_info(channel, request);

	return info ? info->name : "UNKNOWN";
}

/* ---- protocol feature names -------------------------------------------- */

static const char *const protocol_feature_names[] = {
	[VHOST_USER_PROTOCOL_F_MQ] = "MQ",
	[VHOST_USER_PROTOCOL_F_LOG_SHMFD] = "LOG_SHMFD",
	[VHOST_USER_PROTOCOL_F_RARP] = "RARP",
	[VHOST_USER_PROTOCOL_F_REPLY_ACK] = "REPLY_ACK",
	[VHOST_USER_PROTOCOL_F_MTU] = "MTU",
	[VHOST_USER_PROTOCOL_F_BACKEND_REQ] = "BACKEND_REQ",
	[VHOST_USER_PROTOCOL_F_CROSS_ENDIAN] = "CROSS_ENDIAN",
	[VHOST_USER_PROTOCOL_F_CRYPTO_SESSION] = "CRYPTO_SESSION",
	[VHOST_USER_PROTOCOL_F_PAGEFAULT] = "PAGEFAULT",
	[VHOST_USER_PROTOCOL_F_CONFIG] = "CONFIG",
	[VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
	[VHOST_USER_PROTOCOL_F_HOST_NOTIFIER] = "HOST_NOTIFIER",
	[VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
	[VHOST_USER_PROTOCOL_F_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
	[VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
	[VHOST_USER_PROTOCOL_F_STATUS] = "STATUS",
	[VHOST_USER_PROTOCOL_F_XEN_MMAP] = "XEN_MMAP",
	[VHOST_USER_PROTOCOL_F_SHARED_OBJECT] = "SHARED_OBJECT",
	[VHOST_USER_PROTOCOL_F_DEVICE_STATE] = "DEVICE_STATE",
	[VHOST_USER_PROTOCOL_F_SHMEM] = "SHMEM",
};
_Static_assert(sizeof(protocol_feature_names) /
	       sizeof(protocol_feature_names[0]) == VHOST_USER_PROTOCOL_F_COUNT,
	       "a name for every protocol feature");

const char *vhost_user_protocol_feature_name(unsigned bit)
{
	if (bit >= VHOST_USER_PROTOCOL_F_COUNT)
		return NULL;
	return protocol_feature_names[bit];
}

int vhost_user_protocol_features_format(uint64_t features, char *buf,
					size_t len)
{
	size_t used = 0;
	int n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name;
		char unknown[8];

		if (!(features & (1ull << bit)))
			continue;
		name = vhost_user_protocol_feature_name(bit);
		if (!name) {
			snprintf(unknown, sizeof(unknown), "bit%u", bit);
			name = unknown;
		}
		n = snprintf(buf + used, len - used, "%s%s",
			     used ? "|" : "", name);
		if (n < 0 || (size_t)n >= len - used) {
			/* Never leave half a name behind. */
			buf[used] = '\0';
			return -ENOSPC;
		}
		used += n;
	}
	return 0;
}
