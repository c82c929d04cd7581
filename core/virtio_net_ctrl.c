/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-net control virtqueue on the device side (virtio 1.2 5.1.6.5).
 *
 * vhost-user gives a back-end the data queues only; the front-end owns the
 * control queue.  Commands are rare and small, so the core runs it on its
 * main loop, straight from guest RAM: a small control-path exception to
 * "the core is not on the data path".
 *
 * Split rings only: the core does not offer VIRTIO_F_RING_PACKED for a
 * device with a control queue.
 *
 * Everything in guest RAM is the guest's and may change under us: every
 * descriptor is copied before it is checked and used, every index is
 * checked against its table, every buffer against guest RAM, and chains
 * are bounded by their table's size.  Do not assume a field read from
 * the ring holds a sensible value.
 */
#include "virtio_net_ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "log.h"
#include "virtio.h"

struct virtio_net_ctrl {
	const char *name;
	const struct guest_mem *mem;
	const struct virtio_net_ctrl_ops *ops;
	void *opaque;
	uint16_t size;
	bool event_idx, indirect;
	uint16_t max_pairs;
	/* Resolved once at start; the ring stays where it is until reset. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail, used_idx;
	int error;			/* < 0: the queue is dead */
};

/* One command as gathered from its chain. */
struct vnc_cmd {
	uint8_t out[VIRTIO_NET_CTRL_CMD_MAX];
	uint64_t out_len;		/* all readable bytes, also beyond out */
	uint8_t *ack;			/* the writable descriptor */
	uint32_t ack_len;
};

static uint16_t vnc_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void vnc_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int vnc_fail(struct virtio_net_ctrl *c, int err, const char *why,
		    unsigned long long what)
{
	log_warn(c->name, "control queue: %s (0x%llx); device needs reset",
		 why, what);
	c->error = err;
	return err;
}

/* One buffer of a chain: readable ones first, then one writable, last. */
static int vnc_buffer(struct virtio_net_ctrl *c, const struct vring_desc *d,
		      struct vnc_cmd *cmd)
{
	uint8_t *p = guest_mem_ptr(c->mem, d->addr, d->len);
	uint64_t room;

	if (!p)
		return vnc_fail(c, -EFAULT, "buffer outside guest RAM",
				(unsigned long long)d->addr);
	if (d->flags & VRING_DESC_F_WRITE) {
		if (cmd->ack)
			return vnc_fail(c, -EINVAL, "more than one writable "
					"buffer", d->len);
		cmd->ack = p;
		cmd->ack_len = d->len;
		return 0;
	}
	if (cmd->ack)
		return vnc_fail(c, -EINVAL, "readable buffer after the "
				"writable one", d->len);
	if (cmd->out_len < sizeof(cmd->out)) {
		room = sizeof(cmd->out) - cmd->out_len;
		memcpy(cmd->out + cmd->out_len, p,
		       d->len < room ? d->len : room);
	}
	cmd->out_len += d->len;
	return 0;
}

/*
 * Walk the chain at head: the descriptor table, or one indirect table
 * (virtio 1.2 2.7.5.3), never both mixed and never nested.  A chain
 * visits at most as many descriptors as its table holds: more is a loop.
 */
static int vnc_chain(struct virtio_net_ctrl *c, uint16_t head,
		     struct vnc_cmd *cmd)
{
	const struct vring_desc *table = c->desc;
	uint32_t n = c->size, i = head, seen = 0;
	bool indirect = false;
	struct vring_desc d;
	int ret;

	memset(cmd, 0, sizeof(*cmd));
	if (head >= c->size)
		return vnc_fail(c, -EINVAL, "chain head out of range", head);
	for (;;) {
		if (seen++ == n)
			return vnc_fail(c, -ELOOP, "descriptor chain loops",
					head);
		/* Check and use the copy, never the guest's entry again. */
		memcpy(&d, &table[i], sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!c->indirect || indirect)
				return vnc_fail(c, -EINVAL, indirect ?
						"nested indirect table" :
						"indirect table not negotiated",
						i);
			if (d.flags & VRING_DESC_F_NEXT || seen != 1)
				return vnc_fail(c, -EINVAL, "indirect table "
						"inside a chain", i);
			if (!d.len || d.len % sizeof(struct vring_desc) ||
			    d.len / sizeof(struct vring_desc) >
			    VIRTIO_QUEUE_SIZE_MAX)
				return vnc_fail(c, -EINVAL, "bad indirect "
						"table length", d.len);
			table = guest_mem_ptr(c->mem, d.addr, d.len);
			if (!table)
				return vnc_fail(c, -EFAULT, "indirect table "
						"outside guest RAM",
						(unsigned long long)d.addr);
			n = d.len / sizeof(struct vring_desc);
			i = 0;
			seen = 0;
			indirect = true;
			continue;
		}
		ret = vnc_buffer(c, &d, cmd);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= n)
			return vnc_fail(c, -EINVAL, "next index out of range",
					i);
	}
	if (cmd->out_len < sizeof(struct virtio_net_ctrl_hdr))
		return vnc_fail(c, -EINVAL, "command shorter than its header",
				cmd->out_len);
	if (!cmd->ack || !cmd->ack_len)
		return vnc_fail(c, -EINVAL, "no writable ack byte last",
				head);
	return 0;
}

/* The answer to one well-formed command. */
static uint8_t vnc_execute(struct virtio_net_ctrl *c, const struct vnc_cmd *cmd)
{
	const struct virtio_net_ctrl_hdr *h = (const void *)cmd->out;
	uint64_t data_len = cmd->out_len - sizeof(*h);
	uint16_t pairs;

	/* Only MQ is offered; every other class is unsupported. */
	if (h->class != VIRTIO_NET_CTRL_MQ ||
	    h->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !c->max_pairs ||
	    data_len != sizeof(pairs)) {
		log_debug(c->name, "control command %u/%u (%llu bytes) "
			  "refused", h->class, h->cmd,
			  (unsigned long long)data_len);
		return VIRTIO_NET_ERR;
	}
	memcpy(&pairs, cmd->out + sizeof(*h), sizeof(pairs));
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > c->max_pairs) {
		log_debug(c->name, "VQ_PAIRS_SET %u refused (max %u)", pairs,
			  c->max_pairs);
		return VIRTIO_NET_ERR;
	}
	if (c->ops && c->ops->set_queue_pairs &&
	    c->ops->set_queue_pairs(c->opaque, pairs))
		return VIRTIO_NET_ERR;
	log_debug(c->name, "%u queue pair(s) in use", pairs);
	return VIRTIO_NET_OK;
}

/* virtio 1.2 2.7.10: did the used index just cross used_event? */
static bool vnc_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static void vnc_complete(struct virtio_net_ctrl *c, uint16_t head,
			 uint32_t len)
{
	struct vring_used_elem *e = &c->used->ring[c->used_idx % c->size];

	e->id = head;
	e->len = len;
	/* The element before the index that publishes it. */
	vnc_store16(&c->used->idx, ++c->used_idx);
}

int virtio_net_ctrl_process(struct virtio_net_ctrl *c, bool *notify)
{
	uint16_t old_used = c->used_idx, avail_idx, head;
	uint16_t *used_event = &c->avail->ring[c->size];
	uint16_t *avail_event = (uint16_t *)&c->used->ring[c->size];
	struct vnc_cmd cmd;
	int done = 0, ret;

	*notify = false;
	if (c->error)
		return c->error;
	for (;;) {
		avail_idx = vnc_load16(&c->avail->idx);
		if ((uint16_t)(avail_idx - c->last_avail) > c->size)
			return vnc_fail(c, -EINVAL, "available index moved "
					"past the ring", avail_idx);
		while (c->last_avail != avail_idx && done < c->size) {
			head = vnc_load16(&c->avail->ring[c->last_avail %
							  c->size]);
			ret = vnc_chain(c, head, &cmd);
			if (ret)
				return ret;
			*cmd.ack = vnc_execute(c, &cmd);
			vnc_complete(c, head, 1);
			c->last_avail++;
			done++;
		}
		if (!c->event_idx || done == c->size)
			break;
		/*
		 * Ask for the next kick, then look again: a command made
		 * available before the driver saw avail_event sent none.
		 */
		vnc_store16(avail_event, c->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (vnc_load16(&c->avail->idx) == c->last_avail)
			break;
	}
	if (c->used_idx == old_used)
		return done;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (c->event_idx)
		*notify = vnc_need_event(vnc_load16(used_event), c->used_idx,
					 old_used);
	else
		*notify = !(vnc_load16(&c->avail->flags) &
			    VRING_AVAIL_F_NO_INTERRUPT);
	return done;
}

static void *vnc_ring(const struct virtio_net_ctrl_config *cfg,
		      const char *what, uint64_t gpa, uint64_t len)
{
	void *p = guest_mem_ptr(cfg->mem, gpa, len);

	if (!p)
		log_warn(cfg->name, "control queue: %s [0x%llx, +0x%llx) is "
			 "not guest RAM", what, (unsigned long long)gpa,
			 (unsigned long long)len);
	return p;
}

int virtio_net_ctrl_start(const struct virtio_net_ctrl_config *cfg,
			  const struct virtio_net_ctrl_ops *ops, void *opaque,
			  struct virtio_net_ctrl **out)
{
	uint32_t n = cfg->size;
	struct virtio_net_ctrl *c;

	*out = NULL;
	/* Aligned as virtio 1.2 2.7 asks: the indexes are accessed atomically. */
	if (!cfg->mem || !n || n > VIRTIO_QUEUE_SIZE_MAX || (n & (n - 1)) ||
	    cfg->desc % 16 || cfg->driver % 2 || cfg->device % 4)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = cfg->name ? cfg->name : "net";
	c->mem = cfg->mem;
	c->ops = ops;
	c->opaque = opaque;
	c->size = (uint16_t)n;
	c->event_idx = cfg->event_idx;
	c->indirect = cfg->indirect;
	c->max_pairs = cfg->max_pairs;
	c->desc = vnc_ring(cfg, "descriptor table", cfg->desc,
			   virtio_split_desc_size(n));
	/* The first bad part is logged, the others not looked at. */
	if (c->desc)
		c->avail = vnc_ring(cfg, "available ring", cfg->driver,
				    virtio_split_avail_size(n));
	if (c->avail)
		c->used = vnc_ring(cfg, "used ring", cfg->device,
				   virtio_split_used_size(n));
	if (!c->desc || !c->avail || !c->used) {
		free(c);
		return -EFAULT;
	}
	*out = c;
	return 0;
}

void virtio_net_ctrl_stop(struct virtio_net_ctrl *c)
{
	free(c);
}
