/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a vhost-user net device has beyond the common glue: the config
 * space the core builds, and with more than one queue pair the control
 * queue, which the core runs itself (virtio_net_ctrl.c) while the
 * back-end runs the data queues.
 */
#include "vhost_user_dev_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "event.h"
#include "log.h"
#include "vhost_user_client.h"
#include "virtio.h"
#include "virtio_net_ctrl.h"

#define BIT(n)	VUD_BIT(n)

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

	if (2 * pairs > dev->data_vrings)
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
		/* Without a back-end the next one gets it with the rest. */
		if (vud_online(dev))
			ret = vhost_user_client_set_vring_enable(dev->client,
								 q, want);
		if (!ret || vhost_user_client_broken(dev->client))
			dev->enabled[q] = want;
	}
	if (ret && !vhost_user_client_broken(dev->client))
		log_warn(dev->name, "VQ_PAIRS_SET %u: %s", pairs,
			 strerror(-ret));
	/* A lost back-end is not the driver's failure: it gets its pairs. */
	ret = vud_check(dev, ret);
	return vhost_user_client_broken(dev->client) ? 0 : ret;
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
int vud_net_layout(struct vhost_user_dev *dev, uint64_t features,
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
int vud_ctrl_start(struct vhost_user_dev *dev, uint64_t features,
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
void vud_ctrl_stop(struct vhost_user_dev *dev)
{
	if (!dev->ctrl)
		return;
	virtio_net_ctrl_stop(dev->ctrl);
	dev->ctrl = NULL;
	dev->ctrl_q = -1;
	vud_ctrl_changed(dev);
}

/*
 * The core builds net's config space (mac, status, queue pairs).  More
 * than one pair needs MQ, hence the control queue, which the core runs
 * itself: the back-end only has to run that many pairs (PROTOCOL_F_MQ
 * and GET_QUEUE_NUM, which counts queue pairs for net as QEMU and DPDK
 * read it).
 */
int vud_setup_net(struct vhost_user_dev *dev,
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

int vud_ctrl_watch(struct vhost_user_dev *dev)
{
	int ret;

	if (!dev->max_pairs)
		return 0;
	ret = event_loop_add(dev->loop, dev->ctrl_event_fd, EPOLLIN,
			     vud_on_ctrl_event, dev);
	if (!ret)
		/* A control queue started before the loop ran. */
		vud_ctrl_follow(dev);
	return ret;
}

void vud_ctrl_unwatch(struct vhost_user_dev *dev)
{
	if (!dev->max_pairs)
		return;
	event_loop_del(dev->loop, dev->ctrl_event_fd);
	if (dev->ctrl_watched >= 0)
		event_loop_del(dev->loop, virtio_pci_queue_kick_fd(
				       dev->vp, (unsigned)dev->ctrl_watched));
	dev->ctrl_watched = -1;
}
