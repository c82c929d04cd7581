/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user front-end: drives one back-end over its main socket with the
 * codec of vhost_user.h, keeps the negotiated state, and turns any
 * misbehaviour of the back-end into a "broken" client instead of a crash.
 */
#ifndef SPLITVM_VHOST_USER_CLIENT_H
#define SPLITVM_VHOST_USER_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"

/*
 * One connection.  Not thread-safe: one thread issues the calls.  Every
 * call waits at most the client's timeout for its whole exchange.
 *
 * Errors: 0 or a negative errno.  Three kinds:
 *   - the caller's input is wrong (-EINVAL, -EMSGSIZE, -EBADF) or the
 *     request needs a feature that was not negotiated (-EOPNOTSUPP):
 *     nothing is sent, the client stays usable;
 *   - the back-end answered correctly but refused (-EREMOTEIO: a non-zero
 *     REPLY_ACK, or GET_CONFIG's empty reply): the client stays usable;
 *   - anything else (timeout, EOF, a reply with the wrong id, size, flags
 *     or fds, a send failure): the client is broken.  The first error is
 *     kept and logged once; every later call returns -EPIPE at once and
 *     never touches the socket again.  Close the client.
 */
struct vhost_user_client;

#define VHOST_USER_CLIENT_DEFAULT_TIMEOUT_MS	5000

/*
 * Connect to the back-end listening on the unix socket `path`, retrying
 * while the socket does not exist yet or refuses (back-ends start in
 * parallel with the core) until timeout_ms has passed; the same timeout
 * becomes the client's per-call timeout.  -ETIMEDOUT when nobody
 * accepted in time, -ENAMETOOLONG, -EINVAL (timeout <= 0), -ENOMEM, or
 * the -errno of a failure that waiting would not cure (-EACCES, ...).
 */
int vhost_user_client_connect(const char *path, int timeout_ms,
			      struct vhost_user_client **out)
	__attribute__((warn_unused_result));

/*
 * One attempt, never waiting for the back-end to appear: for a caller
 * with its own retry schedule (reconnecting to a restarted back-end from
 * an event loop).  -ENOENT and -ECONNREFUSED (nobody listens yet),
 * -EAGAIN (backlog full), or the errors above; timeout_ms is the
 * client's per-call timeout.
 */
int vhost_user_client_connect_once(const char *path, int timeout_ms,
				   struct vhost_user_client **out)
	__attribute__((warn_unused_result));

/*
 * A client on an already connected SOCK_STREAM unix socket (socketpair,
 * inherited fd).  Takes ownership of fd in every case: it is closed on
 * failure (-EBADF, -ENOTSOCK, -EINVAL for a socket of another kind or
 * a timeout <= 0, -ENOMEM).  `name` (copied, may be NULL) tags log lines.
 */
int vhost_user_client_from_fd(int fd, const char *name, int timeout_ms,
			      struct vhost_user_client **out)
	__attribute__((warn_unused_result));

/* Close the socket and free the client; NULL is fine. */
void vhost_user_client_close(struct vhost_user_client *c);

/*
 * quiet: the error that breaks the client is logged at debug level, not
 * as an error (the caller reports failures itself, rate-limited).
 */
void vhost_user_client_set_quiet(struct vhost_user_client *c, bool quiet);

/* Per-call timeout from now on; -EINVAL unless > 0. */
int vhost_user_client_set_timeout(struct vhost_user_client *c, int timeout_ms)
	__attribute__((warn_unused_result));

/*
 * The first error that broke the client (a negative errno), or 0 while it
 * is healthy.  *request (when not NULL) gets the name of the request it
 * happened in ("GET_VRING_BASE"), or NULL when healthy.
 */
int vhost_user_client_error(const struct vhost_user_client *c,
			    const char **request);

/* Whether the client is broken (see above). */
bool vhost_user_client_broken(const struct vhost_user_client *c);

/* The socket, for the caller's event loop (to see the back-end hang up). */
int vhost_user_client_fd(const struct vhost_user_client *c);

/* ---- negotiation -------------------------------------------------------- */

/*
 * GET_FEATURES.  Remembers the offer: protocol features are only spoken
 * when it has VHOST_USER_F_PROTOCOL_FEATURES.
 */
int vhost_user_client_get_features(struct vhost_user_client *c,
				   uint64_t *features)
	__attribute__((warn_unused_result));

/*
 * GET_FEATURES in two halves, for a caller that waits for the reply in
 * its own event loop (the socket turns readable): send, then recv, which
 * waits at most the timeout.  Nothing else may be called in between
 * (-EPROTO for a second send or a recv without one).
 */
int vhost_user_client_get_features_send(struct vhost_user_client *c)
	__attribute__((warn_unused_result));
int vhost_user_client_get_features_recv(struct vhost_user_client *c,
					uint64_t *features)
	__attribute__((warn_unused_result));

/*
 * SET_FEATURES.  Needs a GET_FEATURES first (-EPROTO otherwise) and only
 * bits it offered (-EINVAL).  With VHOST_USER_F_PROTOCOL_FEATURES set,
 * vrings start disabled and SET_VRING_ENABLE is available.
 */
int vhost_user_client_set_features(struct vhost_user_client *c,
				   uint64_t features)
	__attribute__((warn_unused_result));

/* GET_PROTOCOL_FEATURES; -EOPNOTSUPP unless the back-end offered them. */
int vhost_user_client_get_protocol_features(struct vhost_user_client *c,
					    uint64_t *features)
	__attribute__((warn_unused_result));

/*
 * SET_PROTOCOL_FEATURES: only bits the back-end offered (-EINVAL), after
 * GET_PROTOCOL_FEATURES (-EPROTO).  From the next call on, the client
 * uses what it acked: with REPLY_ACK every request that does not have a
 * reply of its own asks for an ack (NEED_REPLY) and waits for it.
 */
int vhost_user_client_set_protocol_features(struct vhost_user_client *c,
					    uint64_t features)
	__attribute__((warn_unused_result));

/* What SET_FEATURES / SET_PROTOCOL_FEATURES acked (0 before). */
uint64_t vhost_user_client_features(const struct vhost_user_client *c);
uint64_t vhost_user_client_protocol_features(const struct vhost_user_client *c);

int vhost_user_client_set_owner(struct vhost_user_client *c)
	__attribute__((warn_unused_result));

/* GET_QUEUE_NUM; -EOPNOTSUPP unless PROTOCOL_F_MQ was acked. */
int vhost_user_client_get_queue_num(struct vhost_user_client *c,
				    uint64_t *num)
	__attribute__((warn_unused_result));

/* ---- memory ------------------------------------------------------------- */

/* One piece of guest RAM as the front-end has it mapped. */
struct vhost_user_client_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t hva;		/* where the front-end mapped it */
	int fd;			/* stays the caller's */
	uint64_t mmap_offset;	/* where the region starts in fd */
};

/*
 * SET_MEM_TABLE with n (<= VHOST_USER_MEMORY_BASELINE_NREGIONS) regions,
 * their fds in the same order.  Regions must be non-empty, not wrap and
 * not overlap in guest physical space (-EINVAL).
 */
int vhost_user_client_set_mem_table(struct vhost_user_client *c,
				    const struct vhost_user_client_region *regions,
				    unsigned n)
	__attribute__((warn_unused_result));

/* GET_MAX_MEM_SLOTS; -EOPNOTSUPP unless CONFIGURE_MEM_SLOTS was acked. */
int vhost_user_client_get_max_mem_slots(struct vhost_user_client *c,
					uint64_t *slots)
	__attribute__((warn_unused_result));

/* ADD_MEM_REG / REM_MEM_REG (CONFIGURE_MEM_SLOTS); rem sends no fd. */
int vhost_user_client_add_mem_reg(struct vhost_user_client *c,
				  const struct vhost_user_client_region *region)
	__attribute__((warn_unused_result));
int vhost_user_client_rem_mem_reg(struct vhost_user_client *c,
				  const struct vhost_user_client_region *region)
	__attribute__((warn_unused_result));

/* ---- vrings ------------------------------------------------------------- */

/*
 * Every vring index must be below VHOST_USER_MAX_VRINGS (the fd-carrying
 * messages have 8 bits for it); the back-end knows how many it has.
 */
int vhost_user_client_set_vring_num(struct vhost_user_client *c,
				    unsigned idx, unsigned num)
	__attribute__((warn_unused_result));

/*
 * SET_VRING_ADDR: desc/used/avail as front-end user addresses (addr->index
 * selects the vring); flags only VHOST_USER_VRING_F_LOG.
 */
int vhost_user_client_set_vring_addr(struct vhost_user_client *c,
				     const struct vhost_user_vring_addr *addr)
	__attribute__((warn_unused_result));

int vhost_user_client_set_vring_base(struct vhost_user_client *c,
				     unsigned idx, uint32_t base)
	__attribute__((warn_unused_result));

/*
 * Stop the vring and get the next available index the back-end would
 * have processed (GET_VRING_BASE).
 */
int vhost_user_client_get_vring_base(struct vhost_user_client *c,
				     unsigned idx, uint32_t *base)
	__attribute__((warn_unused_result));

/*
 * SET_VRING_KICK / CALL / ERR: fd stays the caller's; -1 sends the NOFD
 * bit (kick: poll the ring; call/err: do not signal).
 */
int vhost_user_client_set_vring_kick(struct vhost_user_client *c,
				     unsigned idx, int fd)
	__attribute__((warn_unused_result));
int vhost_user_client_set_vring_call(struct vhost_user_client *c,
				     unsigned idx, int fd)
	__attribute__((warn_unused_result));
int vhost_user_client_set_vring_err(struct vhost_user_client *c,
				    unsigned idx, int fd)
	__attribute__((warn_unused_result));

/* SET_VRING_ENABLE; -EOPNOTSUPP unless F_PROTOCOL_FEATURES was acked. */
int vhost_user_client_set_vring_enable(struct vhost_user_client *c,
				       unsigned idx, bool enable)
	__attribute__((warn_unused_result));

/* ---- device config (PROTOCOL_F_CONFIG, else -EOPNOTSUPP) ---------------- */

/* offset + size within the 256-byte config space, size > 0 (-EINVAL). */
int vhost_user_client_get_config(struct vhost_user_client *c,
				 uint32_t offset, uint32_t size, void *buf)
	__attribute__((warn_unused_result));
int vhost_user_client_set_config(struct vhost_user_client *c,
				 uint32_t offset, uint32_t size,
				 const void *buf)
	__attribute__((warn_unused_result));

/* ---- inflight I/O tracking (PROTOCOL_F_INFLIGHT_SHMFD) ------------------ */

/*
 * GET_INFLIGHT_FD: the back-end allocates the shared buffer.  *fd is the
 * caller's (or -1 when the back-end returned mmap_size 0).
 */
int vhost_user_client_get_inflight_fd(struct vhost_user_client *c,
				      uint16_t num_queues, uint16_t queue_size,
				      int *fd, uint64_t *mmap_size,
				      uint64_t *mmap_offset)
	__attribute__((warn_unused_result));

/* SET_INFLIGHT_FD: hand the buffer back (after a back-end restart). */
int vhost_user_client_set_inflight_fd(struct vhost_user_client *c, int fd,
				      uint64_t mmap_size, uint64_t mmap_offset,
				      uint16_t num_queues, uint16_t queue_size)
	__attribute__((warn_unused_result));

#endif
