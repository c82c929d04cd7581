/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio-net round-trip test (guest.net_rtt=N): the first modern
 * virtio-net function on bus 0, one queue pair, MSI-X on (table entry 0,
 * VEC_VIRTIO, to the BSP).  One frame at a time: queue it on transmitq,
 * read the TSC, kick, then wait for the interrupt: the CPL3 loop watches
 * the count the VEC_VIRTIO handler bumps, never the used ring, and reads
 * the TSC again when the count moves.  An interrupt that finds no frame
 * on receiveq counts as stray and the wait goes on.  transmitq asks for
 * no interrupts (virtq_no_interrupts()), receiveq for every one.  Both
 * queues are split or packed as negotiated (guest.ring=, virtio.c; auto
 * takes packed from a back-end that offers it, as testpmd does).
 *
 * The kick follows the device's notification suppression (kick=device,
 * the default; split VRING_USED_F_NO_NOTIFY, packed device event flags
 * DISABLE): a polling back-end such as testpmd asks for none, and then
 * no notification is written at all.  guest.net_rtt_kick=always writes the
 * queue's notify register in every round anyway (allowed: the flag is a
 * SHOULD NOT, 2.7.10), so that the round trip includes the doorbell and
 * the VMM's ioeventfd wiring; =both runs N rounds each way, device first.
 *
 * The back-end must send each frame back (testpmd macswap or io): the
 * frame that returns must be the one sent, addresses as sent or swapped.
 * NET_RTT_WARMUP rounds run first and are not counted.  Round trip times
 * are converted with the TSC frequency measured against the PIT (tsc.c).
 *
 * Report lines (one per kick mode run):
 *   guest: net_rtt 00:<dd>.<f> kick=device|always rounds=<n> warmup=<n>
 *          irqs=<n> stray_irqs=<n> tx_kicks=<n> tx_suppressed=<n>
 *          tsc_khz=<n> tsc_cal_ppm=<n> min_ns=<n> median_ns=<n>
 *          p99_ns=<n> max_ns=<n> ring=split|packed       (one line)
 *   guest: net_rtt 00:<dd>.<f> FAIL reason="<text>"   or   guest: net_rtt none
 * irqs= counts VEC_VIRTIO interrupts during the counted rounds (at least
 * rounds=; more means stray ones); tx_kicks= counts notify register
 * writes, tx_suppressed= the rounds in which the device had asked for none
 * (with kick=always they were written all the same); the percentiles are
 * nearest-rank.
 */
#include "guest.h"
#include "virtio.h"

#define RTT_RX_BUFS		8
#define RTT_BUF_SIZE		2048
#define RTT_HDR_LEN		sizeof(struct virtio_net_hdr_mrg_rxbuf)
#define RTT_ETH_HLEN		14
#define RTT_ETHERTYPE		0x88b5
#define RTT_PAYLOAD_LEN		64
#define RTT_FRAME_LEN		(RTT_ETH_HLEN + RTT_PAYLOAD_LEN)
#define RTT_MAGIC		0x524d5653u	/* "SVMR" */
#define NET_RTT_MAX		65536
#define NET_RTT_WARMUP		8
/* Per round; the host is slow to wake a sleeping back-end (HOST.md). */
#define RTT_TIMEOUT_MS		4000
#define RTT_STATUS_POLL_EVERY	(1u << 16)

#define RTT_RXQ			0
#define RTT_TXQ			1

_Static_assert(RTT_HDR_LEN + RTT_FRAME_LEN <= RTT_BUF_SIZE, "frame fits");
_Static_assert(RTT_RX_BUFS <= VIRTQ_SIZE_MAX, "rx buffers fit the ring");

struct rtt_test {
	struct virtio_dev vd;
	struct virtq rxq, txq;
	uint8_t mac[6];
	uint64_t rounds, stray;
	uint32_t seq;				/* of the next frame */
	bool force_kick;			/* kick=always */
	uint16_t rx_slot_of[VIRTQ_SIZE_MAX];	/* by chain head */
};

static struct rtt_test rtt;
static uint8_t rtt_rx_bufs[RTT_RX_BUFS][RTT_BUF_SIZE]
	__attribute__((aligned(4096)));
static uint8_t rtt_tx_buf[RTT_HDR_LEN + RTT_FRAME_LEN]
	__attribute__((aligned(64)));
/* TSC cycles of each counted round; 32 bits hold over a second. */
static uint32_t rtt_cycles[NET_RTT_MAX];

static const uint8_t rtt_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t rtt_default_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* Payload: magic, sequence, then bytes (seq + i) mod 256. */
static void rtt_build_frame(const struct rtt_test *t, uint8_t *f, uint32_t seq)
{
	uint8_t *pl = f + RTT_ETH_HLEN;

	memcpy(f, rtt_bcast, 6);
	memcpy(f + 6, t->mac, 6);
	f[12] = RTT_ETHERTYPE >> 8;
	f[13] = RTT_ETHERTYPE & 0xff;
	put_le32(pl, RTT_MAGIC);
	put_le32(pl + 4, seq);
	for (unsigned int i = 8; i < RTT_PAYLOAD_LEN; i++)
		pl[i] = (uint8_t)(seq + i);
}

/* The frame that came back is the one sent as `seq`: NULL, or why not. */
static const char *rtt_check_frame(const struct rtt_test *t,
				   const uint8_t *buf, uint32_t len,
				   uint32_t seq)
{
	const uint8_t *f = buf + RTT_HDR_LEN, *pl = f + RTT_ETH_HLEN;
	bool straight, swapped;

	if (len < RTT_HDR_LEN + RTT_FRAME_LEN || len > RTT_BUF_SIZE)
		return "returned frame has the wrong length";
	straight = !memcmp(f, rtt_bcast, 6) && !memcmp(f + 6, t->mac, 6);
	swapped = !memcmp(f, t->mac, 6) && !memcmp(f + 6, rtt_bcast, 6);
	if (!straight && !swapped)
		return "returned frame has other addresses";
	if (f[12] != RTT_ETHERTYPE >> 8 || f[13] != (RTT_ETHERTYPE & 0xff) ||
	    get_le32(pl) != RTT_MAGIC || get_le32(pl + 4) != seq)
		return "returned frame is not the one sent";
	for (unsigned int i = 8; i < RTT_PAYLOAD_LEN; i++) {
		if (pl[i] != (uint8_t)(seq + i))
			return "returned frame payload corrupted";
	}
	return NULL;
}

static const char *rtt_post_rx(struct rtt_test *t, unsigned int slot)
{
	struct virtq_buf b = { rtt_rx_bufs[slot], RTT_BUF_SIZE, true };
	int head = virtq_add(&t->rxq, &b, 1);

	if (head < 0)
		return "receive queue full";
	t->rx_slot_of[head] = (uint16_t)slot;
	return NULL;
}

/*
 * Wait for a VEC_VIRTIO interrupt after which receiveq has a frame; *end
 * is the TSC when the count moved.  Interrupts that find nothing there
 * are counted as stray.
 */
static const char *rtt_wait_irq(struct rtt_test *t, uint64_t irq_seen,
				uint64_t *end)
{
	uint64_t deadline = tsc_deadline_ms(RTT_TIMEOUT_MS);
	uint32_t spins = 0;

	for (;;) {
		uint64_t n = virtio_irq_count;

		if (n != irq_seen) {
			*end = rdtsc();
			irq_seen = n;
			__asm__ volatile("" ::: "memory");
			if (virtq_used_ready(&t->rxq))
				return NULL;
			t->stray++;
			continue;
		}
		if (++spins % RTT_STATUS_POLL_EVERY == 0 &&
		    virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return "virtio device needs reset";
		if (tsc_expired(deadline)) {
			guest_printf("guest: warning: net_rtt no interrupt: round=%llu rx used idx=%u taken=%u tx used idx=%u\n",
				     (unsigned long long)t->rounds,
				     virtq_used_idx(&t->rxq), t->rxq.last_used,
				     virtq_used_idx(&t->txq));
			return virtq_used_ready(&t->rxq) ?
			       "frame returned without an interrupt" :
			       "frame did not return";
		}
		cpu_relax();
	}
}

/* One frame there and back; its TSC cycles, kick to interrupt. */
static const char *rtt_round(struct rtt_test *t, uint64_t *cycles)
{
	uint32_t seq = t->seq++;
	struct virtq_buf b = { rtt_tx_buf, RTT_HDR_LEN + RTT_FRAME_LEN, false };
	uint64_t irq_seen, start, end = 0;
	uint16_t head;
	uint32_t len;
	const char *r;

	memset(rtt_tx_buf, 0, RTT_HDR_LEN);
	rtt_build_frame(t, rtt_tx_buf + RTT_HDR_LEN, seq);
	if (virtq_add(&t->txq, &b, 1) < 0)
		return "transmit queue full";
	irq_seen = virtio_irq_count;
	__asm__ volatile("" ::: "memory");
	start = rdtsc();
	if (t->force_kick) {
		uint64_t suppressed = t->txq.kicks_suppressed;

		virtq_kick(&t->txq);
		if (t->txq.kicks_suppressed != suppressed)
			virtq_notify(&t->txq);
	} else {
		virtq_kick(&t->txq);
	}
	r = rtt_wait_irq(t, irq_seen, &end);
	if (r)
		return r;
	*cycles = end - start;

	r = virtq_wait(&t->rxq, &head, &len, 0);
	if (r)
		return r;
	r = rtt_check_frame(t, rtt_rx_bufs[t->rx_slot_of[head]], len, seq);
	if (r)
		return r;
	r = rtt_post_rx(t, t->rx_slot_of[head]);
	if (r)
		return r;
	virtq_kick(&t->rxq);
	/* A forwarding back-end is done with the frame before it returns it. */
	return virtq_wait(&t->txq, &head, &len, RTT_TIMEOUT_MS);
}

static void rtt_sift_down(uint32_t *a, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		uint32_t tmp;

		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		tmp = a[root];
		a[root] = a[child];
		a[child] = tmp;
		root = child;
	}
}

/* Heapsort: no recursion, no extra memory, n log n for 65536 rounds. */
static void rtt_sort(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		rtt_sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint32_t tmp = a[0];

		a[0] = a[end];
		a[end] = tmp;
		rtt_sift_down(a, 0, end);
	}
}

/* Nearest rank: the smallest value with at least pct% of them <= it. */
static uint64_t rtt_percentile(const uint32_t *sorted, size_t n,
			       unsigned int pct)
{
	size_t rank = (n * pct + 99) / 100;

	return sorted[rank ? rank - 1 : 0];
}

static const char *rtt_start(struct rtt_test *t, const struct pci_dev *pd,
			     uint32_t apic_id)
{
	const char *r;

	r = virtio_pci_open(pd, &t->vd);
	if (r)
		return r;
	r = virtio_msix_enable(&t->vd, apic_id);
	if (r)
		return r;
	r = virtio_negotiate(&t->vd, 1ull << VIRTIO_NET_F_MAC);
	if (r)
		return r;
	if (t->vd.features & (1ull << VIRTIO_NET_F_MAC)) {
		if (!t->vd.device || t->vd.device_len < 6)
			return "device config window too small for the MAC";
		for (unsigned int i = 0; i < 6; i++)
			t->mac[i] = virtio_cfg_read8(&t->vd, i);
	} else {
		memcpy(t->mac, rtt_default_mac, 6);
	}
	r = virtq_setup(&t->vd, &t->rxq, RTT_RXQ);
	if (r)
		return r;
	r = virtq_setup(&t->vd, &t->txq, RTT_TXQ);
	if (r)
		return r;
	/* Completions of receiveq interrupt; those of transmitq need not. */
	virtq_no_interrupts(&t->txq);
	r = virtio_driver_ok(&t->vd);
	if (r)
		return r;
	for (unsigned int i = 0; i < RTT_RX_BUFS && i < t->rxq.size; i++) {
		r = rtt_post_rx(t, i);
		if (r)
			return r;
	}
	virtq_kick(&t->rxq);
	return NULL;
}

/* `rounds` counted round trips, then their report line. */
static const char *rtt_phase(struct rtt_test *t, const struct pci_dev *pd,
			     uint64_t rounds, bool force_kick)
{
	uint64_t cycles, irq_base;
	const char *r;

	t->force_kick = force_kick;
	irq_base = virtio_irq_count;
	t->stray = 0;
	t->txq.kicks = t->txq.kicks_suppressed = 0;
	for (t->rounds = 0; t->rounds < rounds; t->rounds++) {
		r = rtt_round(t, &cycles);
		if (r)
			return r;
		rtt_cycles[t->rounds] = cycles > UINT32_MAX ? UINT32_MAX :
							      (uint32_t)cycles;
	}
	rtt_sort(rtt_cycles, t->rounds);
	guest_printf("guest: net_rtt 00:%02x.%x kick=%s rounds=%llu warmup=%u irqs=%llu stray_irqs=%llu tx_kicks=%llu tx_suppressed=%llu tsc_khz=%llu tsc_cal_ppm=%llu min_ns=%llu median_ns=%llu p99_ns=%llu max_ns=%llu ring=%s\n",
		     pd->slot, pd->fn, force_kick ? "always" : "device",
		     (unsigned long long)t->rounds, NET_RTT_WARMUP,
		     (unsigned long long)(virtio_irq_count - irq_base),
		     (unsigned long long)t->stray,
		     (unsigned long long)t->txq.kicks,
		     (unsigned long long)t->txq.kicks_suppressed,
		     (unsigned long long)tsc_khz(),
		     (unsigned long long)tsc_calibration_ppm(),
		     (unsigned long long)tsc_to_ns(rtt_cycles[0]),
		     (unsigned long long)tsc_to_ns(rtt_percentile(rtt_cycles,
							t->rounds, 50)),
		     (unsigned long long)tsc_to_ns(rtt_percentile(rtt_cycles,
							t->rounds, 99)),
		     (unsigned long long)tsc_to_ns(rtt_cycles[t->rounds - 1]),
		     virtio_ring_name(&t->vd));
	return NULL;
}

static const char *rtt_run(struct rtt_test *t, const struct pci_dev *pd,
			   uint64_t rounds, unsigned int kick,
			   uint32_t apic_id)
{
	uint64_t cycles;
	const char *r;

	/* Calibrate first: it takes 50 ms of PIT time and many exits. */
	if (!tsc_khz())
		return "TSC calibration failed";
	r = rtt_start(t, pd, apic_id);
	if (r)
		return r;
	for (uint32_t i = 0; i < NET_RTT_WARMUP; i++) {
		r = rtt_round(t, &cycles);
		if (r)
			return r;
	}
	if (kick & NET_RTT_KICK_DEVICE) {
		r = rtt_phase(t, pd, rounds, false);
		if (r)
			return r;
	}
	if (kick & NET_RTT_KICK_ALWAYS) {
		r = rtt_phase(t, pd, rounds, true);
		if (r)
			return r;
	}
	return virtio_reset(&t->vd);
}

const char *virtio_net_rtt_test(uint64_t rounds, unsigned int kick,
				uint32_t apic_id)
{
	struct rtt_test *t = &rtt;
	struct pci_dev pd;
	const char *r;

	memset(t, 0, sizeof(*t));
	if (!rounds || !(kick & (NET_RTT_KICK_DEVICE | NET_RTT_KICK_ALWAYS)))
		return NULL;
	if (rounds > NET_RTT_MAX)
		rounds = NET_RTT_MAX;
	if (!pci_find(VIRTIO_PCI_VENDOR_ID,
		      VIRTIO_PCI_DEVICE_ID_MODERN(VIRTIO_ID_NET), 0, &pd)) {
		guest_printf("guest: net_rtt none\n");
		return "no virtio-net device";
	}
	r = rtt_run(t, &pd, rounds, kick, apic_id);
	if (r)
		guest_printf("guest: net_rtt 00:%02x.%x FAIL reason=\"%s\" kick=%s rounds=%llu\n",
			     pd.slot, pd.fn, r, t->force_kick ? "always" : "device",
			     (unsigned long long)t->rounds);
	return r;
}
