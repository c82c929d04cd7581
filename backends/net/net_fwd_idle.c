/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A worker with nothing to forward: it asks its frontends to kick again
 * and sleeps on their kick eventfds, its uplinks' rx interrupt fds and
 * its own wake eventfd (see net_fwd.c).
 */
#include "net_fwd_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_vhost.h>

#include "log.h"

#define TAG "fwd"

/* This worker's transmit vring of item i, if its port is up. */
static bool item_vring(struct net_fwd *f, unsigned i, bool need_enabled,
		       int *vid, uint16_t *vring)
{
	const struct net_item *it = &f->items[i];
	struct net_port *p = &f->be->ports[it->port];

	*vring = NET_TXQ(it->queue);
	*vid = atomic_load(&p->vid);
	return atomic_load(&p->ready) &&
	       (!need_enabled || atomic_load(&p->vring_enabled[*vring]));
}

void net_fwd_set_notify(struct net_fwd *f, bool on)
{
	net_round_begin(f->w);
	for (unsigned i = 0; i < f->nitems; i++) {
		struct net_port *p = &f->be->ports[f->items[i].port];
		uint16_t vring;
		int vid;

		if (net_port_is_uplink(p))
			net_uplink_notify(p, on);
		else if (item_vring(f, i, true, &vid, &vring))
			rte_vhost_enable_guest_notification(vid, vring, on);
	}
	net_round_end(f->w);
}

static void drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;

	/* Kick eventfds are shared with the frontend: never make them
	 * nonblocking, look before reading. */
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
		if (read(fd, &v, sizeof(v)) < 0) {
		}
	}
}

/*
 * Sleep until a frontend kicks or a port or signal event arrives. The
 * kick fds are looked up inside a round, when the ports cannot go away.
 */
void net_fwd_sleep(struct net_fwd *f)
{
	struct net_worker *w = f->w;
	struct pollfd *pfds = f->pfds;
	uint64_t nap_ns = UINT64_MAX;	/* none: sleep until woken */
	struct timespec nap;
	unsigned n = 0;
	uint64_t v;

	pfds[n++] = (struct pollfd){ .fd = w->wake_fd, .events = POLLIN };
	net_round_begin(w);
	for (unsigned i = 0; i < f->nitems; i++) {
		struct net_port *p = &f->be->ports[f->items[i].port];
		struct rte_vhost_vring vr;
		uint16_t vring;
		int vid;

		if (net_port_is_uplink(p)) {
			/* A link that is down is checked on the timer too. */
			if (p->eth_rx_fd >= 0 && atomic_load(&p->ready)) {
				pfds[n++] = (struct pollfd){
					.fd = p->eth_rx_fd, .events = POLLIN };
			} else {
				/* No interrupt: look again after a nap. */
				nap_ns = RTE_MIN(nap_ns, (uint64_t)
					f->be->opts->uplink_poll_us * 1000);
			}
			continue;
		}
		if (!item_vring(f, i, true, &vid, &vring) ||
		    rte_vhost_get_vhost_vring(vid, vring, &vr))
			continue;
		if (vr.kickfd < 0) {
			/* A frontend that never kicks (no kick fd given):
			 * nap instead of sleeping until a kick. */
			nap_ns = RTE_MIN(nap_ns, (uint64_t)1000000);
			continue;
		}
		pfds[n++] = (struct pollfd){ .fd = vr.kickfd, .events = POLLIN };
	}
	net_round_end(w);

	nap.tv_sec = (time_t)(nap_ns / 1000000000ull);
	nap.tv_nsec = (long)(nap_ns % 1000000000ull);
	if (ppoll(pfds, n, nap_ns != UINT64_MAX ? &nap : NULL, NULL) < 0 &&
	    errno != EINTR)
		log_warn(TAG, "poll: %s", strerror(errno));
	if (read(w->wake_fd, &v, sizeof(v)) < 0) {
	}

	/* Drain only kick fds that still belong to a connected port. */
	net_round_begin(w);
	for (unsigned i = 0; i < f->nitems; i++) {
		struct net_port *p = &f->be->ports[f->items[i].port];
		struct rte_vhost_vring vr;
		uint16_t vring;
		int vid;

		if (net_port_is_uplink(p)) {
			/* An unarmed fd is the queue: the burst reads it. */
			if (p->eth_rx_armed)
				drain(p->eth_rx_fd);
			continue;
		}
		if (item_vring(f, i, false, &vid, &vring) &&
		    !rte_vhost_get_vhost_vring(vid, vring, &vr) &&
		    vr.kickfd >= 0)
			drain(vr.kickfd);
	}
	net_round_end(w);
}
