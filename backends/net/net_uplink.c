/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Uplinks: any DPDK ethdev, named by its devargs, as a port of the switch
 * or of a cross-connect pair. One queue pair on the backend's mbuf pool.
 * Everything that may need a privilege (probe, configure, start) happens
 * here, before main() drops the last capabilities and seccomp starts; the
 * forwarding loop only bursts and (for drivers with rx interrupts) arms
 * the interrupt.
 */
#include "net_backend_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "log.h"
#include "net_uplink_args.h"

static int uplink_err(int ret)
{
	if (ret < 0)
		return ret;
	return rte_errno > 0 ? -rte_errno : -EIO;
}

/* PCI devices are probed by the EAL (-a); virtual ones here. */
static int uplink_probe(struct net_port *p)
{
	char name[NET_DEVARGS_MAX];
	uint16_t pid;
	int r;

	r = net_uplink_devname(p->cfg.devargs, name, sizeof(name));
	if (r)
		return r;
	if (rte_eth_dev_get_port_by_name(name, &pid)) {
		r = rte_dev_probe(p->cfg.devargs);
		if (r < 0) {
			/* DPDK 22.11 says EFAULT when no driver takes it. */
			bool no_driver = r == -EFAULT || r == -ENOENT ||
					 r == -ENOTSUP;

			log_err(p->tag, "cannot probe %s: %s%s", p->cfg.devargs,
				strerror(-r), no_driver ? " (no such driver "
				"installed? Debian: librte-net-<driver>23)" : "");
			return r;
		}
		p->eth_probed = true;
		if (rte_eth_dev_get_port_by_name(name, &pid)) {
			log_err(p->tag, "%s: no ethdev named %s after the probe",
				p->cfg.devargs, name);
			return -ENODEV;
		}
	}
	p->eth_port = pid;
	return 0;
}

static int uplink_setup(struct net_backend *be, struct net_port *p,
			bool rx_intr)
{
	struct rte_eth_conf conf;
	uint16_t nb_rxd = NET_UPLINK_DESC, nb_txd = NET_UPLINK_DESC;
	uint16_t pid = p->eth_port;
	int socket = rte_eth_dev_socket_id(pid);
	int r;

	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = p->eth_tx_offloads;
	conf.intr_conf.rxq = rx_intr;
	r = rte_eth_dev_configure(pid, 1, 1, &conf);
	if (r)
		return uplink_err(r);
	r = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	if (r)
		return uplink_err(r);
	if (nb_rxd + nb_txd > 2 * NET_UPLINK_DESC) {
		log_err(p->tag, "driver wants %u+%u descriptors, more than "
			"the pool holds for it", nb_rxd, nb_txd);
		return -ENOBUFS;
	}
	if (socket < 0)
		socket = SOCKET_ID_ANY;
	r = rte_eth_rx_queue_setup(pid, 0, nb_rxd, (unsigned)socket, NULL,
				   be->pool);
	if (!r)
		r = rte_eth_tx_queue_setup(pid, 0, nb_txd, (unsigned)socket,
					   NULL);
	if (r)
		return uplink_err(r);
	/* Frames for the stations behind the switch, not just its MAC. */
	r = rte_eth_promiscuous_enable(pid);
	if (r && r != -ENOTSUP)
		log_warn(p->tag, "cannot enable promiscuous mode: %s (frames "
			 "for other MACs may not arrive)", strerror(-r));
	r = rte_eth_dev_start(pid);
	if (r)
		return uplink_err(r);
	p->eth_started = true;
	return 0;
}

/*
 * An rx interrupt the loop can sleep on, if the driver has one: an
 * eventfd armed with rte_eth_dev_rx_intr_enable, or (tap, which cannot
 * arm one) the queue's own fd, readable while a frame waits in it.
 */
static void uplink_find_rx_fd(struct net_port *p)
{
	enum net_uplink_type t = net_uplink_type_of(p->cfg.devargs);
	int fd, r;

	p->eth_rx_fd = -1;
	/* memif has none in DPDK 22.11 (asking only logs an error). */
	if (t == NET_UPLINK_MEMIF)
		return;
	fd = rte_eth_dev_rx_intr_ctl_q_get_fd(p->eth_port, 0);
	if (fd < 0)
		return;
	r = rte_eth_dev_rx_intr_enable(p->eth_port, 0);
	if (r == 0 && rte_eth_dev_rx_intr_disable(p->eth_port, 0) == 0) {
		p->eth_rx_fd = fd;
		p->eth_rx_armed = true;
	} else if (r == -ENOTSUP && t == NET_UPLINK_TAP) {
		p->eth_rx_fd = fd;
		p->eth_rx_armed = false;
	}
}

/*
 * The TX offloads to use: the frames' checksum and TSO requests go to the
 * driver as they are when it has them all (TCP and UDP checksums, and
 * TSO, which needs chained mbufs too); what it lacks is completed in
 * software. No RX offload is enabled: librte_vhost 22.11 cannot pass a
 * verified checksum (DATA_VALID) or an LRO frame on to a frontend.
 */
static void uplink_offloads(struct net_port *p,
			    const struct rte_eth_dev_info *info)
{
	const uint64_t csum = RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
			      RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	/* DPDK's TSO contract: the driver also fills each IPv4 segment's
	 * header checksum (RTE_MBUF_F_TX_IP_CKSUM). */
	const uint64_t tso = RTE_ETH_TX_OFFLOAD_TCP_TSO |
			     RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
			     RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	uint64_t capa = info->tx_offload_capa;

	p->eth_tx_offloads = 0;
	p->ol_caps = 0;
	if (p->cfg.no_offload || (capa & csum) != csum)
		return;
	p->eth_tx_offloads = csum;
	p->ol_caps = NET_OL_CSUM;
	if ((capa & tso) == tso) {
		p->eth_tx_offloads |= tso;
		p->ol_caps |= NET_OL_TSO4;
		/* net_tap segments with librte_gso, which has no TCP/IPv6. */
		if (strcmp(info->driver_name, "net_tap"))
			p->ol_caps |= NET_OL_TSO6;
	}
}

int net_uplink_open(struct net_backend *be, struct net_port *p)
{
	enum net_uplink_type t = net_uplink_type_of(p->cfg.devargs);
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	char vlan[80];
	int r;

	p->eth_rx_fd = -1;
	/* memif and ring keep the link state in memory; other drivers may
	 * ask the kernel (ioctl, netlink), which the sandbox refuses. */
	p->eth_link_known = t == NET_UPLINK_MEMIF || t == NET_UPLINK_RING;
	p->eth_reconnect = net_uplink_memif_client(p->cfg.devargs);
	r = uplink_probe(p);
	if (r)
		return r;
	r = rte_eth_dev_info_get(p->eth_port, &info);
	if (r) {
		log_err(p->tag, "%s: no device info: %s", p->cfg.devargs,
			strerror(-r));
		return r;
	}
	uplink_offloads(p, &info);
	/*
	 * Ask for rx interrupts; a driver that cannot give them may refuse
	 * the configuration or the start: then without, polled on a timer.
	 */
	r = uplink_setup(be, p, true);
	if (r) {
		log_debug(p->tag, "without rx interrupts (%s)", strerror(-r));
		if (p->eth_started && rte_eth_dev_stop(p->eth_port))
			log_debug(p->tag, "stop failed");
		p->eth_started = false;
		r = uplink_setup(be, p, false);
	}
	if (r && p->eth_reconnect && rte_eth_dev_is_valid_port(p->eth_port)) {
		/* Its server is not there yet: the forwarder retries. */
		log_warn(p->tag, "memif server of %s not reachable (%s): "
			 "retrying every second", p->cfg.devargs, strerror(-r));
		r = 0;
	}
	if (r) {
		log_err(p->tag, "cannot start %s (driver %s): %s",
			p->cfg.devargs, info.driver_name, strerror(-r));
		return r;
	}
	if (p->eth_started)
		uplink_find_rx_fd(p);
	if (rte_eth_macaddr_get(p->eth_port, &mac))
		memset(&mac, 0, sizeof(mac));
	(void)net_vlan_describe(&p->cfg.vlan, vlan, sizeof(vlan));
	log_info(p->tag, "uplink %s: ethdev %u, driver %s, MAC "
		 RTE_ETHER_ADDR_PRT_FMT ", offloads:%s%s%s, %s%s%s",
		 p->cfg.devargs,
		 p->eth_port, info.driver_name, RTE_ETHER_ADDR_BYTES(&mac),
		 p->ol_caps ? "" : " none (software)",
		 p->ol_caps & NET_OL_CSUM ? " checksum" : "",
		 p->ol_caps & NET_OL_TSO4 ? (p->ol_caps & NET_OL_TSO6 ?
					    " TSO" : " TSO (IPv4)") : "",
		 p->eth_rx_fd < 0 ? "polled on a timer when idle" :
		 p->eth_rx_armed ? "rx interrupt when idle" :
		 "its queue fd wakes splitvm-net when idle",
		 vlan[0] ? ", " : "", vlan);
	atomic_store(&p->vring_enabled[NET_VRING_RX], true);
	atomic_store(&p->vring_enabled[NET_VRING_TX], true);
	/* With a readable link, ready waits for the first link check. */
	atomic_store(&p->ready, !p->eth_link_known);
	return 0;
}

void net_uplink_close(struct net_port *p)
{
	atomic_store(&p->ready, false);
	if (!p->eth_started && !p->eth_probed)
		return;
	/*
	 * Under seccomp only memif and ring tear down within the list
	 * (memif: a disconnect message, munmap, close, unlink of its
	 * server socket). tap and af_packet would take their interface
	 * down with ioctl(); their fds close at exit and the kernel
	 * removes what they created.
	 */
	if (!net_uplink_teardown_sandboxed(p->cfg.devargs)) {
		log_debug(p->tag, "left to process exit");
		return;
	}
	if (p->eth_started && rte_eth_dev_stop(p->eth_port))
		log_warn(p->tag, "cannot stop the uplink");
	p->eth_started = false;
	if (rte_eth_dev_close(p->eth_port))
		log_warn(p->tag, "cannot close the uplink");
	p->eth_probed = false;
}

uint16_t net_uplink_rx(struct net_port *p, struct rte_mbuf **pkts,
		       uint16_t n)
{
	return rte_eth_rx_burst(p->eth_port, 0, pkts, n);
}

uint16_t net_uplink_tx(struct net_port *p, struct rte_mbuf **pkts,
		       uint16_t n)
{
	uint16_t sent;

	/* Every segment: a driver frees a chain segment by segment. */
	for (uint16_t i = 0; i < n; i++)
		for (struct rte_mbuf *s = pkts[i]; s; s = s->next)
			rte_mbuf_refcnt_update(s, 1);
	/* Offload requests as the driver wants them (pseudo-header sums). */
	sent = p->eth_tx_offloads ? rte_eth_tx_prepare(p->eth_port, 0, pkts, n)
				  : n;
	sent = rte_eth_tx_burst(p->eth_port, 0, pkts, sent);
	for (uint16_t i = sent; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	return sent;
}

bool net_uplink_maintain(struct net_port *p, uint64_t now_ns)
{
	struct rte_eth_link link;
	bool was_up = atomic_load(&p->ready);
	bool up;

	if (!p->eth_link_known || now_ns < p->eth_next_check)
		return false;
	p->eth_next_check = now_ns + 1000000000ull;
	memset(&link, 0, sizeof(link));
	up = p->eth_started && !rte_eth_link_get_nowait(p->eth_port, &link) &&
	     link.link_status == RTE_ETH_LINK_UP;
	atomic_store(&p->ready, up);
	if (up != was_up)
		log_info(p->tag, "link %s", up ? "up" : "down");
	p->eth_down_checks = up ? 0 : p->eth_down_checks + 1;
	/*
	 * A memif client connects once, when started; after a failed
	 * handshake or when its server went away it stays down. Down for
	 * two checks in a row (not just handshaking): stop, which drops
	 * what is left of the connection, and start again.
	 */
	if (p->eth_reconnect && p->eth_down_checks >= 2) {
		p->eth_down_checks = 0;
		if (p->eth_started && rte_eth_dev_stop(p->eth_port))
			log_debug(p->tag, "stop failed");
		p->eth_started = !rte_eth_dev_start(p->eth_port);
		log_debug(p->tag, "reconnect: %s", p->eth_started ?
			  "started" : "start failed");
	}
	return was_up && !up;
}

void net_uplink_notify(struct net_port *p, bool on)
{
	if (!p->eth_rx_armed)
		return;
	if (on)
		(void)rte_eth_dev_rx_intr_enable(p->eth_port, 0);
	else
		(void)rte_eth_dev_rx_intr_disable(p->eth_port, 0);
}
