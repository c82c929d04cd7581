/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One copy per frame between two split rings: a frame goes from the
 * source frontend's transmit buffers straight into the destination's
 * receive buffers, with no mbuf between them (librte_vhost 22.11 copies
 * twice). Pure ring logic on rings and guest memory the caller holds
 * still (net_fwd_direct.c: guard locks, librte_vhost's indexes); no EAL.
 */
#ifndef SPLITVM_NET_DIRECT_H
#define SPLITVM_NET_DIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_vhost.h>

#include "net_guard.h"

/* Buffers of one frame on the receive side, at most (librte_vhost's
 * limit), and on the transmit side (a burst of frames is walked before
 * any is copied; a longer chain takes the mbuf path). */
#define NET_DIRECT_SEGS 256
#define NET_DIRECT_TX_SEGS 16
/* The frames the direct path takes: what the mbuf path forwards without
 * offload work (NET_FRAME_MAX), no runt. */
#define NET_DIRECT_FRAME_MIN 14
#define NET_DIRECT_FRAME_MAX 1518

/*
 * One split ring as the direct path works on it: librte_vhost's indexes
 * copied in (last_avail, last_used), moved here, handed back by the
 * caller (rte_vhost_set_vring_base) together with used->idx
 * (net_direct_publish).
 */
struct net_direct_ring {
	struct rte_vhost_vring vr;	/* desc, avail, used, size */
	const struct rte_vhost_memory *mem;
	uint32_t hdr_len;		/* 10 or 12 */
	bool mergeable;			/* VIRTIO_NET_F_MRG_RXBUF */
	uint16_t avail_idx;		/* avail->idx as last read */
	uint16_t last_avail;
	uint16_t last_used;
	/*
	 * Used elements not yet in the ring (the last nshadow before
	 * last_used): written out together, so the frontend polling its
	 * used ring on another CPU does not pull the line away per frame.
	 */
	unsigned nshadow;
	struct vring_used_elem shadow[64];
};

/* A transmit chain looked at, not taken yet. */
struct net_direct_frame {
	uint16_t head;
	uint32_t len;			/* frame bytes after the header */
	uint8_t eth[12];		/* destination and source MAC */
	unsigned nsegs;
	struct net_guard_seg segs[NET_DIRECT_TX_SEGS];
};

/* Room for the receive side of one frame. */
struct net_direct_rxbufs {
	unsigned nbufs;
	uint16_t head[NET_DIRECT_SEGS];
	uint32_t total[NET_DIRECT_SEGS];
	struct net_guard_seg segs[NET_DIRECT_SEGS];
};

enum net_direct_status {
	NET_DIRECT_OK,
	NET_DIRECT_EMPTY,	/* no chain available (as of avail_idx) */
	NET_DIRECT_FULL,	/* too few receive buffers for the frame */
	/*
	 * For the mbuf path: a malformed or too long chain (the guard's
	 * business), a header asking for an offload, a frame too short or
	 * too long, a receive chain too small without MRG_RXBUF. Nothing
	 * was consumed.
	 */
	NET_DIRECT_FALLBACK,
};

/*
 * avail->idx read (acquire: before the entries) into r->avail_idx; false,
 * and nothing available, when it is more than a ring ahead of
 * r->last_avail.
 */
bool net_direct_avail(struct net_direct_ring *r);

/*
 * Ask the CPU for the first line of the buffers of up to n chains from
 * r->last_avail (for writing: receive buffers) before they are walked
 * and copied; reads ring entries and descriptors only.
 */
void net_direct_prefetch(const struct net_direct_ring *r, unsigned n,
			 bool write);

/*
 * The chain at r->last_avail + i, checked as the guard checks, its
 * length within bounds; nothing of the frame itself read yet (so that a
 * burst of chains can be walked and their data asked for at once).
 */
enum net_direct_status net_direct_tx_walk(const struct net_direct_ring *r,
					  uint16_t i,
					  struct net_direct_frame *fr);

/* The walked frame's header (it must ask for nothing) and addresses. */
enum net_direct_status net_direct_tx_header(const struct net_direct_ring *r,
					    struct net_direct_frame *fr);

/* Both, for the chain at r->last_avail: not taken. */
enum net_direct_status net_direct_tx_peek(const struct net_direct_ring *r,
					  struct net_direct_frame *fr);

/*
 * fr into the receive buffers at dst->last_avail: header (all zero but
 * num_buffers) and frame copied, used elements written with the bytes
 * each buffer got, dst's indexes moved. NET_DIRECT_FULL or
 * NET_DIRECT_FALLBACK: dst unchanged (buffers may have been written,
 * none was handed back).
 */
enum net_direct_status net_direct_rx_put(struct net_direct_ring *dst,
					 const struct net_direct_ring *src,
					 const struct net_direct_frame *fr,
					 struct net_direct_rxbufs *b);

/* The source chain handed back as used (length 0), src's indexes moved. */
void net_direct_tx_take(struct net_direct_ring *src,
			const struct net_direct_frame *fr);

/* The used elements written out, then used->idx = r->last_used (release). */
void net_direct_publish(struct net_direct_ring *r);

#endif
