/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user wire format (QEMU docs/interop/vhost-user.rst): every message,
 * payload and feature bit, one validation table, and unix-socket I/O with
 * SCM_RIGHTS.  The core (front-end), backends and tests all use this file.
 */
#ifndef SPLITVM_VHOST_USER_H
#define SPLITVM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Header: three native-endian 32-bit words, then `size` bytes of payload.
 * flags: bits 0-1 version (always 1), bit 2 REPLY (set on every reply),
 * bit 3 NEED_REPLY (ask for an ack, see VHOST_USER_PROTOCOL_F_REPLY_ACK).
 * No other flag bit is defined; we reject messages that set one.
 */
#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_VERSION_MASK		0x3u
#define VHOST_USER_FLAG_REPLY		(1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY	(1u << 3)
#define VHOST_USER_FLAGS_KNOWN		(VHOST_USER_VERSION_MASK | \
					 VHOST_USER_FLAG_REPLY | \
					 VHOST_USER_FLAG_NEED_REPLY)

struct vhost_user_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* payload bytes that follow */
};
#define VHOST_USER_HEADER_SIZE		12
_Static_assert(sizeof(struct vhost_user_header) == VHOST_USER_HEADER_SIZE,
	       "vhost-user header is 12 bytes");

/* Most file descriptors one message may carry (SCM_RIGHTS). */
#define VHOST_USER_MAX_FDS		8
/* Regions in one SET_MEM_TABLE (more only through ADD_MEM_REG). */
#define VHOST_USER_MEMORY_BASELINE_NREGIONS	8
/* Largest device config space GET_CONFIG/SET_CONFIG can move. */
#define VHOST_USER_MAX_CONFIG_SIZE	256
/* Largest virtqueue size (virtio 1.2: Queue Size is at most 32768). */
#define VHOST_USER_MAX_QUEUE_SIZE	32768
/*
 * vring indexes travel in 8 bits in the fd-carrying messages, so no
 * device can have more vrings than this on a vhost-user connection.
 */
#define VHOST_USER_MAX_VRINGS		256

/*
 * Virtio feature bit the back-end sets in GET_FEATURES when it speaks
 * GET/SET_PROTOCOL_FEATURES (bit 30: reserved, never offered to guests).
 */
#define VHOST_USER_F_PROTOCOL_FEATURES	30
/* vhost feature: the front-end keeps a dirty log (migration). */
#define VHOST_USER_F_LOG_ALL		26

/* Protocol feature bit numbers (GET/SET_PROTOCOL_FEATURES). */
enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ			= 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD			= 1,
	VHOST_USER_PROTOCOL_F_RARP			= 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK			= 3,
	VHOST_USER_PROTOCOL_F_MTU			= 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ		= 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN		= 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION		= 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT			= 8,
	VHOST_USER_PROTOCOL_F_CONFIG			= 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD		= 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER		= 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD		= 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE		= 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS	= 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS	= 15,
	VHOST_USER_PROTOCOL_F_STATUS			= 16,
	VHOST_USER_PROTOCOL_F_XEN_MMAP			= 17,
	VHOST_USER_PROTOCOL_F_SHARED_OBJECT		= 18,
	VHOST_USER_PROTOCOL_F_DEVICE_STATE		= 19,
	VHOST_USER_PROTOCOL_F_SHMEM			= 20,
	VHOST_USER_PROTOCOL_F_COUNT
};
#define VHOST_USER_PROTOCOL_F_BIT(f)	(1ull << (f))

/* Requests the front-end sends on the main socket. */
enum vhost_user_request {
	VHOST_USER_NONE				= 0,	/* never valid */
	VHOST_USER_GET_FEATURES			= 1,
	VHOST_USER_SET_FEATURES			= 2,
	VHOST_USER_SET_OWNER			= 3,
	VHOST_USER_RESET_OWNER			= 4,
	VHOST_USER_SET_MEM_TABLE		= 5,
	VHOST_USER_SET_LOG_BASE			= 6,
	VHOST_USER_SET_LOG_FD			= 7,
	VHOST_USER_SET_VRING_NUM		= 8,
	VHOST_USER_SET_VRING_ADDR		= 9,
	VHOST_USER_SET_VRING_BASE		= 10,
	VHOST_USER_GET_VRING_BASE		= 11,
	VHOST_USER_SET_VRING_KICK		= 12,
	VHOST_USER_SET_VRING_CALL		= 13,
	VHOST_USER_SET_VRING_ERR		= 14,
	VHOST_USER_GET_PROTOCOL_FEATURES	= 15,
	VHOST_USER_SET_PROTOCOL_FEATURES	= 16,
	VHOST_USER_GET_QUEUE_NUM		= 17,
	VHOST_USER_SET_VRING_ENABLE		= 18,
	VHOST_USER_SEND_RARP			= 19,
	VHOST_USER_NET_SET_MTU			= 20,
	VHOST_USER_SET_BACKEND_REQ_FD		= 21,
	VHOST_USER_IOTLB_MSG			= 22,
	VHOST_USER_SET_VRING_ENDIAN		= 23,
	VHOST_USER_GET_CONFIG			= 24,
	VHOST_USER_SET_CONFIG			= 25,
	VHOST_USER_CREATE_CRYPTO_SESSION	= 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION		= 27,
	VHOST_USER_POSTCOPY_ADVISE		= 28,
	VHOST_USER_POSTCOPY_LISTEN		= 29,
	VHOST_USER_POSTCOPY_END			= 30,
	VHOST_USER_GET_INFLIGHT_FD		= 31,
	VHOST_USER_SET_INFLIGHT_FD		= 32,
	VHOST_USER_GPU_SET_SOCKET		= 33,
	VHOST_USER_RESET_DEVICE			= 34,
	VHOST_USER_VRING_KICK			= 35,
	VHOST_USER_GET_MAX_MEM_SLOTS		= 36,
	VHOST_USER_ADD_MEM_REG			= 37,
	VHOST_USER_REM_MEM_REG			= 38,
	VHOST_USER_SET_STATUS			= 39,
	VHOST_USER_GET_STATUS			= 40,
	VHOST_USER_GET_SHARED_OBJECT		= 41,
	VHOST_USER_SET_DEVICE_STATE_FD		= 42,
	VHOST_USER_CHECK_DEVICE_STATE		= 43,
	VHOST_USER_GET_SHMEM_CONFIG		= 44,
	VHOST_USER_REQUEST_COUNT
};

/*
 * Requests the back-end sends on the channel it got with
 * SET_BACKEND_REQ_FD (the spec's "back-end message types").
 */
enum vhost_user_backend_request {
	VHOST_USER_BACKEND_NONE			= 0,	/* never valid */
	VHOST_USER_BACKEND_IOTLB_MSG		= 1,
	VHOST_USER_BACKEND_CONFIG_CHANGE_MSG	= 2,
	VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VHOST_USER_BACKEND_VRING_CALL		= 4,
	VHOST_USER_BACKEND_VRING_ERR		= 5,
	VHOST_USER_BACKEND_SHARED_OBJECT_ADD	= 6,
	VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE	= 7,
	VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP	= 8,
	VHOST_USER_BACKEND_SHMEM_MAP		= 9,
	VHOST_USER_BACKEND_SHMEM_UNMAP		= 10,
	VHOST_USER_BACKEND_REQUEST_COUNT
};

/*
 * Which request table a message belongs to: the two directions reuse
 * the same small numbers for different requests.
 */
enum vhost_user_channel {
	/* Main socket: front-end requests, back-end replies. */
	VHOST_USER_CHANNEL_FRONTEND,
	/* SET_BACKEND_REQ_FD socket: back-end requests, front-end replies. */
	VHOST_USER_CHANNEL_BACKEND,
};

/* ---- payloads ---------------------------------------------------------- */

/* SET_VRING_KICK/CALL/ERR and VRING_HOST_NOTIFIER u64: index and flag. */
#define VHOST_USER_VRING_INDEX_MASK	0xffull
#define VHOST_USER_VRING_NOFD_MASK	(1ull << 8)

/* SET_DEVICE_STATE_FD reply u64: bits 0-7 error, bit 8 "no fd returned". */
#define VHOST_USER_DEVICE_STATE_ERROR_MASK	0xffull
#define VHOST_USER_DEVICE_STATE_NOFD_MASK	(1ull << 8)

/* vring state: SET_VRING_NUM/BASE/ENABLE/ENDIAN, GET_VRING_BASE, ... */
struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

/*
 * SET_VRING_BASE / GET_VRING_BASE num.  Split ring: the next available
 * index the back-end processes, free running, in bits 0-15.  Packed ring
 * (VIRTIO_F_RING_PACKED negotiated): bits 0-14 the next available
 * descriptor position, bit 15 its wrap counter, bits 16-30 the next used
 * position, bit 31 its wrap counter.  Back-ends may answer GET_VRING_BASE
 * with the low half only (DPDK 22.11 does), and take the used half equal
 * to the available one on SET_VRING_BASE.
 */
#define VHOST_USER_PACKED_IDX_MASK	0x7fffu
#define VHOST_USER_PACKED_AVAIL_WRAP	(1u << 15)
#define VHOST_USER_PACKED_USED_SHIFT	16
#define VHOST_USER_PACKED_USED_WRAP	(1u << 31)

static inline uint32_t vhost_user_packed_base(uint16_t avail, bool avail_wrap,
					      uint16_t used, bool used_wrap)
{
	return (avail & VHOST_USER_PACKED_IDX_MASK) |
	       (avail_wrap ? VHOST_USER_PACKED_AVAIL_WRAP : 0) |
	       (uint32_t)(used & VHOST_USER_PACKED_IDX_MASK)
		       << VHOST_USER_PACKED_USED_SHIFT |
	       (used_wrap ? VHOST_USER_PACKED_USED_WRAP : 0);
}

/*
 * A ring the driver just set up (virtio 1.2 2.7, 2.8.1): split index 0;
 * packed positions 0 with both wrap counters 1.
 */
#define VHOST_USER_SPLIT_BASE_INITIAL	0u
#define VHOST_USER_PACKED_BASE_INITIAL	\
	(VHOST_USER_PACKED_AVAIL_WRAP | VHOST_USER_PACKED_USED_WRAP)

/* vring_addr.flags: log used-ring writes (VHOST_USER_F_LOG_ALL). */
#define VHOST_USER_VRING_F_LOG		(1u << 0)

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;	/* front-end virtual address */
	uint64_t mmap_offset;		/* where the region starts in its fd */
};

/*
 * SET_MEM_TABLE: variable length, 8 + nregions * 32 bytes on the wire,
 * with exactly nregions fds in the same order.
 */
struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEMORY_BASELINE_NREGIONS];
};
#define VHOST_USER_MEM_TABLE_SIZE(n) \
	(offsetof(struct vhost_user_mem_table, regions) + \
	 (n) * sizeof(struct vhost_user_mem_region))

/* ADD_MEM_REG / REM_MEM_REG: one region after 8 bytes of padding. */
struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

/* SET_LOG_BASE: the dirty log inside the fd sent with it. */
struct vhost_user_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
};
/* Bytes of guest memory one bit of the dirty log covers. */
#define VHOST_USER_LOG_PAGE		0x1000

/* IOTLB_MSG (front-end) and BACKEND_IOTLB_MSG (back-end). */
enum vhost_user_iotlb_type {
	VHOST_USER_IOTLB_MISS		= 1,
	VHOST_USER_IOTLB_UPDATE		= 2,
	VHOST_USER_IOTLB_INVALIDATE	= 3,
	VHOST_USER_IOTLB_ACCESS_FAIL	= 4,
};
enum vhost_user_iotlb_perm {
	VHOST_USER_IOTLB_PERM_NONE	= 0,
	VHOST_USER_IOTLB_PERM_RO	= 1,
	VHOST_USER_IOTLB_PERM_WO	= 2,
	VHOST_USER_IOTLB_PERM_RW	= 3,
};

/* Same layout as the kernel's struct vhost_iotlb_msg, padding spelled out. */
struct vhost_user_iotlb {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
	uint8_t padding[6];
};

/* GET_CONFIG / SET_CONFIG: 12-byte header then `size` bytes of config. */
enum vhost_user_config_flags {
	VHOST_USER_CONFIG_WRITABLE	= 0,	/* driver wrote a field */
	VHOST_USER_CONFIG_MIGRATION	= 1,	/* restore on the destination */
};

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};
#define VHOST_USER_CONFIG_HEADER_SIZE	offsetof(struct vhost_user_config, region)

/* BACKEND_VRING_HOST_NOTIFIER_MSG: u64 as in SET_VRING_KICK; mmap range. */
struct vhost_user_vring_area {
	uint64_t u64;
	uint64_t size;
	uint64_t offset;
};

/* GET_INFLIGHT_FD / SET_INFLIGHT_FD. */
struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint8_t padding[4];
};

/*
 * The shared inflight region of one packed queue (vhost-user spec,
 * "Inflight I/O tracking", QueueRegionPacked): the back-end's own
 * bookkeeping, kept by the front-end across back-end restarts.  desc[]
 * has one entry per ring descriptor, linked into a free list by next;
 * an in-flight chain is a head entry (inflight 1, num copies, last)
 * followed by next-linked copies of its ring descriptors.  The old_*
 * fields are the last committed completion (virtio 1.2 2.8).
 */
struct vhost_user_inflight_packed_desc {
	uint8_t inflight;
	uint8_t padding;
	uint16_t next;
	uint16_t last;
	uint16_t num;
	uint64_t counter;
	uint16_t id;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

struct vhost_user_inflight_packed {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t free_head;
	uint16_t old_free_head;
	uint16_t used_idx;
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t padding[7];
	struct vhost_user_inflight_packed_desc desc[];
};

/* GET_SHARED_OBJECT and the BACKEND_SHARED_OBJECT_* requests. */
struct vhost_user_shared_object {
	uint8_t uuid[16];
};

/* SET_DEVICE_STATE_FD. */
enum vhost_user_transfer_direction {
	VHOST_USER_TRANSFER_SAVE	= 0,	/* back-end -> front-end */
	VHOST_USER_TRANSFER_LOAD	= 1,	/* front-end -> back-end */
};
enum vhost_user_migration_phase {
	VHOST_USER_MIGRATION_STOPPED	= 0,
};

struct vhost_user_device_state {
	uint32_t direction;
	uint32_t phase;
};

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem_table mem_table;
	struct vhost_user_mem_reg mem_reg;
	struct vhost_user_log log;
	struct vhost_user_iotlb iotlb;
	struct vhost_user_config config;
	struct vhost_user_vring_area area;
	struct vhost_user_inflight inflight;
	struct vhost_user_shared_object object;
	struct vhost_user_device_state device_state;
	/* Room for the largest payload: a full config space. */
	uint8_t bytes[VHOST_USER_HEADER_SIZE + VHOST_USER_MAX_CONFIG_SIZE];
};

/* The largest payload any supported message has (a full GET_CONFIG). */
#define VHOST_USER_PAYLOAD_MAX_SIZE \
	(VHOST_USER_CONFIG_HEADER_SIZE + VHOST_USER_MAX_CONFIG_SIZE)

/* Sizes as the spec lays the payloads out. */
_Static_assert(sizeof(struct vhost_user_vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "memory region");
_Static_assert(offsetof(struct vhost_user_mem_table, regions) == 8,
	       "memory table header");
_Static_assert(sizeof(struct vhost_user_mem_table) ==
	       VHOST_USER_MEM_TABLE_SIZE(VHOST_USER_MEMORY_BASELINE_NREGIONS),
	       "memory table with 8 regions is 264 bytes");
_Static_assert(VHOST_USER_MEM_TABLE_SIZE(VHOST_USER_MEMORY_BASELINE_NREGIONS)
	       == 264, "memory table");
_Static_assert(sizeof(struct vhost_user_mem_reg) == 40, "single region");
_Static_assert(offsetof(struct vhost_user_mem_reg, region) == 8,
	       "single region padding");
_Static_assert(sizeof(struct vhost_user_log) == 16, "log description");
_Static_assert(sizeof(struct vhost_user_iotlb) == 32, "IOTLB message");
_Static_assert(offsetof(struct vhost_user_iotlb, type) == 25, "IOTLB type");
_Static_assert(VHOST_USER_CONFIG_HEADER_SIZE == 12, "config header");
_Static_assert(sizeof(struct vhost_user_config) == 268, "config payload");
_Static_assert(sizeof(struct vhost_user_vring_area) == 24, "vring area");
_Static_assert(sizeof(struct vhost_user_inflight) == 24, "inflight");
_Static_assert(offsetof(struct vhost_user_inflight, queue_size) == 18,
	       "inflight queue size");
_Static_assert(sizeof(struct vhost_user_inflight_packed_desc) == 32,
	       "inflight packed descriptor");
_Static_assert(offsetof(struct vhost_user_inflight_packed_desc, id) == 16,
	       "inflight packed descriptor copy");
_Static_assert(sizeof(struct vhost_user_inflight_packed) == 32,
	       "inflight packed queue header");
_Static_assert(offsetof(struct vhost_user_inflight_packed, used_wrap_counter)
	       == 20, "inflight packed wrap counters");
_Static_assert(sizeof(struct vhost_user_shared_object) == 16, "UUID");
_Static_assert(sizeof(struct vhost_user_device_state) == 8, "device state");
_Static_assert(VHOST_USER_PAYLOAD_MAX_SIZE == 268, "largest payload");
_Static_assert(sizeof(union vhost_user_payload) >= VHOST_USER_PAYLOAD_MAX_SIZE,
	       "payload buffer holds the largest payload");

/*
 * One message in memory (not the wire layout): the header, up to
 * VHOST_USER_PAYLOAD_MAX_SIZE payload bytes and the fds that came or go
 * with it.  Unused fds[] slots hold -1.
 *
 * Fd ownership: a received message owns its fds.  vhost_user_decode()
 * and vhost_user_reply_check() close every fd of a message they reject
 * (and set nfds to 0); on success the caller owns them, takes the ones
 * it keeps (vhost_user_msg_take_fd) and closes the rest with
 * vhost_user_msg_close_fds().  vhost_user_send() never closes the fds it
 * sends: they stay the sender's.
 */
struct vhost_user_msg {
	struct vhost_user_header hdr;
	union vhost_user_payload payload;
	unsigned nfds;
	int fds[VHOST_USER_MAX_FDS];
};

/* ---- the validation table ---------------------------------------------- */

/* What a payload holds; decides which structure-specific checks run. */
enum vhost_user_payload_kind {
	VHOST_USER_PAYLOAD_NONE,
	VHOST_USER_PAYLOAD_U64,
	VHOST_USER_PAYLOAD_VRING_FD,	/* u64 index + NOFD, fd unless NOFD */
	VHOST_USER_PAYLOAD_VRING_STATE,
	VHOST_USER_PAYLOAD_VRING_ADDR,
	VHOST_USER_PAYLOAD_MEM_TABLE,	/* variable: 8 + nregions * 32 */
	VHOST_USER_PAYLOAD_MEM_REG,
	VHOST_USER_PAYLOAD_LOG,
	VHOST_USER_PAYLOAD_IOTLB,
	VHOST_USER_PAYLOAD_CONFIG,	/* variable: 12 + config size */
	VHOST_USER_PAYLOAD_VRING_AREA,
	VHOST_USER_PAYLOAD_INFLIGHT,
	VHOST_USER_PAYLOAD_SHARED_OBJECT,
	VHOST_USER_PAYLOAD_DEVICE_STATE,
	/* Known request whose payload we do not validate: always rejected. */
	VHOST_USER_PAYLOAD_UNSUPPORTED,
};

/* How many fds a message may carry. */
enum vhost_user_fd_rule {
	VHOST_USER_FDS_NONE,
	VHOST_USER_FDS_ONE,		/* exactly one */
	VHOST_USER_FDS_OPTIONAL,	/* zero or one */
	VHOST_USER_FDS_PER_REGION,	/* exactly nregions */
	VHOST_USER_FDS_UNLESS_NOFD,	/* one, or none with the NOFD bit */
	/* REM_MEM_REG: one is tolerated and closed unused, per the spec. */
	VHOST_USER_FDS_DISCARD,
	/* Replies: GET_INFLIGHT_FD has one exactly when mmap_size != 0. */
	VHOST_USER_FDS_IF_MMAP_SIZE,
	/* Replies: zero or one with a zero (success) u64, none otherwise. */
	VHOST_USER_FDS_IF_SUCCESS,
};

/* When the receiver of a request must answer it. */
enum vhost_user_reply_rule {
	/* Only when NEED_REPLY is set (and REPLY_ACK negotiated): u64 ack. */
	VHOST_USER_REPLY_ON_NEED_REPLY,
	/* Whenever REPLY_ACK is negotiated (NET_SET_MTU, SET_BACKEND_REQ_FD). */
	VHOST_USER_REPLY_IF_REPLY_ACK,
	/* When LOG_SHMFD is negotiated (SET_LOG_BASE), else as NEED_REPLY. */
	VHOST_USER_REPLY_IF_LOG_SHMFD,
	/* Always, with the request's own reply payload. */
	VHOST_USER_REPLY_ALWAYS,
};

struct vhost_user_request_info {
	const char *name;		/* "GET_FEATURES", no prefix */
	enum vhost_user_payload_kind payload;
	uint32_t min_size, max_size;	/* payload bytes accepted */
	enum vhost_user_fd_rule fds;
	enum vhost_user_reply_rule reply;
	/* Reply to an ALWAYS request (an ack is always a u64). */
	enum vhost_user_payload_kind reply_payload;
	uint32_t reply_min_size, reply_max_size;
	enum vhost_user_fd_rule reply_fds;
};

/* The table entry for a request, or NULL when there is none. */
const struct vhost_user_request_info *
vhost_user_request_info(enum vhost_user_channel channel, uint32_t request);

/* ---- messages ---------------------------------------------------------- */

/* A request with version 1, `size` zeroed payload bytes and no fds. */
void vhost_user_msg_init(struct vhost_user_msg *msg, uint32_t request,
			 uint32_t size);
/* The reply header for `request` (REPLY flag, same request id). */
void vhost_user_reply_init(struct vhost_user_msg *reply,
			   const struct vhost_user_msg *request, uint32_t size);
/* Attach fd (not duplicated: still the caller's).  -E2BIG when full. */
int vhost_user_msg_add_fd(struct vhost_user_msg *msg, int fd)
	__attribute__((warn_unused_result));
/* Hand fds[i] to the caller (-1 if absent); the message forgets it. */
int vhost_user_msg_take_fd(struct vhost_user_msg *msg, unsigned i)
	__attribute__((warn_unused_result));
/* Close every fd the message still holds. */
void vhost_user_msg_close_fds(struct vhost_user_msg *msg);

/*
 * Build a message from raw bytes (header + payload) and fds, as a
 * datagram transport or a fuzzer would.  Takes ownership of the fds in
 * every case (closes them on failure).  -EBADMSG: fewer than 12 bytes;
 * -EMSGSIZE: header size disagrees with len, or exceeds
 * VHOST_USER_PAYLOAD_MAX_SIZE; -EINVAL: more than VHOST_USER_MAX_FDS fds.
 * Only framing is checked here: call vhost_user_decode() next.
 */
int vhost_user_msg_parse(struct vhost_user_msg *msg, const void *buf,
			 size_t len, const int *fds, size_t nfds)
	__attribute__((warn_unused_result));

/*
 * Validate a received request before any handler sees it; do not assume
 * received message fields contain sensible values until this returned 0.
 * nvrings is the number of vrings the device has (at most
 * VHOST_USER_MAX_VRINGS): every vring index must be below it.
 *
 * Returns 0, or:
 *   -EPROTO     version not 1, an undefined flag bit, or REPLY set
 *   -EBADMSG    request id unknown on this channel
 *   -EOPNOTSUPP known request we do not implement (crypto sessions,
 *               shared memory regions)
 *   -EMSGSIZE   payload size not what the request (or its nregions /
 *               config size) needs
 *   -EINVAL     bad value: nregions > 8, config size > 256, vring index
 *               out of range, reserved bits set, overlapping or wrapping
 *               regions, fd count the request does not allow, ...
 * On failure every fd of msg has been closed and nfds is 0.  On success
 * REM_MEM_REG's optional fd has been closed (the spec says to ignore it);
 * all other fds are the caller's.
 */
int vhost_user_decode(struct vhost_user_msg *msg,
		      enum vhost_user_channel channel, unsigned nvrings)
	__attribute__((warn_unused_result));

/*
 * Whether the receiver of this (decoded) request must send exactly one
 * reply, given the negotiated protocol features.
 */
bool vhost_user_expects_reply(const struct vhost_user_msg *request,
			      enum vhost_user_channel channel,
			      uint64_t protocol_features);

/*
 * Check that `reply` answers `request` (a request this side sent on
 * `channel`): REPLY set, NEED_REPLY clear, version 1, the same request
 * id, the size and fds the reply needs (an ack is a u64), and the values
 * that must echo the request (GET_VRING_BASE index, GET_CONFIG size).
 * Returns 0, -EPROTO (flags, version, request id), -EMSGSIZE (size),
 * -EINVAL (fds, values), or -EREMOTEIO when the back-end answered
 * GET_CONFIG with its empty "failed" reply.  Same fd rule as decode:
 * on failure the reply's fds are closed.  The u64 of an ack is the
 * peer's status (0 = success); it is not interpreted here.
 */
int vhost_user_reply_check(const struct vhost_user_msg *request,
			   struct vhost_user_msg *reply,
			   enum vhost_user_channel channel)
	__attribute__((warn_unused_result));

/* ---- socket I/O -------------------------------------------------------- */

/*
 * Send header, hdr.size payload bytes and the message's fds on a
 * SOCK_STREAM unix socket.  Partial writes are continued (the fds go
 * with the first byte); never blocks longer than timeout_ms in total
 * (0: only what fits now).  Returns 0, -EINVAL (negative timeout, more
 * than 8 fds, size over VHOST_USER_PAYLOAD_MAX_SIZE), -EBADF (a negative
 * fd), -ETIMEDOUT, -ECONNRESET (peer gone) or another -errno from
 * sendmsg().  After a failure part of the message may have been sent:
 * drop the connection.
 */
int vhost_user_send(int sock, const struct vhost_user_msg *msg,
		    int timeout_ms)
	__attribute__((warn_unused_result));

/*
 * Receive one message: header, then its payload (which may arrive in
 * later reads), collecting SCM_RIGHTS fds (close-on-exec) from every
 * read.  Waits at most timeout_ms in total for the whole message; never
 * blocks forever, even on a blocking socket.  Only framing is checked:
 * call vhost_user_decode() or vhost_user_reply_check() next.
 * Returns 0, or -EINVAL (negative timeout; more than 8 fds, in which case
 * the whole message is still consumed and every fd closed), -EMSGSIZE
 * (header size above VHOST_USER_PAYLOAD_MAX_SIZE), -ETIMEDOUT,
 * -ECONNRESET (EOF, before or inside a message) or another -errno.
 * On failure msg holds no fds.  After any failure other than -EINVAL the
 * stream position is unknown: drop the connection, as the spec says a
 * front-end does on a wrong reply.
 */
int vhost_user_recv(int sock, struct vhost_user_msg *msg, int timeout_ms)
	__attribute__((warn_unused_result));

/* ---- names, for logs and splitvm-ctl ------------------------------------ */

/* "SET_MEM_TABLE", or "UNKNOWN" for an id with no table entry. */
const char *vhost_user_request_name(enum vhost_user_channel channel,
				    uint32_t request);
/* "REPLY_ACK", or NULL for a bit the spec does not define. */
const char *vhost_user_protocol_feature_name(unsigned bit);
/*
 * Protocol feature mask as "MQ|REPLY_ACK|bit31"; "" for 0.  Always
 * NUL-terminates; -ENOSPC when truncated.
 */
int vhost_user_protocol_features_format(uint64_t features, char *buf,
					size_t len)
	__attribute__((warn_unused_result));

#endif
