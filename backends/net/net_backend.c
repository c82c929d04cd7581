/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * EAL start-up and the control side of the vhost-user ports: registration
 * with librte_vhost, its device callbacks and message hooks, which run on
 * librte_vhost's own event thread while the workers forward (net_fwd.c).
 * What --control adds and removes is in net_backend_ctl.c.
 */
#include "net_backend_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include "be_huge.h"
#include "be_sandbox.h"
#include "log.h"
#include "net_msg.h"
#include "net_uplink_args.h"

#define TAG "net"

/*
 * librte_vhost hands the hooks its message context, which starts with the
 * message buffer (header and the largest payload): at least this much.
 */
#define NET_MSG_MIN_CONTEXT 256

/*
 * librte_vhost's callbacks carry only a vid: the one backend of this
 * process is found through this pointer, set while ports are registered.
 */
static struct net_backend *net_active;

/* rte_* calls report failure as -1 with rte_errno (or nothing): an errno. */
static int net_rte_err(int fallback)
{
	return rte_errno > 0 ? -rte_errno : -fallback;
}

/*
 * Huge pages for the DPDK memory? Under auto only when the whole of
 * --memory is free in pools a hugetlbfs is mounted for (EAL cannot fall
 * back once it started: rte_eal_init runs once).
 */
static int eal_want_huge(const struct net_options *o, bool *huge)
{
	uint64_t need = (uint64_t)o->memory_mb << 20, avail = 0;
	int r;

	*huge = false;
	if (o->hugepages == NET_HUGE_OFF)
		return 0;
	r = be_huge_free_here(&avail);
	if (r)
		log_debug("eal", "/proc/mounts: %s", strerror(-r));
	if (avail >= need) {
		*huge = true;
		log_info("eal", "DPDK memory: %u MB of huge pages (%" PRIu64
			 " MB free)", o->memory_mb, avail >> 20);
		return 0;
	}
	if (o->hugepages == NET_HUGE_ON) {
		log_err("eal", "--hugepages on: %" PRIu64 " MB of huge pages free "
			"in pools a hugetlbfs is mounted for, %u MB needed "
			"(--memory)", avail >> 20, o->memory_mb);
		return -ENOMEM;
	}
	log_info("eal", "DPDK memory: %u MB of anonymous memory (%" PRIu64
		 " MB of huge pages free, %u MB needed)", o->memory_mb,
		 avail >> 20, o->memory_mb);
	return 0;
}

int net_eal_start(const struct net_options *o)
{
	struct net_eal_args args;
	char cpus[256];
	cpu_set_t set;
	bool huge;
	int r;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	r = net_cpuset_format(&set, cpus, sizeof(cpus));
	if (r)
		return r;
	r = eal_want_huge(o, &huge);
	if (r)
		return r;
	r = net_eal_args_build(o, getpid(), cpus, huge, &args);
	if (r) {
		log_err("eal", "EAL arguments: %s (too many PCI uplinks?)",
			strerror(-r));
		return r;
	}
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		for (int i = 1; i < args.argc; i++)
			log_debug("eal", "arg %s", args.argv[i]);
	}
	/* rte_eal_init permutes argv: args is ours and stays alive. */
	r = rte_eal_init(args.argc, args.argv);
	if (r < 0) {
		r = net_rte_err(EINVAL);
		log_err("eal", "rte_eal_init: %s", strerror(-r));
		return r;
	}
	/*
	 * EAL's default log stream copies every line to syslog(), whose
	 * first call reads /etc/localtime: under the seccomp filter the
	 * first DPDK error line (a refused vhost-user message) would kill
	 * the process.
	 */
	if (rte_openlog_stream(stderr) < 0)
		log_warn("eal", "DPDK's log still goes to syslog");
	/*
	 * With --no-shconf EAL keeps nothing in its runtime directory (no
	 * config file, no IPC socket): removed now, a splitvm-net killed
	 * with SIGKILL leaves nothing behind (as splitvm-blk).
	 */
	if (rmdir(rte_eal_get_runtime_dir()) && errno != ENOENT)
		log_debug("eal", "rmdir %s: %s", rte_eal_get_runtime_dir(),
			  strerror(errno));
	return 0;
}

void net_eal_stop(const struct net_options *o)
{
	bool cleanup = true;

	/*
	 * rte_eal_cleanup() unmaps the EAL's memory (rte_eal_memory_detach)
	 * without stopping its interrupt thread (DPDK 22.11), which rebuilds
	 * its epoll set from its sources' handles each time it is woken. A
	 * memif server never unregisters its listening socket's source
	 * (memif_socket_remove_device frees the socket, not the source),
	 * whose handle copy lives in that memory, and closing the uplink
	 * wakes the thread (the connection's source goes): when the thread
	 * runs late, after the unmap, splitvm-net dies with SIGSEGV (about
	 * one SIGTERM in six, in rte_intr_fd_get on eal-intr-thread). A
	 * memif client's connection source can outlive its close too, when
	 * the thread is handling a message then (freed by it later). So the
	 * EAL is cleaned up only when every uplink's driver leaves nothing
	 * with that thread; otherwise, as for an uplink net_uplink_close
	 * left open (its removal is refused by the sandbox), it is left to
	 * the process exit: with --no-huge and --no-shconf nothing of it
	 * outlives the process (its runtime directory went at start).
	 */
	for (unsigned i = 0; i < o->nports; i++)
		if (o->ports[i].kind == NET_PORT_UPLINK &&
		    !net_uplink_eal_cleanup_safe(o->ports[i].devargs))
			cleanup = false;
	if (cleanup)
		rte_eal_cleanup();
}

static struct net_port *port_by_vid(struct net_backend *be, int vid)
{
	struct net_port *found = NULL;
	char path[PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)))
		return NULL;
	/* --control adds and removes ports while this runs. */
	pthread_mutex_lock(&be->ports_lock);
	for (unsigned i = 0; i < be->nports && !found; i++)
		if (be->ports[i].registered &&
		    !net_port_is_uplink(&be->ports[i]) &&
		    !strcmp(be->ports[i].cfg.path, path))
			found = &be->ports[i];
	pthread_mutex_unlock(&be->ports_lock);
	return found;
}

static void port_event(struct net_backend *be)
{
	atomic_fetch_add(&be->port_events, 1);
	net_fwd_wake(be);
}

/* Wait until no worker can still be using a port it saw ready. */
static void wait_quiescent(struct net_backend *be)
{
	for (unsigned i = 0; i < be->nworkers; i++) {
		struct net_worker *w = &be->workers[i];
		uint64_t gen = atomic_load(&w->round_gen);

		while (atomic_load(&w->in_round) &&
		       atomic_load(&w->round_gen) == gen) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		}
	}
}

/*
 * Before every vhost-user message (msg: its wire form, header then
 * payload). The guard must not read rings or guest memory a message is
 * changing: its locks are held from here to after the handler (post is
 * skipped when a handler fails: the locks are then kept until the next
 * message's post, and the guard waits). And librte_vhost 22.11 answers
 * GET_QUEUE_NUM with 128 whatever is served: the port's --queues instead.
 */
static enum rte_vhost_msg_result net_msg_pre(int vid, void *msg)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;

	if (!p)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	if (!p->guard_held) {
		for (unsigned v = 0; v < NET_MAX_VRINGS; v++)
			rte_spinlock_lock(&p->guard_lock[v]);
		p->guard_held = true;
	}
	/* msg leads librte_vhost's message context: header and payload. */
	return net_msg_answer_queue_num(msg, NET_MSG_MIN_CONTEXT, p->nq) ?
	       RTE_VHOST_MSG_RESULT_REPLY : RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static enum rte_vhost_msg_result net_msg_post(int vid, void *msg)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;
	struct rte_vhost_memory *mem = NULL;

	(void)msg;
	if (!p || !p->guard_held)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	/* The message may have brought a new memory table. */
	if (atomic_load(&p->vid) == vid && !rte_vhost_get_mem_table(vid, &mem)) {
		free(p->mem);
		p->mem = mem;
	}
	p->guard_held = false;
	for (unsigned v = 0; v < NET_MAX_VRINGS; v++)
		rte_spinlock_unlock(&p->guard_lock[v]);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops net_extern_ops = {
	.pre_msg_handle = net_msg_pre,
	.post_msg_handle = net_msg_post,
};

/* A frontend connected: watch its messages from the first one on. */
static int net_new_connection(int vid)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;

	if (!p) {
		log_err(TAG, "connection %d on an unknown socket", vid);
		return -1;
	}
	if (rte_vhost_extern_callback_register(vid, &net_extern_ops, NULL)) {
		log_err(p->tag, "cannot watch the vhost-user messages");
		return -1;
	}
	return 0;
}

static int net_new_device(int vid)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;
	uint64_t features = 0;

	if (!p) {
		log_err(TAG, "new device %d on an unknown socket", vid);
		return -1;
	}
	if (rte_vhost_get_negotiated_features(vid, &features))
		log_warn(p->tag, "cannot read the negotiated features");
	/* The guard checks chains against this copy of the table (the
	 * message hooks refresh it after every message). */
	free(p->mem);
	p->mem = NULL;
	if (rte_vhost_get_mem_table(vid, &p->mem)) {
		log_err(p->tag, "cannot read the guest memory table");
		return -1;
	}
	if (getenv(BE_SANDBOX_PROBE_ENV) && p->mem->nregions)
		be_sandbox_probe_memfd(p->mem->regions[0].fd);
	p->packed = features & (1ull << VIRTIO_F_RING_PACKED);
	p->mergeable = features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	/* What its receive side takes as it is (GUEST_TSO needs the
	 * checksum too, the spec says). */
	p->ol_caps = 0;
	if (features & (1ull << VIRTIO_NET_F_GUEST_CSUM)) {
		p->ol_caps = NET_OL_CSUM;
		if (features & (1ull << VIRTIO_NET_F_GUEST_TSO4))
			p->ol_caps |= NET_OL_TSO4;
		if (features & (1ull << VIRTIO_NET_F_GUEST_TSO6))
			p->ol_caps |= NET_OL_TSO6;
	}
	p->hdr_len = (features & (1ull << VIRTIO_F_VERSION_1 |
				  1ull << VIRTIO_NET_F_MRG_RXBUF)) ?
		     sizeof(struct virtio_net_hdr_mrg_rxbuf) :
		     sizeof(struct virtio_net_hdr);
	/*
	 * A new connection's rings start where its frontend says, not where
	 * the last one's stopped: the guard learns them afresh.  No worker
	 * looks at the port until it is ready.
	 */
	memset(p->guard, 0, sizeof(p->guard));
	/* Interrupts are the frontend's choice; kicks we suppress ourselves. */
	atomic_store(&p->vid, vid);
	atomic_store(&p->ready, true);
	log_info(p->tag, "frontend connected (features 0x%llx)",
		 (unsigned long long)features);
	port_event(be);
	return 0;
}

static void net_destroy_device(int vid)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;

	if (!p || atomic_load(&p->vid) != vid)
		return;
	atomic_store(&p->ready, false);
	wait_quiescent(be);
	/* The rings' enabled state stays librte_vhost's to report: it calls
	 * vring_state_changed whenever a ring's readiness changes, and would
	 * not repeat an enable this forgot. */
	atomic_store(&p->vid, -1);
	free(p->mem);
	p->mem = NULL;
	log_info(p->tag, "frontend gone");
	port_event(be);
}

static int net_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct net_backend *be = net_active;
	struct net_port *p = be ? port_by_vid(be, vid) : NULL;

	if (!p)
		return 0;
	if (queue_id >= 2 * p->nq) {
		/* GET_QUEUE_NUM said how many pairs there are, but a
		 * frontend that does not ask (virtio-user) may use more:
		 * those rings are not served. */
		log_warn(p->tag, "vring %u %s: only %u queue pair%s served "
			 "(--queues)", queue_id, enable ? "enabled" : "disabled",
			 p->nq, p->nq == 1 ? " is" : "s are");
		return 0;
	}
	/*
	 * No waiting for the forwarder here: librte_vhost calls this with
	 * every ring's lock held, which the forwarder's bursts try (and skip
	 * when taken) but rte_vhost_enable_guest_notification waits for.
	 * Once the message is handled the ring is disabled inside the
	 * library too, and its bursts return nothing.
	 */
	atomic_store(&p->vring_enabled[queue_id], enable != 0);
	log_debug(p->tag, "vring %u %s", queue_id,
		  enable ? "enabled" : "disabled");
	port_event(be);
	return 0;
}

static const struct rte_vhost_device_ops net_vhost_ops = {
	.new_device = net_new_device,
	.destroy_device = net_destroy_device,
	.vring_state_changed = net_vring_state_changed,
	.new_connection = net_new_connection,
};

/*
 * Checksum and TCP segmentation offloads are offered (unless offload=off)
 * and completed in software for a destination without them (net_fixup.c);
 * ECN and UFO are not. The control queue is the frontend's own (QEMU
 * and virtio-user run it); only MQ needs it, and only the queue-pair
 * command is of use to splitvm-net, so RX mode and announce stay off.
 */
static const uint64_t net_disabled_features =
	1ull << VIRTIO_NET_F_GUEST_ECN | 1ull << VIRTIO_NET_F_GUEST_UFO |
	1ull << VIRTIO_NET_F_HOST_ECN | 1ull << VIRTIO_NET_F_HOST_UFO |
	1ull << VIRTIO_NET_F_CTRL_RX | 1ull << VIRTIO_NET_F_GUEST_ANNOUNCE;
static const uint64_t net_offload_features =
	1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
	1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6 |
	1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6;
/* One queue pair: no MQ, and no control queue either. */
static const uint64_t net_single_queue_features =
	1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_MQ;

/*
 * --fd: a listening unix socket handed over by a manager. librte_vhost
 * binds its own socket by path, so take the path over: unlink it, close
 * the inherited socket, let librte_vhost bind a fresh one there.
 */
static int port_adopt_fd(struct net_port *p)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int listening = 0, type = 0;
	socklen_t olen = sizeof(listening);
	int fd = p->cfg.listen_fd;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len)) {
		int r = -errno;

		log_err(p->tag, "--fd %d: %s", fd, strerror(-r));
		return r;
	}
	if (sun.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un,
							 sun_path) ||
	    sun.sun_path[0] == '\0') {
		log_err(p->tag, "--fd %d: not a unix socket bound to a path", fd);
		return -EINVAL;
	}
	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) ||
	    type != SOCK_STREAM) {
		log_err(p->tag, "--fd %d: not a stream socket", fd);
		return -EINVAL;
	}
	olen = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) ||
	    !listening) {
		log_err(p->tag, "--fd %d: not a listening socket", fd);
		return -EINVAL;
	}
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	snprintf(p->cfg.path, sizeof(p->cfg.path), "%s", sun.sun_path);
	if (unlink(p->cfg.path) && errno != ENOENT) {
		int r = -errno;

		log_err(p->tag, "--fd %d: unlink %s: %s", fd, p->cfg.path,
			strerror(-r));
		return r;
	}
	close(fd);
	p->cfg.listen_fd = -1;
	return 0;
}

/*
 * A server socket left behind by a process that died is removed; a socket
 * someone still listens on, or any other file, is not.
 */
static int port_clear_stale_socket(struct net_port *p)
{
	int r = net_clear_stale_socket(p->cfg.path);

	if (r == -EEXIST)
		log_err(p->tag, "%s exists and is not a socket", p->cfg.path);
	else if (r == -EADDRINUSE)
		log_err(p->tag, "%s: another process listens there", p->cfg.path);
	return r;
}

void net_port_reset(struct net_port *p)
{
	for (unsigned q = 0; q < NET_MAX_QUEUES; q++)
		rte_spinlock_init(&p->rx_lock[q]);
	for (unsigned v = 0; v < NET_MAX_VRINGS; v++) {
		rte_spinlock_init(&p->guard_lock[v]);
		atomic_store(&p->vring_enabled[v], false);
	}
	memset(p->guard, 0, sizeof(p->guard));
	p->guard_held = false;
}

int net_port_register(struct net_port *p, bool fresh)
{
	char vlan[80];
	/*
	 * Legacy offload flags: the dequeue turns a virtio-net header into
	 * the TX flags the enqueue (and an uplink's driver) reads back, so a
	 * frame passes to an offload destination untouched (net_fixup.c).
	 */
	uint64_t flags = 0;
	const char *path = p->cfg.path;
	int r;

	if (fresh) {
		/* nothing left there: net_ctl_add() unlinked it */
	} else if (p->cfg.listen_fd >= 0) {
		r = port_adopt_fd(p);
		if (r)
			return r;
	} else if (!p->cfg.client) {
		r = port_clear_stale_socket(p);
		if (r)
			return r;
	}
	/* Client ports reconnect by default (no RTE_VHOST_USER_NO_RECONNECT). */
	if (p->cfg.client)
		flags |= RTE_VHOST_USER_CLIENT;
	if (rte_vhost_driver_register(path, flags)) {
		log_err(p->tag, "cannot register %s", path);
		return -EINVAL;
	}
	pthread_mutex_lock(&p->be->ports_lock);
	p->registered = true;
	pthread_mutex_unlock(&p->be->ports_lock);
	if (rte_vhost_driver_disable_features(path, net_disabled_features |
			(p->nq > 1 ? 0 : net_single_queue_features) |
			(p->cfg.no_offload ? net_offload_features : 0)) ||
	    rte_vhost_driver_callback_register(path, &net_vhost_ops)) {
		log_err(p->tag, "cannot configure %s", path);
		return -EINVAL;
	}
	if (rte_vhost_driver_start(path)) {
		/* Server: bind/listen failed (librte_vhost logged why). */
		log_err(p->tag, "cannot %s %s", p->cfg.client ? "connect to" :
			"listen on", path);
		return -EADDRNOTAVAIL;
	}
	(void)net_vlan_describe(&p->cfg.vlan, vlan, sizeof(vlan));
	log_info(p->tag, "%s %s%s%s", p->cfg.client ?
		 "connecting (and reconnecting) to" : "listening on", path,
		 vlan[0] ? ", " : "", vlan);
	return 0;
}

/* The forwarding threads: worker 0 on the main lcore, then the others. */
static int workers_create(struct net_backend *be)
{
	unsigned lcore = rte_get_main_lcore(), want = be->opts->threads;

	if (!want)
		want = 1;
	if (rte_lcore_count() < want) {
		log_err(TAG, "%u forwarding threads, but DPDK has %u lcores",
			want, rte_lcore_count());
		return -EINVAL;
	}
	be->shared_rx = want > 1;
	for (unsigned i = 0; i < want; i++) {
		struct net_worker *w = &be->workers[i];

		if (i)
			lcore = rte_get_next_lcore(lcore, 1, 0);
		w->be = be;
		w->id = i;
		w->lcore = lcore;
		w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		be->nworkers = i + 1;
		if (w->wake_fd < 0)
			return -errno;
		w->stats = calloc((size_t)be->nports * NET_MAX_QUEUES,
				  sizeof(*w->stats));
		if (!w->stats)
			return -ENOMEM;
	}
	/* Dealing the queue pairs out needs the number of workers. */
	for (unsigned i = 0; i < want; i++) {
		int r = net_fwd_create(&be->workers[i]);

		if (r)
			return r;
	}
	return 0;
}

static void workers_destroy(struct net_backend *be)
{
	for (unsigned i = 0; i < be->nworkers; i++) {
		struct net_worker *w = &be->workers[i];

		net_fwd_destroy(w);
		free(w->stats);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
	}
	be->nworkers = 0;
}

int net_backend_create(const struct net_options *o, struct net_backend **out)
{
	struct net_backend *be;
	unsigned nb_mbufs;
	int r;

	if (net_active)
		return -EBUSY;
	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->opts = o;
	be->mac_age_ns = (uint64_t)o->mac_age_s * 1000000000ull;
	rte_spinlock_init(&be->sw_lock);
	r = net_switch_create(o->mac_table_size, be->mac_age_ns, &be->sw);
	if (r)
		goto err;
	/* Frames live in an mbuf only between a dequeue and the enqueues that
	 * copy them out: a burst per port and per worker, plus the per-lcore
	 * caches (a 64 KiB TSO frame takes 32 mbufs), and per worker the
	 * frames it completes in software (NET_FIX_POOL); an uplink's driver
	 * also holds mbufs in its rx and tx rings (and a TSO frame sent to it
	 * until the driver is done with it). */
	nb_mbufs = 2048 + (o->control_path[0] ? NET_SWITCH_MAX_PORTS :
			   o->nports) * NET_BURST * 2 +
		   o->threads * (128 + NET_BURST * 32 + NET_FIX_POOL);
	for (unsigned i = 0; i < o->nports; i++)
		if (o->ports[i].kind == NET_PORT_UPLINK)
			nb_mbufs += NET_UPLINK_MBUFS;
	/* A flooded frame re-tagged for some ports is copied once: up to a
	 * burst of copies per worker, as long as the frames. */
	if (o->control_path[0] || net_options_have_vlans(o))
		nb_mbufs += o->threads * NET_BURST * 32;
	be->pool = rte_pktmbuf_pool_create("splitvm-net", nb_mbufs, 128, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   rte_socket_id());
	if (!be->pool) {
		r = net_rte_err(ENOMEM);
		log_err(TAG, "mbuf pool of %u: %s", nb_mbufs, strerror(-r));
		goto err;
	}
	pthread_mutex_init(&be->ports_lock, NULL);
	/* With --control every slot exists; the unused ones are never ready. */
	be->nports = o->control_path[0] ? NET_SWITCH_MAX_PORTS : o->nports;
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];

		if (i < o->nports)
			p->cfg = o->ports[i];
		p->be = be;
		p->index = (uint16_t)i;
		p->eth_rx_fd = -1;
		/* A slot for --control gets --queues pairs. */
		p->nq = (uint16_t)(i < o->nports ? p->cfg.queues : o->queues);
		if (!p->nq)
			p->nq = 1;
		net_port_reset(p);
		atomic_init(&p->vid, -1);
		snprintf(p->tag, sizeof(p->tag), "%s", p->cfg.name);
	}
	r = workers_create(be);
	if (r)
		goto err;
	net_active = be;
	/* Uplinks first: they may need the capabilities main() still holds,
	 * and librte_vhost's threads need not inherit them meanwhile.  An
	 * open uplink holds its slot as a registered port does. */
	for (unsigned i = 0; i < o->nports; i++) {
		if (!net_port_is_uplink(&be->ports[i]))
			continue;
		r = net_uplink_open(be, &be->ports[i]);
		if (r)
			goto err;
		be->ports[i].registered = true;
	}
	for (unsigned i = 0; i < o->nports; i++) {
		if (net_port_is_uplink(&be->ports[i]))
			continue;
		r = net_port_register(&be->ports[i], false);
		if (r)
			goto err;
	}
	*out = be;
	return 0;
err:
	net_backend_destroy(be);
	return r;
}

void net_backend_destroy(struct net_backend *be)
{
	if (!be)
		return;
	for (unsigned i = 0; i < be->nports; i++) {
		struct net_port *p = &be->ports[i];

		if (net_port_is_uplink(p)) {
			net_uplink_close(p);
			continue;
		}
		if (!p->registered)
			continue;
		/* Closes connections (destroy_device runs) and, for a
		 * server port, removes the socket file. */
		if (rte_vhost_driver_unregister(p->cfg.path))
			log_warn(p->tag, "cannot unregister %s", p->cfg.path);
		p->registered = false;
	}
	if (net_active == be)
		net_active = NULL;
	for (unsigned i = 0; i < be->nports; i++)
		free(be->ports[i].mem);
	pthread_mutex_destroy(&be->ports_lock);
	if (be->pool)
		rte_mempool_free(be->pool);
	net_switch_destroy(be->sw);
	workers_destroy(be);
	free(be);
}

int net_backend_print_stats(struct net_backend *be)
{
	return net_backend_write_stats(be, stdout,
				       be->opts->stats_format == NET_STATS_JSON);
}

int net_backend_write_stats(struct net_backend *be, FILE *f, bool json)
{
	struct net_port_report ports[NET_SWITCH_MAX_PORTS];
	struct net_queue_stats *sum;
	struct timespec ts;
	struct net_report rep = {
		.mode = be->opts->mode == NET_MODE_XCONNECT ? "xconnect"
							    : "switch",
		.nports = be->nports,
		.ports = ports,
		.tsc_hz = rte_get_tsc_hz(),
	};
	int r;

	/* Each worker counts what it did; a queue's numbers are the sum. */
	sum = calloc((size_t)be->nports * NET_MAX_QUEUES, sizeof(*sum));
	if (!sum)
		return -ENOMEM;
	for (unsigned i = 0; i < be->nworkers; i++) {
		struct net_worker *w = &be->workers[i];

		rep.fwd_frames += w->fwd_frames;
		rep.fwd_busy_cycles += w->fwd_busy_cycles;
		for (unsigned k = 0; k < be->nports * NET_MAX_QUEUES; k++) {
			const struct net_queue_stats *a = &w->stats[k];
			struct net_queue_stats *t = &sum[k];

			t->rx_frames += a->rx_frames;
			t->rx_bytes += a->rx_bytes;
			t->tx_frames += a->tx_frames;
			t->tx_bytes += a->tx_bytes;
			t->flooded += a->flooded;
			t->sw_offload += a->sw_offload;
			t->direct += a->direct;
			for (unsigned d = 0; d < NET_DROP_COUNT; d++)
				t->drops[d] += a->drops[d];
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	rte_spinlock_lock(&be->sw_lock);
	rep.mac_entries = net_switch_count(be->sw,
		(uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	rte_spinlock_unlock(&be->sw_lock);
	rep.nports = 0;
	/* Names and slots in use: --control changes them under the lock. */
	pthread_mutex_lock(&be->ports_lock);
	for (unsigned i = 0; i < be->nports; i++) {
		const struct net_port *p = &be->ports[i];

		/* --control: only the slots in use. */
		if (be->opts->control_path[0] && !p->registered)
			continue;
		ports[rep.nports++] = (struct net_port_report){
			.name = p->cfg.name,
			.path = p->cfg.path,
			.devargs = net_port_is_uplink(p) ? p->cfg.devargs
							 : NULL,
			.client = p->cfg.client,
			.connected = atomic_load(&p->ready),
			.vlan = &p->cfg.vlan,
			.nqueues = p->nq,
			.queues = &sum[(size_t)i * NET_MAX_QUEUES],
		};
	}
	if (json)
		r = net_report_print_json(f, &rep);
	else
		r = net_report_print_text(f, &rep);
	pthread_mutex_unlock(&be->ports_lock);
	free(sum);
	return r;
}
