/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtio-pci device whose queues run in a vhost-user back-end process:
 * negotiates with the back-end at VM build time, then turns the driver's
 * DRIVER_OK and reset into the vhost-user vring setup and teardown.
 */
#ifndef SPLITVM_VHOST_USER_DEV_H
#define SPLITVM_VHOST_USER_DEV_H

#include <stdbool.h>
#include <stdint.h>

struct event_loop;
struct guest_mem;
struct irq_router;
struct pci_root;
struct virtio_pci;
struct vhost_user_dev;

enum vhost_user_dev_type {
	VHOST_USER_DEV_BLK,
	VHOST_USER_DEV_NET,
};

/* Largest unix socket path (sun_path holds 108 bytes with the NUL). */
#define VHOST_USER_DEV_PATH_MAX		108
/* blk: request queues; net: queue pairs. */
#define VHOST_USER_DEV_MAX_QUEUES	16
/* Largest Queue Size offered to the driver. */
#define VHOST_USER_DEV_QUEUE_SIZE	256

/* What the user asked for (--disk / --net). */
/*
 * Ring layouts offered to the driver.  AUTO: packed when the back-end
 * offers it.  A packed ring's position lives only in the back-end, so a
 * restarted back-end cannot resume it unnoticed (the driver gets
 * DEVICE_NEEDS_RESET); split rings resume at the used index in guest
 * memory.
 */
enum vhost_user_dev_ring {
	VHOST_USER_DEV_RING_AUTO,
	VHOST_USER_DEV_RING_SPLIT,
	VHOST_USER_DEV_RING_PACKED,
};

struct vhost_user_dev_spec {
	enum vhost_user_dev_type type;
	char socket_path[VHOST_USER_DEV_PATH_MAX];
	unsigned queues;		/* 0 means 1 */
	bool has_mac;			/* net: offer VIRTIO_NET_F_MAC */
	uint8_t mac[6];
	enum vhost_user_dev_ring ring;	/* which ring layouts to offer */
};

struct vhost_user_dev_config {
	const char *name;		/* log tag and PCI name, "blk0" */
	struct vhost_user_dev_spec spec;
	/*
	 * -1: connect to spec.socket_path; else an already connected
	 * socket (tests), owned by the device from now on in every case.
	 * Reconnects always go to spec.socket_path ("": never).
	 */
	int sock_fd;
	int timeout_ms;			/* per call; 0: the client's default */
	const struct guest_mem *mem;
	int vm_fd;			/* -1 and NULL without KVM (tests) */
	struct irq_router *irq;
};

/*
 * Connect and negotiate (features, protocol features, owner, queue count,
 * blk config), then build the virtio-pci function; not registered yet.
 * Logs one line naming the device and the socket on failure:
 * -ETIMEDOUT (nobody listening), -EOPNOTSUPP (the back-end lacks
 * something this device needs), -EPIPE (the back-end misbehaved), ...
 */
int vhost_user_dev_create(const struct vhost_user_dev_config *cfg,
			  struct vhost_user_dev **out)
	__attribute__((warn_unused_result));
/* Stops the queues if the driver runs them, then closes the socket. */
void vhost_user_dev_destroy(struct vhost_user_dev *dev);

/* virtio_pci_register() of the transport. */
int vhost_user_dev_register(struct vhost_user_dev *dev, struct pci_root *root,
			    int slot)
	__attribute__((warn_unused_result));
struct virtio_pci *vhost_user_dev_transport(struct vhost_user_dev *dev);

/*
 * Watch the back-end from the main loop.  When the connection is lost
 * (the socket hangs up, or an exchange failed or timed out on a vCPU
 * thread) the device goes to RECONNECTING, which the driver does not
 * see: the loop connects to the same socket path again, 50 ms after the
 * loss and then with delays doubling to 5 s (a connection that lasted
 * less than 1 s keeps the delay growing), for as long as it takes, and
 * replays the driver's state to the new back-end (see
 * vhost_user_reconnect.c).  A back-end that no longer offers what the
 * driver uses makes the device FAILED: DEVICE_NEEDS_RESET and a config
 * change interrupt once the driver runs it, and no more attempts.
 * Packed rings cannot be resumed (no position in guest memory): their
 * driver gets DEVICE_NEEDS_RESET, the device stays CONNECTED and starts
 * afresh at the driver's next DRIVER_OK.
 * Unwatch before the loop goes away.  Main thread only.
 */
int vhost_user_dev_watch(struct vhost_user_dev *dev, struct event_loop *loop)
	__attribute__((warn_unused_result));
void vhost_user_dev_unwatch(struct vhost_user_dev *dev);

enum vhost_user_dev_state {
	VHOST_USER_DEV_CONNECTED,	/* the back-end runs the device */
	VHOST_USER_DEV_RECONNECTING,	/* lost; looking for a new one */
	VHOST_USER_DEV_FAILED,		/* for good: DEVICE_NEEDS_RESET */
};

/* Thread safe. */
enum vhost_user_dev_state vhost_user_dev_state(const struct vhost_user_dev *dev);
/* "connected", "reconnecting", "failed". */
const char *vhost_user_dev_state_name(enum vhost_user_dev_state state);

/*
 * The device failed for good (FAILED above): logged once, in one line
 * naming the device and the socket; every later DRIVER_OK fails at once
 * (DEVICE_NEEDS_RESET).  Thread safe.
 */
bool vhost_user_dev_broken(const struct vhost_user_dev *dev);

/* What the control API reports about a device; strings live with dev. */
struct vhost_user_dev_info {
	const char *name;		/* "blk0" */
	const char *type;		/* "virtio-blk", "virtio-net" */
	const char *socket_path;
	int devfn;			/* PCI device/function, -1 if none */
	enum vhost_user_dev_state state;
	const char *state_name;		/* vhost_user_dev_state_name() */
	bool broken;			/* not CONNECTED now */
	unsigned queues;		/* blk: request queues; net: pairs */
	uint64_t backend_features;	/* GET_FEATURES */
	uint64_t offered_features;	/* what the driver was offered */
	uint64_t driver_features;	/* acked at the last DRIVER_OK, or 0 */
	uint64_t driver_ok_count;	/* times the queues were started */
	uint64_t reset_count;		/* times running queues were stopped */
	unsigned restarts;		/* reconnects to a new back-end */
};

void vhost_user_dev_get_info(struct vhost_user_dev *dev,
			     struct vhost_user_dev_info *out);

#endif
