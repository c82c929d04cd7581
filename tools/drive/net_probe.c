/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_probe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "log.h"
#include "net_job.h"

#define TAG		"drive-net-probe"
#define RXQ		0
#define TXQ		1
#define QSIZE		64
#define SLOTS		8
/* A slot's buffer: the 64 KiB-ish frame of tx_oversize_64k fits. */
#define BUF		(68u * 1024)
#define HDR		((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define GOOD_LEN	60u
/* Far outside the memfd the driver shares (DRIVE_GPA_BASE + ~1 MiB). */
#define UNMAPPED	0x7f0000000000ull
/* Transmit slots: the bad chain, the good frame, an indirect table. */
#define TX_BAD		0
#define TX_GOOD		1
#define TX_TABLE	2
/* Receive slot 0 holds the bad buffer of an rx probe; the rest are good. */
#define RX_BAD		0

enum layout {
	L_TX_LOOP, L_TX_NEXT_OUT, L_TX_UNMAPPED, L_TX_PAST_END, L_TX_ZERO,
	L_TX_HUGE, L_TX_HDR_ONLY, L_TX_SHORT_HDR, L_TX_RUNT, L_TX_9000,
	L_TX_64K, L_TX_IND_UNMAPPED, L_TX_IND_TOO_LONG, L_TX_IND_LOOP,
	L_RX_UNMAPPED, L_RX_LOOP, L_RX_NEXT_OUT, L_RX_ZERO, L_RX_TINY,
};

struct probe {
	const char *name;
	const char *what;
	enum layout layout;
};

/* Layouts a packed ring cannot express (no next index) or that need a
 * raw descriptor the packed driver does not build (indirect). */
static bool split_only(enum layout l)
{
	switch (l) {
	case L_TX_LOOP: case L_TX_NEXT_OUT: case L_TX_IND_UNMAPPED:
	case L_TX_IND_TOO_LONG: case L_TX_IND_LOOP: case L_RX_LOOP:
	case L_RX_NEXT_OUT:
		return true;
	default:
		return false;
	}
}

static const struct probe probes[] = {
	{ "tx_descriptor_loop", "header and frame descriptors linked in a "
	  "loop", L_TX_LOOP },
	{ "tx_next_out_of_table", "a header whose next is past the "
	  "descriptor table", L_TX_NEXT_OUT },
	{ "tx_addr_unmapped", "a frame at a guest address outside guest "
	  "memory", L_TX_UNMAPPED },
	{ "tx_addr_past_end", "a 4 KiB buffer starting 16 bytes before the "
	  "end of guest memory", L_TX_PAST_END },
	{ "tx_zero_length", "one descriptor of length 0", L_TX_ZERO },
	{ "tx_huge_length", "one descriptor of length 0xfffff000", L_TX_HUGE },
	{ "tx_header_only", "the 12-byte virtio-net header, no frame",
	  L_TX_HDR_ONLY },
	{ "tx_short_header", "8 bytes, less than the virtio-net header",
	  L_TX_SHORT_HDR },
	{ "tx_runt", "a 10-byte frame, shorter than an Ethernet header",
	  L_TX_RUNT },
	{ "tx_oversize_9000", "a 9000-byte frame (no MTU or offload "
	  "negotiated)", L_TX_9000 },
	{ "tx_oversize_64k", "a 65000-byte frame", L_TX_64K },
	{ "tx_indirect_unmapped", "an indirect table outside guest memory",
	  L_TX_IND_UNMAPPED },
	{ "tx_indirect_too_long", "an indirect table longer than the ring",
	  L_TX_IND_TOO_LONG },
	{ "tx_indirect_loop", "an indirect table whose two entries link in "
	  "a loop", L_TX_IND_LOOP },
	{ "rx_buffer_unmapped", "a receive buffer outside guest memory",
	  L_RX_UNMAPPED },
	{ "rx_buffer_loop", "a receive chain of two buffers linked in a loop",
	  L_RX_LOOP },
	{ "rx_buffer_next_out_of_table", "a receive buffer whose next is "
	  "past the descriptor table", L_RX_NEXT_OUT },
	{ "rx_buffer_zero_length", "a receive buffer of length 0", L_RX_ZERO },
	{ "rx_buffer_tiny", "a 16-byte receive buffer (no mergeable buffers "
	  "negotiated)", L_RX_TINY },
};

#define NPROBES	(sizeof(probes) / sizeof(probes[0]))

unsigned net_probe_count(void)
{
	return NPROBES;
}

static bool is_rx(enum layout l)
{
	return l >= L_RX_UNMAPPED;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *slot_token(unsigned slot)
{
	return (void *)(uintptr_t)(slot + 1);
}

static unsigned token_slot(void *token)
{
	return (unsigned)((uintptr_t)token - 1);
}

/* The port the bad chains go to, and the one frames come out of. */
struct conn {
	struct drive_dev *tx;
	struct drive_dev *rx;	/* == tx without a peer */
};

static void conn_close(struct conn *c)
{
	if (c->rx != c->tx)
		drive_dev_close(c->rx);
	drive_dev_close(c->tx);
	c->tx = c->rx = NULL;
}

static int kick(struct drive_dev *d, unsigned q)
{
	if (vq_publish(&d->q[q].vq) &&
	    eventfd_write(d->q[q].kick_fd, 1) < 0)
		return -errno;
	return 0;
}

static int post_rx(struct drive_dev *d, unsigned slot)
{
	struct drive_slot *sl = &d->q[RXQ].slots[slot];
	struct split_ring_buf b = { sl->data_gpa, BUF, true };

	return vq_add(&d->q[RXQ].vq, &b, 1, slot_token(slot));
}

static int conn_open(const struct drive_dev_opts *o, const char *peer,
		     struct conn *c)
{
	struct drive_dev_opts po = *o;
	int ret;

	/* The receiving side first: it is up when the first frame goes. */
	c->tx = c->rx = NULL;
	if (peer) {
		po.socket = peer;
		ret = drive_dev_open(&po, &c->rx);
		if (ret)
			return ret;
	}
	ret = drive_dev_open(o, &c->tx);
	if (ret) {
		drive_dev_close(c->rx);
		c->rx = NULL;
		return ret;
	}
	if (!c->rx)
		c->rx = c->tx;
	return 0;
}

/*
 * Good receive buffers: slots [first, end) on c->rx, and all but slot 0
 * on c->tx when that is another connection.
 */
static int conn_post_rx(struct conn *c, unsigned first, unsigned end)
{
	struct drive_dev *devs[2] = { c->rx, c->tx };

	for (unsigned i = 0; i < (c->rx == c->tx ? 1u : 2u); i++) {
		unsigned e = devs[i] == c->rx ? end : SLOTS;

		for (unsigned s = devs[i] == c->rx ? first : 1; s < e; s++) {
			int ret = post_rx(devs[i], s);

			if (ret)
				return ret;
		}
		if (kick(devs[i], RXQ))
			return -EIO;
	}
	return 0;
}

/*
 * A bad chain on a split ring exactly as described; on a packed ring
 * only one plain descriptor (split_only() keeps the rest away).
 */
static int add_raw(struct vq *q, const struct split_ring_raw_desc *c,
		   unsigned n, void *token)
{
	struct split_ring_buf b;

	if (!q->packed)
		return split_ring_add_raw(q->split, c, n, token);
	if (n != 1 || (c[0].flags & ~VRING_DESC_F_WRITE))
		return -EINVAL;
	b = (struct split_ring_buf){ c[0].gpa, c[0].len,
				     (c[0].flags & VRING_DESC_F_WRITE) != 0 };
	return vq_add(q, &b, 1, token);
}

static int add_tx_bad(struct drive_dev *d, enum layout l, uint64_t seed)
{
	struct drive_queue *q = &d->q[TXQ];
	struct drive_slot *sl = &q->slots[TX_BAD];
	struct drive_slot *tab = &q->slots[TX_TABLE];
	const uint16_t N = VRING_DESC_F_NEXT, I = VRING_DESC_F_INDIRECT;
	uint64_t end = DRIVE_GPA_BASE + d->mem_size;
	struct split_ring_raw_desc c[2];
	struct vring_desc *t = (struct vring_desc *)tab->data;
	uint32_t flen = l == L_TX_9000 ? 9000 : l == L_TX_64K ? 65000 : GOOD_LEN;
	unsigned n = 1;

	/* A frame of ours, but with another seed: never taken for good. */
	memset(sl->data, 0, HDR);
	net_job_frame_fill(sl->data + HDR, flen, UINT64_MAX, now_ns(), ~seed);
	c[0] = (struct split_ring_raw_desc){ sl->data_gpa, HDR + flen, 0, 0,
					     false };
	switch (l) {
	case L_TX_LOOP:
		c[0] = (struct split_ring_raw_desc){ sl->data_gpa, HDR, N, 1,
						     false };
		c[1] = (struct split_ring_raw_desc){ sl->data_gpa + HDR, flen,
						     N, 0, false };
		n = 2;
		break;
	case L_TX_NEXT_OUT:
		c[0].len = HDR;
		c[0].flags = N;
		c[0].next = QSIZE + 5;
		c[0].next_absolute = true;
		break;
	case L_TX_UNMAPPED:
		c[0].gpa = UNMAPPED;
		break;
	case L_TX_PAST_END:
		c[0].gpa = end - 16;
		c[0].len = 4096;
		break;
	case L_TX_ZERO:
		c[0].len = 0;
		break;
	case L_TX_HUGE:
		c[0].len = 0xfffff000u;
		break;
	case L_TX_HDR_ONLY:
		c[0].len = HDR;
		break;
	case L_TX_SHORT_HDR:
		c[0].len = 8;
		break;
	case L_TX_RUNT:
		c[0].len = HDR + 10;
		break;
	case L_TX_IND_UNMAPPED:
		c[0] = (struct split_ring_raw_desc){ UNMAPPED, 2 * sizeof(*t), I,
						     0, false };
		break;
	case L_TX_IND_TOO_LONG:
		memset(t, 0, (QSIZE + 1) * sizeof(*t));
		c[0] = (struct split_ring_raw_desc){ tab->data_gpa,
			(QSIZE + 1) * sizeof(*t), I, 0, false };
		break;
	case L_TX_IND_LOOP:
		t[0] = (struct vring_desc){ sl->data_gpa, HDR, N, 1 };
		t[1] = (struct vring_desc){ sl->data_gpa + HDR, flen, N, 0 };
		c[0] = (struct split_ring_raw_desc){ tab->data_gpa,
			2 * sizeof(*t), I, 0, false };
		break;
	default:
		break;
	}
	return add_raw(&q->vq, c, n, slot_token(TX_BAD));
}

static int add_rx_bad(struct drive_dev *d, enum layout l)
{
	struct drive_slot *sl = &d->q[RXQ].slots[RX_BAD];
	const uint16_t N = VRING_DESC_F_NEXT, W = VRING_DESC_F_WRITE;
	struct split_ring_raw_desc c[2];
	unsigned n = 1;

	c[0] = (struct split_ring_raw_desc){ sl->data_gpa, 2048, W, 0, false };
	switch (l) {
	case L_RX_UNMAPPED:
		c[0].gpa = UNMAPPED;
		break;
	case L_RX_LOOP:
		c[0] = (struct split_ring_raw_desc){ sl->data_gpa, 1024, W | N,
						     1, false };
		c[1] = (struct split_ring_raw_desc){ sl->data_gpa + 1024, 1024,
						     W | N, 0, false };
		n = 2;
		break;
	case L_RX_NEXT_OUT:
		c[0].flags = W | N;
		c[0].next = QSIZE + 5;
		c[0].next_absolute = true;
		break;
	case L_RX_ZERO:
		c[0].len = 0;
		break;
	case L_RX_TINY:
		c[0].len = 16;
		break;
	default:
		break;
	}
	return add_raw(&d->q[RXQ].vq, c, n, slot_token(RX_BAD));
}

static int send_good(struct drive_dev *d, uint64_t seq, uint64_t seed)
{
	struct drive_slot *sl = &d->q[TXQ].slots[TX_GOOD];
	struct split_ring_buf b = { sl->data_gpa, HDR + GOOD_LEN, false };
	int ret;

	memset(sl->data, 0, HDR);
	net_job_frame_fill(sl->data + HDR, GOOD_LEN, seq, now_ns(), seed);
	ret = vq_add(&d->q[TXQ].vq, &b, 1, slot_token(TX_GOOD));
	return ret ? ret : kick(d, TXQ);
}

/*
 * What came back on d's rings; false when the ring broke.  repost: give
 * receive buffers back to the ring as they are used.
 */
static bool reap(struct drive_dev *d, bool rx_probe, uint64_t seq,
		 uint64_t seed, bool repost, bool *good, bool *sent,
		 struct net_probe_result *r)
{
	void *token;
	uint32_t len;
	int ret;

	while ((ret = vq_get_used(&d->q[TXQ].vq, &token, &len)) == 1) {
		if (!rx_probe && token_slot(token) == TX_BAD)
			r->bad_returned = true;
		if (token_slot(token) == TX_GOOD)
			*sent = true;
	}
	if (ret < 0)
		return false;
	while ((ret = vq_get_used(&d->q[RXQ].vq, &token, &len)) == 1) {
		unsigned slot = token_slot(token);
		const uint8_t *buf = d->q[RXQ].slots[slot].data;
		uint64_t got, ts;

		if (rx_probe && slot == RX_BAD) {
			r->bad_returned = true;
			continue;
		}
		if (len > HDR && net_job_frame_check(buf + HDR, len - HDR, seed,
						     &got, &ts) == 1 &&
		    got == seq)
			*good = true;
		else if (len > 0)
			r->forwarded = true;
		if (repost && (post_rx(d, slot) || kick(d, RXQ)))
			return false;
	}
	return ret == 0;
}

/*
 * Wait up to ms for the good frame seq on c->rx.  With resend, a frame
 * the back-end took but did not deliver is sent again every RESEND_NS:
 * the back-end may learn of the peer's rings only after this side's
 * connection is up (a warm-up frame, before any probe, sees to that).
 */
#define RESEND_NS 100000000ull
static bool wait_good(struct conn *c, bool rx_probe, uint64_t seq,
		      uint64_t seed, int ms, bool resend, bool repost,
		      struct net_probe_result *r)
{
	uint64_t start = now_ns(), last = start;
	uint64_t end = start + (uint64_t)ms * 1000000ull;
	bool good = false, sent = false, dummy = false;

	for (;;) {
		if (!reap(c->rx, rx_probe, seq, seed, repost, &good,
			  c->tx == c->rx ? &sent : &dummy, r) ||
		    (c->tx != c->rx &&
		     !reap(c->tx, rx_probe, seq, seed, true, &good, &sent,
			   r))) {
			r->ring_broken = true;
			return false;
		}
		if (good)
			return true;
		if (resend && sent && now_ns() - last >= RESEND_NS) {
			if (send_good(c->tx, seq, seed))
				return false;
			sent = false;
			last = now_ns();
		}
		if (drive_dev_hung_up(c->tx) || drive_dev_hung_up(c->rx)) {
			r->hung_up = true;
			return false;
		}
		if (now_ns() >= end)
			return false;
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
}

/* A fresh connection (pair) forwards a good frame. */
static bool alive(const struct drive_dev_opts *o, const char *peer, int ms,
		  uint64_t seed, uint64_t seq)
{
	struct net_probe_result scratch = { 0 };
	struct conn c;
	bool ok;

	if (conn_open(o, peer, &c))
		return false;
	ok = !conn_post_rx(&c, 1, SLOTS) && !send_good(c.tx, seq, seed) &&
	     wait_good(&c, false, seq, seed, ms, true, true, &scratch);
	conn_close(&c);
	return ok;
}

static void run_one(const struct drive_dev_opts *o, const char *peer,
		    int ms, uint64_t seed, uint64_t *seq,
		    const struct probe *p, struct net_probe_result *r)
{
	bool rx = is_rx(p->layout);
	struct conn c;
	int ret;

	*r = (struct net_probe_result){ .name = p->name, .what = p->what };
	if (o->packed && split_only(p->layout)) {
		r->skipped = r->pass = true;
		return;
	}
	if (conn_open(o, peer, &c))
		return;
	/*
	 * A warm-up frame first, sent again until it gets through: then the
	 * path is up and the probe's own good frame has one chance.  An rx
	 * probe's receiver has one buffer for it, then the bad one, then
	 * the rest.
	 */
	ret = conn_post_rx(&c, rx ? 1 : 0, rx ? 2 : SLOTS);
	if (!ret)
		ret = send_good(c.tx, ++*seq, seed);
	if (!ret && !wait_good(&c, false, *seq, seed, ms, true, !rx, r))
		ret = -ENOTCONN;
	if (!ret && rx) {
		ret = add_rx_bad(c.rx, p->layout);
		for (unsigned s = 1; s < SLOTS && !ret; s++)
			ret = post_rx(c.rx, s);
		if (!ret)
			ret = kick(c.rx, RXQ);
	}
	if (!ret && !rx)
		ret = add_tx_bad(c.tx, p->layout, seed);
	/* The good frame right behind the bad chain, in one kick. */
	if (!ret)
		ret = send_good(c.tx, ++*seq, seed);
	if (ret) {
		log_err(TAG, "%s: %s: %s", p->name, ret == -ENOTCONN ?
			"the warm-up frame did not get through" :
			"cannot queue the probe", strerror(-ret));
	} else {
		r->setup_ok = true;
		r->served_after = wait_good(&c, rx, *seq, seed, ms, false,
					    true, r);
	}
	conn_close(&c);
	r->alive_after = alive(o, peer, ms, seed, ++*seq);
	r->pass = r->setup_ok && !r->hung_up && !r->ring_broken &&
		  !r->forwarded && r->served_after && r->alive_after;
}

int net_probe_run(const struct drive_dev_opts *dopts, const char *peer,
		  int probe_ms, uint64_t seed, struct net_probe_result *results)
{
	struct drive_dev_opts o = *dopts;
	uint64_t seq = 0;

	o.type = DRIVE_DEV_NET;
	o.queues = 2;
	o.queue_size = QSIZE;
	o.slots = SLOTS;
	o.data_size = BUF;
	if (!alive(&o, peer, probe_ms, seed, seq++))
		return -ENOTCONN;
	for (unsigned i = 0; i < NPROBES; i++)
		run_one(&o, peer, probe_ms, seed, &seq, &probes[i], &results[i]);
	return 0;
}

int drive_net_probe_main(const struct drive_dev_opts *dopts, const char *peer,
			 int probe_ms, uint64_t seed, bool json)
{
	struct net_probe_result res[NPROBES];
	unsigned failed = 0;

	if (net_probe_run(dopts, peer, probe_ms, seed, res)) {
		if (json)
			printf("{\"mode\": \"net-probe\", \"probes\": [], "
			       "\"error\": \"no good frame got through before "
			       "any probe\"}\n");
		else
			printf("net probe: FAILED: no good frame got through "
			       "before any probe\n");
		return 1;
	}
	for (unsigned i = 0; i < NPROBES; i++)
		failed += !res[i].pass;
	if (json) {
		printf("{\"mode\": \"net-probe\", \"probes\": [");
		for (unsigned i = 0; i < NPROBES; i++) {
			const struct net_probe_result *r = &res[i];

			printf("%s{\"name\": \"%s\", \"setup\": %s, "
			       "\"hung_up\": %s, \"ring_broken\": %s, "
			       "\"bad_returned\": %s, \"forwarded\": %s, "
			       "\"served_after\": %s, \"alive_after\": %s, "
			       "\"skipped\": %s, \"pass\": %s}", i ? ", " : "",
			       r->name,
			       r->setup_ok ? "true" : "false",
			       r->hung_up ? "true" : "false",
			       r->ring_broken ? "true" : "false",
			       r->bad_returned ? "true" : "false",
			       r->forwarded ? "true" : "false",
			       r->served_after ? "true" : "false",
			       r->alive_after ? "true" : "false",
			       r->skipped ? "true" : "false",
			       r->pass ? "true" : "false");
		}
		printf("], \"failed\": %u, \"error\": null}\n", failed);
	} else {
		printf("%-28s %-9s %-9s %-7s %-6s %s\n", "probe", "returned",
		       "forwarded", "served", "alive", "verdict");
		for (unsigned i = 0; i < NPROBES; i++) {
			const struct net_probe_result *r = &res[i];

			printf("%-28s %-9s %-9s %-7s %-6s %s%s\n", r->name,
			       r->bad_returned ? "yes" : "no",
			       r->forwarded ? "YES" : "no",
			       r->served_after ? "yes" : "no",
			       r->alive_after ? "yes" : "no",
			       r->pass ? "pass" : "FAIL",
			       r->skipped ? " (split rings only)" :
			       !r->setup_ok ? " (setup failed)" :
			       r->hung_up ? " (hung up)" :
			       r->ring_broken ? " (broke the ring)" : "");
		}
		printf("net probe: %u of %u failed\n", failed,
		       (unsigned)NPROBES);
	}
	fflush(stdout);
	return failed ? 3 : 0;
}
