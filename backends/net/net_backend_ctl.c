/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The effects of --control requests (net_ctl.c parses them): a port added
 * to a free slot, removed, listed. The slots, their queue pairs and the
 * workers that poll them all exist from the start (net_backend_create),
 * so adding a port only registers its socket: the worker dealt its queue
 * pairs starts forwarding once the frontend is ready.
 */
#include "net_backend_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_vhost.h>

#include "log.h"

static int net_ctl_add(void *ctx, const char *name, const char *path,
		       const struct net_vlan_config *vlan)
{
	struct net_backend *be = ctx;
	struct net_port *p = NULL;
	int r;

	pthread_mutex_lock(&be->ports_lock);
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *q = &be->ports[i];

		if (q->registered && !strcmp(q->cfg.name, name)) {
			pthread_mutex_unlock(&be->ports_lock);
			return -EEXIST;
		}
		if (!q->registered && !q->busy && !p)
			p = q;
	}
	if (p)
		p->busy = true;		/* ours until registered or given up */
	pthread_mutex_unlock(&be->ports_lock);
	if (!p)
		return -ENOSPC;
	memset(&p->cfg, 0, sizeof(p->cfg));
	p->cfg.listen_fd = -1;
	p->cfg.no_offload = be->opts->no_offload;
	p->cfg.vlan = *vlan;
	snprintf(p->cfg.name, sizeof(p->cfg.name), "%s", name);
	snprintf(p->cfg.path, sizeof(p->cfg.path), "%s", path);
	snprintf(p->tag, sizeof(p->tag), "%s", name);
	/*
	 * The slot keeps its queue pairs (--queues) and the workers they
	 * were dealt to at start; what the last port in it left (counters,
	 * guard state, a ring lock a failed message kept) goes.
	 */
	net_fwd_clear_stats(be, p->index);
	net_port_reset(p);
	/*
	 * The switch's directory is its own: whatever a dead predecessor
	 * left at this path goes (a path call the filter allows for that).
	 */
	if (unlink(path) && errno != ENOENT)
		log_warn(p->tag, "unlink %s: %s", path, strerror(errno));
	r = net_port_register(p, true);
	if (r && p->registered) {
		rte_vhost_driver_unregister(path);
		pthread_mutex_lock(&be->ports_lock);
		p->registered = false;
		pthread_mutex_unlock(&be->ports_lock);
	}
	pthread_mutex_lock(&be->ports_lock);
	p->busy = false;
	pthread_mutex_unlock(&be->ports_lock);
	return r;
}

static int net_ctl_count(struct net_backend *be)
{
	int n = 0;

	for (unsigned i = 0; i < be->nports; i++)
		n += be->ports[i].registered || be->ports[i].busy;
	return n;
}

static int net_ctl_remove(void *ctx, const char *name)
{
	struct net_backend *be = ctx;
	struct net_port *p = NULL;
	int left;

	pthread_mutex_lock(&be->ports_lock);
	for (unsigned i = 0; i < be->nports && !p; i++)
		if (be->ports[i].registered && !be->ports[i].busy &&
		    !net_port_is_uplink(&be->ports[i]) &&
		    !strcmp(be->ports[i].cfg.name, name))
			p = &be->ports[i];
	if (p)
		p->busy = true;
	pthread_mutex_unlock(&be->ports_lock);
	if (!p)
		return -ENOENT;
	/* Closes the connection (destroy_device waits until no worker is
	 * in a round that saw the port ready) and removes the socket. */
	if (rte_vhost_driver_unregister(p->cfg.path))
		log_warn(p->tag, "cannot unregister %s", p->cfg.path);
	log_info(p->tag, "port removed");
	pthread_mutex_lock(&be->ports_lock);
	p->registered = false;
	p->busy = false;
	left = net_ctl_count(be);
	pthread_mutex_unlock(&be->ports_lock);
	atomic_fetch_add(&be->port_events, 1);
	return left;
}

static int net_ctl_list(void *ctx, char *buf, size_t len)
{
	struct net_backend *be = ctx;
	size_t used = 0;
	int n;

	buf[0] = '\0';
	pthread_mutex_lock(&be->ports_lock);
	for (unsigned i = 0; i < be->nports; i++) {
		const struct net_port *p = &be->ports[i];
		int w;

		if (!p->registered)
			continue;
		/* Names are [A-Za-z0-9_-] (net_ctl.c) or from the command
		 * line, which the operator wrote. */
		w = snprintf(buf + used, len - used, "%s\"%s\"",
			     used ? "," : "", p->cfg.name);
		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
	}
	n = net_ctl_count(be);
	pthread_mutex_unlock(&be->ports_lock);
	return n;
}

int net_backend_ctl_prepare(struct net_backend *be, const char *control_path)
{
	char path[sizeof(be->ports[0].cfg.path)];
	int r;

	/*
	 * librte_vhost starts its event thread (pipe, thread, NUMA lookups
	 * in /sys) with the first socket: start one now, before the filter,
	 * so adding a port later needs only socket, bind and listen.  The
	 * name cannot clash: port names do not start with a dot.
	 */
	r = net_ctl_port_path(control_path, ".start", path, sizeof(path));
	if (r)
		return r;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	if (rte_vhost_driver_register(path, 0))
		return -EINVAL;
	r = rte_vhost_driver_start(path) ? -EADDRNOTAVAIL : 0;
	rte_vhost_driver_unregister(path);
	(void)be;
	return r;
}

static void net_ctl_quit(void *ctx)
{
	net_backend_request_stop(ctx);
}

static int net_ctl_stats(void *ctx, FILE *f)
{
	return net_backend_write_stats(ctx, f, true);
}

const struct net_ctl_ops net_backend_ctl_ops = {
	.add = net_ctl_add,
	.remove = net_ctl_remove,
	.list = net_ctl_list,
	.quit = net_ctl_quit,
	.stats = net_ctl_stats,
};
