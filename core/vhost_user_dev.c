/* SPDX-License-Identifier: GPL-2.0-only */
#include "vhost_user_dev.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event.h"
#include "guest_mem.h"
#include "log.h"
#include "pci.h"
#include "vhost_user_client.h"
#include "virtio.h"
#include "virtio_net_ctrl.h"
#include "virtio_pci.h"

/*
 * virtio-blk config up to write_zeroes_may_unmap and its padding: what
 * every back-end we talk to (QEMU 7.x included) answers GET_CONFIG for.
 * Secure erase and zoned fields are beyond it, so their features are
 * not offered.
 */
#define VUD_BLK_CONFIG_SIZE	60
_Static_assert(offsetof(struct virtio_blk_config, max_secure_erase_sectors) ==
	       VUD_BLK_CONFIG_SIZE, "blk config up to secure erase");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34,
	       "blk num_queues");

#define BIT(n)	(1ull << (n))

/*
 * Transport features passed through to every device type, when the
 * back-end offers them.  A packed ring's vring base carries wrap
 * counters: see vud_ring_base().
 */
#define VUD_RING_FEATURES	(BIT(VIRTIO_F_VERSION_1) | \
				 BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
				 BIT(VIRTIO_RING_F_EVENT_IDX) | \
				 BIT(VIRTIO_F_RING_PACKED))

#define VUD_BLK_FEATURES	(BIT(VIRTIO_BLK_F_SIZE_MAX) | \
				 BIT(VIRTIO_BLK_F_SEG_MAX) | \
				 BIT(VIRTIO_BLK_F_GEOMETRY) | \
				 BIT(VIRTIO_BLK_F_RO) | \
				 BIT(VIRTIO_BLK_F_BLK_SIZE) | \
				 BIT(VIRTIO_BLK_F_FLUSH) | \
				 BIT(VIRTIO_BLK_F_TOPOLOGY) | \
				 BIT(VIRTIO_BLK_F_CONFIG_WCE) | \
				 BIT(VIRTIO_BLK_F_MQ) | \
				 BIT(VIRTIO_BLK_F_DISCARD) | \
				 BIT(VIRTIO_BLK_F_WRITE_ZEROES))

/*
 * Passed through from the back-end.  The control queue is the core's
 * (virtio_net_ctrl.c), which implements MQ's VQ_PAIRS_SET only: nothing
 * else that needs it (CTRL_RX, CTRL_VLAN, GUEST_ANNOUNCE, RSS, ...) is
 * offered.  MTU and speed are left out because the core builds the
 * config and knows neither.
 */
#define VUD_NET_FEATURES	(BIT(VIRTIO_NET_F_CSUM) | \
				 BIT(VIRTIO_NET_F_GUEST_CSUM) | \
				 BIT(VIRTIO_NET_F_GUEST_TSO4) | \
				 BIT(VIRTIO_NET_F_GUEST_TSO6) | \
				 BIT(VIRTIO_NET_F_GUEST_ECN) | \
				 BIT(VIRTIO_NET_F_GUEST_UFO) | \
				 BIT(VIRTIO_NET_F_HOST_TSO4) | \
				 BIT(VIRTIO_NET_F_HOST_TSO6) | \
				 BIT(VIRTIO_NET_F_HOST_ECN) | \
				 BIT(VIRTIO_NET_F_HOST_UFO) | \
				 BIT(VIRTIO_NET_F_MRG_RXBUF))
/* Offered by the core itself with queues > 1; never sent to the back-end. */
#define VUD_NET_CTRL_FEATURES	(BIT(VIRTIO_NET_F_CTRL_VQ) | \
				 BIT(VIRTIO_NET_F_MQ))
/* Protocol features we know how to use. */
#define VUD_PROTOCOL_FEATURES \
	(VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG))

#define VUD_CONFIG_MAX		VUD_BLK_CONFIG_SIZE
_Static_assert(VIRTIO_NET_CONFIG_SIZE_1_2 <= VUD_CONFIG_MAX, "config buffer");

struct vhost_user_dev {
	char name[32];
	char path[VHOST_USER_DEV_PATH_MAX];
	enum vhost_user_dev_type type;
	const struct guest_mem *mem;
	struct vhost_user_client *client;
	struct virtio_pci *vp;
	struct event_loop *loop;	/* while watched */
	/*
	 * Signalled once when the device breaks, from whatever thread saw
	 * it: the main loop then sets DEVICE_NEEDS_RESET, which a hook
	 * (transport lock held) cannot.
	 */
	int broken_fd;
	bool lost;			/* main thread: NEEDS_RESET was set */
	/* Main thread: INTx mode, the call fds are in the loop. */
	bool intx_watching;
	struct vud_call {
		struct vhost_user_dev *dev;
		unsigned q;
	} calls[VHOST_USER_DEV_MAX_QUEUES * 2 + 1];

	/*
	 * net with queues > 1: the control queue's kick fd is watched by
	 * the main loop.  Which queue that is depends on the features the
	 * driver took (2 without MQ, 2N with), so the vCPU thread that
	 * starts or stops it signals ctrl_event_fd and the loop follows.
	 */
	unsigned max_pairs;		/* 0: no control queue offered */
	int ctrl_event_fd;
	int ctrl_watched;		/* main thread: queue watched, -1 */

	uint64_t backend_features;	/* GET_FEATURES */
	uint64_t core_features;		/* offered, implemented here */
	bool protocol;			/* F_PROTOCOL_FEATURES negotiated */
	unsigned nvrings;

	/*
	 * Below, and every use of the client: only under lock.  vCPU
	 * threads take it inside the transport's lock; the main loop
	 * (control queue) takes it alone.
	 */
	pthread_mutex_t lock;
	uint8_t config[VUD_CONFIG_MAX];
	uint32_t config_size;
	bool started[VHOST_USER_DEV_MAX_QUEUES * 2 + 1];
	bool enabled[VHOST_USER_DEV_MAX_QUEUES * 2 + 1];
	uint16_t qsize[VHOST_USER_DEV_MAX_QUEUES * 2 + 1];	/* while started */
	bool packed;			/* the running rings are packed */
	unsigned data_vrings;		/* at DRIVER_OK: rings the back-end runs */
	struct virtio_net_ctrl *ctrl;	/* running control queue, or NULL */
	int ctrl_q;			/* its index, -1 */
	unsigned ctrl_size;		/* its size */
	bool ctrl_reported;		/* its failure went to the transport */

	atomic_bool broken;

	/* For the control API (vud_stats_*); any thread. */
	uint64_t offered_features;		/* to the driver */
	_Atomic uint64_t driver_features;	/* at the last DRIVER_OK */
	_Atomic uint64_t nr_driver_ok;		/* queues started */
	_Atomic uint64_t nr_resets;		/* queues stopped by a reset */
};

static const char *vud_type_name(enum vhost_user_dev_type type)
{
	return type == VHOST_USER_DEV_BLK ? "virtio-blk" : "virtio-net";
}

static void vud_mark_broken(struct vhost_user_dev *dev, const char *why)
{
	if (atomic_exchange(&dev->broken, true))
		return;
	log_err(dev->name, "vhost-user back-end on %s failed (%s); device "
		"stopped, the VM keeps running", dev->path, why);
	if (eventfd_write(dev->broken_fd, 1) < 0) {
		/* Only EAGAIN at 2^64-1: it is signalled already. */
	}
}

/* After a failed client call: a broken client breaks the device. */
static int vud_check(struct vhost_user_dev *dev, int ret)
{
	const char *req = NULL;
	char why[96];
	int err;

	if (ret && vhost_user_client_broken(dev->client)) {
		err = vhost_user_client_error(dev->client, &req);
		snprintf(why, sizeof(why), "%s: %s", req ? req : "?",
			 strerror(-err));
		vud_mark_broken(dev, why);
	}
	return ret;
}

bool vhost_user_dev_broken(const struct vhost_user_dev *dev)
{
	return atomic_load(&dev->broken);
}

/* ---- the transport's hooks (vCPU thread, transport lock held) ----------- */

static uint32_t vud_config_read(void *opaque, uint32_t offset, unsigned size)
{
	struct vhost_user_dev *dev = opaque;
	uint32_t v = 0;

	/* The transport checked offset + size <= config_size. */
	memcpy(&v, dev->config + offset, size);
	return v;
}

static void vud_config_write(void *opaque, uint32_t offset, uint32_t value,
			     unsigned size)
{
	struct vhost_user_dev *dev = opaque;
	uint8_t old[4];

	/* Only blk has a writable field (wce); net's config is read-only. */
	if (dev->type != VHOST_USER_DEV_BLK || vhost_user_dev_broken(dev) ||
	    !(vhost_user_client_protocol_features(dev->client) &
	      VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return;
	pthread_mutex_lock(&dev->lock);
	memcpy(old, dev->config + offset, size);
	memcpy(dev->config + offset, &value, size);
	/* A refusal (-EREMOTEIO) leaves the old value, as the device would. */
	if (vud_check(dev, vhost_user_client_set_config(dev->client, offset,
							 size, &value)))
		memcpy(dev->config + offset, old, size);
	pthread_mutex_unlock(&dev->lock);
}

/* Host address of a ring part that must lie wholly in one RAM region. */
static int vud_ring_hva(struct vhost_user_dev *dev, unsigned q,
			const char *what, uint64_t gpa, uint64_t len,
			uint64_t *hva)
{
	void *p = guest_mem_ptr(dev->mem, gpa, len);

	if (!p) {
		log_warn(dev->name, "queue %u: %s [0x%llx, +0x%llx) is not "
			 "guest RAM; device needs reset", q, what,
			 (unsigned long long)gpa, (unsigned long long)len);
		return -EFAULT;
	}
	*hva = (uintptr_t)p;
	return 0;
}

/*
 * A packed ring's descriptor ring has the split table's size; its driver
 * and device areas are the 4-byte event suppression structures, which
 * travel in SET_VRING_ADDR's avail and used fields (vhost-user.rst).
 */
static int vud_translate(struct vhost_user_dev *dev, unsigned q,
			 const struct virtio_pci_queue_info *qi, bool packed,
			 struct vhost_user_vring_addr *addr)
{
	const uint64_t ev = sizeof(struct vring_packed_desc_event);
	int ret;

	memset(addr, 0, sizeof(*addr));
	addr->index = q;
	ret = vud_ring_hva(dev, q, packed ? "descriptor ring" :
			   "descriptor table", qi->desc,
			   virtio_split_desc_size(qi->size),
			   &addr->desc_user_addr);
	if (!ret)
		ret = vud_ring_hva(dev, q, packed ? "driver event area" :
				   "available ring", qi->driver,
				   packed ? ev : virtio_split_avail_size(qi->size),
				   &addr->avail_user_addr);
	if (!ret)
		ret = vud_ring_hva(dev, q, packed ? "device event area" :
				   "used ring", qi->device,
				   packed ? ev : virtio_split_used_size(qi->size),
				   &addr->used_user_addr);
	return ret;
}

/*
 * The base for SET_VRING_BASE.  The core starts rings only at DRIVER_OK,
 * after a reset or at the first start, and the driver then set the ring
 * up from scratch (virtio 1.2 2.7, 2.8.1): position 0, and for a packed
 * ring both wrap counters 1.  What GET_VRING_BASE returned at the reset is
 * therefore never sent back: restoring it belongs to a back-end reconnect
 * under a running driver, which the core does not do (a lost back-end
 * sets DEVICE_NEEDS_RESET instead).
 */
static uint32_t vud_ring_base(bool packed)
{
	return packed ? VHOST_USER_PACKED_BASE_INITIAL :
			VHOST_USER_SPLIT_BASE_INITIAL;
}

static int vud_set_mem_table(struct vhost_user_dev *dev)
{
	struct vhost_user_client_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n = guest_mem_nr_regions(dev->mem);

	for (unsigned i = 0; i < n; i++) {
		const struct guest_region *r = guest_mem_region(dev->mem, i);

		regions[i] = (struct vhost_user_client_region){
			.gpa = r->gpa, .size = r->size,
			.hva = (uintptr_t)r->hva, .fd = r->fd,
			.mmap_offset = r->offset,
		};
	}
	return vhost_user_client_set_mem_table(dev->client, regions, n);
}

/* Lock held; enable: also SET_VRING_ENABLE (with protocol features). */
static int vud_start_queue(struct vhost_user_dev *dev, unsigned q,
			   const struct virtio_pci_queue_info *qi,
			   const struct vhost_user_vring_addr *addr,
			   bool enable)
{
	struct vhost_user_client *c = dev->client;
	int ret;

	ret = vhost_user_client_set_vring_num(c, q, qi->size);
	if (ret)
		return ret;
	dev->started[q] = true;
	dev->qsize[q] = qi->size;
	ret = vhost_user_client_set_vring_base(c, q, vud_ring_base(dev->packed));
	if (!ret)
		ret = vhost_user_client_set_vring_addr(c, addr);
	if (!ret)
		ret = vhost_user_client_set_vring_kick(c, q, qi->kick_fd);
	if (!ret)
		ret = vhost_user_client_set_vring_call(c, q, qi->call_fd);
	/* With protocol features rings start disabled (vhost-user.rst). */
	if (!ret && dev->protocol && enable) {
		ret = vhost_user_client_set_vring_enable(c, q, true);
		dev->enabled[q] = !ret;
	}
	return ret;
}

/*
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET from the control queue (main thread,
 * lock held): enable the rings of pairs [0, pairs), disable the others
 * (virtio 1.2 5.1.6.5.5).  Every ring of the requested pairs must have
 * been set up by the driver, else the command fails and nothing moves.
 */
static int vud_set_queue_pairs(void *opaque, unsigned pairs)
{
	struct vhost_user_dev *dev = opaque;
	int ret = 0;

	if (2 * pairs > dev->data_vrings || vhost_user_dev_broken(dev))
		return -EINVAL;
	for (unsigned q = 0; q < 2 * pairs; q++)
		if (!dev->started[q]) {
			log_info(dev->name, "VQ_PAIRS_SET %u: queue %u was "
				 "not set up", pairs, q);
			return -EINVAL;
		}
	for (unsigned q = 0; q < dev->data_vrings && !ret; q++) {
		bool want = q < 2 * pairs;

		if (!dev->started[q] || dev->enabled[q] == want)
			continue;
		ret = vhost_user_client_set_vring_enable(dev->client, q, want);
		if (!ret)
			dev->enabled[q] = want;
	}
	if (ret && !vhost_user_client_broken(dev->client))
		log_warn(dev->name, "VQ_PAIRS_SET %u: %s", pairs,
			 strerror(-ret));
	return vud_check(dev, ret);
}

static const struct virtio_net_ctrl_ops vud_ctrl_ops = {
	.set_queue_pairs = vud_set_queue_pairs,
};

/* The main loop must look at which control queue to watch. */
static void vud_ctrl_changed(struct vhost_user_dev *dev)
{
	if (dev->max_pairs && eventfd_write(dev->ctrl_event_fd, 1) < 0) {
		/* Only EAGAIN at 2^64-1: it is signalled already. */
	}
}

/*
 * Which rings go to the back-end and which one is the control queue,
 * from the features the driver took (virtio 1.2 5.1.2): without MQ one
 * pair and the control queue at 2, with MQ N pairs and it at 2N.
 */
static int vud_net_layout(struct vhost_user_dev *dev, uint64_t features,
			  int *ctrl_q)
{
	bool mq = features & BIT(VIRTIO_NET_F_MQ);

	*ctrl_q = -1;
	if (!dev->max_pairs) {
		dev->data_vrings = dev->nvrings;
		return 0;
	}
	/* virtio 1.2 5.1.3.1: MQ requires CTRL_VQ. */
	if (mq && !(features & BIT(VIRTIO_NET_F_CTRL_VQ))) {
		log_warn(dev->name, "driver took MQ without CTRL_VQ");
		return -EINVAL;
	}
	dev->data_vrings = 2 * (mq ? dev->max_pairs : 1);
	if (features & BIT(VIRTIO_NET_F_CTRL_VQ))
		*ctrl_q = (int)dev->data_vrings;
	return 0;
}

/* Lock held: the control queue runs from DRIVER_OK to the reset. */
static int vud_ctrl_start(struct vhost_user_dev *dev, uint64_t features,
			  int q, const struct virtio_pci_queue_info *qi)
{
	struct virtio_net_ctrl_config cfg;
	int ret;

	if (q < 0 || !qi->enabled)
		return 0;	/* the driver does not use it */
	cfg = (struct virtio_net_ctrl_config){
		.name = dev->name,
		.mem = dev->mem,
		.size = qi->size,
		.desc = qi->desc,
		.driver = qi->driver,
		.device = qi->device,
		.event_idx = features & BIT(VIRTIO_RING_F_EVENT_IDX),
		.indirect = features & BIT(VIRTIO_RING_F_INDIRECT_DESC),
		.max_pairs = features & BIT(VIRTIO_NET_F_MQ) ?
			     (uint16_t)dev->max_pairs : 0,
	};
	ret = virtio_net_ctrl_start(&cfg, &vud_ctrl_ops, dev, &dev->ctrl);
	if (ret) {
		log_warn(dev->name, "control queue %d not started: %s", q,
			 strerror(-ret));
		return ret;
	}
	dev->ctrl_q = q;
	dev->ctrl_size = qi->size;
	dev->ctrl_reported = false;
	vud_ctrl_changed(dev);
	return 0;
}

/* Lock held. */
static void vud_ctrl_stop(struct vhost_user_dev *dev)
{
	if (!dev->ctrl)
		return;
	virtio_net_ctrl_stop(dev->ctrl);
	dev->ctrl = NULL;
	dev->ctrl_q = -1;
	vud_ctrl_changed(dev);
}

/*
 * DESIGN DEBT: this runs on a vCPU thread with the transport's lock held
 * and blocks on the back-end for up to the client's timeout per message.
 * A hung back-end stalls that vCPU (not the VM's other vCPUs) for a
 * bounded time; moving the exchange to a device thread is future work.
 */
static int vud_driver_ok(void *opaque, uint64_t features,
			 const struct virtio_pci_queue_info *queues,
			 unsigned nr)
{
	struct vhost_user_dev *dev = opaque;
	struct vhost_user_vring_addr addrs[VHOST_USER_DEV_MAX_QUEUES * 2];
	uint64_t backend = features & ~dev->core_features;
	bool packed = features & BIT(VIRTIO_F_RING_PACKED);
	int ret, ctrl_q;

	if (vhost_user_dev_broken(dev))
		return -EPIPE;
	if (nr > dev->nvrings)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	ret = vud_net_layout(dev, features, &ctrl_q);
	if (ret)
		goto out;

	/* Validate every ring before the back-end hears anything. */
	for (unsigned q = 0; q < dev->data_vrings; q++) {
		if (!queues[q].enabled)
			continue;
		ret = vud_translate(dev, q, &queues[q], packed, &addrs[q]);
		if (ret)
			goto out;
	}
	/* The control queue's too; the main loop hears of it afterwards. */
	ret = vud_ctrl_start(dev, features, ctrl_q,
			     ctrl_q < 0 ? NULL : &queues[ctrl_q]);
	if (ret)
		goto out;

	if (dev->protocol)
		backend |= BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	dev->packed = packed;
	ret = vhost_user_client_set_features(dev->client, backend);
	if (!ret)
		ret = vud_set_mem_table(dev);
	/* With a control queue, only the first pair runs until VQ_PAIRS_SET. */
	for (unsigned q = 0; q < dev->data_vrings && !ret; q++)
		if (queues[q].enabled)
			ret = vud_start_queue(dev, q, &queues[q], &addrs[q],
					      ctrl_q < 0 || q < 2);
	if (ret)
		vud_ctrl_stop(dev);
	/* A broken back-end gets its one line from vud_check(). */
	if (ret && !vhost_user_client_broken(dev->client))
		log_warn(dev->name, "starting the queues failed: %s",
			 strerror(-ret));
	ret = vud_check(dev, ret);
	if (!ret) {
		atomic_store(&dev->driver_features, features);
		atomic_fetch_add(&dev->nr_driver_ok, 1);
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/*
 * Where the back-end stopped, for the log only (see vud_ring_base()).  A
 * packed position must lie inside the ring; the used half may be 0 from
 * back-ends that send the available half alone.
 */
static void vud_log_stopped(struct vhost_user_dev *dev, unsigned q,
			    uint32_t base)
{
	unsigned avail = base & VHOST_USER_PACKED_IDX_MASK;
	unsigned used = base >> VHOST_USER_PACKED_USED_SHIFT &
			VHOST_USER_PACKED_IDX_MASK;

	if (!dev->packed) {
		log_debug(dev->name, "queue %u stopped at avail index %u", q,
			  base & 0xffff);
		return;
	}
	if (avail >= dev->qsize[q] || used >= dev->qsize[q])
		log_warn(dev->name, "queue %u: GET_VRING_BASE 0x%08x names a "
			 "position outside the packed ring of %u; ignored",
			 q, base, dev->qsize[q]);
	else
		log_debug(dev->name, "queue %u stopped at packed avail %u "
			  "wrap %u, used %u wrap %u", q, avail,
			  !!(base & VHOST_USER_PACKED_AVAIL_WRAP), used,
			  !!(base & VHOST_USER_PACKED_USED_WRAP));
}

static void vud_reset(void *opaque)
{
	struct vhost_user_dev *dev = opaque;
	uint32_t base;

	pthread_mutex_lock(&dev->lock);
	vud_ctrl_stop(dev);
	for (unsigned q = 0; q < dev->nvrings; q++) {
		dev->enabled[q] = false;
		if (!dev->started[q])
			continue;
		if (q == 0)
			atomic_fetch_add(&dev->nr_resets, 1);
		dev->started[q] = false;
		/* A broken client answers -EPIPE without touching the socket. */
		if (!vhost_user_dev_broken(dev) &&
		    !vud_check(dev, vhost_user_client_get_vring_base(
					   dev->client, q, &base)))
			vud_log_stopped(dev, q, base);
	}
	pthread_mutex_unlock(&dev->lock);
}

static const struct virtio_pci_device_ops vud_ops = {
	.config_read = vud_config_read,
	.config_write = vud_config_write,
	.driver_ok = vud_driver_ok,
	.reset = vud_reset,
};

/* ---- negotiation at build time (main thread) ---------------------------- */

static int vud_negotiate(struct vhost_user_dev *dev, unsigned *backend_queues)
{
	struct vhost_user_client *c = dev->client;
	uint64_t offered, num;
	int ret;

	*backend_queues = 0;
	ret = vhost_user_client_get_features(c, &dev->backend_features);
	if (ret)
		return ret;
	if (!(dev->backend_features & BIT(VIRTIO_F_VERSION_1))) {
		log_err(dev->name, "vhost-user back-end on %s does not offer "
			"VIRTIO_F_VERSION_1", dev->path);
		return -EOPNOTSUPP;
	}
	dev->protocol = dev->backend_features &
			BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	if (dev->protocol) {
		ret = vhost_user_client_get_protocol_features(c, &offered);
		if (!ret) {
			offered &= VUD_PROTOCOL_FEATURES;
			/* net's config is the core's own. */
			if (dev->type == VHOST_USER_DEV_NET)
				offered &= ~VHOST_USER_PROTOCOL_F_BIT(
					VHOST_USER_PROTOCOL_F_CONFIG);
			ret = vhost_user_client_set_protocol_features(c,
								      offered);
		}
		if (ret)
			return ret;
	}
	ret = vhost_user_client_set_owner(c);
	if (ret)
		return ret;
	if (vhost_user_client_protocol_features(c) &
	    VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ)) {
		ret = vhost_user_client_get_queue_num(c, &num);
		if (ret)
			return ret;
		*backend_queues = num > UINT16_MAX ? UINT16_MAX : (unsigned)num;
		log_debug(dev->name, "GET_QUEUE_NUM: %llu",
			  (unsigned long long)num);
	}
	return 0;
}

static int vud_setup_blk(struct vhost_user_dev *dev, unsigned queues,
			 unsigned backend_queues, uint64_t *features)
{
	uint16_t nq = queues;
	int ret;

	if (!(vhost_user_client_protocol_features(dev->client) &
	      VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG))) {
		log_err(dev->name, "vhost-user back-end on %s does not offer "
			"the CONFIG protocol feature (virtio-blk needs the "
			"disk's capacity from it)", dev->path);
		return -EOPNOTSUPP;
	}
	ret = vhost_user_client_get_config(dev->client, 0, VUD_BLK_CONFIG_SIZE,
					   dev->config);
	if (ret) {
		log_err(dev->name, "vhost-user back-end on %s: GET_CONFIG: %s",
			dev->path, strerror(-ret));
		return ret;
	}
	dev->config_size = VUD_BLK_CONFIG_SIZE;
	*features = dev->backend_features & (VUD_RING_FEATURES |
					     VUD_BLK_FEATURES);
	if (queues > 1 && (!(*features & BIT(VIRTIO_BLK_F_MQ)) ||
			   backend_queues < queues)) {
		log_err(dev->name, "vhost-user back-end on %s: %u queues "
			"asked for, it has %u", dev->path, queues,
			backend_queues ? backend_queues : 1);
		return -EOPNOTSUPP;
	}
	/* The driver must see exactly the queues the transport has. */
	if (*features & BIT(VIRTIO_BLK_F_MQ))
		memcpy(dev->config + offsetof(struct virtio_blk_config,
					      num_queues), &nq, sizeof(nq));
	dev->nvrings = queues;
	return 0;
}

/*
 * The core builds net's config space (mac, status, queue pairs).  More
 * than one pair needs MQ, hence the control queue, which the core runs
 * itself: the back-end only has to run that many pairs (PROTOCOL_F_MQ
 * and GET_QUEUE_NUM, which counts queue pairs for net as QEMU and DPDK
 * read it).
 */
static int vud_setup_net(struct vhost_user_dev *dev,
			 const struct vhost_user_dev_spec *spec,
			 unsigned backend_queues, uint64_t *features)
{
	struct virtio_net_config *nc = (struct virtio_net_config *)dev->config;
	unsigned pairs = spec->queues ? spec->queues : 1;
	uint64_t core = BIT(VIRTIO_NET_F_STATUS);

	if (pairs > 1 && !(vhost_user_client_protocol_features(dev->client) &
			   VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ))) {
		log_err(dev->name, "vhost-user back-end on %s: %u queue pairs "
			"asked for, it does not offer the MQ protocol feature",
			dev->path, pairs);
		return -EOPNOTSUPP;
	}
	if (pairs > 1 && backend_queues < pairs) {
		log_err(dev->name, "vhost-user back-end on %s: %u queue pairs "
			"asked for, it has %u", dev->path, pairs,
			backend_queues);
		return -EOPNOTSUPP;
	}

	memset(dev->config, 0, sizeof(dev->config));
	nc->status = VIRTIO_NET_S_LINK_UP;
	nc->max_virtqueue_pairs = (uint16_t)pairs;
	/* No --net mac: no F_MAC, the driver picks a random address. */
	if (spec->has_mac) {
		memcpy(nc->mac, spec->mac, sizeof(nc->mac));
		core |= BIT(VIRTIO_NET_F_MAC);
	}
	dev->config_size = VIRTIO_NET_CONFIG_SIZE_1_2;
	*features = (dev->backend_features & (VUD_RING_FEATURES |
					      VUD_NET_FEATURES)) | core;
	/* What the back-end offers too goes to it in SET_FEATURES. */
	dev->core_features = core & ~dev->backend_features;
	dev->nvrings = 2;
	if (pairs > 1) {
		/*
		 * The control queue is the core's and split only
		 * (virtio_net_ctrl.c): no packed rings for this device,
		 * whatever the back-end offers.
		 */
		*features = (*features & ~BIT(VIRTIO_F_RING_PACKED)) |
			    VUD_NET_CTRL_FEATURES;
		dev->core_features |= VUD_NET_CTRL_FEATURES;
		dev->max_pairs = pairs;
		dev->nvrings = 2 * pairs + 1;
	}
	return 0;
}

int vhost_user_dev_create(const struct vhost_user_dev_config *cfg,
			  struct vhost_user_dev **out)
{
	const struct vhost_user_dev_spec *spec = &cfg->spec;
	int timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms :
		      VHOST_USER_CLIENT_DEFAULT_TIMEOUT_MS;
	struct virtio_pci_config vc = {
		.name = cfg->name,
		.queue_size_max = VHOST_USER_DEV_QUEUE_SIZE,
		.vm_fd = cfg->vm_fd,
		.irq = cfg->irq,
	};
	unsigned queues = spec->queues ? spec->queues : 1, backend_queues;
	struct vhost_user_dev *dev;
	uint64_t features = 0;
	int ret;

	*out = NULL;
	if (queues > VHOST_USER_DEV_MAX_QUEUES || !cfg->mem ||
	    (spec->type != VHOST_USER_DEV_BLK &&
	     spec->type != VHOST_USER_DEV_NET)) {
		if (cfg->sock_fd >= 0)
			close(cfg->sock_fd);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		if (cfg->sock_fd >= 0)
			close(cfg->sock_fd);
		return -ENOMEM;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", cfg->name);
	snprintf(dev->path, sizeof(dev->path), "%s",
		 spec->socket_path[0] ? spec->socket_path : "(socket)");
	dev->type = spec->type;
	dev->mem = cfg->mem;
	dev->ctrl_q = dev->ctrl_watched = -1;
	pthread_mutex_init(&dev->lock, NULL);
	atomic_init(&dev->broken, false);
	dev->broken_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->ctrl_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->broken_fd < 0 || dev->ctrl_event_fd < 0) {
		ret = -errno;
		if (cfg->sock_fd >= 0)
			close(cfg->sock_fd);
		if (dev->broken_fd >= 0)
			close(dev->broken_fd);
		pthread_mutex_destroy(&dev->lock);
		free(dev);
		return ret;
	}

	if (cfg->sock_fd >= 0)
		ret = vhost_user_client_from_fd(cfg->sock_fd, dev->name,
						timeout, &dev->client);
	else
		ret = vhost_user_client_connect(spec->socket_path, timeout,
						&dev->client);
	if (ret) {
		log_err(dev->name, "cannot connect to the vhost-user back-end "
			"on %s: %s%s", dev->path, strerror(-ret),
			ret == -ETIMEDOUT ? " (nobody listening)" : "");
		goto err;
	}
	ret = vud_negotiate(dev, &backend_queues);
	if (!ret && spec->type == VHOST_USER_DEV_BLK)
		ret = vud_setup_blk(dev, queues, backend_queues, &features);
	else if (!ret)
		ret = vud_setup_net(dev, spec, backend_queues, &features);
	if (ret) {
		/* A broken client already logged why; add which device. */
		if (vhost_user_client_broken(dev->client))
			log_err(dev->name, "vhost-user back-end on %s failed "
				"during negotiation", dev->path);
		goto err;
	}

	vc.device_id = spec->type == VHOST_USER_DEV_BLK ? VIRTIO_ID_BLOCK :
							   VIRTIO_ID_NET;
	vc.features = features;
	dev->offered_features = features;
	vc.num_queues = dev->nvrings;
	vc.config_size = dev->config_size;
	ret = virtio_pci_create(&vc, &vud_ops, dev, &dev->vp);
	if (ret) {
		log_err(dev->name, "virtio-pci transport: %s", strerror(-ret));
		goto err;
	}
	log_info(dev->name, "%s on vhost-user back-end %s: %u queue(s), "
		 "features 0x%llx", vud_type_name(dev->type), dev->path,
		 dev->nvrings, (unsigned long long)features);
	*out = dev;
	return 0;

err:
	vhost_user_dev_destroy(dev);
	return ret;
}

void vhost_user_dev_destroy(struct vhost_user_dev *dev)
{
	if (!dev)
		return;
	vhost_user_dev_unwatch(dev);
	/* May call vud_reset(), which still needs the client. */
	virtio_pci_destroy(dev->vp);
	vhost_user_client_close(dev->client);
	close(dev->broken_fd);
	close(dev->ctrl_event_fd);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

int vhost_user_dev_register(struct vhost_user_dev *dev, struct pci_root *root,
			    int slot)
{
	return virtio_pci_register(dev->vp, root, slot);
}

struct virtio_pci *vhost_user_dev_transport(struct vhost_user_dev *dev)
{
	return dev->vp;
}

/* ---- hang-up watch (main thread) ---------------------------------------- */

/*
 * The back-end is gone for good: tell the driver (DEVICE_NEEDS_RESET and
 * a config interrupt once it runs the device, virtio 1.2 2.1.2) and stop
 * watching.  The socket stays open, unused, until destroy.
 */
static void vud_lost(struct vhost_user_dev *dev)
{
	if (dev->lost)
		return;
	dev->lost = true;
	virtio_pci_set_needs_reset(dev->vp, "vhost-user back-end lost");
	vhost_user_dev_unwatch(dev);
}

static void vud_on_hangup(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;

	(void)fd;
	(void)events;
	/*
	 * Only the flag for the client, which belongs to the vCPU threads:
	 * their next call is never made.  A hang-up in the middle of one
	 * fails that call on its own.
	 */
	vud_mark_broken(dev, "it hung up");
	vud_lost(dev);
}

/* ---- INTx (main thread) ---- */

static void vud_on_call(void *opaque, int fd, uint32_t events)
{
	struct vud_call *c = opaque;

	(void)fd;
	(void)events;
	virtio_pci_intx_call(c->dev->vp, c->q);
}

static void vud_intx_watch_calls(struct vhost_user_dev *dev, bool on)
{
	struct virtio_pci *vp = dev->vp;
	unsigned q;

	if (dev->intx_watching == on)
		return;
	for (q = 0; q < dev->nvrings; q++) {
		int fd = virtio_pci_queue_call_fd(vp, q);

		if (!on) {
			event_loop_del(dev->loop, fd);
			continue;
		}
		dev->calls[q] = (struct vud_call){ .dev = dev, .q = q };
		if (event_loop_add(dev->loop, fd, EPOLLIN, vud_on_call,
				   &dev->calls[q])) {
			log_err(dev->name, "cannot watch queue %u for INTx", q);
			while (q--)
				event_loop_del(dev->loop,
					       virtio_pci_queue_call_fd(vp, q));
			return;
		}
	}
	dev->intx_watching = on;
}

/* The transport's INTx mode may have changed (a vCPU signalled it). */
static void vud_on_intx_mode(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;

	(void)fd;
	(void)events;
	vud_intx_watch_calls(dev, virtio_pci_intx_poll_mode(dev->vp));
}

/* ---- the control queue (main thread) ---- */

/*
 * Answer what the driver queued.  A malformed ring gets the device
 * DEVICE_NEEDS_RESET, set after the lock is dropped (the transport's
 * lock comes first): a reset racing with it may see the bit once more,
 * which only a driver that broke its own ring can cause.
 */
static void vud_ctrl_run(struct vhost_user_dev *dev)
{
	bool notify = false, failed = false, more = false;
	int n, q;

	pthread_mutex_lock(&dev->lock);
	q = dev->ctrl_q;
	if (dev->ctrl) {
		n = virtio_net_ctrl_process(dev->ctrl, &notify);
		if (n < 0 && !dev->ctrl_reported)
			failed = dev->ctrl_reported = true;
		/* A full ring's worth: let other events run, then go on. */
		more = n > 0 && (unsigned)n == dev->ctrl_size;
	}
	pthread_mutex_unlock(&dev->lock);
	if (more && eventfd_write(virtio_pci_queue_kick_fd(dev->vp,
							   (unsigned)q), 1) < 0)
		log_warn(dev->name, "control queue re-kick: %s",
			 strerror(errno));
	/* The call fd is an irqfd of the queue's vector, or watched (INTx). */
	if (notify && eventfd_write(virtio_pci_queue_call_fd(dev->vp,
							     (unsigned)q), 1) < 0)
		log_warn(dev->name, "control queue interrupt: %s",
			 strerror(errno));
	if (failed)
		virtio_pci_set_needs_reset(dev->vp, "malformed control queue");
}

static void vud_ctrl_follow(struct vhost_user_dev *dev);

static void vud_on_ctrl_kick(void *opaque, int fd, uint32_t events)
{
	struct vhost_user_dev *dev = opaque;
	eventfd_t v;
	int cur;

	(void)events;
	pthread_mutex_lock(&dev->lock);
	cur = dev->ctrl ? dev->ctrl_q : -1;
	pthread_mutex_unlock(&dev->lock);
	/*
	 * The driver moved the control queue (reset, other features) and
	 * the change is not followed yet: this fd may be a data queue's
	 * now, whose kicks are the back-end's.  Leave it alone.
	 */
	if (cur != dev->ctrl_watched) {
		vud_ctrl_follow(dev);
		return;
	}
	(void)eventfd_read(fd, &v);
	vud_ctrl_run(dev);
}

/* Watch the kick fd of the control queue the driver runs now, if any. */
static void vud_ctrl_follow(struct vhost_user_dev *dev)
{
	int want;

	pthread_mutex_lock(&dev->lock);
	want = dev->ctrl ? dev->ctrl_q : -1;
	pthread_mutex_unlock(&dev->lock);
	if (want == dev->ctrl_watched)
		goto run;
	if (dev->ctrl_watched >= 0)
		event_loop_del(dev->loop, virtio_pci_queue_kick_fd(
				       dev->vp, (unsigned)dev->ctrl_watched));
	dev->ctrl_watched = -1;
	if (want >= 0) {
		if (event_loop_add(dev->loop, virtio_pci_queue_kick_fd(
					   dev->vp, (unsigned)want),
				   EPOLLIN, vud_on_ctrl_kick, dev)) {
			log_err(dev->name, "cannot watch the control queue");
			return;
		}
		dev->ctrl_watched = want;
	}
run:
	/* Kicks that came before the watch. */
	if (dev->ctrl_watched >= 0)
		vud_ctrl_run(dev);
}

static void vud_on_ctrl_event(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	(void)events;
	(void)eventfd_read(fd, &v);
	vud_ctrl_follow(opaque);
}

static void vud_on_broken(void *opaque, int fd, uint32_t events)
{
	eventfd_t v;

	(void)events;
	(void)eventfd_read(fd, &v);
	vud_lost(opaque);
}

int vhost_user_dev_watch(struct vhost_user_dev *dev, struct event_loop *loop)
{
	int fd = vhost_user_client_fd(dev->client);
	int ret;

	/* No EPOLLIN: replies are read by the thread that asked. */
	ret = event_loop_add(loop, fd, EPOLLRDHUP, vud_on_hangup, dev);
	if (ret)
		return ret;
	ret = event_loop_add(loop, dev->broken_fd, EPOLLIN, vud_on_broken,
			     dev);
	if (!ret) {
		ret = event_loop_add(loop, virtio_pci_intx_event_fd(dev->vp),
				     EPOLLIN, vud_on_intx_mode, dev);
		if (ret)
			event_loop_del(loop, dev->broken_fd);
	}
	if (!ret && dev->max_pairs) {
		ret = event_loop_add(loop, dev->ctrl_event_fd, EPOLLIN,
				     vud_on_ctrl_event, dev);
		if (ret) {
			event_loop_del(loop, virtio_pci_intx_event_fd(dev->vp));
			event_loop_del(loop, dev->broken_fd);
		}
	}
	if (ret) {
		event_loop_del(loop, fd);
		return ret;
	}
	dev->loop = loop;
	/* A control queue started before the loop ran. */
	if (dev->max_pairs)
		vud_ctrl_follow(dev);
	/* INTx mode entered before the loop ran. */
	vud_on_intx_mode(dev, -1, 0);
	/* Broken before the loop ran (at the first DRIVER_OK, say). */
	if (vhost_user_dev_broken(dev))
		vud_lost(dev);
	return 0;
}

void vhost_user_dev_unwatch(struct vhost_user_dev *dev)
{
	if (!dev->loop)
		return;
	event_loop_del(dev->loop, vhost_user_client_fd(dev->client));
	event_loop_del(dev->loop, dev->broken_fd);
	vud_intx_watch_calls(dev, false);
	event_loop_del(dev->loop, virtio_pci_intx_event_fd(dev->vp));
	if (dev->max_pairs) {
		event_loop_del(dev->loop, dev->ctrl_event_fd);
		if (dev->ctrl_watched >= 0)
			event_loop_del(dev->loop, virtio_pci_queue_kick_fd(
					       dev->vp,
					       (unsigned)dev->ctrl_watched));
		dev->ctrl_watched = -1;
	}
	dev->loop = NULL;
}

/* ---- control API (any thread) ---------------------------------------------- */

void vhost_user_dev_get_info(struct vhost_user_dev *dev,
			     struct vhost_user_dev_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = dev->name;
	out->type = vud_type_name(dev->type);
	out->socket_path = dev->path;
	out->devfn = pci_device_devfn(virtio_pci_device(dev->vp));
	out->broken = vhost_user_dev_broken(dev);
	out->queues = dev->type == VHOST_USER_DEV_NET ? dev->nvrings / 2
						      : dev->nvrings;
	out->backend_features = dev->backend_features;
	out->offered_features = dev->offered_features;
	out->driver_features = atomic_load(&dev->driver_features);
	out->driver_ok_count = atomic_load(&dev->nr_driver_ok);
	out->reset_count = atomic_load(&dev->nr_resets);
	out->restarts = 0;	/* back-end restart is not implemented yet */
}
