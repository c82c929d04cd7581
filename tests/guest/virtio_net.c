/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-net test (guest.net=N): the first modern virtio-net function
 * on bus 0 (1af4:1041), one queue pair, polled at CPL3.  Features asked
 * for: VERSION_1, MAC and STATUS (whatever of them is offered); no
 * mergeable buffers, so every received frame fits one buffer and every
 * header is the 12-byte struct virtio_net_hdr_mrg_rxbuf (5.1.6).
 *
 * receiveq (0) gets NET_RX_BUFS device-writable buffers of NET_BUF_SIZE
 * bytes, each one descriptor holding header and frame; each is checked
 * and posted again as soon as it comes back.  transmitq (1) carries N
 * frames, header zeroed, one descriptor each.  Frames sent and not yet
 * back never outnumber the receive buffers: a forwarding back-end such
 * as testpmd drops what finds no buffer and does not retry.  The run
 * ends when N frames came back or at the time-out.
 *
 * Frame (NET_FRAME_LEN bytes, no FCS):
 *   dst ff:ff:ff:ff:ff:ff, src <own MAC>, ethertype 0x88b5 (local
 *   experimental), then NET_PAYLOAD_LEN bytes:
 *     0  u32 LE  magic 0x4e4d5653 ("SVMN")
 *     4  u32 LE  sequence number, 0..N-1
 *     8  48 bytes, byte i = (seq * 31 + i * 7) mod 256
 *    56  u32 LE  N
 *    60  u32 LE  FNV-1a 32 of bytes 0..59
 * A frame comes back verified if its payload checks, its sequence is
 * below N and not seen before, and its addresses are the ones sent,
 * either way round (testpmd's macswap forwarding swaps them, io does
 * not).  Other frames count as received, not verified.
 *
 * Report lines:
 *   guest: net 00:<dd>.<f> features=0x<offered> negotiated=0x<accepted> rx_queue_size=<n> tx_queue_size=<n> ring=split|packed
 *   guest: net 00:<dd>.<f> mac=<xx:xx:xx:xx:xx:xx> sent=<n> received=<n>
 *          verified=<n> swapped=<n> rx_kicks=<n> tx_kicks=<n>
 *          tx_suppressed=<n> num_buffers_not_1=<n>           (one line)
 *   guest: net 00:<dd>.<f> FAIL reason="<text>"    or   guest: net none
 * mac= is the device's (config space) with VIRTIO_NET_F_MAC, else
 * 02:00:00:00:00:01 (locally administered); swapped= counts verified
 * frames whose addresses came back swapped; num_buffers_not_1= counts
 * received headers whose num_buffers is not 1, which the device must set
 * without MRG_RXBUF (5.1.6.4; DPDK 22.11's vhost leaves it 0): a warning,
 * not a failure.  The test fails when fewer
 * than `expect` frames (default N) were received and verified.
 *
 * guest.net_reset=1 (see net_restart()): after that pass, a reset with
 * frames in flight, the device started again (a second features line)
 * and a second pass, which must verify `expect` frames too:
 *   guest: net 00:<dd>.<f> pass2 mac=... (as above, for pass 2)
 *   guest: net 00:<dd>.<f> restart=ok stale_sent=<n> stale_back=<n>
 * stale_back= counts burst frames that came back after the reset.
 */
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
#define NET_FILL_OFF		8
#define NET_COUNT_OFF		56
#define NET_SUM_OFF		60
#define NET_MAX_FRAMES		65536
#define NET_TIMEOUT_MS		20000
/* Polls of used->idx between looks at device_status (an MMIO exit). */
#define NET_STATUS_POLL_EVERY	(1u << 16)

#define NET_RXQ			0
#define NET_TXQ			1

_Static_assert(NET_HDR_LEN == 12, "virtio-net header with VERSION_1");
_Static_assert(NET_HDR_LEN + NET_FRAME_LEN <= NET_BUF_SIZE, "frame fits");
_Static_assert(NET_RX_BUFS <= VIRTQ_SIZE_MAX, "rx buffers fit the ring");

struct net_test {
	struct virtio_dev vd;
	struct virtq rxq, txq;
	uint8_t mac[6];
	uint64_t frames;		/* N */
	uint64_t expect;		/* verified frames a pass needs */
	uint64_t sent, tx_done, received, verified, swapped;
	uint64_t bad_len, bad_payload, bad_addr, dup, num_buffers_off;
	uint64_t stale_sent, stale_back;	/* guest.net_reset=1 */
	unsigned int rx_posted;			/* receive buffers in use */
	uint16_t rx_slot_of[VIRTQ_SIZE_MAX];	/* by chain head */
};

static struct net_test net;
static uint8_t net_rx_bufs[NET_RX_BUFS][NET_BUF_SIZE]
	__attribute__((aligned(4096)));
static uint8_t net_tx_bufs[VIRTQ_SIZE_MAX][NET_HDR_LEN + NET_FRAME_LEN]
	__attribute__((aligned(64)));
static uint8_t net_seen[NET_MAX_FRAMES / 8];

static const uint8_t net_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t net_default_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t net_fnv1a32(const uint8_t *p, size_t len)
{
	uint32_t h = 0x811c9dc5u;

	while (len--) {
		h ^= *p++;
		h *= 0x01000193u;
	}
	return h;
}

static void net_build_frame(const struct net_test *t, uint8_t *f,
			    uint32_t seq, uint32_t magic)
{
	uint8_t *pl = f + NET_ETH_HLEN;

	memcpy(f, net_bcast, 6);
	memcpy(f + 6, t->mac, 6);
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xff;
	put32(pl, magic);
	put32(pl + 4, seq);
	for (unsigned int i = 0; i < NET_COUNT_OFF - NET_FILL_OFF; i++)
		pl[NET_FILL_OFF + i] = (uint8_t)(seq * 31 + i * 7);
	put32(pl + NET_COUNT_OFF, (uint32_t)t->frames);
	put32(pl + NET_SUM_OFF, net_fnv1a32(pl, NET_SUM_OFF));
}

/* A received frame (header included, `len` bytes used by the device). */
static void net_check_frame(struct net_test *t, const uint8_t *buf,
			    uint32_t len)
{
	const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)buf;
	const uint8_t *f = buf + NET_HDR_LEN, *pl = f + NET_ETH_HLEN;
	uint32_t seq;
	bool straight, swapped;

	/* A frame sent before the reset that made it through after it. */
	if (len >= NET_HDR_LEN + NET_FRAME_LEN && len <= NET_BUF_SIZE &&
	    get32(pl) == NET_MAGIC_STALE) {
		t->stale_back++;
		return;
	}
	t->received++;
	if (len < NET_HDR_LEN + NET_FRAME_LEN || len > NET_BUF_SIZE) {
		if (!t->bad_len++)
			guest_printf("guest: warning: net frame used len=%u, expected >= %zu\n",
				     len, NET_HDR_LEN + NET_FRAME_LEN);
		return;
	}
	if (h->num_buffers != 1 && !t->num_buffers_off++)
		guest_printf("guest: warning: net rx header num_buffers=%u, the device must set 1 without MRG_RXBUF\n",
			     h->num_buffers);
	seq = get32(pl + 4);
	if (f[12] != NET_ETHERTYPE >> 8 || f[13] != (NET_ETHERTYPE & 0xff) ||
	    get32(pl) != NET_MAGIC ||
	    get32(pl + NET_COUNT_OFF) != (uint32_t)t->frames ||
	    get32(pl + NET_SUM_OFF) != net_fnv1a32(pl, NET_SUM_OFF) ||
	    seq >= t->frames) {
		if (!t->bad_payload++)
			guest_printf("guest: warning: net frame payload does not check (ethertype 0x%02x%02x seq=%u)\n",
				     f[12], f[13], seq);
		return;
	}
	for (unsigned int i = 0; i < NET_COUNT_OFF - NET_FILL_OFF; i++) {
		if (pl[NET_FILL_OFF + i] != (uint8_t)(seq * 31 + i * 7)) {
			if (!t->bad_payload++)
				guest_printf("guest: warning: net frame seq=%u fill byte %u wrong\n",
					     seq, i);
			return;
		}
	}
	straight = !memcmp(f, net_bcast, 6) && !memcmp(f + 6, t->mac, 6);
	swapped = !memcmp(f, t->mac, 6) && !memcmp(f + 6, net_bcast, 6);
	if (!straight && !swapped) {
		if (!t->bad_addr++)
			guest_printf("guest: warning: net frame seq=%u addresses are neither those sent nor swapped\n",
				     seq);
		return;
	}
	if (net_seen[seq / 8] & (1u << (seq % 8))) {
		if (!t->dup++)
			guest_printf("guest: warning: net frame seq=%u received twice\n",
				     seq);
		return;
	}
	net_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	t->verified++;
	if (swapped && !straight)
		t->swapped++;
}

static const char *net_post_rx(struct net_test *t, unsigned int slot)
{
	struct virtq_buf b = { net_rx_bufs[slot], NET_BUF_SIZE, true };
	int head = virtq_add(&t->rxq, &b, 1);

	if (head < 0)
		return "receive queue full";
	t->rx_slot_of[head] = (uint16_t)slot;
	return NULL;
}

static bool net_used_ready(const struct virtq *vq)
{
	return virtq_used_ready(vq);
}

static const char *net_send(struct net_test *t)
{
	/*
	 * One descriptor per frame: a head is free exactly when its buffer
	 * is.  Frames out never outnumber the receive buffers.
	 */
	while (t->sent < t->frames && t->txq.num_free &&
	       t->sent - t->received < t->rx_posted) {
		uint16_t head = t->txq.free_head;
		uint8_t *buf = net_tx_bufs[head];
		struct virtq_buf b = { buf, NET_HDR_LEN + NET_FRAME_LEN, false };

		memset(buf, 0, NET_HDR_LEN);
		net_build_frame(t, buf + NET_HDR_LEN, (uint32_t)t->sent,
				NET_MAGIC);
		if (virtq_add(&t->txq, &b, 1) != head)
			return "transmit queue bookkeeping";
		t->sent++;
	}
	virtq_kick(&t->txq);
	return NULL;
}

static const char *net_traffic(struct net_test *t)
{
	uint64_t deadline = tsc_deadline_ms(NET_TIMEOUT_MS);
	uint32_t polls = 0;
	const char *r;

	memset(net_seen, 0, sizeof(net_seen));
	while (t->received < t->frames || t->tx_done < t->sent) {
		bool progress = false;
		uint16_t head;
		uint32_t len;

		while (net_used_ready(&t->txq)) {
			r = virtq_wait(&t->txq, &head, &len, 0);
			if (r)
				return r;
			t->tx_done++;
			progress = true;
		}
		while (net_used_ready(&t->rxq)) {
			unsigned int slot;

			r = virtq_wait(&t->rxq, &head, &len, 0);
			if (r)
				return r;
			slot = t->rx_slot_of[head];
			net_check_frame(t, net_rx_bufs[slot], len);
			r = net_post_rx(t, slot);
			if (r)
				return r;
			progress = true;
		}
		if (progress)
			virtq_kick(&t->rxq);
		if (t->sent < t->frames && t->txq.num_free &&
		    t->sent - t->received < t->rx_posted) {
			r = net_send(t);
			if (r)
				return r;
			continue;
		}
		if (progress)
			continue;
		if (++polls % NET_STATUS_POLL_EVERY == 0 &&
		    virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return "virtio device needs reset";
		if (tsc_expired(deadline)) {
			guest_printf("guest: warning: net time-out: sent=%llu tx_done=%llu received=%llu\n",
				     (unsigned long long)t->sent,
				     (unsigned long long)t->tx_done,
				     (unsigned long long)t->received);
			return NULL;	/* the counts tell */
		}
		cpu_relax();
	}
	return NULL;
}

/* Features, both queues, DRIVER_OK, receive buffers posted. */
static const char *net_start(struct net_test *t)
{
	const char *r;

	r = virtio_negotiate(&t->vd, 1ull << VIRTIO_NET_F_MAC |
				     1ull << VIRTIO_NET_F_STATUS);
	if (r)
		return r;
	if (t->vd.features & (1ull << VIRTIO_NET_F_MAC)) {
		if (!t->vd.device || t->vd.device_len < 6)
			return "device config window too small for the MAC";
		for (unsigned int i = 0; i < 6; i++)
			t->mac[i] = virtio_cfg_read8(&t->vd, i);
	} else {
		memcpy(t->mac, net_default_mac, 6);
	}
	r = virtq_setup(&t->vd, &t->rxq, NET_RXQ);
	if (r)
		return r;
	r = virtq_setup(&t->vd, &t->txq, NET_TXQ);
	if (r)
		return r;
	/* Polled: no used-buffer notifications wanted (2.7.10). */
	virtq_no_interrupts(&t->rxq);
	virtq_no_interrupts(&t->txq);
	r = virtio_driver_ok(&t->vd);
	if (r)
		return r;
	guest_printf("guest: net 00:%02x.%x features=0x%llx negotiated=0x%llx rx_queue_size=%u tx_queue_size=%u ring=%s\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)t->vd.offered,
		     (unsigned long long)t->vd.features, t->rxq.size,
		     t->txq.size, virtio_ring_name(&t->vd));
	if (t->vd.features & (1ull << VIRTIO_NET_F_STATUS) &&
	    t->vd.device_len >= 8 &&
	    !(virtio_cfg_read8(&t->vd, 6) & VIRTIO_NET_S_LINK_UP))
		guest_printf("guest: warning: net link is down\n");

	for (unsigned int i = 0; i < NET_RX_BUFS && i < t->rxq.size; i++) {
		r = net_post_rx(t, i);
		if (r)
			return r;
		t->rx_posted++;
	}
	virtq_kick(&t->rxq);
	return NULL;
}

/* The summary line of a pass (tag "" or "pass2 "), and its verdict. */
static const char *net_pass_done(const struct net_test *t, const char *tag)
{
	guest_printf("guest: net 00:%02x.%x %smac=%02x:%02x:%02x:%02x:%02x:%02x sent=%llu received=%llu verified=%llu swapped=%llu rx_kicks=%llu tx_kicks=%llu tx_suppressed=%llu num_buffers_not_1=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn, tag, t->mac[0], t->mac[1],
		     t->mac[2], t->mac[3], t->mac[4], t->mac[5],
		     (unsigned long long)t->sent,
		     (unsigned long long)t->received,
		     (unsigned long long)t->verified,
		     (unsigned long long)t->swapped,
		     (unsigned long long)t->rxq.kicks,
		     (unsigned long long)t->txq.kicks,
		     (unsigned long long)t->txq.kicks_suppressed,
		     (unsigned long long)t->num_buffers_off);
	if (t->verified < t->expect)
		return t->received < t->expect ? "too few frames received" :
						 "received frames did not verify";
	return NULL;
}

/*
 * guest.net_reset=1: a burst of frames (magic "VMSX", half as many as
 * there are receive buffers) sent and, after one transmit completion,
 * reset with everything else in flight: transmit chains not yet taken
 * back, received frames not yet taken, and receive buffers the device
 * still holds unused.  Then the device is set up from scratch and the N
 * frames go again.  Stale frames that come back in pass 2 are counted
 * apart, never as received.
 */
static const char *net_restart(struct net_test *t)
{
	uint16_t head;
	uint32_t len;
	const char *r;

	while (t->stale_sent < t->rx_posted / 2 && t->txq.num_free) {
		uint16_t id = t->txq.free_head;
		uint8_t *buf = net_tx_bufs[id];
		struct virtq_buf b = { buf, NET_HDR_LEN + NET_FRAME_LEN, false };

		memset(buf, 0, NET_HDR_LEN);
		net_build_frame(t, buf + NET_HDR_LEN, (uint32_t)t->stale_sent,
				NET_MAGIC_STALE);
		if (virtq_add(&t->txq, &b, 1) != id)
			return "transmit queue bookkeeping";
		t->stale_sent++;
	}
	virtq_kick(&t->txq);
	r = virtq_wait(&t->txq, &head, &len, NET_TIMEOUT_MS);
	if (r)
		return r;
	r = virtio_reset(&t->vd);
	if (r)
		return r;

	t->sent = t->tx_done = t->received = t->verified = t->swapped = 0;
	t->bad_len = t->bad_payload = t->bad_addr = t->dup = 0;
	t->num_buffers_off = 0;
	t->rx_posted = 0;
	r = net_start(t);
	if (!r)
		r = net_traffic(t);
	if (!r)
		r = net_pass_done(t, "pass2 ");
	if (r)
		return r;
	guest_printf("guest: net 00:%02x.%x restart=ok stale_sent=%llu stale_back=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)t->stale_sent,
		     (unsigned long long)t->stale_back);
	return NULL;
}

static const char *net_run(struct net_test *t, const struct pci_dev *pd,
			   bool reset)
{
	const char *r;

	r = virtio_pci_open(pd, &t->vd);
	if (!r)
		r = net_start(t);
	if (!r)
		r = net_traffic(t);
	if (!r)
		r = net_pass_done(t, "");
	if (!r && reset)
		r = net_restart(t);
	if (r)
		return r;
	return virtio_reset(&t->vd);
}

const char *virtio_net_test(uint64_t frames, uint64_t expect, bool reset)
{
	struct net_test *t = &net;
	struct pci_dev pd;
	const char *r;

	memset(t, 0, sizeof(*t));
	if (frames > NET_MAX_FRAMES)
		frames = NET_MAX_FRAMES;
	if (expect > frames)
		expect = frames;
	t->frames = frames;
	t->expect = expect;
	if (!pci_find(VIRTIO_PCI_VENDOR_ID,
		      VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_NET), 0, &pd)) {
		guest_printf("guest: net none\n");
		return "no virtio-net device";
	}
	r = net_run(t, &pd, reset);
	if (r)
		guest_printf("guest: net 00:%02x.%x FAIL reason=\"%s\"\n",
			     pd.slot, pd.fn, r);
	return r;
}
