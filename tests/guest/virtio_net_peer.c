/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest.net_peer=1: two test guests on one switch (splitvm-net, --net
 * switch=NAME) send each other sequence-numbered frames, one queue pair
 * each, until a 'q' arrives on the console or N data frames are sent,
 * while the test kills and restarts the switch under them.  Lost frames are counted, not failed on; what must never happen
 * is counted and reported: a frame twice, a frame after a later one, a
 * used-ring anomaly (virtq_poll()), DEVICE_NEEDS_RESET.
 *
 * Frames are virtio_net.c's (broadcast, our MAC, magic, checksum), with
 * the peer's MAC as destination once we heard it (so a switch forwards
 * them as known unicast; guest.net_peer_bcast=1 keeps them broadcasts,
 * flooded), and an ack and flags in the payload.  guest.net_peer_len=L
 * makes every frame, data and control, L bytes long (78 by default, 1514
 * at most): byte i from 78 on is peer_tail_byte(seq, i), and a frame of
 * the peer must be exactly L bytes with that tail, so one truncated,
 * padded or overwritten is caught (bad=).  splitvm-net copies a known
 * unicast frame from one split ring straight into the other (its direct
 * copy) only when it is at least --copy-min long, 256 by default: the
 * default 78 bytes go through its mbufs.  In the payload:
 *   data:    seq = the frame's number (0, 1, ...), flags 0
 *   control: flags NET_PEER_CTRL, seq = a mark: the number of data frames
 *            sent before it (no data frame of ours is behind it)
 * and in both ack = how many of the peer's data frames we account for
 * (received, or known lost: every number below it).
 *
 * Why a window of our own.  The switch drops a frame that finds no
 * receive buffer and a frame for a port that is not connected, and does
 * not retry; a guest that sent freely would lose frames to its slower
 * peer with no switch being killed.  So each guest keeps at most
 * NET_PEER_WINDOW data frames that the peer has not accounted for (ack
 * below them), half its NET_RX_BUFS receive buffers: the other half takes
 * the control frames, few and rate-limited.  Acks ride on data frames, or
 * on an ACK control frame once the account moved NET_PEER_ACK_EVERY past
 * what we last told, or when asked.
 *
 * Why marks.  A frame through the switch overtakes no other from the same
 * port (one queue pair, forwarded in order; a frame the killed switch held
 * is gone, never late), so when a control frame with mark m arrives, every
 * data frame below m has arrived or never will: the receiver counts the
 * missing ones lost at once and acks m.  A sender whose whole window was
 * lost would otherwise wait for acks forever: with nothing left in its
 * transmit ring and no ack for NET_PEER_PROBE_MS it sends a PROBE (mark =
 * its next seq, ASK), which the peer answers with its ack, now at the
 * mark.  Until the first frame of the peer arrives only probes go out, so
 * frames sent before the peer's port existed are not counted lost.  At the
 * end each sends END (mark = its total, ASK), repeated like a probe until
 * the peer answers with END_SEEN; then the peer's tail losses are known.
 *
 * The loss bound (docs/architecture.md, "Recovery").  With the window,
 * at most NET_PEER_WINDOW data frames of a guest are ever unaccounted for
 * by its peer.  A kill of the switch loses only frames the switch holds
 * (dequeued from the sender's transmit ring, not yet in the receiver's
 * used ring) and frames the restarted switch takes from the sender's
 * transmit ring (resumed at its used index) before the receiver's port is
 * connected again: all of them unaccounted for by the receiver.  A frame
 * sent against an ack that left the receiver after the kill goes through
 * the new switch behind that ack, to a connected port.  So one kill loses
 * at most NET_PEER_WINDOW data frames per direction, in one gap (the
 * frames lost are consecutive: the ring is resumed in order).
 *
 * Report lines (tests/pylib/netpeer.py parses them):
 *   guest: net 00:<dd>.<f> peer progress sent=<n> received=<n> lost=<n>
 *          dup=<n> ooo=<n>                  (every NET_PEER_PRINT_MS)
 *   guest: net 00:<dd>.<f> peer gap first=<seq> lost=<n>   (per gap)
 *   guest: net 00:<dd>.<f> peer exchange started window=<W> len=<L>
 *   guest: net 00:<dd>.<f> peer mac=<its MAC> window=<W> len=<L> sent=<n>
 *          received=<n> lost=<n> gaps=<n> dup=<n> ooo=<n> peer_sent=<n>
 *          bad=<n> own_back=<n> other=<n> ctrl_sent=<n> ctrl_received=<n>
 *          probes=<n> used_anomalies=<n> used_bad_id=<n> used_twice=<n>
 *          used_idx_back=<n> used_idx_jump=<n> needs_reset=<0|1>
 *          end=ok|incomplete
 * received= counts distinct data frames of the peer, lost= those below
 * its total that never came (gaps included), ooo= frames that came after
 * a later one (their gap is then not lost), dup= frames that came twice;
 * peer_sent= is the total its END gave.  The test fails (result=FAIL) on
 * a used-ring anomaly, DEVICE_NEEDS_RESET, a frame that does not check,
 * a peer never heard or gone silent, or an END not acknowledged; lost,
 * dup and ooo are the caller's to judge.
 */
#include "virtio_net.h"

#define NET_PEER_WINDOW		(NET_RX_BUFS / 2)
#define NET_PEER_ACK_EVERY	(NET_PEER_WINDOW / 2)
#define NET_PEER_PROBE_MS	100
#define NET_PEER_PRINT_MS	500
#define NET_PEER_CONSOLE_MS	20
#define NET_PEER_STATUS_MS	100
/* After both ENDs: answer a repeated END of the peer a while longer. */
#define NET_PEER_LINGER_MS	(3 * NET_PEER_PROBE_MS)
/* No frame of the peer for this long (a restart takes seconds): give up. */
#define NET_PEER_SILENT_MS	60000
/* Transmit descriptors data frames leave to control frames. */
#define NET_PEER_TX_SPARE	4

#define NET_PEER_CTRL		0x1u	/* seq is a mark, no data */
#define NET_PEER_ASK		0x2u	/* answer with an ACK */
#define NET_PEER_END		0x4u	/* the sender's last: mark = total */
#define NET_PEER_END_SEEN	0x8u	/* the sender saw our END */
#define NET_PEER_FLAGS		0xfu

_Static_assert(NET_PEER_WINDOW + NET_PEER_TX_SPARE <= VIRTQ_SIZE_MAX,
	       "the window fits the transmit ring");
_Static_assert(NET_MAX_FRAMES > 2 * NET_PEER_WINDOW,
	       "the seen map spans far more than the window");

/* Byte i (NET_FRAME_LEN <= i < L) of frame seq: where it is, and whose. */
static uint8_t peer_tail_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 29 + i * 11 + (i >> 8));
}

static uint64_t peer_ms(const struct net_peer *ps, uint64_t since,
			uint64_t now)
{
	return (now - since) / ps->cycles_per_ms;
}

/* ---- what the peer sends ---- */

static bool seen_get(uint32_t seq)
{
	seq %= NET_MAX_FRAMES;
	return net_seen[seq / 8] & (1u << (seq % 8));
}

static void seen_set(uint32_t seq, bool on)
{
	seq %= NET_MAX_FRAMES;
	if (on)
		net_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
	else
		net_seen[seq / 8] &= (uint8_t)~(1u << (seq % 8));
}

/*
 * Every frame of the peer below `to` is now received or lost: the ones
 * from ps->expected on did not come (a gap).  Their bits are cleared:
 * the map holds NET_MAX_FRAMES numbers, old ones are reused.
 */
static void peer_account_to(struct net_test *t, uint32_t to)
{
	struct net_peer *ps = &t->ps;
	uint32_t n = to - ps->expected;

	if ((int32_t)n <= 0)
		return;
	if (n >= NET_MAX_FRAMES)
		memset(net_seen, 0, sizeof(net_seen));
	else
		for (uint32_t s = ps->expected; s != to; s++)
			seen_set(s, false);
	ps->lost += n;
	ps->gaps++;
	guest_printf("guest: net 00:%02x.%x peer gap first=%u lost=%u\n",
		     t->vd.pci.slot, t->vd.pci.fn, ps->expected, n);
	ps->expected = to;
}

static void peer_data(struct net_test *t, uint32_t seq)
{
	struct net_peer *ps = &t->ps;

	if (seq - ps->expected < 0x80000000u) {
		/* At or after the next expected one. */
		peer_account_to(t, seq);
		seen_set(seq, true);
		ps->expected = seq + 1;
	} else if (ps->expected - seq >= NET_MAX_FRAMES - NET_PEER_WINDOW ||
		   seen_get(seq)) {
		/* Twice (or too old to tell: taken as twice). */
		if (!ps->dup++)
			guest_printf("guest: warning: net peer frame seq=%u came twice\n",
				     seq);
		return;
	} else {
		/* Late: its gap was counted lost. */
		seen_set(seq, true);
		ps->lost--;
		if (!ps->ooo++)
			guest_printf("guest: warning: net peer frame seq=%u came after a later one\n",
				     seq);
	}
	ps->received++;
	t->received++;
	t->verified++;
	t->pair[0].received++;
	t->pair[0].verified++;
}

static bool peer_frame_ok(struct net_test *t, const uint8_t *buf,
			  uint32_t len)
{
	const uint8_t *f = buf + NET_HDR_LEN;

	if (len != NET_HDR_LEN + t->peer_len) {
		if (!t->bad_len++)
			guest_printf("guest: warning: net peer frame used len=%u, expected %zu (guest.net_peer_len=%u)\n",
				     len, NET_HDR_LEN + t->peer_len, t->peer_len);
		return false;
	}
	if (f[12] != NET_ETHERTYPE >> 8 || f[13] != (NET_ETHERTYPE & 0xff) ||
	    (memcmp(f, net_bcast, 6) && memcmp(f, t->mac, 6))) {
		if (!t->bad_addr++)
			guest_printf("guest: warning: net peer frame: destination or ethertype not ours\n");
		return false;
	}
	return true;
}

/* The bytes past the standard frame, up to guest.net_peer_len. */
static bool peer_tail_ok(struct net_test *t, const uint8_t *f, uint32_t seq)
{
	for (uint32_t i = NET_FRAME_LEN; i < t->peer_len; i++) {
		if (f[i] != peer_tail_byte(seq, i)) {
			if (!t->bad_payload++)
				guest_printf("guest: warning: net peer frame seq=%u byte %u is 0x%02x, not 0x%02x\n",
					     seq, i, f[i], peer_tail_byte(seq, i));
			return false;
		}
	}
	return true;
}

/* A received frame (header included, `len` bytes used by the device). */
static void peer_rx(struct net_test *t, const uint8_t *buf, uint32_t len,
		    uint64_t now)
{
	struct net_peer *ps = &t->ps;
	const uint8_t *f = buf + NET_HDR_LEN, *pl = f + NET_ETH_HLEN;
	uint32_t seq, count, ack, flags;

	if (!peer_frame_ok(t, buf, len) ||
	    !net_payload_ok(t, pl, &seq, &count) || !peer_tail_ok(t, f, seq)) {
		ps->bad++;
		return;
	}
	if (!memcmp(f + 6, t->mac, 6)) {
		ps->own_back++;		/* a switch never sends it back */
		return;
	}
	if (!ps->heard) {
		memcpy(ps->mac, f + 6, 6);
		ps->heard = true;
		ps->last_ack = now;
	} else if (memcmp(f + 6, ps->mac, 6)) {
		ps->other++;		/* a third guest: not this test's */
		return;
	}
	ack = get_le32(pl + NET_ACK_OFF);
	flags = get_le32(pl + NET_FLAGS_OFF);
	if (ack > ps->next_seq || flags & ~NET_PEER_FLAGS ||
	    (!(flags & NET_PEER_CTRL) && seq >= count)) {
		if (!ps->bad++)
			guest_printf("guest: warning: net peer frame seq=%u ack=%u flags=0x%x of %u: we sent %u\n",
				     seq, ack, flags, count, ps->next_seq);
		return;
	}
	ps->last_heard = now;
	if (ack > ps->peer_ack) {
		ps->peer_ack = ack;
		ps->last_ack = now;
	}
	if (flags & NET_PEER_END_SEEN && ps->ends)
		ps->end_acked = true;
	if (!(flags & NET_PEER_CTRL)) {
		peer_data(t, seq);
		return;
	}
	ps->ctrl_received++;
	peer_account_to(t, seq);
	/* Its END does not stop ours: it keeps acking until our END. */
	if (flags & NET_PEER_END) {
		ps->peer_end = true;
		ps->peer_total = seq;
	}
	if (flags & NET_PEER_ASK)
		ps->answer_due = true;
}

/* ---- what we send ---- */

static bool peer_tx_idle(const struct net_pair *p)
{
	return p->txq.num_free == p->txq.size;
}

/* One frame on the transmit ring, not yet kicked: data, or a control. */
static void peer_queue(struct net_test *t, uint32_t seq, uint32_t flags)
{
	struct net_pair *p = &t->pair[0];
	struct net_peer *ps = &t->ps;
	uint16_t head = p->txq.free_head;
	uint8_t *buf = net_tx_bufs[0][head];
	uint8_t *f = buf + NET_HDR_LEN;
	struct virtq_buf b = { buf, NET_HDR_LEN + t->peer_len, false };

	if (ps->peer_end)
		flags |= NET_PEER_END_SEEN;
	memset(buf, 0, NET_HDR_LEN);
	net_build_frame(t, f, seq, NET_MAGIC, ps->expected, flags);
	for (uint32_t i = NET_FRAME_LEN; i < t->peer_len; i++)
		f[i] = peer_tail_byte(seq, i);
	if (ps->heard && !t->peer_bcast)
		memcpy(buf + NET_HDR_LEN, ps->mac, 6);
	(void)virtq_add(&p->txq, &b, 1);	/* callers checked num_free */
	ps->told = ps->expected;
	p->sent++;
	if (flags & NET_PEER_CTRL) {
		ps->ctrl_sent++;
	} else {
		ps->next_seq++;
		t->sent++;
	}
}

/* Data within the window, answers, acks, probes, END; one kick. */
static void peer_send(struct net_test *t, uint64_t now)
{
	struct net_pair *p = &t->pair[0];
	struct net_peer *ps = &t->ps;
	bool queued = false, idle = peer_tx_idle(p);

	if (!ps->heard) {
		if (idle && peer_ms(ps, ps->last_probe, now) >= NET_PEER_PROBE_MS) {
			peer_queue(t, ps->next_seq, NET_PEER_CTRL | NET_PEER_ASK);
			ps->probes++;
			ps->last_probe = now;
			queued = true;
		}
		goto kick;
	}
	while (!ps->stopping && ps->next_seq < t->frames &&
	       ps->next_seq - ps->peer_ack < NET_PEER_WINDOW &&
	       p->txq.num_free > NET_PEER_TX_SPARE) {
		peer_queue(t, ps->next_seq, 0);
		queued = true;
	}
	if (ps->next_seq == t->frames)
		ps->stopping = true;
	if (p->txq.num_free && (ps->answer_due ||
	    ps->expected - ps->told >= NET_PEER_ACK_EVERY)) {
		peer_queue(t, ps->next_seq, NET_PEER_CTRL);
		ps->answer_due = false;
		queued = true;
	}
	if (!ps->stopping && ps->next_seq - ps->peer_ack >= NET_PEER_WINDOW &&
	    idle && peer_ms(ps, ps->last_ack, now) >= NET_PEER_PROBE_MS &&
	    peer_ms(ps, ps->last_probe, now) >= NET_PEER_PROBE_MS) {
		peer_queue(t, ps->next_seq, NET_PEER_CTRL | NET_PEER_ASK);
		ps->probes++;
		ps->last_probe = now;
		queued = true;
	}
	if (ps->stopping && !ps->end_acked && idle &&
	    (!ps->ends || peer_ms(ps, ps->last_end, now) >= NET_PEER_PROBE_MS)) {
		peer_queue(t, ps->next_seq,
			   NET_PEER_CTRL | NET_PEER_ASK | NET_PEER_END);
		ps->ends++;
		ps->last_end = now;
		queued = true;
	}
kick:
	if (queued)
		virtq_kick(&p->txq);
}

/* ---- the loop ---- */

static void peer_progress(const struct net_test *t)
{
	const struct net_peer *ps = &t->ps;

	guest_printf("guest: net 00:%02x.%x peer progress sent=%u received=%u lost=%u dup=%u ooo=%u\n",
		     t->vd.pci.slot, t->vd.pci.fn, ps->next_seq, ps->received,
		     ps->lost, ps->dup, ps->ooo);
}

/* The console, the device status and the clock: false to end the run. */
static bool peer_look_around(struct net_test *t, uint64_t now)
{
	struct net_peer *ps = &t->ps;
	uint8_t c;

	if (peer_ms(ps, ps->last_console, now) >= NET_PEER_CONSOLE_MS) {
		ps->last_console = now;
		while (console_poll(&c))
			if (c == 'q')
				ps->stopping = true;
	}
	if (peer_ms(ps, ps->last_status, now) >= NET_PEER_STATUS_MS) {
		ps->last_status = now;
		if (virtio_status(&t->vd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			ps->needs_reset = true;
			return false;
		}
	}
	if (peer_ms(ps, ps->last_print, now) >= NET_PEER_PRINT_MS) {
		ps->last_print = now;
		peer_progress(t);
	}
	if (peer_ms(ps, ps->last_heard, now) >= NET_PEER_SILENT_MS) {
		ps->silent = true;
		guest_printf("guest: warning: net peer silent for %u ms\n",
			     NET_PEER_SILENT_MS);
		return false;
	}
	if (!ps->done_at && ps->end_acked && ps->peer_end &&
	    peer_tx_idle(&t->pair[0]))
		ps->done_at = now;
	return !ps->done_at ||
	       peer_ms(ps, ps->done_at, now) < NET_PEER_LINGER_MS;
}

const char *net_peer_traffic(struct net_test *t)
{
	struct net_pair *p = &t->pair[0];
	struct net_peer *ps = &t->ps;
	uint64_t now, khz = tsc_khz();
	const char *why;
	uint16_t head;
	uint32_t len;
	int got;

	memset(net_seen, 0, sizeof(net_seen));
	/* Real milliseconds; without a calibration, the 1 GHz floor. */
	ps->cycles_per_ms = khz ? khz : TSC_CYCLES_PER_MS_MIN;
	now = rdtsc();
	ps->last_heard = ps->last_ack = ps->last_print = now;
	ps->last_probe = now - NET_PEER_PROBE_MS * ps->cycles_per_ms;
	guest_printf("guest: net 00:%02x.%x peer exchange started window=%u len=%u\n",
		     t->vd.pci.slot, t->vd.pci.fn, NET_PEER_WINDOW, t->peer_len);
	for (;;) {
		bool rx = false;

		now = rdtsc();
		while ((got = virtq_poll(&p->txq, &head, &len, &why))) {
			if (got < 0 && p->txq.used_broken)
				return NULL;	/* the report tells */
			if (got > 0) {
				p->tx_done++;
				t->tx_done++;
			}
		}
		while ((got = virtq_poll(&p->rxq, &head, &len, &why))) {
			unsigned int slot;

			if (got < 0) {
				if (p->rxq.used_broken)
					return NULL;
				continue;
			}
			slot = p->rx_slot_of[head];
			peer_rx(t, net_rx_bufs[0][slot], len, now);
			why = net_post_rx(t, 0, slot);
			if (why)
				return why;
			rx = true;
		}
		if (rx)
			virtq_kick(&p->rxq);
		if (!ps->done_at)
			peer_send(t, now);
		else if (ps->answer_due && p->txq.num_free)
			peer_send(t, now);	/* END_SEEN again */
		if (!peer_look_around(t, now))
			break;
		cpu_relax();
	}
	peer_progress(t);
	return NULL;
}

const char *net_peer_report(const struct net_test *t)
{
	const struct net_peer *ps = &t->ps;
	const struct net_pair *p = &t->pair[0];
	uint64_t anomalies = virtq_used_anomalies(&p->rxq) +
			     virtq_used_anomalies(&p->txq);
	bool end_ok = ps->end_acked && ps->peer_end;

	guest_printf("guest: net 00:%02x.%x peer mac=%02x:%02x:%02x:%02x:%02x:%02x window=%u len=%u sent=%u received=%u lost=%u gaps=%u dup=%u ooo=%u peer_sent=%u bad=%llu own_back=%llu other=%llu ctrl_sent=%llu ctrl_received=%llu probes=%llu used_anomalies=%llu used_bad_id=%llu used_twice=%llu used_idx_back=%llu used_idx_jump=%llu needs_reset=%u end=%s\n",
		     t->vd.pci.slot, t->vd.pci.fn, ps->mac[0], ps->mac[1],
		     ps->mac[2], ps->mac[3], ps->mac[4], ps->mac[5],
		     NET_PEER_WINDOW, t->peer_len, ps->next_seq, ps->received,
		     ps->lost,
		     ps->gaps, ps->dup, ps->ooo, ps->peer_total,
		     (unsigned long long)ps->bad,
		     (unsigned long long)ps->own_back,
		     (unsigned long long)ps->other,
		     (unsigned long long)ps->ctrl_sent,
		     (unsigned long long)ps->ctrl_received,
		     (unsigned long long)ps->probes,
		     (unsigned long long)anomalies,
		     (unsigned long long)(p->rxq.used_bad_id + p->txq.used_bad_id),
		     (unsigned long long)(p->rxq.used_twice + p->txq.used_twice),
		     (unsigned long long)(p->rxq.used_idx_back + p->txq.used_idx_back),
		     (unsigned long long)(p->rxq.used_idx_jump + p->txq.used_idx_jump),
		     ps->needs_reset, end_ok ? "ok" : "incomplete");
	if (anomalies)
		return "virtio used ring anomaly";
	if (ps->needs_reset)
		return "virtio device needs reset";
	if (ps->bad)
		return "a frame from the switch that does not check (length, bytes, addresses or counts)";
	if (ps->own_back || ps->other)
		return "a frame from the switch that is not the peer's";
	if (!ps->heard)
		return "no frame from the peer";
	if (ps->silent)
		return "the peer went silent";
	if (!end_ok)
		return "the exchange did not end (END not answered)";
	return NULL;
}
