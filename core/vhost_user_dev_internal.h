/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by vhost_user_dev.c (negotiation, the transport's hooks, the
 * control queue) and vhost_user_reconnect.c (losing a back-end, finding
 * it again and replaying the driver's state to it).  Not a public API.
 */
#ifndef SPLITVM_VHOST_USER_DEV_INTERNAL_H
#define SPLITVM_VHOST_USER_DEV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"
#include "vhost_user_dev.h"
#include "virtio_pci.h"

/*
 * virtio-blk config up to write_zeroes_may_unmap and its padding: what
 * every back-end we talk to (QEMU 7.x included) answers GET_CONFIG for.
 */
#define VUD_BLK_CONFIG_SIZE	60
#define VUD_CONFIG_MAX		VUD_BLK_CONFIG_SIZE
#define VUD_MAX_VRINGS		(VHOST_USER_DEV_MAX_QUEUES * 2 + 1)

#define VUD_BIT(n)		(1ull << (n))

/*
 * Transport features passed through to every device type, when the
 * back-end offers them.  A packed ring's vring base carries wrap
 * counters: see vud_ring_base().
 */
#define VUD_RING_FEATURES	(VUD_BIT(VIRTIO_F_VERSION_1) | \
				 VUD_BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
				 VUD_BIT(VIRTIO_RING_F_EVENT_IDX) | \
				 VUD_BIT(VIRTIO_F_RING_PACKED))

struct event_loop;
struct vhost_user_client;
struct virtio_net_ctrl;

struct vhost_user_dev {
	char name[32];
	char path[VHOST_USER_DEV_PATH_MAX];	/* for log lines */
	char sock_path[VHOST_USER_DEV_PATH_MAX]; /* reconnect; "" none */
	enum vhost_user_dev_type type;
	const struct guest_mem *mem;
	struct vhost_user_client *client;
	struct virtio_pci *vp;
	struct event_loop *loop;	/* while watched */
	int timeout_ms;			/* per call */
	/*
	 * Signalled when the connection is lost, from whatever thread saw
	 * it: the main loop then starts reconnecting (or, for a back-end
	 * that cannot serve the driver any more, sets DEVICE_NEEDS_RESET,
	 * which a hook, transport lock held, cannot).
	 */
	int lost_fd;
	/* Main thread: INTx mode, the call fds are in the loop. */
	bool intx_watching;
	struct vud_call {
		struct vhost_user_dev *dev;
		unsigned q;
	} calls[VUD_MAX_VRINGS];

	/*
	 * net with queues > 1: the control queue's kick fd is watched by
	 * the main loop.  Which queue that is depends on the features the
	 * driver took (2 without MQ, 2N with), so the vCPU thread that
	 * starts or stops it signals ctrl_event_fd and the loop follows.
	 */
	unsigned max_pairs;		/* 0: no control queue offered */
	int ctrl_event_fd;
	int ctrl_watched;		/* main thread: queue watched, -1 */

	uint64_t backend_features;	/* GET_FEATURES at build time */
	uint64_t core_features;		/* offered, implemented here */
	uint64_t protocol_features;	/* acked at build time */
	bool protocol;			/* F_PROTOCOL_FEATURES negotiated */
	unsigned nvrings;

	/*
	 * Recovery, main thread only (vhost_user_reconnect.c): the retry
	 * timer, its delay, when the connection came up, and the
	 * rate-limited log of attempts that fail.
	 */
	int timer_fd;
	bool sock_watched;		/* the client's fd is in the loop */
	bool reconnecting;		/* the timer is armed for an attempt */
	/*
	 * An attempt waiting for the new back-end's first reply (its
	 * GET_FEATURES), in the loop so that a slow or stopped back-end
	 * holds nothing; the timer is its deadline meanwhile.
	 */
	struct vhost_user_client *probe;
	bool failed_reported;		/* NEEDS_RESET set for it */
	unsigned backoff_ms;
	int64_t up_since_ms;
	int64_t last_log_ms;
	unsigned attempts;		/* failed since the loss */
	unsigned attempts_logged;

	/*
	 * Below, and every use of the client: only under lock.  vCPU
	 * threads take it inside the transport's lock; the main loop
	 * (control queue, reconnect) takes it alone.
	 *
	 * The driver's state (running, drv_features, qi, addrs, started,
	 * enabled, packed, config_written) is what the driver set up,
	 * kept whether or not a back-end is connected, so that a new
	 * back-end can be given all of it.
	 */
	pthread_mutex_t lock;
	uint8_t config[VUD_CONFIG_MAX];
	uint32_t config_size;
	bool config_written;		/* blk: the driver wrote wce */
	bool running;			/* DRIVER_OK taken, no reset since */
	uint64_t drv_features;
	struct virtio_pci_queue_info qi[VUD_MAX_VRINGS];
	struct vhost_user_vring_addr addrs[VUD_MAX_VRINGS];
	bool started[VUD_MAX_VRINGS];	/* the driver runs this ring */
	bool enabled[VUD_MAX_VRINGS];	/* ... and wants it enabled */
	bool packed;			/* the running rings are packed */
	bool served;			/* ... and a back-end was given them */
	unsigned data_vrings;		/* at DRIVER_OK: rings the back-end runs */
	struct virtio_net_ctrl *ctrl;	/* running control queue, or NULL */
	int ctrl_q;			/* its index, -1 */
	unsigned ctrl_size;		/* its size */
	bool ctrl_reported;		/* its failure went to the transport */
	/* blk with INFLIGHT_SHMFD: the region, kept until a reset. */
	int inflight_fd;
	uint64_t inflight_size, inflight_offset;
	uint16_t inflight_queue_size;	/* the ring size it was made for */

	/*
	 * lost: the current connection is unusable (set from any thread,
	 * cleared under lock once a new one is replayed); failed: the
	 * back-end can no longer serve what the driver uses, for good.
	 */
	atomic_bool lost;
	atomic_bool failed;

	/* For the control API; any thread. */
	uint64_t offered_features;		/* to the driver */
	_Atomic uint64_t driver_features;	/* at the last DRIVER_OK */
	_Atomic uint64_t nr_driver_ok;		/* queues started */
	_Atomic uint64_t nr_resets;		/* queues stopped by a reset */
	_Atomic unsigned nr_reconnects;		/* back-ends replayed to */
};

/* Lock held: a connected back-end that takes requests now. */
static inline bool vud_online(const struct vhost_user_dev *dev)
{
	return !atomic_load(&dev->lost) && !atomic_load(&dev->failed);
}

/* ---- vhost_user_dev.c ---- */

/* After a failed client call: a broken client loses the connection. */
int vud_check(struct vhost_user_dev *dev, int ret);
/*
 * Lock held: hand the driver's running state to the back-end: features,
 * inflight region, memory table, every started ring (at bases[q], or at
 * the start for NULL), enables.
 */
int vud_backend_start(struct vhost_user_dev *dev, const uint32_t *bases)
	__attribute__((warn_unused_result));

/*
 * Lock held: drop the driver's running state (rings, control queue,
 * inflight region), as a reset does once the rings are stopped.
 */
void vud_forget_rings(struct vhost_user_dev *dev);

/* ---- vhost_user_net.c: net's config and the core's control queue ---- */

/* Build time: config space, features offered, rings; logs a refusal. */
int vud_setup_net(struct vhost_user_dev *dev,
		  const struct vhost_user_dev_spec *spec,
		  unsigned backend_queues, uint64_t *features)
	__attribute__((warn_unused_result));
/*
 * Lock held, at DRIVER_OK: data_vrings and the control queue's index
 * (-1: none) from the features the driver took; then start it (q < 0 or
 * a disabled queue: nothing), and stop it at a reset.
 */
int vud_net_layout(struct vhost_user_dev *dev, uint64_t features,
		   int *ctrl_q)
	__attribute__((warn_unused_result));
int vud_ctrl_start(struct vhost_user_dev *dev, uint64_t features, int q,
		   const struct virtio_pci_queue_info *qi)
	__attribute__((warn_unused_result));
void vud_ctrl_stop(struct vhost_user_dev *dev);
/* Main thread: watch the control queue's kick while the loop runs. */
int vud_ctrl_watch(struct vhost_user_dev *dev)
	__attribute__((warn_unused_result));
void vud_ctrl_unwatch(struct vhost_user_dev *dev);

/* ---- vhost_user_reconnect.c ---- */

/* The connection is unusable: logged once per connection, loop told. */
void vud_mark_lost(struct vhost_user_dev *dev, const char *why);
/* The back-end cannot serve the driver any more: logged, loop told. */
void vud_mark_failed(struct vhost_user_dev *dev, const char *why);
/* create/destroy: the retry timer. */
int vud_reconnect_init(struct vhost_user_dev *dev)
	__attribute__((warn_unused_result));
void vud_reconnect_fini(struct vhost_user_dev *dev);
/* watch/unwatch: the socket's hang-up, the lost fd, the timer. */
int vud_reconnect_watch(struct vhost_user_dev *dev)
	__attribute__((warn_unused_result));
void vud_reconnect_unwatch(struct vhost_user_dev *dev);

#endif
