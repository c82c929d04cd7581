/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-blk and librte_vhost's inflight region: the queue hooks that
 * record requests in it, resubmission after a restart, the packed
 * region's repair before librte_vhost reads it, and the checks of the
 * messages that hand it over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blk_vhost_int.h"

#include "vhost_user_inflight.h"
#include "log.h"

/* The packed region as librte_vhost lays it out is the spec's. */
_Static_assert(sizeof(struct rte_vhost_inflight_desc_packed) ==
	       sizeof(struct vhost_user_inflight_packed_desc), "desc");
_Static_assert(offsetof(struct rte_vhost_inflight_desc_packed, addr) ==
	       offsetof(struct vhost_user_inflight_packed_desc, addr), "addr");
_Static_assert(offsetof(struct rte_vhost_inflight_info_packed, desc) ==
	       offsetof(struct vhost_user_inflight_packed, desc), "header");
_Static_assert(offsetof(struct rte_vhost_inflight_info_packed, desc_num) ==
	       offsetof(struct rte_vhost_inflight_info_split, desc_num),
	       "desc_num read through either layout");
_Static_assert(offsetof(struct rte_vhost_inflight_info_packed,
			old_used_wrap_counter) ==
	       offsetof(struct vhost_user_inflight_packed,
			old_used_wrap_counter), "wrap counters");

static int blk_vq_inflight_set(void *opaque, const struct blk_chain *c,
			       uint16_t *entry)
{
	struct blk_vq *v = opaque;

	*entry = c->head;
	if (v->inflight &&
	    rte_vhost_set_inflight_desc_split(v->dev->vid, v->idx, c->head))
		return -EIO;
	return 0;
}

static void blk_vq_inflight_last(void *opaque, uint16_t head)
{
	struct blk_vq *v = opaque;

	if (v->inflight)
		rte_vhost_set_last_inflight_io_split(v->dev->vid, v->idx, head);
}

static void blk_vq_inflight_clear(void *opaque, uint16_t head,
				  uint16_t used_idx)
{
	struct blk_vq *v = opaque;

	if (v->inflight)
		rte_vhost_clr_inflight_desc_split(v->dev->vid, v->idx, used_idx,
						  head);
}

/*
 * Packed: the region keeps a copy of the chain's ring descriptors (the
 * slots may be overwritten by used descriptors before it completes).
 * librte_vhost takes one region entry per descriptor from a free list
 * it follows without bounds: never more than the ring holds.
 */
static int blk_vq_inflight_set_packed(void *opaque, const struct blk_chain *c,
				      uint16_t *entry)
{
	struct blk_vq *v = opaque;
	uint16_t last = (uint16_t)((c->head + c->ring_descs - 1) &
				   (v->size - 1));

	if (!v->inflight)
		return 0;
	if (c->ring_descs == 0 || v->infl_descs + c->ring_descs > v->size)
		return -ENOSPC;
	if (rte_vhost_set_inflight_desc_packed(v->dev->vid, v->idx, c->head,
					       last, entry) || *entry >= v->size)
		return -EIO;
	v->infl_descs += c->ring_descs;
	return 0;
}

static void blk_vq_inflight_last_packed(void *opaque, uint16_t entry)
{
	struct blk_vq *v = opaque;

	if (v->inflight)
		rte_vhost_set_last_inflight_io_packed(v->dev->vid, v->idx,
						      entry);
}

static void blk_vq_inflight_clear_packed(void *opaque, uint16_t entry,
					 uint16_t used_idx)
{
	struct blk_vq *v = opaque;
	uint16_t num;

	(void)used_idx;
	if (!v->inflight)
		return;
	num = __atomic_load_n(&v->region->desc[entry].num, __ATOMIC_RELAXED);
	v->infl_descs -= num < v->infl_descs ? num : v->infl_descs;
	rte_vhost_clr_inflight_desc_packed(v->dev->vid, v->idx, entry);
}

/* With an inflight region: every head is tracked in it. */
const struct blk_queue_ops blk_vq_inflight_ops = {
	.notify = blk_vq_notify,
	.inflight_set = blk_vq_inflight_set,
	.inflight_last = blk_vq_inflight_last,
	.inflight_clear = blk_vq_inflight_clear,
};

const struct blk_queue_ops blk_vq_inflight_packed_ops = {
	.notify = blk_vq_notify,
	.inflight_set = blk_vq_inflight_set_packed,
	.inflight_last = blk_vq_inflight_last_packed,
	.inflight_clear = blk_vq_inflight_clear_packed,
};

static int blk_resubmit_cmp(const void *a, const void *b)
{
	const struct rte_vhost_resubmit_desc *x = a, *y = b;

	return x->counter < y->counter ? -1 : x->counter > y->counter;
}

/* The in-flight heads librte_vhost found in the region, oldest first. */
static unsigned blk_vq_resubmit_list(struct rte_vhost_ring_inflight *ri,
				     uint16_t *entries, unsigned max)
{
	struct rte_vhost_resubmit_info *info = ri->resubmit_inflight;
	unsigned n;

	if (!info || !info->resubmit_num || !info->resubmit_list)
		return 0;
	n = info->resubmit_num < max ? info->resubmit_num : max;
	qsort(info->resubmit_list, info->resubmit_num,
	      sizeof(*info->resubmit_list), blk_resubmit_cmp);
	for (unsigned i = 0; i < n; i++)
		entries[i] = info->resubmit_list[i].index;
	return info->resubmit_num;
}

/* Split: resubmit the heads in flight, which are still in the ring. */
int blk_vq_resubmit(struct blk_vq *v, struct rte_vhost_ring_inflight *ri)
{
	uint16_t heads[BLK_QUEUE_MAX_SLOTS];
	unsigned n = blk_vq_resubmit_list(ri, heads, BLK_QUEUE_MAX_SLOTS);

	if (!n)
		return 0;
	if (n > BLK_QUEUE_MAX_SLOTS)
		return -E2BIG;
	log_info(TAG, "queue %u: resubmitting %u request(s) left in flight",
		 v->idx, n);
	/* librte_vhost keeps the list until the next SET_INFLIGHT_FD. */
	ri->resubmit_inflight->resubmit_num = 0;
	return blk_queue_resubmit(v->q, heads, n);
}

/*
 * Packed: where the ring resumes.  A region seen fresh at SET_VRING_KICK
 * starts where SET_VRING_BASE said; otherwise the region is the truth (a
 * front-end cannot know a packed ring's position after its back-end
 * died): used at the last committed completion, avail past the chains
 * still in flight (entries[*n], oldest first).
 */
int blk_vq_resume_packed(struct blk_dev *d, struct blk_vq *v,
			 struct rte_vhost_ring_inflight *ri,
			 uint16_t *last_avail, uint16_t *last_used,
			 uint16_t *entries, unsigned *n)
{
	int ret;

	*n = 0;
	v->region = (struct vhost_user_inflight_packed *)ri->inflight_packed;
	if (d->seen[v->idx].fresh || !v->region->version) {
		vhost_user_inflight_packed_start(v->region, v->size, *last_used);
		*last_avail = *last_used;
		d->seen[v->idx].fresh = false;	/* in use from now on */
		return 0;
	}
	*n = blk_vq_resubmit_list(ri, entries, BLK_QUEUE_MAX_SLOTS);
	if (*n > BLK_QUEUE_MAX_SLOTS)
		return -E2BIG;
	ret = vhost_user_inflight_packed_resume(v->region, v->size, entries, *n,
					 last_avail, last_used);
	if (ret) {
		log_err(TAG, "queue %u: the inflight region is inconsistent",
			v->idx);
		return ret;
	}
	v->infl_descs = (uint16_t)((*last_avail & 0x7fff) + v->size -
				   (*last_used & 0x7fff));
	if ((*last_avail ^ *last_used) >> 15 == 0)
		v->infl_descs -= v->size;
	return 0;
}

/* Packed: resubmit the chains in flight from the region's copies. */
int blk_vq_resubmit_packed(struct blk_vq *v,
			   struct rte_vhost_ring_inflight *ri,
			   const uint16_t *entries, unsigned n)
{
	struct vring_packed_desc *copy;
	int ret = 0;

	if (!n)
		return 0;
	copy = malloc(sizeof(*copy) * v->size);
	if (!copy)
		return -ENOMEM;
	log_info(TAG, "queue %u: resubmitting %u request(s) left in flight",
		 v->idx, n);
	for (unsigned i = 0; i < n && ret >= 0; i++) {
		ret = vhost_user_inflight_packed_chain(v->region, v->size, entries[i],
						copy, v->size);
		if (ret > 0)
			ret = blk_queue_resubmit_copy(v->q, entries[i], copy,
						      (unsigned)ret);
	}
	free(copy);
	/* librte_vhost keeps the list until the next SET_INFLIGHT_FD. */
	ri->resubmit_inflight->resubmit_num = 0;
	return ret < 0 ? ret : 0;
}
/*
 * SET_VRING_KICK of a packed queue with an inflight region, before
 * librte_vhost reads the region: note whether it is new, and finish or
 * undo what a crashed predecessor left half done, which needs the ring
 * (its address from SET_VRING_ADDR; librte_vhost has not translated it
 * yet).
 */
static void blk_vq_repair_packed(struct blk_dev *d, unsigned idx)
{
	static const char *const what[] = {
		[VHOST_USER_INFLIGHT_UNTAKEN] = "a request half recorded: taken again "
					 "from the ring",
		[VHOST_USER_INFLIGHT_ROLLBACK] = "a completion not in the ring: "
					  "resubmitted",
		[VHOST_USER_INFLIGHT_COMMIT] = "a completion in the ring: committed",
	};
	struct blk_vq_seen *seen = &d->seen[idx];
	struct rte_vhost_ring_inflight ri = { 0 };
	struct rte_vhost_memory *mem = NULL;
	const struct vring_packed_desc *ring;
	struct vhost_user_inflight_packed *r;
	struct rte_vhost_vring vring;
	uint64_t features = 0, pf = 0;
	struct blk_mem um = { 0 };
	int ret;

	if (rte_vhost_get_negotiated_features(d->vid, &features) ||
	    !(features & BIT(VIRTIO_F_RING_PACKED)) ||
	    rte_vhost_get_negotiated_protocol_features(d->vid, &pf) ||
	    !(pf & BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) ||
	    rte_vhost_get_vhost_ring_inflight(d->vid, idx, &ri) ||
	    !ri.inflight_packed)
		return;
	r = (struct vhost_user_inflight_packed *)ri.inflight_packed;
	if (!seen->kicked) {
		seen->kicked = true;
		seen->fresh = r->version == 0;
	}
	/* New, or librte_vhost already read it (it does so once). */
	if (r->version == 0 || ri.resubmit_inflight)
		return;
	if (rte_vhost_get_vhost_vring(d->vid, idx, &vring) ||
	    rte_vhost_get_mem_table(d->vid, &mem))
		return;
	/* Translate the front-end's address of the descriptor ring. */
	for (unsigned i = 0; i < mem->nregions; i++)
		if (blk_mem_add(&um, mem->regions[i].guest_user_addr,
				mem->regions[i].size,
				(void *)(uintptr_t)mem->regions[i].host_user_addr))
			break;
	free(mem);
	ring = vring.desc_packed ? vring.desc_packed :
	       blk_mem_ptr(&um, seen->desc_uaddr,
			   (uint64_t)vring.size * sizeof(*ring));
	if (!ring) {
		log_err(TAG, "queue %u: descriptor ring not in guest memory: "
			"inflight region not checked", idx);
		return;
	}
	ret = vhost_user_inflight_packed_repair(r, (uint16_t)vring.size, ring);
	if (ret < 0)
		log_err(TAG, "queue %u: the inflight region is inconsistent",
			idx);
	else if (ret != VHOST_USER_INFLIGHT_CLEAN)
		log_info(TAG, "queue %u: inflight region: %s", idx, what[ret]);
}

static bool blk_vq_has_region(struct blk_dev *d, unsigned idx)
{
	struct rte_vhost_ring_inflight ri = { 0 };

	return !rte_vhost_get_vhost_ring_inflight(d->vid, (uint16_t)idx, &ri) &&
	       ri.inflight_split;
}

/*
 * Returns false for a message librte_vhost must not see: SET_VRING_KICK
 * on a queue with an inflight region whose ring addresses it forgot
 * (GET_VRING_BASE clears them) makes its inflight check read a NULL
 * used ring.
 */
bool blk_seen_message(struct blk_dev *d, struct blk_dpdk_msg *m)
{
	struct vhost_user_vring_addr a;
	struct vhost_user_vring_state vs;
	uint64_t u64;
	unsigned i;

	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_ADDR:
		memcpy(&a, m->raw, sizeof(a));
		if (m->hdr.size == sizeof(a) && a.index < BLK_OPTIONS_MAX_QUEUES) {
			d->seen[a.index].desc_uaddr = a.desc_user_addr;
			d->seen[a.index].addr_set = true;
		}
		break;
	case VHOST_USER_GET_VRING_BASE:
		memcpy(&vs, m->raw, sizeof(vs));
		if (m->hdr.size == sizeof(vs) && vs.index < BLK_OPTIONS_MAX_QUEUES)
			d->seen[vs.index].addr_set = false;
		break;
	case VHOST_USER_SET_VRING_KICK:
		memcpy(&u64, m->raw, sizeof(u64));
		i = u64 & VHOST_USER_VRING_INDEX_MASK;
		if (m->hdr.size != sizeof(u64) || i >= BLK_OPTIONS_MAX_QUEUES)
			break;
		if (!d->seen[i].addr_set && blk_vq_has_region(d, i)) {
			log_err(TAG, "SET_VRING_KICK for queue %u before its "
				"ring addresses: refused", i);
			return false;
		}
		blk_vq_repair_packed(d, i);
		break;
	default:
		break;
	}
	return true;
}

/* librte_vhost 22.11's per-queue region sizes (get_pervq_shm_size_*). */
static uint64_t blk_inflight_queue_bytes(bool packed, uint16_t queue_size)
{
	uint64_t n = packed ? 32ull * queue_size + 29 :
			      16ull * queue_size + 16;

	return (n + 63) & ~63ull;
}

/*
 * GET_INFLIGHT_FD / SET_INFLIGHT_FD.  librte_vhost maps SET_INFLIGHT_FD's
 * range and carves a region per
 * queue out of it without checking that the range holds them, that the
 * fd is that large, or that the queue count is one it has: refuse such
 * a message instead of touching memory past the mapping later.
 */
enum rte_vhost_msg_result blk_check_inflight(struct blk_dev *d,
					     struct blk_dpdk_msg *m)
{
	struct vhost_user_inflight in;
	uint64_t features = 0, need;
	struct stat st;

	memcpy(&in, m->raw, sizeof(in));
	if (m->hdr.request == VHOST_USER_GET_INFLIGHT_FD) {
		/* librte_vhost allocates what it asks for: keep it sane. */
		if (m->hdr.size == sizeof(in) && in.num_queues &&
		    in.num_queues <= d->b->cfg.num_queues && in.queue_size &&
		    in.queue_size <= VIRTIO_QUEUE_SIZE_MAX &&
		    !(in.queue_size & (in.queue_size - 1)))
			return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
		log_err(TAG, "GET_INFLIGHT_FD: %u queue(s) of %u: refused",
			in.num_queues, in.queue_size);
		return RTE_VHOST_MSG_RESULT_ERR;
	}
	if (m->hdr.size != sizeof(in) || m->fd_num != 1 ||
	    fstat(m->fds[0], &st) < 0 || !S_ISREG(st.st_mode) ||
	    in.num_queues == 0 || in.num_queues > d->b->cfg.num_queues ||
	    in.queue_size == 0 || in.queue_size > VIRTIO_QUEUE_SIZE_MAX ||
	    (in.queue_size & (in.queue_size - 1)) ||
	    rte_vhost_get_negotiated_features(d->vid, &features))
		goto refuse;
	need = in.num_queues * blk_inflight_queue_bytes(
		features & BIT(VIRTIO_F_RING_PACKED), in.queue_size);
	if (in.mmap_size < need ||
	    in.mmap_offset + in.mmap_size < in.mmap_offset ||
	    in.mmap_offset + in.mmap_size > (uint64_t)st.st_size)
		goto refuse;
	d->infl_queue_size = in.queue_size;
	for (unsigned i = 0; i < BLK_OPTIONS_MAX_QUEUES; i++)
		d->seen[i].kicked = false;
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
refuse:
	log_err(TAG, "SET_INFLIGHT_FD: %u queue(s) of %u, 0x%llx bytes at "
		"0x%llx, %d fd(s): refused", in.num_queues, in.queue_size,
		(unsigned long long)in.mmap_size,
		(unsigned long long)in.mmap_offset, m->fd_num);
	blk_close_fds(m);
	return RTE_VHOST_MSG_RESULT_ERR;
}
