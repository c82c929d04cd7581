/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive's side of a vhost-user blk or net connection: negotiate,
 * read the blk config, share a memfd as "guest RAM" holding the rings and
 * per-request buffers, start the vrings.  The blk job engine (drive_job.h)
 * and the net one (net_job.h) run on it.
 */
#ifndef SPLITVM_DRIVE_DEV_H
#define SPLITVM_DRIVE_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vq.h"
#include "virtio.h"

struct vhost_user_client;

/* Guest-physical base of the memfd: not 0, so a GPA/HVA mix-up shows. */
#define DRIVE_GPA_BASE	0x40000000ull

enum drive_dev_type {
	DRIVE_DEV_BLK,
	DRIVE_DEV_NET,
};

struct drive_dev_opts {
	enum drive_dev_type type;
	const char *socket;
	unsigned queues;	/* vrings: blk queues, or 2 per net pair */
	unsigned queue_size;	/* descriptors per ring, a power of two */
	unsigned slots;		/* requests in flight per queue */
	uint32_t data_size;	/* data buffer per slot (the block size) */
	bool event_idx;		/* negotiate VIRTIO_RING_F_EVENT_IDX if offered */
	bool packed;		/* packed virtqueues (VIRTIO_F_RING_PACKED) */
	bool need_write;	/* blk: fail early on a read-only device */
	int timeout_ms;		/* connect and per-message timeout */
	/*
	 * > 0: drive_dev_reconnect() may be used, for up to this long; needs
	 * VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD (refused at open otherwise).
	 */
	int reconnect_ms;
};

/* One slot's buffers: header, data, status, both mapped and as GPAs. */
struct drive_slot {
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint8_t *data;
	uint64_t hdr_gpa;
	uint64_t status_gpa;
	uint64_t data_gpa;
};

struct drive_queue {
	struct vq vq;
	int kick_fd;
	int call_fd;		/* read only when waiting for events */
	bool started;		/* the back-end heard of this vring */
	struct drive_slot *slots;
};

struct drive_dev {
	struct vhost_user_client *client;
	int memfd;
	void *mem;
	size_t mem_size;
	uint64_t features;		/* acked virtio features */
	uint64_t protocol_features;	/* acked */
	enum drive_dev_type type;
	uint64_t capacity;		/* blk: in 512-byte sectors */
	uint32_t blk_size;		/* blk: 512 unless VIRTIO_BLK_F_BLK_SIZE */
	unsigned backend_queues;	/* what the back-end says it has */
	unsigned nq;
	unsigned slots;
	bool gone;			/* hung up: close without stopping rings */
	unsigned reconnects;
	/* Kept for reconnecting. */
	struct drive_dev_opts opts;
	uint64_t offered;
	int inflight_fd;
	uint64_t inflight_size;
	uint64_t inflight_offset;
	struct drive_queue *q;
};

int drive_dev_open(const struct drive_dev_opts *o, struct drive_dev **out)
	__attribute__((warn_unused_result));

/*
 * The back-end hung up (or broke the connection): connect again within
 * opts.reconnect_ms, renegotiate the same features, hand back the inflight
 * buffer and restart every vring where the device left it.  Requests in
 * flight stay in flight: the back-end resubmits the ones it had taken.
 */
int drive_dev_reconnect(struct drive_dev *d)
	__attribute__((warn_unused_result));

/*
 * Whether the back-end closed the connection (or sent something nobody
 * asked for); sets d->gone.  Never blocks.
 */
bool drive_dev_hung_up(struct drive_dev *d);

/* Stop the vrings (GET_VRING_BASE) when the client is healthy, free all. */
void drive_dev_close(struct drive_dev *d);

#endif
