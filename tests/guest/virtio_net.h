/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the guest.net=N test: what virtio_net.c (the device, the frames,
 * the looped-back traffic) shares with virtio_net_peer.c (two guests on
 * one switch exchanging frames, guest.net_peer=1).
 */
#ifndef SPLITVM_GUEST_VIRTIO_NET_H
#define SPLITVM_GUEST_VIRTIO_NET_H

#include "guest.h"
#include "virtio.h"

#define NET_RX_BUFS		32
#define NET_BUF_SIZE		2048
#define NET_HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define NET_ETH_HLEN		14
#define NET_ETHERTYPE		0x88b5
#define NET_PAYLOAD_LEN		64
#define NET_FRAME_LEN		(NET_ETH_HLEN + NET_PAYLOAD_LEN)
#define NET_MAGIC		0x4e4d5653u
#define NET_MAGIC_STALE		0x58534d56u	/* "VMSX": in flight at reset */
/* Payload offsets (see the frame layout in virtio_net.c). */
#define NET_SEQ_OFF		4
#define NET_ACK_OFF		8
#define NET_FLAGS_OFF		12
#define NET_FILL_OFF		16
#define NET_COUNT_OFF		56
#define NET_SUM_OFF		60
#define NET_MAX_FRAMES		65536
#define NET_MAX_PAIRS		8

struct net_pair {
	struct virtq rxq, txq;
	uint64_t next_seq;			/* the next frame it sends */
	uint64_t sent, tx_done, received, verified;
	unsigned int rx_posted;			/* receive buffers in use */
	uint16_t rx_slot_of[VIRTQ_SIZE_MAX];	/* by chain head */
};

/* guest.net_peer=1: the exchange with the other guest (virtio_net_peer.c). */
struct net_peer {
	uint8_t mac[6];			/* the peer's, from its first frame */
	bool heard;			/* a frame of the peer came */
	/* Our frames. */
	uint32_t next_seq;		/* data frames sent so far */
	uint32_t peer_ack;		/* ours the peer accounted for */
	uint32_t told;			/* the account we last sent it */
	bool answer_due;		/* it asked (probe, END) */
	bool stopping;			/* no more data: 'q' or N sent */
	bool end_acked;			/* it saw our END */
	uint64_t ctrl_sent, probes, ends;
	/* Its frames. */
	uint32_t expected;		/* all below: received or lost */
	uint32_t received, lost, gaps, dup, ooo;
	bool peer_end;			/* its END came: peer_total is known */
	uint32_t peer_total;
	uint64_t ctrl_received, bad, own_back, other;
	bool needs_reset, silent;
	/* TSC */
	uint64_t cycles_per_ms, last_heard, last_ack, last_probe, last_end;
	uint64_t last_print, last_console, last_status, done_at;
};

struct net_test {
	struct virtio_dev vd;
	struct net_pair pair[NET_MAX_PAIRS];
	unsigned int queues;		/* guest.net_queues */
	unsigned int npairs, max_pairs;
	struct virtq ctrlq;
	bool irq;			/* guest.net_irq=1 */
	bool peer;			/* guest.net_peer=1 */
	bool peer_bcast;		/* guest.net_peer_bcast=1 */
	uint32_t peer_len;		/* guest.net_peer_len: frame bytes */
	uint64_t wait_ms;		/* guest.net_wait_ms */
	uint64_t ctrl_irqs;		/* commands that brought an interrupt */
	uint8_t mac[6];
	uint64_t frames;		/* N */
	uint64_t expect;		/* verified frames a pass needs */
	uint64_t sent, tx_done, received, verified, swapped;
	uint64_t bad_len, bad_payload, bad_addr, dup, num_buffers_off;
	uint64_t stale_sent, stale_back;	/* guest.net_reset=1 */
	uint64_t traffic_cycles;		/* TSC, net_timed_traffic() */
	struct rate_meter rate;			/* verified frames, all pairs */
	struct net_peer ps;			/* guest.net_peer=1 */
};

extern uint8_t net_rx_bufs[NET_MAX_PAIRS][NET_RX_BUFS][NET_BUF_SIZE];
extern uint8_t net_tx_bufs[NET_MAX_PAIRS][VIRTQ_SIZE_MAX]
			  [NET_HDR_LEN + NET_PEER_LEN_MAX];
/* One bit per sequence number (mod NET_MAX_FRAMES): seen. */
extern uint8_t net_seen[NET_MAX_FRAMES / 8];
extern const uint8_t net_bcast[6];

/* A frame from us: seq, ack and flags in the payload (layout above). */
void net_build_frame(const struct net_test *t, uint8_t *f, uint32_t seq,
		     uint32_t magic, uint32_t ack, uint32_t flags);
/*
 * Magic NET_MAGIC, fill bytes and checksum of a payload; *seq and *count
 * as it says.  Warns (once per test) what does not check.
 */
bool net_payload_ok(struct net_test *t, const uint8_t *pl, uint32_t *seq,
		    uint32_t *count);
/* Receive buffer `slot` of pair k, posted (not yet kicked). */
const char *net_post_rx(struct net_test *t, unsigned int k, unsigned int slot);

/* guest.net_peer=1's traffic and its report line (virtio_net_peer.c). */
const char *net_peer_traffic(struct net_test *t);
const char *net_peer_report(const struct net_test *t);

#endif
