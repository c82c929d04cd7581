/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-net test (guest.net=N): the first modern virtio-net function
 * on bus 0 (1af4:1041), polled at CPL3.  Features asked for: VERSION_1,
 * MAC and STATUS (whatever of them is offered), and with
 * guest.net_queues=Q > 1 also CTRL_VQ and MQ; no mergeable buffers, so
 * every received frame fits one buffer and every header is the 12-byte
 * struct virtio_net_hdr_mrg_rxbuf (5.1.6).
 *
 * P = min(Q, max_virtqueue_pairs) queue pairs are used (1 without MQ).
 * With MQ the control queue (2 * max_virtqueue_pairs) is set up too and,
 * after DRIVER_OK, carries VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET P, which must
 * be answered VIRTIO_NET_OK, and VIRTIO_NET_CTRL_RX_PROMISC, which the
 * device does not offer (no CTRL_RX) and must answer VIRTIO_NET_ERR
 * (5.1.6.5): both are polled for, one at a time.  Every queue is split
 * or packed as negotiated (guest.ring=, virtio.c); splitvm withholds
 * RING_PACKED from a device with a control queue, which it runs split
 * only, so a multiqueue run is split there.  With guest.net_irq=1
 * MSI-X is enabled (table entry 0 -> VEC_VIRTIO on this CPU, for every
 * queue), the control queue asks for used buffer notifications and each
 * command must also bring an interrupt; the data queues stay polled.
 *
 * Each receiveq (2k) gets NET_RX_BUFS device-writable buffers of
 * NET_BUF_SIZE bytes, each one descriptor holding header and frame;
 * each is checked and posted again as soon as it comes back.  Frame
 * seq goes out on transmitq (2k + 1) of pair k = seq mod P, header
 * zeroed, one descriptor each.  Per pair, frames sent and not yet back
 * never outnumber its receive buffers: a forwarding back-end such as
 * testpmd drops what finds no buffer and does not retry (and sends a
 * frame back on the pair it came from).  The run ends when N frames
 * came back or at the time-out.
 *
 * Frame (NET_FRAME_LEN bytes, no FCS):
 *   dst ff:ff:ff:ff:ff:ff, src <own MAC>, ethertype 0x88b5 (local
 *   experimental), then NET_PAYLOAD_LEN bytes:
 *     0  u32 LE  magic 0x4e4d5653 ("SVMN")
 *     4  u32 LE  sequence number, 0..N-1
 *     8  u32 LE  ack, 12 u32 LE flags (guest.net_peer=1; else 0)
 *    16  40 bytes, byte i = (seq * 31 + i * 7) mod 256
 *    56  u32 LE  N
 *    60  u32 LE  FNV-1a 32 of bytes 0..59
 * A frame comes back verified if its payload checks, its sequence is
 * below N and not seen before, and its addresses are the ones sent,
 * either way round (testpmd's macswap forwarding swaps them, io does
 * not).  Other frames count as received, not verified.
 *
 * Report lines:
 *   guest: net 00:<dd>.<f> features=0x<offered> negotiated=0x<accepted> rx_queue_size=<n> tx_queue_size=<n> ring=split|packed
 *   guest: net 00:<dd>.<f> queue_pairs=<P> max_virtqueue_pairs=<n> ctrl_vq=<index> pairs_set=ok unsupported=err ctrl_irqs=<n>
 *          (guest.net_queues > 1 only; one line)
 *   guest: net 00:<dd>.<f> pair=<k> sent=<n> received=<n> verified=<n>
 *          (guest.net_queues > 1 only; one per pair, after the run)
 *   guest: net 00:<dd>.<f> mac=<xx:xx:xx:xx:xx:xx> sent=<n> received=<n>
 *          verified=<n> swapped=<n> rx_kicks=<n> tx_kicks=<n>
 *          tx_suppressed=<n> num_buffers_not_1=<n>           (one line)
 *   guest: net 00:<dd>.<f> rate frames=<verified> elapsed_ns=<n>
 *          frames_per_s=<n> tsc_khz=<n> chunks=<n> chunk_frames=<n>
 *          chunk_median_fps=<n> chunk_max_fps=<n>          (one line)
 *   guest: net 00:<dd>.<f> FAIL reason="<text>"    or   guest: net none
 * mac= is the device's (config space) with VIRTIO_NET_F_MAC, else
 * 02:00:00:00:00:01 (locally administered); swapped= counts verified
 * frames whose addresses came back swapped; num_buffers_not_1= counts
 * received headers whose num_buffers is not 1, which the device must set
 * without MRG_RXBUF (5.1.6.4; DPDK 22.11's vhost leaves it 0): a warning,
 * not a failure.  rx_kicks= and the other kick counts are pair 0's.  The
 * rate line times the traffic alone, from the first frame queued to the
 * last one back (TSC, calibrated by tsc.c before the clock starts):
 * device set-up, the control commands and the VMM's start are not in it.
 * It counts verified frames over all pairs, and also times
 * NET_RATE_CHUNKS chunks of N/NET_RATE_CHUNKS verified frames each
 * (rate.c): the median chunk leaves out host preemptions.  The test
 * fails when fewer than `expect` frames (default N) were received and
 * verified.
 *
 * guest.net_peer=1 (virtio_net_peer.c): no looped-back frames, another
 * guest on the same switch instead; both send their frames until told
 * to stop, with a window of their own, and count what the other's lost,
 * duplicated or reordered.  The lines above (received= and verified=
 * count the peer's frames), then its own report line.
 *
 * guest.net_reset=1 (see net_restart()): after that pass, a reset with
 * frames in flight, the device started again (a second features line)
 * and a second pass, which must verify `expect` frames too:
 *   guest: net 00:<dd>.<f> pass2 mac=... (as above, for pass 2)
 *   guest: net 00:<dd>.<f> pass2 rate frames=... (as above, for pass 2)
 *   guest: net 00:<dd>.<f> restart=ok stale_sent=<n> stale_back=<n>
 * stale_back= counts burst frames that came back after the reset.  It is
 * one pair's test: with guest.net_queues > 1 too the test fails at once
 * ("guest.net_reset=1 with guest.net_queues > 1 is not supported").
 */
#include "virtio_net.h"

#define NET_TIMEOUT_MS		20000
/* Polls of used->idx between looks at device_status (an MMIO exit). */
#define NET_STATUS_POLL_EVERY	(1u << 16)
#define NET_RATE_CHUNKS		16

#define NET_CTRL_TIMEOUT_MS	5000

_Static_assert(NET_HDR_LEN == 12, "virtio-net header with VERSION_1");
_Static_assert(NET_HDR_LEN + NET_PEER_LEN_MAX <= NET_BUF_SIZE, "frame fits");
_Static_assert(NET_RX_BUFS <= VIRTQ_SIZE_MAX, "rx buffers fit the ring");
_Static_assert(NET_PEER_LEN_MIN == NET_FRAME_LEN,
	       "the peer exchange's shortest frame is the standard one");

static struct net_test net;
uint8_t net_rx_bufs[NET_MAX_PAIRS][NET_RX_BUFS][NET_BUF_SIZE]
	__attribute__((aligned(4096)));
uint8_t net_tx_bufs[NET_MAX_PAIRS][VIRTQ_SIZE_MAX]
		   [NET_HDR_LEN + NET_PEER_LEN_MAX] __attribute__((aligned(64)));
uint8_t net_seen[NET_MAX_FRAMES / 8];
/* A control command: header, data, ack (each its own buffer). */
static struct {
	struct virtio_net_ctrl_hdr hdr;
	uint8_t data[6];
	uint8_t ack;
} net_ctrl_cmd __attribute__((aligned(64)));

const uint8_t net_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t net_default_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

void net_build_frame(const struct net_test *t, uint8_t *f, uint32_t seq,
		     uint32_t magic, uint32_t ack, uint32_t flags)
{
	uint8_t *pl = f + NET_ETH_HLEN;

	memcpy(f, net_bcast, 6);
	memcpy(f + 6, t->mac, 6);
	f[12] = NET_ETHERTYPE >> 8;
	f[13] = NET_ETHERTYPE & 0xff;
	put_le32(pl, magic);
	put_le32(pl + NET_SEQ_OFF, seq);
	put_le32(pl + NET_ACK_OFF, ack);
	put_le32(pl + NET_FLAGS_OFF, flags);
	for (unsigned int i = 0; i < NET_COUNT_OFF - NET_FILL_OFF; i++)
		pl[NET_FILL_OFF + i] = (uint8_t)(seq * 31 + i * 7);
	put_le32(pl + NET_COUNT_OFF, (uint32_t)t->frames);
	put_le32(pl + NET_SUM_OFF, fnv1a32(pl, NET_SUM_OFF));
}

bool net_payload_ok(struct net_test *t, const uint8_t *pl, uint32_t *seq,
		    uint32_t *count)
{
	*seq = get_le32(pl + NET_SEQ_OFF);
	*count = get_le32(pl + NET_COUNT_OFF);
	if (get_le32(pl) != NET_MAGIC ||
	    get_le32(pl + NET_SUM_OFF) != fnv1a32(pl, NET_SUM_OFF)) {
		if (!t->bad_payload++)
			guest_printf("guest: warning: net frame payload does not check (magic 0x%08x seq=%u)\n",
				     get_le32(pl), *seq);
		return false;
	}
	for (unsigned int i = 0; i < NET_COUNT_OFF - NET_FILL_OFF; i++) {
		if (pl[NET_FILL_OFF + i] != (uint8_t)(*seq * 31 + i * 7)) {
			if (!t->bad_payload++)
				guest_printf("guest: warning: net frame seq=%u fill byte %u wrong\n",
					     *seq, i);
			return false;
		}
	}
	return true;
}

/* A received frame (header included, `len` bytes used by the device). */
static void net_check_frame(struct net_test *t, struct net_pair *p,
			    const uint8_t *buf, uint32_t len)
{
	const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)buf;
	const uint8_t *f = buf + NET_HDR_LEN, *pl = f + NET_ETH_HLEN;
	uint32_t seq, count;
	bool straight, swapped;

	/* A frame sent before the reset that made it through after it. */
	if (len >= NET_HDR_LEN + NET_FRAME_LEN && len <= NET_BUF_SIZE &&
	    get_le32(pl) == NET_MAGIC_STALE) {
		t->stale_back++;
		return;
	}
	t->received++;
	p->received++;
	if (len < NET_HDR_LEN + NET_FRAME_LEN || len > NET_BUF_SIZE) {
		if (!t->bad_len++)
			guest_printf("guest: warning: net frame used len=%u, expected >= %zu\n",
				     len, NET_HDR_LEN + NET_FRAME_LEN);
		return;
	}
	if (h->num_buffers != 1 && !t->num_buffers_off++)
		guest_printf("guest: warning: net rx header num_buffers=%u, the device must set 1 without MRG_RXBUF\n",
			     h->num_buffers);
	if (f[12] != NET_ETHERTYPE >> 8 || f[13] != (NET_ETHERTYPE & 0xff)) {
		if (!t->bad_payload++)
			guest_printf("guest: warning: net frame ethertype 0x%02x%02x\n",
				     f[12], f[13]);
		return;
	}
	if (!net_payload_ok(t, pl, &seq, &count))
		return;
	if (count != (uint32_t)t->frames || seq >= t->frames) {
		if (!t->bad_payload++)
			guest_printf("guest: warning: net frame seq=%u of %u, this test sends %llu\n",
				     seq, count, (unsigned long long)t->frames);
		return;
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
	p->verified++;
	rate_count(&t->rate, t->verified);
	if (swapped && !straight)
		t->swapped++;
}

const char *net_post_rx(struct net_test *t, unsigned int k, unsigned int slot)
{
	struct net_pair *p = &t->pair[k];
	struct virtq_buf b = { net_rx_bufs[k][slot], NET_BUF_SIZE, true };
	int head = virtq_add(&p->rxq, &b, 1);

	if (head < 0)
		return "receive queue full";
	p->rx_slot_of[head] = (uint16_t)slot;
	return NULL;
}

/*
 * Frames out and not back stay below the receive buffers.  On a switch a
 * peer's frames count as received too and can come before any of ours
 * (a device left idle with guest.net_wait_ms fills its buffers): then
 * received > sent, and sent - received would wrap and stop sending.
 */
static bool net_can_send(const struct net_test *t, const struct net_pair *p)
{
	return p->next_seq < t->frames && p->txq.num_free &&
	       p->sent < p->received + p->rx_posted;
}

static const char *net_send(struct net_test *t, unsigned int k)
{
	struct net_pair *p = &t->pair[k];

	/*
	 * One descriptor per frame: a head is free exactly when its buffer
	 * is.  Frames out never outnumber the pair's receive buffers.
	 */
	while (net_can_send(t, p)) {
		uint16_t head = p->txq.free_head;
		uint8_t *buf = net_tx_bufs[k][head];
		struct virtq_buf b = { buf, NET_HDR_LEN + NET_FRAME_LEN, false };

		memset(buf, 0, NET_HDR_LEN);
		net_build_frame(t, buf + NET_HDR_LEN, (uint32_t)p->next_seq,
				NET_MAGIC, 0, 0);
		if (virtq_add(&p->txq, &b, 1) != head)
			return "transmit queue bookkeeping";
		p->next_seq += t->npairs;
		p->sent++;
		t->sent++;
	}
	virtq_kick(&p->txq);
	return NULL;
}

static const char *net_traffic(struct net_test *t)
{
	uint64_t deadline = tsc_deadline_ms(NET_TIMEOUT_MS);
	uint32_t polls = 0;
	const char *r;

	if (t->peer)
		return net_peer_traffic(t);
	memset(net_seen, 0, sizeof(net_seen));
	while (t->received < t->frames || t->tx_done < t->sent) {
		bool progress = false, sent = false;
		uint16_t head;
		uint32_t len;
		int got;

		for (unsigned int k = 0; k < t->npairs; k++) {
			struct net_pair *p = &t->pair[k];
			bool rx = false;

			while ((got = virtq_poll(&p->txq, &head, &len, &r))) {
				if (got < 0)
					return r;
				p->tx_done++;
				t->tx_done++;
				progress = true;
			}
			while ((got = virtq_poll(&p->rxq, &head, &len, &r))) {
				unsigned int slot;

				if (got < 0)
					return r;
				slot = p->rx_slot_of[head];
				net_check_frame(t, p, net_rx_bufs[k][slot],
						len);
				r = net_post_rx(t, k, slot);
				if (r)
					return r;
				rx = progress = true;
			}
			if (rx)
				virtq_kick(&p->rxq);
			if (net_can_send(t, p)) {
				r = net_send(t, k);
				if (r)
					return r;
				sent = true;
			}
		}
		if (progress || sent)
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

/* net_traffic() on the clock: the pass's rate line reports it. */
static const char *net_timed_traffic(struct net_test *t)
{
	const char *r;

	tsc_khz();		/* 50 ms of calibration, not on the clock */
	rate_start(&t->rate, t->frames / NET_RATE_CHUNKS);
	t->traffic_cycles = rdtsc();
	r = net_traffic(t);
	t->traffic_cycles = rdtsc() - t->traffic_cycles;
	return r;
}

/* One control command, polled for; *ack is the device's answer. */
static const char *net_ctrl(struct net_test *t, uint8_t class, uint8_t cmd,
			    const void *data, uint32_t len, uint8_t *ack)
{
	struct virtq_buf b[3];
	unsigned int n = 0;
	uint64_t irqs, deadline;
	uint16_t head;
	uint32_t used_len;
	const char *r;

	if (len > sizeof(net_ctrl_cmd.data))
		return "control command too long";
	net_ctrl_cmd.hdr.class = class;
	net_ctrl_cmd.hdr.cmd = cmd;
	memcpy(net_ctrl_cmd.data, data, len);
	net_ctrl_cmd.ack = 0xff;
	b[n++] = (struct virtq_buf){ &net_ctrl_cmd.hdr,
				     sizeof(net_ctrl_cmd.hdr), false };
	if (len)
		b[n++] = (struct virtq_buf){ net_ctrl_cmd.data, len, false };
	b[n++] = (struct virtq_buf){ &net_ctrl_cmd.ack, 1, true };
	if (virtq_add(&t->ctrlq, b, n) < 0)
		return "control queue full";
	irqs = virtio_irq_count;
	virtq_kick(&t->ctrlq);
	r = virtq_wait(&t->ctrlq, &head, &used_len, NET_CTRL_TIMEOUT_MS);
	if (r)
		return r;
	*ack = *(volatile uint8_t *)&net_ctrl_cmd.ack;
	if (!t->irq)
		return NULL;
	/* The used buffer notification may trail the used ring a little. */
	deadline = tsc_deadline_ms(NET_CTRL_TIMEOUT_MS);
	while (virtio_irq_count == irqs && !tsc_expired(deadline))
		cpu_relax();
	if (virtio_irq_count == irqs)
		return "no MSI-X interrupt for a control command";
	t->ctrl_irqs++;
	return NULL;
}

/* MQ: read max_virtqueue_pairs, choose the pairs to use. */
static const char *net_pairs(struct net_test *t)
{
	const uint64_t mq = 1ull << VIRTIO_NET_F_CTRL_VQ |
			    1ull << VIRTIO_NET_F_MQ;

	t->npairs = t->max_pairs = 1;
	if (t->queues <= 1)
		return NULL;
	if ((t->vd.features & mq) != mq)
		return "device does not offer multiqueue (CTRL_VQ and MQ)";
	if (!t->vd.device || t->vd.device_len < 10)
		return "device config window too small for max_virtqueue_pairs";
	t->max_pairs = virtio_cfg_read8(&t->vd, 8) |
		       (unsigned int)virtio_cfg_read8(&t->vd, 9) << 8;
	/* virtio 1.2 5.1.4: 1 to 0x8000. */
	if (t->max_pairs < 1 || t->max_pairs > 0x8000)
		return "max_virtqueue_pairs out of range";
	t->npairs = t->queues < t->max_pairs ? t->queues : t->max_pairs;
	if (t->npairs > NET_MAX_PAIRS)
		t->npairs = NET_MAX_PAIRS;
	return NULL;
}

/* After DRIVER_OK: the pairs in use, and an unsupported command. */
static const char *net_ctrl_test(struct net_test *t)
{
	uint16_t pairs = (uint16_t)t->npairs;
	uint8_t ack, on = 1;
	const char *r;

	r = net_ctrl(t, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		     &pairs, sizeof(pairs), &ack);
	if (r)
		return r;
	if (ack != VIRTIO_NET_OK) {
		guest_printf("guest: warning: net VQ_PAIRS_SET %u answered %u\n",
			     pairs, ack);
		return "VQ_PAIRS_SET refused";
	}
	r = net_ctrl(t, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on,
		     sizeof(on), &ack);
	if (r)
		return r;
	if (ack != VIRTIO_NET_ERR) {
		guest_printf("guest: warning: net CTRL_RX_PROMISC answered %u without CTRL_RX\n",
			     ack);
		return "unsupported control command not refused";
	}
	guest_printf("guest: net 00:%02x.%x queue_pairs=%u max_virtqueue_pairs=%u ctrl_vq=%u pairs_set=ok unsupported=err ctrl_irqs=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn, t->npairs, t->max_pairs,
		     t->ctrlq.index, (unsigned long long)t->ctrl_irqs);
	return NULL;
}

/*
 * Features, every pair's queues (and the control queue with MQ),
 * DRIVER_OK, the control commands, receive buffers posted.
 */
static const char *net_start(struct net_test *t)
{
	uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
	const char *r;

	if (t->queues > 1)
		want |= 1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ;
	r = virtio_negotiate(&t->vd, want);
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
	r = net_pairs(t);
	if (r)
		return r;
	for (unsigned int k = 0; k < t->npairs; k++) {
		struct net_pair *p = &t->pair[k];

		r = virtq_setup(&t->vd, &p->rxq, (uint16_t)VIRTIO_NET_RXQ(k));
		if (!r)
			r = virtq_setup(&t->vd, &p->txq,
					(uint16_t)VIRTIO_NET_TXQ(k));
		if (r)
			return r;
		/* Polled: no used-buffer notifications wanted (2.7.10). */
		virtq_no_interrupts(&p->rxq);
		virtq_no_interrupts(&p->txq);
		p->next_seq = k;
	}
	if (t->queues > 1) {
		/* 5.1.2: the control queue follows every pair the device has. */
		r = virtq_setup(&t->vd, &t->ctrlq,
				(uint16_t)VIRTIO_NET_RXQ(t->max_pairs));
		if (r)
			return r;
		if (!t->irq)
			virtq_no_interrupts(&t->ctrlq);
	}
	r = virtio_driver_ok(&t->vd);
	if (r)
		return r;
	guest_printf("guest: net 00:%02x.%x features=0x%llx negotiated=0x%llx rx_queue_size=%u tx_queue_size=%u ring=%s\n",
		     t->vd.pci.slot, t->vd.pci.fn,
		     (unsigned long long)t->vd.offered,
		     (unsigned long long)t->vd.features, t->pair[0].rxq.size,
		     t->pair[0].txq.size, virtio_ring_name(&t->vd));
	if (t->vd.features & (1ull << VIRTIO_NET_F_STATUS) &&
	    t->vd.device_len >= 8 &&
	    !(virtio_cfg_read8(&t->vd, 6) & VIRTIO_NET_S_LINK_UP))
		guest_printf("guest: warning: net link is down\n");
	if (t->queues > 1) {
		r = net_ctrl_test(t);
		if (r)
			return r;
	}

	for (unsigned int k = 0; k < t->npairs; k++) {
		struct net_pair *p = &t->pair[k];

		for (unsigned int i = 0; i < NET_RX_BUFS && i < p->rxq.size;
		     i++) {
			r = net_post_rx(t, k, i);
			if (r)
				return r;
			p->rx_posted++;
		}
		virtq_kick(&p->rxq);
	}
	return NULL;
}

/* Verified frames per second of a pass's traffic, by the guest's TSC. */
static void net_report_rate(const struct net_test *t, const char *tag)
{
	uint64_t ns = tsc_to_ns(t->traffic_cycles);
	uint64_t fps = ns ? t->verified * 1000000000ull / ns : 0;

	guest_printf("guest: net 00:%02x.%x %srate frames=%llu elapsed_ns=%llu frames_per_s=%llu tsc_khz=%llu chunks=%u chunk_frames=%llu chunk_median_fps=%llu chunk_max_fps=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn, tag,
		     (unsigned long long)t->verified, (unsigned long long)ns,
		     (unsigned long long)fps, (unsigned long long)tsc_khz(),
		     t->rate.chunks, (unsigned long long)t->rate.chunk,
		     (unsigned long long)rate_chunk_median(&t->rate),
		     (unsigned long long)rate_chunk_max(&t->rate));
}

/*
 * The per-pair lines (multiqueue), the summary and rate lines of a pass
 * (tag "" or "pass2 "), and its verdict.
 */
static const char *net_pass_done(const struct net_test *t, const char *tag)
{
	const struct net_pair *p0 = &t->pair[0];

	for (unsigned int k = 0; t->queues > 1 && k < t->npairs; k++)
		guest_printf("guest: net 00:%02x.%x pair=%u sent=%llu received=%llu verified=%llu\n",
			     t->vd.pci.slot, t->vd.pci.fn, k,
			     (unsigned long long)t->pair[k].sent,
			     (unsigned long long)t->pair[k].received,
			     (unsigned long long)t->pair[k].verified);
	guest_printf("guest: net 00:%02x.%x %smac=%02x:%02x:%02x:%02x:%02x:%02x sent=%llu received=%llu verified=%llu swapped=%llu rx_kicks=%llu tx_kicks=%llu tx_suppressed=%llu num_buffers_not_1=%llu\n",
		     t->vd.pci.slot, t->vd.pci.fn, tag, t->mac[0], t->mac[1],
		     t->mac[2], t->mac[3], t->mac[4], t->mac[5],
		     (unsigned long long)t->sent,
		     (unsigned long long)t->received,
		     (unsigned long long)t->verified,
		     (unsigned long long)t->swapped,
		     (unsigned long long)p0->rxq.kicks,
		     (unsigned long long)p0->txq.kicks,
		     (unsigned long long)p0->txq.kicks_suppressed,
		     (unsigned long long)t->num_buffers_off);
	net_report_rate(t, tag);
	if (t->peer)
		return net_peer_report(t);
	if (t->verified < t->expect)
		return t->received < t->expect ? "too few frames received" :
						 "received frames did not verify";
	return NULL;
}

/*
 * guest.net_reset=1 (one pair: virtio_net_test() refuses it with more):
 * a burst of frames (magic "VMSX", half as many as there are receive
 * buffers) sent and, after one transmit completion, reset with
 * everything else in flight: transmit chains not yet taken back,
 * received frames not yet taken, and receive buffers the device still
 * holds unused.  Then the device is set up from scratch and the N frames
 * go again.  Stale frames that come back in pass 2 are counted apart,
 * never as received.
 */
static const char *net_restart(struct net_test *t)
{
	struct net_pair *p = &t->pair[0];
	uint16_t head;
	uint32_t len;
	const char *r;

	while (t->stale_sent < p->rx_posted / 2 && p->txq.num_free) {
		uint16_t id = p->txq.free_head;
		uint8_t *buf = net_tx_bufs[0][id];
		struct virtq_buf b = { buf, NET_HDR_LEN + NET_FRAME_LEN, false };

		memset(buf, 0, NET_HDR_LEN);
		net_build_frame(t, buf + NET_HDR_LEN, (uint32_t)t->stale_sent,
				NET_MAGIC_STALE, 0, 0);
		if (virtq_add(&p->txq, &b, 1) != id)
			return "transmit queue bookkeeping";
		t->stale_sent++;
	}
	virtq_kick(&p->txq);
	r = virtq_wait(&p->txq, &head, &len, NET_TIMEOUT_MS);
	if (r)
		return r;
	r = virtio_reset(&t->vd);
	if (r)
		return r;

	t->sent = t->tx_done = t->received = t->verified = t->swapped = 0;
	t->bad_len = t->bad_payload = t->bad_addr = t->dup = 0;
	t->num_buffers_off = 0;
	/* net_start() sets the queues up again. */
	memset(t->pair, 0, sizeof(t->pair));
	r = net_start(t);
	if (!r)
		r = net_timed_traffic(t);
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

/* guest.net_peer_len=L: for the peer exchange, 78 to 1514 bytes. */
static const char *net_check_peer_len(struct net_test *t,
				      const struct net_options *o)
{
	t->peer_len = NET_PEER_LEN_MIN;
	if (!o->peer_len_given)
		return NULL;
	if (!t->peer)
		return "guest.net_peer_len without guest.net_peer=1";
	if (o->peer_len_bad || o->peer_len < NET_PEER_LEN_MIN ||
	    o->peer_len > NET_PEER_LEN_MAX) {
		if (o->peer_len_bad)
			guest_printf("guest: warning: guest.net_peer_len is not a number\n");
		else
			guest_printf("guest: warning: guest.net_peer_len=%llu: frames are %u to %u bytes\n",
				     (unsigned long long)o->peer_len,
				     NET_PEER_LEN_MIN, NET_PEER_LEN_MAX);
		return "guest.net_peer_len out of range";
	}
	t->peer_len = (uint32_t)o->peer_len;
	return NULL;
}

static const char *net_run(struct net_test *t, const struct pci_dev *pd,
			   const struct net_options *o)
{
	bool reset = o->reset;
	const char *r;

	/*
	 * The reset test is one pair's: its stale burst, the pool pages a
	 * second set of queues takes (virtq.c) and the report are sized
	 * for that.
	 */
	if (reset && t->queues > 1)
		return "guest.net_reset=1 with guest.net_queues > 1 is not supported";
	if (t->peer && (reset || t->queues > 1))
		return "guest.net_peer=1 is one queue pair's test, without guest.net_reset=1";
	r = net_check_peer_len(t, o);
	if (r)
		return r;
	r = virtio_pci_open(pd, &t->vd);
	if (!r && t->irq)
		r = virtio_msix_enable(&t->vd, lapic_id());
	if (!r)
		r = net_start(t);
	if (!r && t->wait_ms) {
		uint64_t until = tsc_deadline_ms(t->wait_ms);

		guest_printf("guest: net 00:%02x.%x started, idle for %llu ms\n",
			     pd->slot, pd->fn, (unsigned long long)t->wait_ms);
		while (!tsc_expired(until))
			cpu_relax();
	}
	if (!r)
		r = net_timed_traffic(t);
	if (!r)
		r = net_pass_done(t, "");
	if (!r && reset)
		r = net_restart(t);
	if (r)
		return r;
	return virtio_reset(&t->vd);
}

const char *virtio_net_test(uint64_t frames, uint64_t expect,
			    const struct net_options *o)
{
	struct net_test *t = &net;
	struct pci_dev pd;
	const char *r;

	memset(t, 0, sizeof(*t));
	t->peer = o->peer;
	t->peer_bcast = o->peer_bcast;
	/* The peer exchange's sequence numbers are 32 bits, others index net_seen. */
	if (t->peer && frames > 0xffffffffull)
		frames = 0xffffffffull;
	else if (!t->peer && frames > NET_MAX_FRAMES)
		frames = NET_MAX_FRAMES;
	if (expect > frames)
		expect = frames;
	t->frames = frames;
	t->expect = expect;
	t->queues = o->queues;
	t->irq = o->irq;
	t->wait_ms = o->wait_ms;
	if (!pci_find(VIRTIO_PCI_VENDOR_ID,
		      VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_NET), 0, &pd)) {
		guest_printf("guest: net none\n");
		return "no virtio-net device";
	}
	r = net_run(t, &pd, o);
	if (r)
		guest_printf("guest: net 00:%02x.%x FAIL reason=\"%s\"\n",
			     pd.slot, pd.fn, r);
	return r;
}
