/* SPDX-License-Identifier: GPL-2.0-only */
#include "vhost_user_dev_internal.h"

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

/*
 * Secure erase and zoned fields are beyond VUD_BLK_CONFIG_SIZE, so their
 * features are not offered.
 */
_Static_assert(offsetof(struct virtio_blk_config, max_secure_erase_sectors) ==
	       VUD_BLK_CONFIG_SIZE, "blk config up to secure erase");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34,
	       "blk num_queues");

#define BIT(n)	VUD_BIT(n)

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

/* Protocol features we know how to use. */
#define VUD_PROTOCOL_FEATURES \
	(VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_MQ) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG))

/*
 * blk also asks for INFLIGHT_SHMFD (vud_negotiate): requests a back-end
 * had taken when it died are resubmitted by its successor.
 */
_Static_assert(VIRTIO_NET_CONFIG_SIZE_1_2 <= VUD_CONFIG_MAX, "config buffer");

/* Per message while the VM is torn down: shutdown waits on no back-end. */
#define VUD_TEARDOWN_TIMEOUT_MS	500

static const char *vud_type_name(enum vhost_user_dev_type type)
{
	return type == VHOST_USER_DEV_BLK ? "virtio-blk" : "virtio-net";
}

/* After a failed client call: a broken client loses the connection. */
int vud_check(struct vhost_user_dev *dev, int ret)
{
	const char *req = NULL;
	char why[96];
	int err;

	if (ret && vhost_user_client_broken(dev->client)) {
		err = vhost_user_client_error(dev->client, &req);
		snprintf(why, sizeof(why), "%s: %s", req ? req : "?",
			 strerror(-err));
		vud_mark_lost(dev, why);
	}
	return ret;
}

bool vhost_user_dev_broken(const struct vhost_user_dev *dev)
{
	return atomic_load(&dev->failed);
}

enum vhost_user_dev_state vhost_user_dev_state(const struct vhost_user_dev *dev)
{
	if (atomic_load(&dev->failed))
		return VHOST_USER_DEV_FAILED;
	return atomic_load(&dev->lost) ? VHOST_USER_DEV_RECONNECTING :
					 VHOST_USER_DEV_CONNECTED;
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
	int ret = 0;

	/* Only blk has a writable field (wce); net's config is read-only. */
	if (dev->type != VHOST_USER_DEV_BLK || vhost_user_dev_broken(dev) ||
	    !(dev->protocol_features &
	      VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_CONFIG)))
		return;
	pthread_mutex_lock(&dev->lock);
	memcpy(old, dev->config + offset, size);
	memcpy(dev->config + offset, &value, size);
	/*
	 * A refusal (-EREMOTEIO) leaves the old value, as the device
	 * would.  Without a back-end (or losing it now) the value stays
	 * and goes to the next one with the rest of the state.
	 */
	if (vud_online(dev))
		ret = vud_check(dev, vhost_user_client_set_config(
					dev->client, offset, size, &value));
	if (ret == -EREMOTEIO)
		memcpy(dev->config + offset, old, size);
	else
		dev->config_written = true;
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
 * The base for SET_VRING_BASE at DRIVER_OK: the driver set the ring up
 * from scratch (virtio 1.2 2.7, 2.8.1), so position 0, and for a packed
 * ring both wrap counters 1.  What GET_VRING_BASE returned at a reset is
 * never sent back; a reconnect under a running driver restores the
 * position from guest memory or the inflight region instead
 * (vud_restore_base() in vhost_user_reconnect.c).
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

/* Lock held; enabled[q]: also SET_VRING_ENABLE (with protocol features). */
static int vud_start_queue(struct vhost_user_dev *dev, unsigned q,
			   uint32_t base)
{
	const struct virtio_pci_queue_info *qi = &dev->qi[q];
	struct vhost_user_client *c = dev->client;
	int ret;

	ret = vhost_user_client_set_vring_num(c, q, qi->size);
	if (!ret)
		ret = vhost_user_client_set_vring_base(c, q, base);
	if (!ret)
		ret = vhost_user_client_set_vring_addr(c, &dev->addrs[q]);
	if (!ret)
		ret = vhost_user_client_set_vring_kick(c, q, qi->kick_fd);
	if (!ret)
		ret = vhost_user_client_set_vring_call(c, q, qi->call_fd);
	/* With protocol features rings start disabled (vhost-user.rst). */
	if (!ret && dev->protocol && dev->enabled[q])
		ret = vhost_user_client_set_vring_enable(c, q, true);
	return ret;
}

/* Lock held.  Drop the inflight region: a reset. */
static void vud_inflight_drop(struct vhost_user_dev *dev)
{
	if (dev->inflight_fd >= 0)
		close(dev->inflight_fd);
	dev->inflight_fd = -1;
	dev->inflight_size = dev->inflight_offset = 0;
}

/*
 * Lock held.  The inflight region (blk with INFLIGHT_SHMFD): asked for at
 * the first start after a reset, handed back to every later back-end.
 * A reset drops it, so requests from before a reset are never
 * resubmitted.  It is sized for the rings the driver programmed (the
 * largest, where they differ): a back-end indexes it by ring slot, and
 * ours refuse a region that does not match the ring.
 */
static int vud_inflight(struct vhost_user_dev *dev)
{
	struct vhost_user_client *c = dev->client;
	uint16_t size = 0;
	int ret;

	if (dev->type != VHOST_USER_DEV_BLK ||
	    !(dev->protocol_features &
	      VHOST_USER_PROTOCOL_F_BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)))
		return 0;
	if (dev->inflight_fd >= 0)
		return vhost_user_client_set_inflight_fd(
			c, dev->inflight_fd, dev->inflight_size,
			dev->inflight_offset, (uint16_t)dev->nvrings,
			dev->inflight_queue_size);
	for (unsigned q = 0; q < dev->data_vrings; q++)
		if (dev->started[q] && dev->qi[q].size > size)
			size = dev->qi[q].size;
	if (!size)
		size = VHOST_USER_DEV_QUEUE_SIZE;
	ret = vhost_user_client_get_inflight_fd(c, (uint16_t)dev->nvrings,
						size, &dev->inflight_fd,
						&dev->inflight_size,
						&dev->inflight_offset);
	if (ret)
		return ret;
	dev->inflight_queue_size = size;
	log_debug(dev->name, "inflight region: %llu bytes for rings of %u",
		  (unsigned long long)dev->inflight_size, size);
	/*
	 * GET only allocates: the back-end records requests in the region
	 * once SET_INFLIGHT_FD handed it back (librte_vhost attaches it to
	 * its rings there alone), as for every later back-end.  Without it
	 * the first back-end tracks nothing, and its successor would find
	 * a region that never saw the requests it must resume.
	 */
	ret = vhost_user_client_set_inflight_fd(c, dev->inflight_fd,
						dev->inflight_size,
						dev->inflight_offset,
						(uint16_t)dev->nvrings, size);
	if (ret)
		vud_inflight_drop(dev);
	return ret;
}

int vud_backend_start(struct vhost_user_dev *dev, const uint32_t *bases)
{
	uint64_t backend = dev->drv_features & ~dev->core_features;
	int ret;

	if (dev->protocol)
		backend |= BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	ret = vhost_user_client_set_features(dev->client, backend);
	if (!ret)
		ret = vud_inflight(dev);
	if (!ret)
		ret = vud_set_mem_table(dev);
	/* From here a back-end may run the rings: its position counts. */
	if (!ret)
		dev->served = true;
	for (unsigned q = 0; q < dev->data_vrings && !ret; q++)
		if (dev->started[q])
			ret = vud_start_queue(dev, q, bases ? bases[q] :
					      vud_ring_base(dev->packed));
	return ret;
}

/*
 * DESIGN DEBT: this runs on a vCPU thread with the transport's lock held
 * and blocks on the back-end for up to the client's timeout per message.
 * A hung back-end stalls that vCPU (not the VM's other vCPUs) for a
 * bounded time; moving the exchange to a device thread is future work.
 *
 * The driver's state is recorded first, whether a back-end is there or
 * not: while reconnecting, DRIVER_OK succeeds and the new back-end gets
 * the rings with the rest of the replay.
 */
static int vud_driver_ok(void *opaque, uint64_t features,
			 const struct virtio_pci_queue_info *queues,
			 unsigned nr)
{
	struct vhost_user_dev *dev = opaque;
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
		dev->qi[q] = queues[q];
		dev->started[q] = dev->enabled[q] = false;
		if (!queues[q].enabled)
			continue;
		ret = vud_translate(dev, q, &queues[q],
				    features & BIT(VIRTIO_F_RING_PACKED),
				    &dev->addrs[q]);
		if (ret)
			goto out;
	}
	/* The control queue's too; the main loop hears of it afterwards. */
	ret = vud_ctrl_start(dev, features, ctrl_q,
			     ctrl_q < 0 ? NULL : &queues[ctrl_q]);
	if (ret)
		goto out;

	dev->drv_features = features;
	dev->packed = features & BIT(VIRTIO_F_RING_PACKED);
	/* With a control queue, only the first pair runs until VQ_PAIRS_SET. */
	for (unsigned q = 0; q < dev->data_vrings; q++) {
		dev->started[q] = queues[q].enabled;
		dev->enabled[q] = queues[q].enabled && (ctrl_q < 0 || q < 2);
	}
	dev->running = true;
	/* A back-end lost now gets its one line from vud_check(). */
	if (vud_online(dev))
		ret = vud_check(dev, vud_backend_start(dev, NULL));
	if (ret && !vhost_user_client_broken(dev->client)) {
		log_warn(dev->name, "starting the queues failed: %s",
			 strerror(-ret));
		vud_ctrl_stop(dev);
		dev->running = false;
		memset(dev->started, 0, sizeof(dev->started));
		goto out;
	}
	/* Lost: the reconnect replays all of it; the driver sees nothing. */
	ret = 0;
	atomic_store(&dev->driver_features, features);
	atomic_fetch_add(&dev->nr_driver_ok, 1);
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
	if (avail >= dev->qi[q].size || used >= dev->qi[q].size)
		log_warn(dev->name, "queue %u: GET_VRING_BASE 0x%08x names a "
			 "position outside the packed ring of %u; ignored",
			 q, base, dev->qi[q].size);
	else
		log_debug(dev->name, "queue %u stopped at packed avail %u "
			  "wrap %u, used %u wrap %u", q, avail,
			  !!(base & VHOST_USER_PACKED_AVAIL_WRAP), used,
			  !!(base & VHOST_USER_PACKED_USED_WRAP));
}

/*
 * Stop every ring the back-end runs (it answers GET_VRING_BASE once it
 * stopped using them) and forget the driver's state, inflight region
 * included: whatever the back-end had not completed is dropped, as a
 * reset wants.  Without a back-end only the state goes.
 */
static void vud_reset(void *opaque)
{
	struct vhost_user_dev *dev = opaque;
	uint32_t base;

	pthread_mutex_lock(&dev->lock);
	vud_ctrl_stop(dev);
	for (unsigned q = 0; q < dev->nvrings; q++) {
		bool started = dev->started[q];

		dev->started[q] = dev->enabled[q] = false;
		if (!started)
			continue;
		if (q == 0)
			atomic_fetch_add(&dev->nr_resets, 1);
		/* A lost client is not asked; it never runs the rings again. */
		if (vud_online(dev) &&
		    !vud_check(dev, vhost_user_client_get_vring_base(
					   dev->client, q, &base)))
			vud_log_stopped(dev, q, base);
	}
	vud_forget_rings(dev);
	pthread_mutex_unlock(&dev->lock);
}

void vud_forget_rings(struct vhost_user_dev *dev)
{
	vud_ctrl_stop(dev);
	memset(dev->started, 0, sizeof(dev->started));
	memset(dev->enabled, 0, sizeof(dev->enabled));
	dev->running = dev->served = false;
	vud_inflight_drop(dev);
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
		dev->protocol_features = offered;
		if (!ret) {
			offered &= VUD_PROTOCOL_FEATURES;
			/* blk: requests in flight survive a back-end. */
			if (dev->type == VHOST_USER_DEV_BLK)
				offered |= VHOST_USER_PROTOCOL_F_BIT(
					VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) &
					dev->protocol_features;
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
	dev->protocol_features = vhost_user_client_protocol_features(c);
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
	snprintf(dev->sock_path, sizeof(dev->sock_path), "%s",
		 spec->socket_path);
	dev->type = spec->type;
	dev->mem = cfg->mem;
	dev->timeout_ms = timeout;
	dev->ctrl_q = dev->ctrl_watched = -1;
	dev->inflight_fd = dev->timer_fd = -1;
	pthread_mutex_init(&dev->lock, NULL);
	atomic_init(&dev->lost, false);
	atomic_init(&dev->failed, false);
	dev->lost_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->ctrl_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ret = dev->lost_fd < 0 || dev->ctrl_event_fd < 0 ? -errno :
	      vud_reconnect_init(dev);
	if (ret) {
		if (cfg->sock_fd >= 0)
			close(cfg->sock_fd);
		if (dev->lost_fd >= 0)
			close(dev->lost_fd);
		if (dev->ctrl_event_fd >= 0)
			close(dev->ctrl_event_fd);
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

	if (spec->ring == VHOST_USER_DEV_RING_SPLIT) {
		features &= ~BIT(VIRTIO_F_RING_PACKED);
	} else if (spec->ring == VHOST_USER_DEV_RING_PACKED &&
		   !(features & BIT(VIRTIO_F_RING_PACKED))) {
		log_err(dev->name, "ring=packed: the vhost-user back-end on %s "
			"does not offer packed rings%s", dev->path,
			spec->type == VHOST_USER_DEV_NET && spec->queues > 1 ?
			" (or the device has queues > 1, whose control queue is split only)" : "");
		ret = -EOPNOTSUPP;
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
	/*
	 * virtio_pci_destroy() may call vud_reset(), which still needs the
	 * client: a back-end that stopped answering (SIGSTOP) holds the
	 * teardown for one short timeout, then the client is broken and
	 * asked nothing more.
	 */
	if (dev->client && dev->timeout_ms > VUD_TEARDOWN_TIMEOUT_MS &&
	    vhost_user_client_set_timeout(dev->client,
					  VUD_TEARDOWN_TIMEOUT_MS)) {
		/* Only -EINVAL for a timeout <= 0. */
	}
	virtio_pci_destroy(dev->vp);
	vhost_user_client_close(dev->client);
	vud_inflight_drop(dev);
	vud_reconnect_fini(dev);
	close(dev->lost_fd);
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

int vhost_user_dev_watch(struct vhost_user_dev *dev, struct event_loop *loop)
{
	int ret;

	dev->loop = loop;
	ret = event_loop_add(loop, virtio_pci_intx_event_fd(dev->vp), EPOLLIN,
			     vud_on_intx_mode, dev);
	if (ret) {
		dev->loop = NULL;
		return ret;
	}
	ret = vud_ctrl_watch(dev);
	/* Also catches a loss from before the loop ran (a first DRIVER_OK). */
	if (!ret) {
		ret = vud_reconnect_watch(dev);
		if (ret)
			vud_ctrl_unwatch(dev);
	}
	if (ret) {
		event_loop_del(loop, virtio_pci_intx_event_fd(dev->vp));
		dev->loop = NULL;
		return ret;
	}
	/* INTx mode entered before the loop ran. */
	vud_on_intx_mode(dev, -1, 0);
	return 0;
}

void vhost_user_dev_unwatch(struct vhost_user_dev *dev)
{
	if (!dev->loop)
		return;
	vud_reconnect_unwatch(dev);
	vud_intx_watch_calls(dev, false);
	event_loop_del(dev->loop, virtio_pci_intx_event_fd(dev->vp));
	vud_ctrl_unwatch(dev);
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
	out->state = vhost_user_dev_state(dev);
	out->state_name = vhost_user_dev_state_name(out->state);
	out->broken = out->state != VHOST_USER_DEV_CONNECTED;
	out->queues = dev->type == VHOST_USER_DEV_NET ? dev->nvrings / 2
						      : dev->nvrings;
	out->backend_features = dev->backend_features;
	out->offered_features = dev->offered_features;
	out->driver_features = atomic_load(&dev->driver_features);
	out->driver_ok_count = atomic_load(&dev->nr_driver_ok);
	out->reset_count = atomic_load(&dev->nr_resets);
	out->restarts = atomic_load(&dev->nr_reconnects);
}
