/* SPDX-License-Identifier: GPL-2.0-only */
#include "drive_dev.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user_client.h"

#define TAG		"drive"
#define PAGE		4096u
#define BIT(n)		(1ull << (n))
/* Header and status byte of a slot live in one 32-byte cell. */
#define SLOT_CELL	32u

/* What the driver can use; the rest of the offer is declined. */
#define DRIVE_BLK_FEATURES \
	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_MQ) | \
	 BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_BLK_SIZE) | \
	 BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_SIZE_MAX) | \
	 BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_TOPOLOGY) | \
	 BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES))
/* Net: plain frames, one buffer each, no offloads, no control queue. */
#define DRIVE_NET_FEATURES	BIT(VIRTIO_F_VERSION_1)
#define DRIVE_PROTOCOL_FEATURES \
	(VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK))

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Log what broke, once, in the words of the client. */
static int drive_dev_fail(struct drive_dev *d, const char *what, int ret)
{
	const char *req = NULL;
	int err = vhost_user_client_error(d->client, &req);

	if (err)
		log_err(TAG, "%s: the back-end broke the connection in %s: %s",
			what, req ? req : "?", strerror(-err));
	else
		log_err(TAG, "%s: %s", what, strerror(-ret));
	return ret;
}

static int drive_dev_negotiate(struct drive_dev *d,
			       const struct drive_dev_opts *o,
			       uint64_t *offered)
{
	struct vhost_user_client *c = d->client;
	uint64_t pf, num, want_pf;
	int ret;

	ret = vhost_user_client_get_features(c, offered);
	if (ret)
		return drive_dev_fail(d, "GET_FEATURES", ret);
	if (!(*offered & BIT(VIRTIO_F_VERSION_1))) {
		log_err(TAG, "the back-end does not offer VIRTIO_F_VERSION_1");
		return -EOPNOTSUPP;
	}
	if (*offered & BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		ret = vhost_user_client_get_protocol_features(c, &pf);
		want_pf = DRIVE_PROTOCOL_FEATURES;
		if (o->reconnect_ms > 0)
			want_pf |= VHOST_USER_PROTOCOL_F_BIT(
				VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
		if (!ret)
			ret = vhost_user_client_set_protocol_features(c,
					pf & want_pf);
		if (ret)
			return drive_dev_fail(d, "protocol features", ret);
	}
	d->protocol_features = vhost_user_client_protocol_features(c);
	if (o->reconnect_ms > 0 && !(d->protocol_features &
	    VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))) {
		log_err(TAG, "reconnecting needs the back-end's "
			"INFLIGHT_SHMFD protocol feature, which it does not "
			"offer");
		return -EOPNOTSUPP;
	}
	ret = vhost_user_client_set_owner(c);
	if (ret)
		return drive_dev_fail(d, "SET_OWNER", ret);
	d->backend_queues = 1;
	if (d->protocol_features &
	    VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ)) {
		ret = vhost_user_client_get_queue_num(c, &num);
		if (ret)
			return drive_dev_fail(d, "GET_QUEUE_NUM", ret);
		d->backend_queues = num > 65535 ? 65535 : (unsigned)num;
	}
	return 0;
}

static int drive_dev_config(struct drive_dev *d, const struct drive_dev_opts *o,
			    uint64_t offered)
{
	struct virtio_blk_config cfg;
	unsigned cfg_queues = 1;
	int ret;

	if (!(d->protocol_features &
	      VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG))) {
		log_err(TAG, "the back-end does not offer the CONFIG protocol "
			"feature: no way to learn the disk's capacity");
		return -EOPNOTSUPP;
	}
	memset(&cfg, 0, sizeof(cfg));
	/*
	 * Up to write_zeroes_may_unmap: the fields we use, and as far as
	 * back-ends built on pre-1.2 headers serve (qemu 7.2 refuses more).
	 */
	ret = vhost_user_client_get_config(d->client, 0,
			offsetof(struct virtio_blk_config,
				 max_secure_erase_sectors), &cfg);
	if (ret)
		return drive_dev_fail(d, "GET_CONFIG", ret);
	d->capacity = cfg.capacity;
	d->blk_size = 512;
	if ((offered & BIT(VIRTIO_BLK_F_BLK_SIZE)) && cfg.blk_size) {
		if (cfg.blk_size < 512 || (cfg.blk_size & (cfg.blk_size - 1)) ||
		    cfg.blk_size > (1u << 20)) {
			log_err(TAG, "the back-end's blk_size %u is not a "
				"power of two in [512, 1 MiB]", cfg.blk_size);
			return -EPROTO;
		}
		d->blk_size = cfg.blk_size;
	}
	if (offered & BIT(VIRTIO_BLK_F_MQ))
		cfg_queues = cfg.num_queues ? cfg.num_queues : 1;
	if (o->queues > 1 && (!(offered & BIT(VIRTIO_BLK_F_MQ)) ||
			      cfg_queues < o->queues ||
			      d->backend_queues < o->queues)) {
		log_err(TAG, "%u queues asked, the back-end has %u (config "
			"num_queues %u%s)", o->queues, d->backend_queues,
			cfg_queues, (offered & BIT(VIRTIO_BLK_F_MQ)) ? "" :
			", no VIRTIO_BLK_F_MQ");
		return -EINVAL;
	}
	if (o->need_write && (offered & BIT(VIRTIO_BLK_F_RO))) {
		log_err(TAG, "the device is read-only (VIRTIO_BLK_F_RO) and "
			"the job writes");
		return -EROFS;
	}
	if (o->data_size > 0 && o->data_size % d->blk_size) {
		log_err(TAG, "block size %u is not a multiple of the device's "
			"blk_size %u", o->data_size, d->blk_size);
		return -EINVAL;
	}
	return 0;
}

/* Lay out rings, cells and data buffers in one memfd and map it. */
static int drive_dev_memory(struct drive_dev *d, const struct drive_dev_opts *o,
			    bool event_idx)
{
	size_t ring = align_up(o->packed ? packed_ring_mem_size(o->queue_size) :
			       split_ring_mem_size(o->queue_size), PAGE);
	size_t cells = align_up((size_t)o->slots * SLOT_CELL, PAGE);
	size_t stride = align_up(o->data_size, PAGE);
	size_t per_queue = ring + cells + stride * o->slots;
	uint8_t *base;
	int ret;

	d->mem_size = per_queue * o->queues;
	d->memfd = memfd_create("splitvm-drive-ram", MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, (off_t)d->mem_size) < 0)
		return -errno;
	d->mem = mmap(NULL, d->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	base = d->mem;
	for (unsigned q = 0; q < o->queues; q++) {
		struct drive_queue *dq = &d->q[q];
		uint8_t *qbase = base + per_queue * q;
		char name[24];

		snprintf(name, sizeof(name), "q%u", q);
		dq->vq.packed = o->packed;
		if (o->packed)
			ret = packed_ring_create(qbase, o->queue_size, event_idx,
						 name, &dq->vq.pk);
		else
			ret = split_ring_create(qbase, o->queue_size, event_idx,
						name, &dq->vq.split);
		if (ret)
			return ret;
		dq->slots = calloc(o->slots, sizeof(*dq->slots));
		if (!dq->slots)
			return -ENOMEM;
		for (unsigned s = 0; s < o->slots; s++) {
			uint8_t *cell = qbase + ring + (size_t)s * SLOT_CELL;
			uint8_t *data = qbase + ring + cells + stride * s;
			struct drive_slot *sl = &dq->slots[s];

			sl->hdr = (struct virtio_blk_outhdr *)cell;
			sl->status = cell + sizeof(*sl->hdr);
			sl->data = data;
			sl->hdr_gpa = DRIVE_GPA_BASE + (uint64_t)(cell - base);
			sl->status_gpa = sl->hdr_gpa + sizeof(*sl->hdr);
			sl->data_gpa = DRIVE_GPA_BASE + (uint64_t)(data - base);
		}
	}
	return 0;
}

static int drive_dev_start_queue(struct drive_dev *d,
				 const struct drive_dev_opts *o, unsigned q,
				 bool first)
{
	struct vhost_user_client *c = d->client;
	struct drive_queue *dq = &d->q[q];
	struct vhost_user_vring_addr addr = { .index = q };
	uint32_t base;
	int ret;

	if (dq->vq.packed) {
		/* avail = driver event area, used = device event area. */
		addr.desc_user_addr = (uintptr_t)packed_ring_desc(dq->vq.pk);
		addr.avail_user_addr =
			(uintptr_t)packed_ring_driver_event(dq->vq.pk);
		addr.used_user_addr =
			(uintptr_t)packed_ring_device_event(dq->vq.pk);
		/*
		 * Fresh at first; after a restart where we read up to (the
		 * back-end's inflight region knows better, and splitvm-blk
		 * goes by it).
		 */
		base = first ? packed_ring_initial_base() :
			       packed_ring_resume_base(dq->vq.pk);
	} else {
		addr.desc_user_addr = (uintptr_t)split_ring_desc(dq->vq.split);
		addr.avail_user_addr = (uintptr_t)split_ring_avail(dq->vq.split);
		addr.used_user_addr = (uintptr_t)split_ring_used(dq->vq.split);
		/* 0 at first; after a restart where the device left it. */
		base = split_ring_device_used_idx(dq->vq.split);
	}
	ret = vhost_user_client_set_vring_num(c, q, o->queue_size);
	if (!ret)
		ret = vhost_user_client_set_vring_base(c, q, base);
	if (!ret)
		ret = vhost_user_client_set_vring_addr(c, &addr);
	if (!ret)
		ret = vhost_user_client_set_vring_kick(c, q, dq->kick_fd);
	if (!ret)
		ret = vhost_user_client_set_vring_call(c, q, dq->call_fd);
	if (!ret && (d->features & BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhost_user_client_set_vring_enable(c, q, true);
	return ret;
}

/*
 * Everything after negotiation, at first and after a reconnect: features,
 * the inflight buffer (fetched the first time, handed back after), the
 * memory table, the vrings.
 */
static int drive_dev_start(struct drive_dev *d, bool first)
{
	const struct drive_dev_opts *o = &d->opts;
	struct vhost_user_client_region region;
	int ret;

	ret = vhost_user_client_set_features(d->client, d->features);
	if (ret)
		return drive_dev_fail(d, "SET_FEATURES", ret);
	if (o->reconnect_ms > 0) {
		if (first) {
			ret = vhost_user_client_get_inflight_fd(d->client,
					(uint16_t)o->queues,
					(uint16_t)o->queue_size,
					&d->inflight_fd, &d->inflight_size,
					&d->inflight_offset);
			if (ret)
				return drive_dev_fail(d, "GET_INFLIGHT_FD", ret);
			if (d->inflight_fd < 0) {
				log_err(TAG, "the back-end gave no inflight "
					"buffer: reconnecting would lose "
					"requests");
				return -EOPNOTSUPP;
			}
		}
		ret = vhost_user_client_set_inflight_fd(d->client,
				d->inflight_fd, d->inflight_size,
				d->inflight_offset, (uint16_t)o->queues,
				(uint16_t)o->queue_size);
		if (ret)
			return drive_dev_fail(d, "SET_INFLIGHT_FD", ret);
	}
	region = (struct vhost_user_client_region){
		.gpa = DRIVE_GPA_BASE, .size = d->mem_size,
		.hva = (uintptr_t)d->mem, .fd = d->memfd, .mmap_offset = 0,
	};
	ret = vhost_user_client_set_mem_table(d->client, &region, 1);
	if (ret)
		return drive_dev_fail(d, "SET_MEM_TABLE", ret);
	for (unsigned q = 0; q < o->queues; q++) {
		d->q[q].started = true;
		ret = drive_dev_start_queue(d, o, q, first);
		if (ret)
			return drive_dev_fail(d, "starting the vrings", ret);
	}
	return 0;
}

int drive_dev_reconnect(struct drive_dev *d)
{
	const struct drive_dev_opts *o = &d->opts;
	uint64_t offered = 0, capacity = d->capacity;
	int ret;

	if (o->reconnect_ms <= 0)
		return -EOPNOTSUPP;
	vhost_user_client_close(d->client);
	d->client = NULL;
	for (unsigned q = 0; q < d->nq; q++)
		d->q[q].started = false;
	ret = vhost_user_client_connect(o->socket, o->reconnect_ms, &d->client);
	if (ret) {
		log_err(TAG, "reconnecting to %s: %s", o->socket,
			strerror(-ret));
		return ret;
	}
	if (o->timeout_ms > 0) {
		ret = vhost_user_client_set_timeout(d->client, o->timeout_ms);
		if (ret)
			return ret;
	}
	ret = drive_dev_negotiate(d, o, &offered);
	if (ret)
		return ret;
	if ((offered & d->features) != d->features) {
		log_err(TAG, "the restarted back-end no longer offers features "
			"0x%llx", (unsigned long long)(d->features & ~offered));
		return -EOPNOTSUPP;
	}
	if (d->type == DRIVE_DEV_BLK) {
		ret = drive_dev_config(d, o, offered);
		if (ret)
			return ret;
		if (d->capacity != capacity) {
			log_err(TAG, "the restarted back-end's disk has another "
				"size (%llu sectors, was %llu)",
				(unsigned long long)d->capacity,
				(unsigned long long)capacity);
			return -EIO;
		}
	}
	ret = drive_dev_start(d, false);
	if (ret)
		return ret;
	d->gone = false;
	d->reconnects++;
	log_info(TAG, "reconnected to %s (%u so far)", o->socket,
		 d->reconnects);
	return 0;
}

int drive_dev_open(const struct drive_dev_opts *o, struct drive_dev **out)
{
	struct drive_dev *d;
	uint64_t offered = 0, want;
	bool event_idx;
	int ret;

	*out = NULL;
	if (!o->queues || !o->slots || !o->queue_size ||
	    o->queues > VHOST_USER_MAX_VRINGS)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->memfd = -1;
	d->inflight_fd = -1;
	d->opts = *o;
	d->type = o->type;
	d->nq = o->queues;
	d->slots = o->slots;
	d->q = calloc(o->queues, sizeof(*d->q));
	if (!d->q) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned q = 0; q < o->queues; q++)
		d->q[q].kick_fd = d->q[q].call_fd = -1;

	ret = vhost_user_client_connect(o->socket, o->timeout_ms, &d->client);
	if (ret) {
		log_err(TAG, "cannot connect to %s: %s", o->socket,
			strerror(-ret));
		goto fail;
	}
	ret = drive_dev_negotiate(d, o, &offered);
	if (!ret && o->type == DRIVE_DEV_BLK)
		ret = drive_dev_config(d, o, offered);
	if (!ret && o->type == DRIVE_DEV_NET && o->queues != 2) {
		log_err(TAG, "net: one queue pair only");
		ret = -EINVAL;
	}
	if (ret)
		goto fail;

	event_idx = o->event_idx && (offered & BIT(VIRTIO_RING_F_EVENT_IDX));
	if (o->type == DRIVE_DEV_NET) {
		want = offered & DRIVE_NET_FEATURES;
	} else {
		want = offered & DRIVE_BLK_FEATURES;
		if (o->queues == 1)
			want &= ~BIT(VIRTIO_BLK_F_MQ);
	}
	if (event_idx)
		want |= BIT(VIRTIO_RING_F_EVENT_IDX);
	if (o->packed) {
		if (!(offered & BIT(VIRTIO_F_RING_PACKED))) {
			log_err(TAG, "--packed: the back-end does not offer "
				"VIRTIO_F_RING_PACKED");
			ret = -EOPNOTSUPP;
			goto fail;
		}
		want |= BIT(VIRTIO_F_RING_PACKED);
	}
	if (offered & BIT(VHOST_USER_F_PROTOCOL_FEATURES))
		want |= BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	d->features = want;
	d->offered = offered;

	ret = drive_dev_memory(d, o, event_idx);
	if (ret) {
		log_err(TAG, "cannot set up %zu bytes of shared memory: %s",
			d->mem_size, strerror(-ret));
		goto fail;
	}
	for (unsigned q = 0; q < o->queues; q++) {
		d->q[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->q[q].kick_fd < 0) {
			ret = -errno;
			goto fail;
		}
		/*
		 * A call eventfd even when polling: libvhost-user (qemu 7.2)
		 * panics on a NOFD call when it does signal.  Polling
		 * suppresses the signals and never reads it.
		 */
		d->q[q].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->q[q].call_fd < 0) {
			ret = -errno;
			goto fail;
		}
	}
	ret = drive_dev_start(d, true);
	if (ret)
		goto fail;
	*out = d;
	return 0;
fail:
	drive_dev_close(d);
	return ret;
}

bool drive_dev_hung_up(struct drive_dev *d)
{
	struct pollfd p = { .fd = vhost_user_client_fd(d->client),
			    .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0 ||
	    (p.revents & (POLLHUP | POLLERR)))
		d->gone = true;
	return d->gone;
}

void drive_dev_close(struct drive_dev *d)
{
	uint32_t base;

	if (!d)
		return;
	for (unsigned q = 0; q < d->nq; q++) {
		struct drive_queue *dq = &d->q[q];

		/* Stop the ring so the back-end lets go of our memory. */
		if (dq->started && !d->gone &&
		    !vhost_user_client_broken(d->client))
			(void)!vhost_user_client_get_vring_base(d->client, q,
								&base);
		split_ring_destroy(dq->vq.split);
		packed_ring_destroy(dq->vq.pk);
		free(dq->slots);
		if (dq->kick_fd >= 0)
			close(dq->kick_fd);
		if (dq->call_fd >= 0)
			close(dq->call_fd);
	}
	vhost_user_client_close(d->client);
	if (d->inflight_fd >= 0)
		close(d->inflight_fd);
	if (d->mem)
		munmap(d->mem, d->mem_size);
	if (d->memfd >= 0)
		close(d->memfd);
	free(d->q);
	free(d);
}
