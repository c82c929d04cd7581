/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside splitvm-blk's librte_vhost side: the per-connection and
 * per-queue state blk_vhost.c (callbacks, queue threads, message hook)
 * and blk_vhost_inflight.c (the inflight region) share.
 */
#ifndef SPLITVM_BLK_VHOST_INT_H
#define SPLITVM_BLK_VHOST_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Ours first: rte_vhost.h defines some of the same names as macros. */
#include "vhost_user.h"
#include "virtio.h"

#include <rte_vhost.h>

#include "blk_options.h"
#include "blk_queue.h"
#include "blk_vhost.h"

#define TAG	"blk"
#define BIT(n)	(1ull << (n))

/*
 * What pre_msg_handle receives: DPDK 22.11's struct vhu_msg_context
 * (lib/vhost/vhost_user.h, packed): the message, its payload union
 * (sized by its largest member, the 632-byte crypto session), then the
 * fds that came with it.  Not public API, so it is only trusted when the
 * running DPDK is 22.11 and the fd count matches what the message says.
 */
#define BLK_DPDK_PAYLOAD_SIZE	632
struct blk_dpdk_msg {
	struct vhost_user_header hdr;
	union {
		union vhost_user_payload p;
		uint8_t raw[BLK_DPDK_PAYLOAD_SIZE];
	};
	int fds[VHOST_USER_MAX_FDS];
	int fd_num;
} __attribute__((packed));
_Static_assert(sizeof(union vhost_user_payload) <= BLK_DPDK_PAYLOAD_SIZE,
	       "our payloads fit DPDK's");
_Static_assert(offsetof(struct blk_dpdk_msg, fds) ==
	       VHOST_USER_HEADER_SIZE + BLK_DPDK_PAYLOAD_SIZE, "fds offset");

struct blk_dev;

struct blk_vq {
	struct blk_dev *dev;
	uint16_t idx;
	struct blk_queue *q;
	pthread_t thread;
	bool running;
	bool inflight;		/* the front-end gave us an inflight region */
	bool packed;
	uint16_t size;
	/* Packed: ring descriptors recorded in the region, at most size. */
	uint32_t infl_descs;
	struct vhost_user_inflight_packed *region;	/* packed */
};

/* What the message hooks saw of a queue, for its packed inflight region. */
struct blk_vq_seen {
	uint64_t desc_uaddr;	/* SET_VRING_ADDR */
	bool addr_set;		/* since the last GET_VRING_BASE */
	bool kicked;		/* a SET_VRING_KICK since SET_INFLIGHT_FD */
	bool fresh;		/* the region was new at that kick */
};

/*
 * One front-end connection.  Two slots: a front-end that reconnects at
 * once may be accepted before librte_vhost has processed the old
 * connection's hang-up (both arrive in one poll round).  Only one
 * device is started at a time: they would share the image.
 */
#define BLK_MAX_CONNECTIONS	2

struct blk_dev {
	struct blk_vhost *b;
	int vid;		/* -1: slot free */
	bool started;
	struct blk_mem mem;
	unsigned nvq;
	struct blk_vq vq[BLK_OPTIONS_MAX_QUEUES];
	struct blk_vq_seen seen[BLK_OPTIONS_MAX_QUEUES];
	uint16_t infl_queue_size;	/* SET_INFLIGHT_FD's, checked */
};

struct blk_vhost {
	struct blk_vhost_config cfg;
	struct blk_disk disk;	/* queues use this copy: wce changes */
	/* Queues start and stop (DPDK's thread) while stats are read (main). */
	pthread_mutex_t lock;
	char path[108];
	bool layout_ok;		/* DPDK's message context is as above */
	struct virtio_blk_config config;
	struct blk_dev devs[BLK_MAX_CONNECTIONS];
};

/* Interrupt the driver (the queue's notify hook). */
int blk_vq_notify(void *opaque);
void blk_close_fds(struct blk_dpdk_msg *m);

/* ---- blk_vhost_inflight.c ---- */

/* Queue hooks with an inflight region, split and packed. */
extern const struct blk_queue_ops blk_vq_inflight_ops;
extern const struct blk_queue_ops blk_vq_inflight_packed_ops;

/* Split: resubmit the heads in flight, which are still in the ring. */
int blk_vq_resubmit(struct blk_vq *v, struct rte_vhost_ring_inflight *ri);

/*
 * Packed: where the ring resumes (positions with wrap bit 15, in and
 * out), and the heads in flight to resubmit, oldest first.
 */
int blk_vq_resume_packed(struct blk_dev *d, struct blk_vq *v,
			 struct rte_vhost_ring_inflight *ri,
			 uint16_t *last_avail, uint16_t *last_used,
			 uint16_t *entries, unsigned *n);
/* Packed: resubmit those from the region's copies. */
int blk_vq_resubmit_packed(struct blk_vq *v,
			   struct rte_vhost_ring_inflight *ri,
			   const uint16_t *entries, unsigned n);

/*
 * Pre-message hook: ring addresses and kicks as the inflight region
 * needs them (false: refuse the message); GET/SET_INFLIGHT_FD checked.
 */
bool blk_seen_message(struct blk_dev *d, struct blk_dpdk_msg *m);
enum rte_vhost_msg_result blk_check_inflight(struct blk_dev *d,
					     struct blk_dpdk_msg *m);

#endif
