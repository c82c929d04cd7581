/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recovery of a vhost-user device whose back-end went away: notice the
 * loss, connect to the same socket path again with growing delays, and
 * replay to the new back-end everything the old one had been told, so
 * the guest driver never learns of it.  Main thread, except
 * vud_mark_lost() and vud_mark_failed().
 */
#include "vhost_user_dev_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "vhost_user_client.h"
#include "vhost_user_inflight.h"
#include "virtio.h"

/* First retry after a loss, and the most the delay grows to. */
#define VUD_BACKOFF_MIN_MS	50
#define VUD_BACKOFF_MAX_MS	5000
/*
 * A connection that lasted less than this ends with the delay growing
 * on: a back-end that dies right after each reconnect is soon retried
 * every 5 s, not at full speed.  One that served longer starts again
 * from the shortest delay.
 */
#define VUD_STABLE_MS		1000
/* Failed attempts are logged at the first and then at most this often. */
#define VUD_RETRY_LOG_MS	30000
/*
 * Per message once the new back-end answered its first (GET_FEATURES,
 * waited for in the loop with the device's full timeout): it is alive,
 * so this only bounds how long a back-end that stops in the middle of
 * the replay holds the main loop.
 */
#define VUD_HANDSHAKE_TIMEOUT_MS 1000

#define BIT_PROTOCOL(on) \
	((on) ? VUD_BIT(VHOST_USER_F_PROTOCOL_FEATURES) : 0)

static int64_t vud_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *vhost_user_dev_state_name(enum vhost_user_dev_state state)
{
	switch (state) {
	case VHOST_USER_DEV_CONNECTED:
		return "connected";
	case VHOST_USER_DEV_RECONNECTING:
		return "reconnecting";
	case VHOST_USER_DEV_FAILED:
		return "failed";
	}
	return "?";
}

static void vud_signal_loop(struct vhost_user_dev *dev)
{
	if (eventfd_write(dev->lost_fd, 1) < 0) {
		/* Only EAGAIN at 2^64-1: it is signalled already. */
	}
}

void vud_mark_lost(struct vhost_user_dev *dev, const char *why)
{
	if (atomic_exchange(&dev->lost, true))
		return;
	log_warn(dev->name, "vhost-user back-end on %s lost (%s); "
		 "reconnecting", dev->path, why);
	vud_signal_loop(dev);
}

void vud_mark_failed(struct vhost_user_dev *dev, const char *why)
{
	if (atomic_exchange(&dev->failed, true))
		return;
	log_err(dev->name, "vhost-user back-end on %s %s; device stopped, "
		"the VM keeps running", dev->path, why);
	vud_signal_loop(dev);
}

int vud_reconnect_init(struct vhost_user_dev *dev)
{
	dev->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_CLOEXEC | TFD_NONBLOCK);
	if (dev->timer_fd < 0)
		return -errno;
	dev->backoff_ms = VUD_BACKOFF_MIN_MS;
	dev->up_since_ms = vud_now_ms();
	return 0;
}

void vud_reconnect_fini(struct vhost_user_dev *dev)
{
	if (dev->timer_fd >= 0)
		close(dev->timer_fd);
	dev->timer_fd = -1;
}

static void vud_timer_arm(struct vhost_user_dev *dev, unsigned ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 },
	};

	/* 0 disarms. */
	if (timerfd_settime(dev->timer_fd, 0, &its, NULL) < 0)
		log_err(dev->name, "reconnect timer: %s", strerror(errno));
}

static void vud_on_hangup(void *opaque, int fd, uint32_t events);

static void vud_backoff_grow(struct vhost_user_dev *dev)
{
	dev->backoff_ms = dev->backoff_ms * 2 > VUD_BACKOFF_MAX_MS ?
			  VUD_BACKOFF_MAX_MS : dev->backoff_ms * 2;
}
static void vud_probe_drop(struct vhost_user_dev *dev);

static void vud_sock_watch(struct vhost_user_dev *dev, bool on)
{
	int fd = vhost_user_client_fd(dev->client);

	if (!dev->loop || dev->sock_watched == on)
		return;
	if (!on) {
		event_loop_del(dev->loop, fd);
		dev->sock_watched = false;
		return;
	}
	/* No EPOLLIN: replies are read by the thread that asked. */
	if (event_loop_add(dev->loop, fd, EPOLLRDHUP, vud_on_hangup, dev))
		log_warn(dev->name, "cannot watch the back-end's socket; a "
			 "hang-up is noticed at the next request only");
	else
		dev->sock_watched = true;
}

/*
 * The connection is unusable (lost) or the back-end cannot serve the
 * driver any more (failed): start the retries, or tell the driver.
 */
static void vud_on_lost(struct vhost_user_dev *dev)
{
	if (atomic_load(&dev->failed)) {
		vud_probe_drop(dev);
		vud_sock_watch(dev, false);
		vud_timer_arm(dev, 0);
		dev->reconnecting = false;
		if (!dev->failed_reported) {
			dev->failed_reported = true;
			/* DEVICE_NEEDS_RESET and, if running, an interrupt. */
			virtio_pci_set_needs_reset(dev->vp,
						   "vhost-user back-end failed");
		}
		return;
	}
	if (!atomic_load(&dev->lost) || dev->reconnecting)
		return;
	vud_sock_watch(dev, false);
	if (!dev->sock_path[0]) {
		vud_mark_failed(dev, "has no socket path to reconnect to");
		vud_on_lost(dev);
		return;
	}
	/* A back-end that died soon after coming up: slower each time. */
	if (vud_now_ms() - dev->up_since_ms >= VUD_STABLE_MS)
		dev->backoff_ms = VUD_BACKOFF_MIN_MS;
	else if (atomic_load(&dev->nr_reconnects))
		vud_backoff_grow(dev);
	dev->attempts = dev->attempts_logged = 0;
	dev->reconnecting = true;
	vud_timer_arm(dev, dev->backoff_ms);
}

static void vud_on_hangup(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;

	(void)fd;
	(void)events;
	/*
	 * Only the flag for the client, which belongs to the vCPU threads
	 * until the reconnect takes the lock: their next call is never
	 * made.  A hang-up in the middle of one fails that call on its own.
	 */
	vud_mark_lost(dev, "it hung up");
	vud_on_lost(dev);
}

static void vud_on_lost_fd(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	(void)events;
	(void)eventfd_read(fd, &v);
	vud_on_lost(opaque);
}

/* A failure that no retry cures: the reason for the log line, or NULL. */
struct vud_attempt {
	char why[160];
};

/*
 * Lock held, the new client not installed yet.  The new back-end must
 * offer every feature the driver negotiated and every protocol feature
 * the device was built with; then it gets the same agreement and
 * SET_OWNER.
 */
static int vud_handshake(struct vhost_user_dev *dev,
			 struct vhost_user_client *c, uint64_t features,
			 struct vud_attempt *a)
{
	uint64_t need, pf;
	int ret;

	need = dev->running ? dev->drv_features & ~dev->core_features : 0;
	need |= BIT_PROTOCOL(dev->protocol);
	if (need & ~features) {
		snprintf(a->why, sizeof(a->why), "no longer offers features "
			 "0x%" PRIx64 " that the driver uses",
			 need & ~features);
		return -EOPNOTSUPP;
	}
	if (dev->protocol) {
		ret = vhost_user_client_get_protocol_features(c, &pf);
		if (ret)
			return ret;
		if (dev->protocol_features & ~pf) {
			snprintf(a->why, sizeof(a->why), "no longer offers "
				 "protocol features 0x%" PRIx64,
				 dev->protocol_features & ~pf);
			return -EOPNOTSUPP;
		}
		ret = vhost_user_client_set_protocol_features(
			c, dev->protocol_features);
		if (ret)
			return ret;
	}
	return vhost_user_client_set_owner(c);
}

/* vud_replay(): the driver's packed rings could not be given over. */
#define VUD_REPLAY_NEEDS_RESET	1

/*
 * Packed ring q from the inflight region, the region's queues
 * inflight_size / nvrings apart (librte_vhost's layout): the dead
 * back-end's last committed completion and the chains it had in flight
 * (vhost_user_inflight_packed_base()).  Read with pread(), not mapped:
 * the region is a back-end's memfd, which a back-end still alive could
 * shrink under a mapping (SIGBUS); a short read is just an error.  The
 * region and the descriptor ring come from outside (a back-end, the
 * guest): every field is checked before it is used.
 */
static int vud_packed_base(struct vhost_user_dev *dev, unsigned q,
			   uint32_t *base)
{
	uint64_t stride = dev->inflight_size / dev->nvrings;
	uint16_t size = dev->qi[q].size;
	uint64_t bytes = vhost_user_inflight_packed_bytes(size);
	struct vhost_user_inflight_packed *r;
	ssize_t n;
	int ret;

	if (stride < bytes || size != dev->inflight_queue_size)
		return -EINVAL;
	r = malloc(bytes);
	if (!r)
		return -ENOMEM;
	n = pread(dev->inflight_fd, r, bytes,
		  (off_t)(dev->inflight_offset + q * stride));
	if (n < 0)
		ret = -errno;
	else if ((uint64_t)n != bytes)
		ret = -EINVAL;
	else	/* Checked at DRIVER_OK: the descriptor ring is guest RAM. */
		ret = vhost_user_inflight_packed_base(
			r, size, (const struct vring_packed_desc *)(uintptr_t)
			dev->addrs[q].desc_user_addr, base);
	free(r);
	return ret;
}

/*
 * Lock held: where a new back-end resumes each started ring of a running
 * driver, into bases[].  Split: the used index in guest memory.  What
 * lies between it and the available index is what the dead back-end had
 * not completed; the new one takes it again from the available ring.  A
 * blk back-end with the inflight region resubmits what it had taken out
 * of order and moves past it itself; a net back-end works in order, so
 * frames it had taken and not completed are sent again or, on receive,
 * their buffers refilled.
 *
 * Packed rings keep no index in guest memory.  Rings no back-end was
 * given since DRIVER_OK start afresh.  Otherwise the position is in the
 * inflight region alone (blk): the base is read from it as the back-end
 * will read it, and the back-end, which repairs the region and resumes
 * from it, stays the authority (docs/architecture.md, "Recovery").
 * Without a region (net, or a back-end that does not track packed rings)
 * or with one that cannot be read: -EOPNOTSUPP, the driver must reset.
 */
static int vud_restore_bases(struct vhost_user_dev *dev, uint32_t *bases)
{
	int ret;

	for (unsigned q = 0; q < dev->data_vrings; q++) {
		const volatile uint16_t *used_idx;

		if (!dev->started[q])
			continue;
		if (!dev->packed) {
			/* Checked at DRIVER_OK: the used ring is guest RAM. */
			used_idx = (const volatile uint16_t *)(uintptr_t)
				   (dev->addrs[q].used_user_addr +
				    offsetof(struct vring_used, idx));
			bases[q] = *used_idx;
			log_debug(dev->name, "queue %u resumes at used index "
				  "%u", q, bases[q]);
			continue;
		}
		if (!dev->served) {
			bases[q] = VHOST_USER_PACKED_BASE_INITIAL;
			continue;
		}
		ret = dev->inflight_fd < 0 ? -ENOENT :
		      vud_packed_base(dev, q, &bases[q]);
		if (ret) {
			log_warn(dev->name, "queue %u: no packed position in "
				 "the inflight region (%s)", q, strerror(-ret));
			return -EOPNOTSUPP;
		}
		log_debug(dev->name, "queue %u resumes at packed avail %u "
			  "wrap %u, used %u wrap %u", q,
			  bases[q] & VHOST_USER_PACKED_IDX_MASK,
			  !!(bases[q] & VHOST_USER_PACKED_AVAIL_WRAP),
			  bases[q] >> VHOST_USER_PACKED_USED_SHIFT &
			  VHOST_USER_PACKED_IDX_MASK,
			  !!(bases[q] & VHOST_USER_PACKED_USED_WRAP));
	}
	return 0;
}

/*
 * Lock held, the new client installed: what the driver set since the
 * device was built.  wce, then the running state with every ring where
 * vud_restore_bases() says.  Packed rings without a position to resume
 * from are dropped, the new back-end gets none of them, and the caller
 * makes the driver reset the device (VUD_REPLAY_NEEDS_RESET), after
 * which it starts afresh.
 */
static int vud_replay(struct vhost_user_dev *dev)
{
	const uint32_t wce = offsetof(struct virtio_blk_config, wce);
	uint32_t bases[VUD_MAX_VRINGS];
	int ret;

	if (dev->config_written) {
		ret = vhost_user_client_set_config(dev->client, wce, 1,
						   &dev->config[wce]);
		/* Refused: the driver reads back what it wrote anyway. */
		if (ret && ret != -EREMOTEIO)
			return ret;
	}
	if (!dev->running)
		return 0;
	if (vud_restore_bases(dev, bases)) {
		vud_forget_rings(dev);
		return VUD_REPLAY_NEEDS_RESET;
	}
	return vud_backend_start(dev, bases);
}

/* Rate-limited: the first failure, then one line per VUD_RETRY_LOG_MS. */
static void vud_log_retry(struct vhost_user_dev *dev, int err)
{
	int64_t now = vud_now_ms();

	dev->attempts++;
	log_debug(dev->name, "reconnect attempt %u: %s", dev->attempts,
		  strerror(-err));
	if (dev->attempts_logged && now - dev->last_log_ms < VUD_RETRY_LOG_MS)
		return;
	log_warn(dev->name, "reconnecting to %s: %u attempt(s) failed, the "
		 "last with %s; retrying every %u ms at most", dev->path,
		 dev->attempts, strerror(-err), VUD_BACKOFF_MAX_MS);
	dev->last_log_ms = now;
	dev->attempts_logged = dev->attempts;
}

static void vud_retry(struct vhost_user_dev *dev, int err)
{
	vud_log_retry(dev, err);
	vud_backoff_grow(dev);
	vud_timer_arm(dev, dev->backoff_ms);
}

/* Main thread: give up the probe connection, if any. */
static void vud_probe_drop(struct vhost_user_dev *dev)
{
	if (!dev->probe)
		return;
	if (dev->loop)
		event_loop_del(dev->loop, vhost_user_client_fd(dev->probe));
	vhost_user_client_close(dev->probe);
	dev->probe = NULL;
}

/*
 * The new back-end answered: agree, install, replay.  Its first reply
 * is read now; every later one waits at most VUD_HANDSHAKE_TIMEOUT_MS.
 */
static void vud_complete(struct vhost_user_dev *dev,
			 struct vhost_user_client *c)
{
	struct vud_attempt a = { .why = "" };
	struct vhost_user_client *old = NULL;
	int kick[VUD_MAX_VRINGS], call[VUD_MAX_VRINGS], nkick = 0, ret;
	bool permanent = false, needs_reset = false;
	uint64_t features;

	if (vhost_user_client_set_timeout(c, VUD_HANDSHAKE_TIMEOUT_MS)) {
		/* Only -EINVAL for a timeout <= 0. */
	}
	ret = vhost_user_client_get_features_recv(c, &features);
	if (!ret) {
		pthread_mutex_lock(&dev->lock);
		ret = vud_handshake(dev, c, features, &a);
		if (!ret) {
			old = dev->client;
			dev->client = c;
			c = NULL;
			ret = vud_replay(dev);
			needs_reset = ret == VUD_REPLAY_NEEDS_RESET;
			if (needs_reset)
				ret = 0;
			if (ret && !vhost_user_client_broken(dev->client)) {
				snprintf(a.why, sizeof(a.why), "refused the "
					 "driver's state (%s)", strerror(-ret));
				permanent = true;
			}
		}
		if (ret == -EOPNOTSUPP && a.why[0])
			permanent = true;
		if (!ret) {
			for (unsigned q = 0; q < dev->data_vrings; q++)
				if (dev->running && dev->started[q]) {
					call[nkick] = dev->qi[q].call_fd;
					kick[nkick++] = dev->qi[q].kick_fd;
				}
			atomic_store(&dev->lost, false);
		}
		pthread_mutex_unlock(&dev->lock);
		vhost_user_client_close(old);
	}
	vhost_user_client_close(c);
	if (permanent) {
		dev->reconnecting = false;
		vud_mark_failed(dev, a.why);
		vud_on_lost(dev);
		return;
	}
	if (ret) {
		vud_retry(dev, ret);
		return;
	}

	/* Back: the full timeout for the vCPU threads' calls. */
	vhost_user_client_set_quiet(dev->client, false);
	if (vhost_user_client_set_timeout(dev->client, dev->timeout_ms)) {
		/* Only -EINVAL for a timeout <= 0. */
	}
	dev->reconnecting = false;
	dev->up_since_ms = vud_now_ms();
	atomic_fetch_add(&dev->nr_reconnects, 1);
	vud_sock_watch(dev, true);
	/*
	 * Work the driver queued while nobody listened; and an interrupt,
	 * for completions the old back-end put in a ring but died before
	 * signalling (the new one signals only what it completes itself).
	 * A spurious interrupt is harmless (virtio 1.2 2.7.10, 2.8.10).
	 */
	for (int i = 0; i < nkick; i++) {
		if (eventfd_write(kick[i], 1) < 0)
			log_warn(dev->name, "kick after reconnect: %s",
				 strerror(errno));
		if (eventfd_write(call[i], 1) < 0)
			log_warn(dev->name, "interrupt after reconnect: %s",
				 strerror(errno));
	}
	log_info(dev->name, "reconnected to the vhost-user back-end on %s "
		 "(%u failed attempt(s); reconnect %u); %d ring(s) resumed",
		 dev->path, dev->attempts, atomic_load(&dev->nr_reconnects),
		 nkick);
	if (needs_reset) {
		log_warn(dev->name, "packed rings cannot be resumed (no "
			 "position in guest memory, none in an inflight "
			 "region): the driver must reset the device");
		virtio_pci_set_needs_reset(dev->vp, "packed rings not resumed");
	}
}

/* The probe's socket turned readable (its reply, or a hang-up). */
static void vud_on_probe(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;
	struct vhost_user_client *c = dev->probe;

	(void)fd;
	(void)events;
	event_loop_del(dev->loop, vhost_user_client_fd(c));
	dev->probe = NULL;
	vud_timer_arm(dev, 0);
	vud_complete(dev, c);
}

/*
 * One attempt: connect and send GET_FEATURES; the reply is waited for in
 * the loop (vud_on_probe), up to the device's timeout (the timer).
 */
static void vud_attempt(struct vhost_user_dev *dev)
{
	struct vhost_user_client *c = NULL;
	int ret;

	ret = vhost_user_client_connect_once(dev->sock_path, dev->timeout_ms,
					     &c);
	if (!ret) {
		vhost_user_client_set_quiet(c, true);
		ret = vhost_user_client_get_features_send(c);
	}
	if (!ret)
		ret = event_loop_add(dev->loop, vhost_user_client_fd(c),
				     EPOLLIN | EPOLLRDHUP, vud_on_probe, dev);
	if (ret) {
		vhost_user_client_close(c);
		vud_retry(dev, ret);
		return;
	}
	dev->probe = c;
	vud_timer_arm(dev, (unsigned)dev->timeout_ms);
}

static void vud_on_timer(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: disarmed meanwhile. */
		return;
	}
	if (!dev->reconnecting || atomic_load(&dev->failed))
		return;
	if (dev->probe) {
		/* Connected, but no answer within the timeout. */
		vud_probe_drop(dev);
		vud_retry(dev, -ETIMEDOUT);
		return;
	}
	vud_attempt(dev);
}

int vud_reconnect_watch(struct vhost_user_dev *dev)
{
	int ret;

	ret = event_loop_add(dev->loop, dev->lost_fd, EPOLLIN, vud_on_lost_fd,
			     dev);
	if (ret)
		return ret;
	ret = event_loop_add(dev->loop, dev->timer_fd, EPOLLIN, vud_on_timer,
			     dev);
	if (ret) {
		event_loop_del(dev->loop, dev->lost_fd);
		return ret;
	}
	if (!atomic_load(&dev->lost) && !atomic_load(&dev->failed))
		vud_sock_watch(dev, true);
	/* Lost or failed before the loop ran (at the first DRIVER_OK, say). */
	vud_on_lost(dev);
	return 0;
}

void vud_reconnect_unwatch(struct vhost_user_dev *dev)
{
	vud_probe_drop(dev);
	vud_sock_watch(dev, false);
	vud_timer_arm(dev, 0);
	dev->reconnecting = false;
	event_loop_del(dev->loop, dev->timer_fd);
	event_loop_del(dev->loop, dev->lost_fd);
}
