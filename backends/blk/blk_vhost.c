/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_vhost.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Ours first (in it): rte_vhost.h defines some of the same names. */
#include "blk_vhost_int.h"

#include <rte_version.h>
#include "be_sandbox.h"
#include "log.h"

#define BLK_FEATURES	(BIT(VIRTIO_F_VERSION_1) | \
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
			 BIT(VIRTIO_RING_F_EVENT_IDX) | \
			 BIT(VHOST_USER_F_PROTOCOL_FEATURES) | \
			 BIT(VIRTIO_BLK_F_SIZE_MAX) | \
			 BIT(VIRTIO_BLK_F_SEG_MAX) | \
			 BIT(VIRTIO_BLK_F_BLK_SIZE) | \
			 BIT(VIRTIO_BLK_F_FLUSH) | \
			 BIT(VIRTIO_BLK_F_TOPOLOGY) | \
			 BIT(VIRTIO_BLK_F_MQ) | \
			 BIT(VIRTIO_BLK_F_DISCARD) | \
			 BIT(VIRTIO_BLK_F_WRITE_ZEROES) | \
			 BIT(VIRTIO_BLK_F_CONFIG_WCE) | \
			 BIT(VIRTIO_F_RING_PACKED))

/*
 * Not DPDK's default set (which is for net): config space, and inflight
 * tracking, which DPDK implements but does not offer by default.
 */
#define BLK_PROTOCOL_FEATURES \
	(BIT(VHOST_USER_PROTOCOL_F_MQ) | \
	 BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 BIT(VHOST_USER_PROTOCOL_F_CONFIG) | \
	 BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))

/*
 * DPDK's message hooks get only a vid, no context pointer: the one
 * back-end of this process is found through here.
 */
static struct blk_vhost *blk_vhost_instance;

/* ---- queue threads ------------------------------------------------------ */

int blk_vq_notify(void *opaque)
{
	struct blk_vq *v = opaque;
	uint16_t last_avail, used_idx;

	/*
	 * DPDK decides about event-index suppression from its own copy of
	 * the used index, which only we advance.  The non-blocking call: a
	 * message handler may hold the queue lock while it waits for us.
	 */
	blk_queue_indexes(v->q, &last_avail, &used_idx);
	rte_vhost_set_vring_base(v->dev->vid, v->idx, last_avail, used_idx);
	return rte_vhost_vring_call_nonblock(v->dev->vid, v->idx) == -EAGAIN ?
	       -EAGAIN : 0;
}

static const struct blk_queue_ops blk_vq_ops = {
	.notify = blk_vq_notify,
};

static void *blk_vq_thread(void *arg)
{
	struct blk_vq *v = arg;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "blk-q%u", v->idx);
	pthread_setname_np(pthread_self(), name);
	ret = blk_queue_run(v->q);
	if (ret)
		log_err(TAG, "queue %u stopped: %s", v->idx, strerror(-ret));
	return NULL;
}

static int blk_vq_start(struct blk_dev *d, struct blk_vq *v,
			uint64_t features)
{
	struct blk_vhost *b = d->b;
	struct rte_vhost_ring_inflight ri = { 0 };
	struct rte_vhost_vring vring;
	struct blk_queue_config qc = {
		.mem = &d->mem,
		.image_fd = b->cfg.image_fd,
		.disk = &b->disk,
		.poll_us = b->cfg.poll_us,
		.ops = &blk_vq_ops,
		.opaque = v,
	};
	uint16_t last_avail, last_used;
	uint16_t entries[BLK_QUEUE_MAX_SLOTS];
	unsigned nresubmit = 0;
	pthread_attr_t attr;
	char name[16];
	bool packed;
	int ret;

	if (rte_vhost_get_vhost_vring(d->vid, v->idx, &vring) ||
	    rte_vhost_get_vring_base(d->vid, v->idx, &last_avail, &last_used))
		return -ENODEV;
	packed = features & BIT(VIRTIO_F_RING_PACKED);
	if (packed)
		ret = blk_vring_init_packed(&qc.vring, vring.desc_packed,
					    vring.driver_event,
					    vring.device_event, vring.size);
	else
		ret = blk_vring_init(&qc.vring, vring.desc, vring.avail,
				     vring.used, vring.size);
	if (ret) {
		log_err(TAG, "queue %u: size %u is not a power of two up to "
			"32768", v->idx, vring.size);
		return ret;
	}
	qc.vring.indirect = features & BIT(VIRTIO_RING_F_INDIRECT_DESC);
	qc.vring.event_idx = features & BIT(VIRTIO_RING_F_EVENT_IDX);
	/* Packed: wrap counters in bit 15 (rte_vhost_get_vring_base). */
	if (packed && ((last_avail & 0x7fff) >= vring.size ||
		       (last_used & 0x7fff) >= vring.size)) {
		log_err(TAG, "queue %u: base past the ring", v->idx);
		return -EINVAL;
	}
	qc.kick_fd = vring.kickfd;
	snprintf(name, sizeof(name), "blk.q%u", v->idx);
	qc.name = name;

	v->packed = packed;
	v->size = (uint16_t)vring.size;
	/*
	 * Packed tracking needs the region repaired before librte_vhost
	 * reads it (blk_pre_msg), which needs DPDK 22.11's message layout.
	 */
	v->inflight = !rte_vhost_get_vhost_ring_inflight(d->vid, v->idx, &ri) &&
		      ri.inflight_split && (!packed || d->b->layout_ok);
	/* librte_vhost indexes the region by ring slot. */
	if (v->inflight && (ri.inflight_split->desc_num != vring.size ||
			    (d->b->layout_ok &&
			     d->infl_queue_size != vring.size))) {
		log_err(TAG, "queue %u: inflight region for %u descriptors, "
			"ring of %u", v->idx, ri.inflight_split->desc_num,
			vring.size);
		return -EINVAL;
	}
	if (v->inflight && packed) {
		ret = blk_vq_resume_packed(d, v, &ri, &last_avail, &last_used,
					   entries, &nresubmit);
		if (ret)
			return ret;
		qc.ops = &blk_vq_inflight_packed_ops;
	} else if (v->inflight) {
		qc.ops = &blk_vq_inflight_ops;
		/* After a restart the used ring itself says where it is. */
		last_used = __atomic_load_n(&vring.used->idx, __ATOMIC_ACQUIRE);
	}
	blk_vring_set_base(&qc.vring, last_avail, last_used);
	ret = blk_queue_create(&qc, &v->q);
	if (ret)
		return ret;
	if (v->inflight) {
		ret = packed ? blk_vq_resubmit_packed(v, &ri, entries,
						      nresubmit) :
			       blk_vq_resubmit(v, &ri);
		if (ret) {
			log_err(TAG, "queue %u: resubmitting inflight "
				"requests: %s", v->idx, strerror(-ret));
			goto err;
		}
	}
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(b->cfg.worker_cpus),
				    &b->cfg.worker_cpus);
	ret = -pthread_create(&v->thread, &attr, blk_vq_thread, v);
	pthread_attr_destroy(&attr);
	if (ret)
		goto err;
	v->running = true;
	log_debug(TAG, "queue %u: size %u, avail %u, used %u%s", v->idx,
		  vring.size, last_avail, qc.vring.used_idx,
		  v->inflight ? ", inflight tracked" : "");
	return 0;
err:
	blk_queue_destroy(v->q);
	v->q = NULL;
	return ret;
}

static void blk_vq_stop(struct blk_dev *d, struct blk_vq *v)
{
	uint16_t last_avail, used_idx;

	if (!v->q)
		return;
	if (v->running) {
		blk_queue_stop(v->q);
		pthread_join(v->thread, NULL);
		v->running = false;
	}
	/* What GET_VRING_BASE answers: everything taken has completed. */
	blk_queue_indexes(v->q, &last_avail, &used_idx);
	rte_vhost_set_vring_base(d->vid, v->idx, last_avail, used_idx);
	/*
	 * Nothing is in flight in the region now, and the front-end knows
	 * where the ring stands (or reset it): the next start on this
	 * connection goes by SET_VRING_BASE, not by the region.
	 */
	if (v->packed && v->inflight)
		d->seen[v->idx].fresh = true;
	blk_queue_destroy(v->q);
	v->q = NULL;
}

/* ---- device callbacks --------------------------------------------------- */

static struct blk_dev *blk_dev_of(int vid)
{
	struct blk_vhost *b = blk_vhost_instance;

	for (unsigned i = 0; b && i < BLK_MAX_CONNECTIONS; i++)
		if (b->devs[i].vid == vid)
			return &b->devs[i];
	return NULL;
}

static int blk_start_queues(struct blk_dev *d, int vid);

static int blk_new_device(int vid)
{
	struct blk_dev *d = blk_dev_of(vid);
	struct blk_vhost *b;
	int ret = -1;

	if (!d)
		return -1;
	b = d->b;
	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; i < BLK_MAX_CONNECTIONS; i++)
		if (b->devs[i].started && &b->devs[i] != d)
			goto busy;
	ret = blk_start_queues(d, vid);
	pthread_mutex_unlock(&b->lock);
	return ret;
busy:
	pthread_mutex_unlock(&b->lock);
	log_err(TAG, "another front-end's device is running: not starting "
		"a second one on the same image");
	return -1;
}

static int blk_start_queues(struct blk_dev *d, int vid)
{
	struct blk_vhost *b = d->b;
	struct rte_vhost_memory *mem = NULL;
	uint64_t features = 0;
	unsigned nvq;
	int ret;

	if (rte_vhost_get_negotiated_features(vid, &features) ||
	    rte_vhost_get_mem_table(vid, &mem)) {
		log_err(TAG, "device %d: no features or memory table", vid);
		return -1;
	}
	memset(&d->mem, 0, sizeof(d->mem));
	for (unsigned i = 0; i < mem->nregions; i++) {
		struct rte_vhost_mem_region *r = &mem->regions[i];

		if (blk_mem_add(&d->mem, r->guest_phys_addr, r->size,
				(void *)(uintptr_t)r->host_user_addr)) {
			log_err(TAG, "memory region %u unusable", i);
			free(mem);
			return -1;
		}
	}
	free(mem);

	nvq = rte_vhost_get_vring_num(vid);
	if (nvq == 0 || nvq > b->cfg.num_queues) {
		log_err(TAG, "front-end set up %u queue(s), we have %u", nvq,
			b->cfg.num_queues);
		return -1;
	}
	d->nvq = nvq;
	for (unsigned i = 0; i < nvq; i++) {
		d->vq[i] = (struct blk_vq){ .dev = d, .idx = (uint16_t)i };
		ret = blk_vq_start(d, &d->vq[i], features);
		if (ret) {
			log_err(TAG, "queue %u: cannot start: %s", i,
				strerror(-ret));
			while (i--)
				blk_vq_stop(d, &d->vq[i]);
			return -1;
		}
	}
	d->started = true;
	log_info(TAG, "started %u queue(s), features 0x%llx", nvq,
		 (unsigned long long)features);
	return 0;
}

static void blk_destroy_device(int vid)
{
	struct blk_dev *d = blk_dev_of(vid);

	if (!d)
		return;
	pthread_mutex_lock(&d->b->lock);
	if (d->started) {
		for (unsigned i = 0; i < d->nvq; i++)
			blk_vq_stop(d, &d->vq[i]);
		d->started = false;
		log_info(TAG, "stopped");
	}
	pthread_mutex_unlock(&d->b->lock);
}

/*
 * librte_vhost reports the device ready once every ring the front-end has
 * touched so far is ready.  A front-end that sets up and enables its
 * rings one after the other (splitvm-drive does; QEMU enables them all
 * at the end) gets new_device with only the first ring: start each later
 * ring here, when it becomes ready.
 */
static int blk_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct blk_dev *d = blk_dev_of(vid);
	uint64_t features = 0;
	int ret;

	log_debug(TAG, "queue %u %s", queue_id, enable ? "enabled" :
							 "disabled");
	if (!d || !enable)
		return 0;
	pthread_mutex_lock(&d->b->lock);
	if (!d->started || queue_id >= d->b->cfg.num_queues ||
	    d->vq[queue_id].q)
		goto out;
	if (rte_vhost_get_negotiated_features(vid, &features)) {
		log_err(TAG, "queue %u: no features", queue_id);
		goto out;
	}
	d->vq[queue_id] = (struct blk_vq){ .dev = d, .idx = queue_id };
	ret = blk_vq_start(d, &d->vq[queue_id], features);
	if (ret) {
		log_err(TAG, "queue %u: cannot start: %s", queue_id,
			strerror(-ret));
		goto out;
	}
	if (d->nvq < queue_id + 1u)
		d->nvq = queue_id + 1u;
	log_info(TAG, "started queue %u", queue_id);
out:
	pthread_mutex_unlock(&d->b->lock);
	return 0;
}

/* ---- messages DPDK does not handle for a blk device ------------------- */

static enum rte_vhost_msg_result blk_get_config(struct blk_vhost *b,
						struct blk_dpdk_msg *m)
{
	/* The payload sits unaligned in DPDK's packed context: copy it. */
	struct vhost_user_config c;
	const uint8_t *cfg = (const uint8_t *)&b->config;
	uint32_t have = sizeof(b->config), size;

	blk_disk_config(&b->disk, (uint16_t)b->cfg.num_queues, &b->config);
	memcpy(&c, m->raw, sizeof(c));
	if (m->hdr.size < VHOST_USER_CONFIG_HEADER_SIZE ||
	    c.size > VHOST_USER_MAX_CONFIG_SIZE ||
	    c.offset > VHOST_USER_MAX_CONFIG_SIZE) {
		log_err(TAG, "GET_CONFIG: bad size %u or offset %u",
			c.size, c.offset);
		return RTE_VHOST_MSG_RESULT_ERR;
	}
	memset(c.region, 0, c.size);
	if (c.offset < have)
		memcpy(c.region, cfg + c.offset,
		       c.size < have - c.offset ? c.size : have - c.offset);
	size = VHOST_USER_CONFIG_HEADER_SIZE + c.size;
	memcpy(m->raw, &c, size);
	m->hdr.size = size;
	return RTE_VHOST_MSG_RESULT_REPLY;
}

/* Only wce is writable (VIRTIO_BLK_F_CONFIG_WCE); the rest is ignored. */
static void blk_set_config(struct blk_vhost *b, struct blk_dpdk_msg *m)
{
	const uint32_t at = offsetof(struct virtio_blk_config, wce);
	struct vhost_user_config c;

	memcpy(&c, m->raw, sizeof(c));
	if (m->hdr.size < VHOST_USER_CONFIG_HEADER_SIZE + 1 ||
	    c.size > VHOST_USER_MAX_CONFIG_SIZE ||
	    m->hdr.size < VHOST_USER_CONFIG_HEADER_SIZE + c.size ||
	    c.offset > at || c.offset + c.size <= at)
		return;
	__atomic_store_n(&b->disk.writeback, c.region[at - c.offset] ? 1 : 0,
			 __ATOMIC_RELAXED);
	log_info(TAG, "cache mode: %s", c.region[at - c.offset] ?
		 "writeback" : "writethrough");
}

void blk_close_fds(struct blk_dpdk_msg *m)
{
	for (int i = 0; i < m->fd_num && i < VHOST_USER_MAX_FDS; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->fd_num = 0;
}

/*
 * DPDK maps each region without checking that its fd is that large; a
 * short fd would SIGBUS us on first touch.  Refuse the table instead.
 */
static enum rte_vhost_msg_result blk_check_mem_table(struct blk_dpdk_msg *m)
{
	struct vhost_user_mem_table table;
	const struct vhost_user_mem_table *t = &table;
	uint32_t n;

	memcpy(&table, m->raw, sizeof(table));
	n = t->nregions;

	if (m->hdr.size < VHOST_USER_MEM_TABLE_SIZE(0) ||
	    n > VHOST_USER_MEMORY_BASELINE_NREGIONS ||
	    m->hdr.size != VHOST_USER_MEM_TABLE_SIZE(n) ||
	    m->fd_num < 0 || (uint32_t)m->fd_num != n) {
		log_err(TAG, "SET_MEM_TABLE: %u regions, %d fds, %u bytes: "
			"refused", n, m->fd_num, m->hdr.size);
		goto refuse;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct vhost_user_mem_region *r = &t->regions[i];
		struct stat st;

		if (fstat(m->fds[i], &st) < 0) {
			log_err(TAG, "SET_MEM_TABLE: region %u: fd: %s", i,
				strerror(errno));
			goto refuse;
		}
		if (!S_ISREG(st.st_mode) || r->memory_size == 0 ||
		    r->mmap_offset + r->memory_size < r->mmap_offset ||
		    r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
		    r->mmap_offset + r->memory_size > (uint64_t)st.st_size) {
			log_err(TAG, "SET_MEM_TABLE: region %u (offset 0x%llx, "
				"size 0x%llx) does not fit its fd (%s, 0x%llx "
				"bytes): refused", i,
				(unsigned long long)r->mmap_offset,
				(unsigned long long)r->memory_size,
				S_ISREG(st.st_mode) ? "file" : "not a file",
				(unsigned long long)st.st_size);
			goto refuse;
		}
	}
	if (n)
		be_sandbox_probe_memfd(m->fds[0]);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
refuse:
	blk_close_fds(m);
	return RTE_VHOST_MSG_RESULT_ERR;
}

static enum rte_vhost_msg_result blk_pre_msg(int vid, void *msg)
{
	struct blk_dev *d = blk_dev_of(vid);
	struct blk_dpdk_msg *m = msg;
	struct blk_vhost *b;

	if (!d)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	b = d->b;
	switch (m->hdr.request) {
	case VHOST_USER_GET_CONFIG:
		return blk_get_config(b, m);
	case VHOST_USER_SET_CONFIG:
		blk_set_config(b, m);
		return RTE_VHOST_MSG_RESULT_OK;
	case VHOST_USER_GET_QUEUE_NUM: {
		/* DPDK would answer its net queue-pair limit. */
		uint64_t num = b->cfg.num_queues;

		memcpy(m->raw, &num, sizeof(num));
		m->hdr.size = sizeof(num);
		return RTE_VHOST_MSG_RESULT_REPLY;
	}
	case VHOST_USER_SET_MEM_TABLE:
		if (!b->layout_ok)
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		return blk_check_mem_table(m);
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
		if (!b->layout_ok)
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		return blk_check_inflight(d, m);
	default:
		if (b->layout_ok && !blk_seen_message(d, m)) {
			blk_close_fds(m);
			return RTE_VHOST_MSG_RESULT_ERR;
		}
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
}

static const struct rte_vhost_user_extern_ops blk_extern_ops = {
	.pre_msg_handle = blk_pre_msg,
};

static int blk_new_connection(int vid)
{
	struct blk_vhost *b = blk_vhost_instance;
	struct blk_dev *d;

	if (!b)
		return -1;
	d = blk_dev_of(-1);
	if (!d) {
		log_warn(TAG, "a front-end connected while %d are: refused",
			 BLK_MAX_CONNECTIONS);
		return -1;
	}
	if (rte_vhost_extern_callback_register(vid, &blk_extern_ops, b)) {
		log_err(TAG, "cannot register the message hooks");
		return -1;
	}
	d->vid = vid;
	memset(d->seen, 0, sizeof(d->seen));
	d->infl_queue_size = 0;
	log_info(TAG, "front-end connected");
	return 0;
}

static void blk_destroy_connection(int vid)
{
	struct blk_dev *d = blk_dev_of(vid);

	if (!d)
		return;
	blk_destroy_device(vid);
	pthread_mutex_lock(&d->b->lock);
	d->vid = -1;
	pthread_mutex_unlock(&d->b->lock);
	log_info(TAG, "front-end disconnected");
}

static const struct rte_vhost_device_ops blk_device_ops = {
	.new_device = blk_new_device,
	.destroy_device = blk_destroy_device,
	.vring_state_changed = blk_vring_state_changed,
	.new_connection = blk_new_connection,
	.destroy_connection = blk_destroy_connection,
};

/* ---- setup -------------------------------------------------------------- */

int blk_vhost_start(const struct blk_vhost_config *cfg, struct blk_vhost **out)
{
	struct blk_vhost *b;
	struct stat st;
	int ret;

	*out = NULL;
	if (blk_vhost_instance || !cfg->socket_path || !cfg->disk ||
	    cfg->num_queues == 0 || cfg->num_queues > BLK_OPTIONS_MAX_QUEUES ||
	    strlen(cfg->socket_path) >= sizeof(b->path))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cfg = *cfg;
	for (unsigned i = 0; i < BLK_MAX_CONNECTIONS; i++)
		b->devs[i] = (struct blk_dev){ .b = b, .vid = -1 };
	pthread_mutex_init(&b->lock, NULL);
	snprintf(b->path, sizeof(b->path), "%s", cfg->socket_path);
	b->disk = *cfg->disk;
	b->layout_ok = RTE_VER_YEAR == 22 && RTE_VER_MONTH == 11 &&
		       !strncmp(rte_version(), "DPDK 22.11", 10);
	if (!b->layout_ok)
		log_warn(TAG, "%s: memory tables are not checked against "
			 "their fds (built for DPDK 22.11's message layout)",
			 rte_version());
	blk_vhost_instance = b;

	/* A socket left by a previous run would make bind() fail. */
	if (lstat(b->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(b->path);
	if (rte_vhost_driver_register(b->path, 0)) {
		log_err(TAG, "cannot register vhost-user socket %s", b->path);
		ret = -EADDRINUSE;
		goto err;
	}
	if (rte_vhost_driver_set_features(b->path, BLK_FEATURES |
			(cfg->disk->read_only ? BIT(VIRTIO_BLK_F_RO) : 0)) ||
	    rte_vhost_driver_set_protocol_features(b->path,
						   BLK_PROTOCOL_FEATURES) ||
	    rte_vhost_driver_callback_register(b->path, &blk_device_ops) ||
	    rte_vhost_driver_start(b->path)) {
		log_err(TAG, "cannot start vhost-user socket %s", b->path);
		rte_vhost_driver_unregister(b->path);
		ret = -EIO;
		goto err;
	}
	log_info(TAG, "listening on %s: %llu sectors%s, %u queue(s)", b->path,
		 (unsigned long long)cfg->disk->capacity,
		 cfg->disk->read_only ? ", read-only" : "", cfg->num_queues);
	*out = b;
	return 0;
err:
	blk_vhost_instance = NULL;
	free(b);
	return ret;
}

void blk_vhost_print_stats(struct blk_vhost *b, FILE *f)
{
	static const char *const names[] = {
		"done", "read", "write", "flush", "get_id", "discard",
		"write_zeroes",
	};

	pthread_mutex_lock(&b->lock);
	for (unsigned n = 0; n < BLK_MAX_CONNECTIONS; n++) {
		struct blk_dev *d = &b->devs[n];

		for (unsigned i = 0; i < d->nvq && d->started; i++) {
			struct blk_queue_stats s;

			if (!d->vq[i].q)
				continue;
			blk_queue_get_stats(d->vq[i].q, &s);
			fprintf(f, "queue %u:", i);
			for (unsigned t = 0; t < sizeof(names) / sizeof(names[0]);
			     t++)
				fprintf(f, " %s=%llu", names[t],
					(unsigned long long)s.reqs[t]);
			fprintf(f, " read_bytes=%llu written_bytes=%llu "
				"errors=%llu bad_chains=%llu inflight=%llu "
				"kicks=%llu sleeps=%llu interrupts=%llu syncs=%llu "
				"bounced=%llu\n",
				(unsigned long long)s.bytes_read,
				(unsigned long long)s.bytes_written,
				(unsigned long long)s.errors,
				(unsigned long long)s.bad_chains,
				(unsigned long long)s.inflight,
				(unsigned long long)s.kicks,
				(unsigned long long)s.sleeps,
				(unsigned long long)s.notifies,
				(unsigned long long)s.syncs,
				(unsigned long long)s.bounced);
			fprintf(f, "queue %u latency_us:", i);
			for (unsigned k = 0; k < BLK_LAT_BUCKETS; k++)
				if (s.latency[k])
					fprintf(f, " <%llu=%llu", 1ull << k,
						(unsigned long long)s.latency[k]);
			fprintf(f, "\n");
		}
	}
	pthread_mutex_unlock(&b->lock);
}

void blk_vhost_stop(struct blk_vhost *b)
{
	if (!b)
		return;
	/* Unregistering closes the connection: destroy callbacks run. */
	if (rte_vhost_driver_unregister(b->path))
		log_warn(TAG, "unregistering %s failed", b->path);
	unlink(b->path);
	blk_vhost_instance = NULL;
	pthread_mutex_destroy(&b->lock);
	free(b);
}
