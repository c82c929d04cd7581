/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_job.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "verify.h"
#include "vhost_user_client.h"

#define TAG		"drive-net"
#define RXQ		0
#define TXQ		1
#define HDR		sizeof(struct virtio_net_hdr_v1)
#define PROGRESS_NS	1000000000ull
#define SOCKET_CHECK_NS	1000000ull
#define EVENT_SLICE_MS	100

/* Frame layout after the Ethernet header. */
#define OFF_MAGIC	14
#define OFF_CRC		18
#define OFF_SEQ		22
#define OFF_TS		30
#define OFF_SEED	38
#define OFF_PATTERN	46
_Static_assert(OFF_PATTERN <= NET_JOB_MIN_FRAME, "frame fields fit");

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x44, 0x52, 0x56 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void net_job_frame_fill(uint8_t *f, uint32_t len, uint64_t seq,
			uint64_t tx_ns, uint64_t seed)
{
	uint32_t magic = NET_JOB_MAGIC, crc;
	uint64_t x = seq * 0x9e3779b97f4a7c15ull ^ seed;

	memcpy(f, peer_mac, 6);
	memcpy(f + 6, our_mac, 6);
	f[12] = NET_JOB_ETHERTYPE >> 8;
	f[13] = NET_JOB_ETHERTYPE & 0xff;
	memcpy(f + OFF_MAGIC, &magic, 4);
	memcpy(f + OFF_SEQ, &seq, 8);
	memcpy(f + OFF_TS, &tx_ns, 8);
	memcpy(f + OFF_SEED, &seed, 8);
	for (uint32_t i = OFF_PATTERN; i < len; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		f[i] = (uint8_t)(x >> 56);
	}
	/* Not the MAC addresses: forwarders may swap or rewrite them. */
	crc = drive_crc32(0, f + OFF_SEQ, len - OFF_SEQ);
	memcpy(f + OFF_CRC, &crc, 4);
}

int net_job_frame_check(const uint8_t *f, uint32_t len, uint64_t seed,
			uint64_t *seq, uint64_t *tx_ns)
{
	uint32_t magic, crc;
	uint64_t s;

	if (len < OFF_PATTERN || f[12] != (NET_JOB_ETHERTYPE >> 8) ||
	    f[13] != (NET_JOB_ETHERTYPE & 0xff))
		return 0;
	memcpy(&magic, f + OFF_MAGIC, 4);
	memcpy(&crc, f + OFF_CRC, 4);
	memcpy(&s, f + OFF_SEED, 8);
	if (magic != NET_JOB_MAGIC || s != seed)
		return 0;
	if (crc != drive_crc32(0, f + OFF_SEQ, len - OFF_SEQ))
		return -1;
	memcpy(seq, f + OFF_SEQ, 8);
	memcpy(tx_ns, f + OFF_TS, 8);
	return 1;
}

struct net_run {
	struct drive_dev *d;
	const struct net_job_opts *o;
	struct net_stats *st;
	uint32_t *tx_free;	/* stack of free transmit slots */
	unsigned tx_nfree;
	uint64_t next_seq;	/* highest sequence seen back + 1 */
};

/* Slot numbers ride in the token: slot + 1, so the token is never NULL. */
static void *slot_token(unsigned slot)
{
	return (void *)(uintptr_t)(slot + 1);
}

static unsigned token_slot(void *token)
{
	return (unsigned)((uintptr_t)token - 1);
}

static int net_post_rx(struct net_run *n, unsigned slot)
{
	struct drive_slot *sl = &n->d->q[RXQ].slots[slot];
	struct split_ring_buf b = { sl->data_gpa, NET_JOB_BUF_SIZE, true };

	return vq_add(&n->d->q[RXQ].vq, &b, 1, slot_token(slot));
}

static int net_kick(struct net_run *n, unsigned q)
{
	if (vq_publish(&n->d->q[q].vq) &&
	    eventfd_write(n->d->q[q].kick_fd, 1) < 0) {
		log_err(TAG, "kick: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int net_ring_broken(struct net_run *n, unsigned q)
{
	log_err(TAG, "%s queue: the back-end broke the ring: %s",
		q == RXQ ? "receive" : "transmit",
		vq_error(&n->d->q[q].vq));
	return -EPROTO;
}

/* Take every frame that came back and give its buffer back. */
static int net_reap_rx(struct net_run *n, uint64_t now, bool *any)
{
	struct vq *r = &n->d->q[RXQ].vq;
	unsigned posted = 0;
	void *token;
	uint32_t len;
	int ret;

	while ((ret = vq_get_used(r, &token, &len)) == 1) {
		unsigned slot = token_slot(token);
		const uint8_t *buf = n->d->q[RXQ].slots[slot].data;
		uint64_t seq, tx_ns;
		int c;

		*any = true;
		c = len > HDR ? net_job_frame_check(buf + HDR, len - HDR,
						    n->o->seed, &seq, &tx_ns) : 0;
		if (c > 0 && seq < n->st->sent && tx_ns <= now) {
			n->st->received++;
			n->st->bytes_received += len - HDR;
			lat_hist_add(&n->st->rtt, now - tx_ns);
			if (seq < n->next_seq)
				n->st->reordered++;
			else
				n->next_seq = seq + 1;
		} else if (c != 0) {
			n->st->bad++;
		} else {
			n->st->foreign++;
		}
		ret = net_post_rx(n, slot);
		if (ret)
			return ret == -EPROTO ? net_ring_broken(n, RXQ) : ret;
		posted++;
	}
	if (ret < 0)
		return net_ring_broken(n, RXQ);
	return posted ? net_kick(n, RXQ) : 0;
}

static int net_reap_tx(struct net_run *n, bool *any)
{
	struct vq *r = &n->d->q[TXQ].vq;
	void *token;
	uint32_t len;
	int ret;

	while ((ret = vq_get_used(r, &token, &len)) == 1) {
		n->tx_free[n->tx_nfree++] = token_slot(token);
		*any = true;
	}
	return ret < 0 ? net_ring_broken(n, TXQ) : 0;
}

static int net_send(struct net_run *n, uint64_t limit, uint64_t now)
{
	struct drive_queue *tq = &n->d->q[TXQ];
	uint32_t len = n->o->frame_size;
	unsigned added = 0;
	int ret;

	while (n->tx_nfree && (!limit || n->st->sent < limit)) {
		unsigned slot = n->tx_free[n->tx_nfree - 1];
		struct drive_slot *sl = &tq->slots[slot];
		struct split_ring_buf b = { sl->data_gpa, (uint32_t)HDR + len,
					    false };

		memset(sl->data, 0, HDR);
		net_job_frame_fill(sl->data + HDR, len, n->st->sent, now,
				   n->o->seed);
		ret = vq_add(&tq->vq, &b, 1, slot_token(slot));
		if (ret == -ENOSPC)
			break;
		if (ret)
			return ret == -EPROTO ? net_ring_broken(n, TXQ) : ret;
		n->tx_nfree--;
		n->st->sent++;
		n->st->bytes_sent += len;
		added++;
	}
	return added ? net_kick(n, TXQ) : 0;
}

static int net_check_socket(struct net_run *n)
{
	struct pollfd p = { .fd = vhost_user_client_fd(n->d->client),
			    .events = POLLIN };
	char c;
	ssize_t r;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	r = recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	log_err(TAG, "the back-end %s", r > 0 ? "sent an unrequested message "
		"on its socket" : "closed the connection");
	n->d->gone = true;
	return -ECONNRESET;
}

static int net_wait_event(struct net_run *n)
{
	struct pollfd p[3];
	uint64_t v;

	if (vq_notify_enable(&n->d->q[RXQ].vq) ||
	    vq_notify_enable(&n->d->q[TXQ].vq))
		return 0;
	p[0] = (struct pollfd){ .fd = n->d->q[RXQ].call_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = n->d->q[TXQ].call_fd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = vhost_user_client_fd(n->d->client),
				.events = POLLIN };
	if (poll(p, 3, EVENT_SLICE_MS) < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < 2; i++)
		if (p[i].revents & POLLIN)
			(void)!read(p[i].fd, &v, sizeof(v));
	return p[2].revents ? net_check_socket(n) : 0;
}

/*
 * --gap-us: the frame in flight came back (or was given up as lost after
 * drain_ns): idle until next_tx, sleeping rather than spinning so that
 * the back-end sees a silent frontend.
 */
static void net_gap_sleep(const struct net_job_opts *o, uint64_t until)
{
	struct timespec ts = { (time_t)(until / 1000000000ull),
			       (long)(until % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR && !(o->stop && *o->stop))
		;
}

static void net_progress(const struct net_run *n, double t, uint64_t dsent,
			 uint64_t drecv, double dt)
{
	fprintf(stderr, "%s[net %6.1fs] sent %.0f fps, received %.0f fps, "
		"%" PRIu64 " lost so far, %" PRIu64 " bad%s",
		n->o->progress_tty ? "\r" : "", t, dt > 0 ? dsent / dt : 0,
		dt > 0 ? drecv / dt : 0, n->st->sent - n->st->received,
		n->st->bad, n->o->progress_tty ? "\033[K" : "\n");
	fflush(stderr);
}

int net_job_run(struct drive_dev *d, const struct net_job_opts *o,
		struct net_stats *st)
{
	struct net_run n = { .d = d, .o = o, .st = st };
	uint64_t start, now, deadline = 0, last_tx_done, last_rx, last_check, end;
	uint64_t last_progress, last_sent = 0, last_recv = 0, limit = o->count;
	uint64_t drain_ns = (uint64_t)o->drain_ms * 1000000ull;
	uint64_t timeout_ns = (uint64_t)o->timeout_ms * 1000000ull;
	unsigned tx_slots = o->tx_depth < d->slots ? o->tx_depth : d->slots;
	uint64_t gap_ns = (uint64_t)o->gap_us * 1000ull, gap_sent_at = 0;
	uint64_t gap_lost = 0, next_tx = 0;
	bool stopping = false, printed = false, gap_out = false;
	int ret = 0;

	memset(st, 0, sizeof(*st));
	lat_hist_init(&st->rtt);
	if (d->type != DRIVE_DEV_NET || d->nq != 2)
		return -EINVAL;
	if (gap_ns)
		tx_slots = 1;
	n.tx_free = calloc(tx_slots, sizeof(*n.tx_free));
	if (!n.tx_free)
		return -ENOMEM;
	for (unsigned s = 0; s < tx_slots; s++)
		n.tx_free[n.tx_nfree++] = tx_slots - 1 - s;
	/* Every receive buffer posted before the first frame goes out. */
	for (unsigned s = 0; s < d->slots; s++) {
		ret = net_post_rx(&n, s);
		if (ret == -ENOSPC)
			break;
		if (ret)
			goto out_free;
	}
	ret = net_kick(&n, RXQ);
	if (ret)
		goto out_free;
	for (unsigned q = 0; q < 2; q++) {
		if (o->event_wait)
			(void)vq_notify_enable(&d->q[q].vq);
		else
			vq_notify_disable(&d->q[q].vq);
	}

	if (gap_ns) {
		/* The first frame, too, follows a silent gap. */
		next_tx = now_ns() + gap_ns;
		net_gap_sleep(o, next_tx);
	}
	start = last_tx_done = last_rx = last_check = last_progress = now_ns();
	end = 0;
	if (o->runtime > 0)
		deadline = start + (uint64_t)(o->runtime * 1e9);
	for (;;) {
		bool tx_any = false, rx_any = false;

		now = now_ns();
		if (!stopping && ((limit && st->sent >= limit) ||
				  (deadline && now >= deadline) ||
				  (o->stop && *o->stop))) {
			stopping = true;
			st->interrupted = o->stop && *o->stop;
			last_rx = end = now;
		}
		if (!stopping && !gap_ns) {
			ret = net_send(&n, limit, now);
		} else if (!stopping && !gap_out && now >= next_tx) {
			uint64_t before = st->sent;

			ret = net_send(&n, st->sent + 1, now);
			gap_out = st->sent > before;
			gap_sent_at = now;
		}
		if (ret)
			goto out;
		now = now_ns();
		ret = net_reap_tx(&n, &tx_any);
		if (!ret)
			ret = net_reap_rx(&n, now, &rx_any);
		if (ret)
			goto out;
		if (!o->event_wait) {
			vq_notify_disable(&d->q[RXQ].vq);
			vq_notify_disable(&d->q[TXQ].vq);
		}
		if (tx_any || !vq_in_flight(&d->q[TXQ].vq))
			last_tx_done = now;
		if (rx_any)
			last_rx = end = now;
		if (gap_out && (st->received + st->bad + gap_lost >= st->sent ||
				now - gap_sent_at > drain_ns)) {
			/* Back, or given up on (counted lost at the end). */
			if (st->received + st->bad + gap_lost < st->sent)
				gap_lost++;
			gap_out = false;
			next_tx = now + gap_ns;
			if (!stopping && (!limit || st->sent < limit))
				net_gap_sleep(o, deadline && deadline < next_tx ?
					      deadline : next_tx);
			continue;
		}
		if (stopping && !vq_in_flight(&d->q[TXQ].vq) &&
		    (st->received + st->bad >= st->sent ||
		     now - last_rx > drain_ns))
			break;
		if (now - last_tx_done > timeout_ns) {
			log_err(TAG, "the back-end took no frame for %d ms with "
				"%u on the transmit queue", o->timeout_ms,
				vq_in_flight(&d->q[TXQ].vq));
			ret = -ETIMEDOUT;
			goto out;
		}
		if (!tx_any && !rx_any) {
			if (o->event_wait &&
			    (stopping || !n.tx_nfree || gap_out)) {
				ret = net_wait_event(&n);
				if (ret)
					goto out;
			} else if (now - last_check > SOCKET_CHECK_NS) {
				ret = net_check_socket(&n);
				if (ret)
					goto out;
				last_check = now;
			}
		}
		if (o->progress && now - last_progress >= PROGRESS_NS) {
			net_progress(&n, (double)(now - start) / 1e9,
				     st->sent - last_sent,
				     st->received - last_recv,
				     (double)(now - last_progress) / 1e9);
			last_sent = st->sent;
			last_recv = st->received;
			last_progress = now;
			printed = true;
		}
	}
out:
	/* Sending and the last frame back, not the wait for lost ones. */
	st->elapsed = (double)((end > start && !ret ? end : now_ns()) - start)
		      / 1e9;
	if (printed && o->progress_tty)
		fputc('\n', stderr);
out_free:
	free(n.tx_free);
	return ret;
}
