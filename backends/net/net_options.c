/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net_uplink_args.h"

#define TAG "options"

const char net_options_usage[] =
"Usage: splitvm-net [OPTION]... --port PATH [--port PATH|--uplink DEVARGS]...\n"
"A vhost-user net back-end: forwards frames between its ports, as an L2\n"
"switch or as cross-connected pairs. Runs as an unprivileged user, with huge\n"
"pages when some are free (DPDK EAL --in-memory) and without otherwise\n"
"(--no-huge --no-shconf); --iova-mode=va either way.\n"
"\n"
"Ports (at least one, at most 64 with the uplinks; numbered in the order\n"
"given):\n"
"  --port PATH[,client][,name=NAME][,queues=N][,offload=off][,VLAN]\n"
"                        a vhost-user port on the unix socket PATH; without\n"
"                        'client' splitvm-net creates the socket and listens,\n"
"                        with 'client' it connects to a frontend's socket and\n"
"                        reconnects whenever that connection ends; queues:\n"
"                        queue pairs of this port (default --queues);\n"
"                        offload=off: offer this frontend no checksum or\n"
"                        TSO offload (see --offload); VLAN: see below\n"
"  --socket-path PATH    the same as --port PATH (vhost-user convention)\n"
"  --fd N                a listening unix socket bound to a path, inherited\n"
"                        as file descriptor N; splitvm-net takes over its path\n"
"  --control PATH        also listen on the unix socket PATH for one-line\n"
"                        JSON requests that add and remove ports at run time:\n"
"                        {\"op\":\"add\",\"name\":\"N\"} listens on DIR/N.sock (DIR:\n"
"                        PATH's directory), {\"op\":\"remove\",\"name\":\"N\"},\n"
"                        {\"op\":\"list\"}, {\"op\":\"quit\"} (ends splitvm-net once\n"
"                        no port is left), {\"op\":\"stats\"} (the statistics\n"
"                        as JSON); with it, --port is optional\n"
"                        (switch mode only)\n"
"  --uplink DEVARGS[,name=NAME][,offload=off][,VLAN]\n"
"                        a DPDK ethdev as a port: DEVARGS are the driver's\n"
"                        (net_memif0,socket=PATH,socket-abstract=no needs no\n"
"                        privilege; net_tap0,iface=IF needs CAP_NET_ADMIN,\n"
"                        net_af_packet0,iface=IF CAP_NET_RAW and\n"
"                        CAP_NET_ADMIN, only while it is opened; a PCI\n"
"                        address 0000:01:00.0 a NIC bound\n"
"                        to vfio-pci). Numbered with the --port ports, in\n"
"                        the order given; offload=off: use none of the\n"
"                        driver's TX offloads (see --offload)\n"
"  VLAN (switch mode; a port without is VLAN-unaware: tags pass untouched,\n"
"  and it never exchanges frames with a VLAN port):\n"
"    vlan=N              access port of VLAN N (1-4094): its frames leave\n"
"                        untagged, tagged frames from it are dropped\n"
"    trunk=LIST          frames carry 802.1Q tags; only the VLANs of LIST\n"
"                        pass (N or A-B items separated by ':', or 'all':\n"
"                        trunk=10:20:100-199)\n"
"    native=N            with trunk=: untagged frames belong to VLAN N and\n"
"                        its frames leave untagged (else untagged frames on\n"
"                        a trunk are dropped)\n"
"    e.g. --port /run/vm1.sock,vlan=10 --port /run/vm2.sock,vlan=20\n"
"         --uplink net_tap0,iface=t0,trunk=10:20,native=1\n"
"    --control's add takes \"vlan\":N, \"trunk\":\"LIST\", \"native\":N\n"
"\n";

const char net_options_usage_more[] =
"Forwarding:\n"
"  --mode switch|xconnect\n"
"                        switch (default): learn source MAC addresses, send\n"
"                        known unicast to its port, flood broadcast,\n"
"                        multicast and unknown destinations to every other\n"
"                        connected port (of the frame's VLAN); xconnect:\n"
"                        port 0<->1, 2<->3, ... with no lookup (needs an\n"
"                        even number of ports; no VLANs)\n"
"  --mac-table-size N    MAC table slots (default 4096)\n"
"  --mac-age SECONDS     forget an address not seen for this long (default 300)\n"
"  --busy-poll           poll the rings without pause (lowest latency, one\n"
"                        CPU always busy); default: poll while frames flow,\n"
"                        spin --idle-spin-us after the last one, then sleep\n"
"                        on the rings' kick eventfds\n"
"  --idle-spin-us N      (default 500)\n"
"  --offload on|off      (default on) offer vhost-user frontends checksum\n"
"                        and TSO offloads (VIRTIO_NET_F_CSUM, GUEST_CSUM,\n"
"                        HOST_TSO4/6, GUEST_TSO4/6) and use an uplink's TX\n"
"                        checksum and TSO offloads; a frame a destination\n"
"                        cannot take as it is gets its checksum computed and\n"
"                        is segmented in software for that destination. off:\n"
"                        none, every frame is complete\n"
"  --copy direct|mbuf    direct (default): a frame between two vhost ports\n"
"                        with split rings that needs no offload work, in\n"
"                        xconnect mode or to a known unicast address, is\n"
"                        copied once, from the sender's buffers straight\n"
"                        into the receiver's; every other frame, and all\n"
"                        of them with mbuf, goes through an mbuf (two\n"
"                        copies, librte_vhost's dequeue and enqueue)\n"
"  --copy-min BYTES      frames shorter than this take the mbuf path even\n"
"                        with --copy direct (default 0: every frame the\n"
"                        direct copy can take)\n"
"  --uplink-poll-us N    while sleeping, poll uplinks whose driver cannot\n"
"                        wake splitvm-net (memif, af_packet) this often\n"
"                        (default 1000)\n"
"  --queues N            queue pairs per port, 1 to 16 (default 1); more\n"
"                        than one offers VIRTIO_NET_F_MQ and the control\n"
"                        queue (the frontend runs it); a frame received on\n"
"                        queue k leaves on queue k mod (the destination's\n"
"                        enabled queues); an uplink has one\n"
"  --threads N           forwarding threads, 1 to 16 (default 1); the\n"
"                        queue pairs of all ports are dealt out to them in\n"
"                        turn, port by port (an uplink's one pair too;\n"
"                        with --control every port slot, used or not)\n"
"  --cpu N               pin the (one) forwarding thread to CPU N (default:\n"
"                        float over the CPUs splitvm-net may run on)\n"
"  --cpus LIST           one forwarding thread per CPU of LIST (\"0,2-3\"),\n"
"                        thread i pinned to the i-th CPU\n"
"  --memory MB           DPDK memory (default 256), all of it taken at start\n"
"  --hugepages auto|on|off\n"
"                        where that memory comes from: huge pages (on: an\n"
"                        error unless enough are free in a pool a hugetlbfs\n"
"                        is mounted for; no root needed), anonymous memory\n"
"                        (off), or huge pages when enough are free, else\n"
"                        anonymous memory (auto, the default)\n"
"\n";

const char net_options_usage_process[] =
"Process:\n"
"  --allow-root          run even as root (by default splitvm-net refuses:\n"
"                        start it as an unprivileged user)\n"
"  --seccomp kill|log|off\n"
"                        system call filter once the ports are up (default\n"
"                        kill; log: allowed, but logged by the kernel)\n"
"  --stats-format text|json\n"
"                        how statistics are printed to stdout on SIGUSR1 and\n"
"                        on exit (json: one object per line)\n"
"  --print-capabilities  print the vhost-user back-end capabilities as JSON\n"
"  -v, --verbose         debug messages;  -q, --quiet  errors only\n"
"  -h, --help            this text;  -V, --version\n"
"\n"
"Signals: SIGUSR1 prints statistics; SIGINT and SIGTERM print them and exit.\n"
"Exit status: 0 after SIGINT/SIGTERM or --help, 1 on a runtime error,\n"
"2 on a bad command line or when started as root without --allow-root.\n";

const char net_capabilities_json[] = "{\n  \"type\": \"net\"\n}\n";

enum {
	OPT_PORT = 256,
	OPT_SOCKET_PATH,
	OPT_FD,
	OPT_PRINT_CAPS,
	OPT_MODE,
	OPT_MAC_SIZE,
	OPT_MAC_AGE,
	OPT_BUSY_POLL,
	OPT_IDLE_SPIN,
	OPT_CPU,
	OPT_MEMORY,
	OPT_HUGEPAGES,
	OPT_ALLOW_ROOT,
	OPT_STATS_FORMAT,
	OPT_OFFLOAD,
	OPT_SECCOMP,
	OPT_CONTROL,
	OPT_UPLINK,
	OPT_UPLINK_POLL,
	OPT_QUEUES,
	OPT_THREADS,
	OPT_CPUS,
	OPT_COPY,
	OPT_COPY_MIN,
};

static const struct option net_long_options[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "socket-path", required_argument, NULL, OPT_SOCKET_PATH },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "mac-table-size", required_argument, NULL, OPT_MAC_SIZE },
	{ "mac-age", required_argument, NULL, OPT_MAC_AGE },
	{ "busy-poll", no_argument, NULL, OPT_BUSY_POLL },
	{ "idle-spin-us", required_argument, NULL, OPT_IDLE_SPIN },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "stats-format", required_argument, NULL, OPT_STATS_FORMAT },
	{ "offload", required_argument, NULL, OPT_OFFLOAD },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "uplink", required_argument, NULL, OPT_UPLINK },
	{ "uplink-poll-us", required_argument, NULL, OPT_UPLINK_POLL },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "copy", required_argument, NULL, OPT_COPY },
	{ "copy-min", required_argument, NULL, OPT_COPY_MIN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_uint(const char *opt, const char *s, unsigned long min,
		      unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!s[0] || s[0] == '-' || s[0] == '+') {
		log_err(TAG, "%s: '%s' is not a number", opt, s);
		return -EINVAL;
	}
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		log_err(TAG, "%s: '%s' is not a number from %lu to %lu", opt,
			s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * s as one of the n words (its index in *out: the arrays below are
 * indexed by their enum), or -EINVAL with "OPT: 'S' is not A, B or C".
 */
static int parse_word(const char *opt, const char *s,
		      const char *const *words, unsigned n, unsigned *out)
{
	char list[128];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (unsigned i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					!i ? "" : i + 1 < n ? ", " : " or ",
					words[i]);
	log_err(TAG, "%s: '%s' is not %s", opt, s, list);
	return -EINVAL;
}

#define PARSE_WORD(opt, s, words, out) \
	parse_word(opt, s, words, sizeof(words) / sizeof(words[0]), out)

static const char *const mode_words[] = {
	[NET_MODE_SWITCH] = "switch", [NET_MODE_XCONNECT] = "xconnect",
};
static const char *const onoff_words[] = { "on", "off" };
static const char *const copy_words[] = {
	[NET_COPY_DIRECT] = "direct", [NET_COPY_MBUF] = "mbuf",
};
static const char *const huge_words[] = {
	[NET_HUGE_AUTO] = "auto", [NET_HUGE_ON] = "on", [NET_HUGE_OFF] = "off",
};
static const char *const stats_words[] = {
	[NET_STATS_TEXT] = "text", [NET_STATS_JSON] = "json",
};

static struct net_port_config *port_add(struct net_options *o)
{
	struct net_port_config *p;

	if (o->nports >= NET_SWITCH_MAX_PORTS) {
		log_err(TAG, "at most %d ports", NET_SWITCH_MAX_PORTS);
		return NULL;
	}
	p = &o->ports[o->nports++];
	memset(p, 0, sizeof(*p));
	p->listen_fd = -1;
	snprintf(p->name, sizeof(p->name), "port%u", o->nports - 1);
	return p;
}

static int port_set_path(struct net_port_config *p, const char *path,
			 size_t len)
{
	if (len == 0 || len >= sizeof(p->path)) {
		log_err(TAG, "--port: socket path must be 1 to %zu bytes",
			sizeof(p->path) - 1);
		return -EINVAL;
	}
	memcpy(p->path, path, len);
	p->path[len] = '\0';
	return 0;
}

int net_port_set_name(struct net_port_config *p, const char *opt,
		      const char *name, size_t len)
{
	if (len >= sizeof(p->name)) {
		log_err(TAG, "%s: name longer than %zu bytes", opt,
			sizeof(p->name) - 1);
		return -EINVAL;
	}
	memcpy(p->name, name, len);
	p->name[len] = '\0';
	return 0;
}

bool net_options_have_vlans(const struct net_options *o)
{
	for (unsigned i = 0; i < o->nports; i++)
		if (o->ports[i].vlan.mode != NET_VLAN_MODE_NONE)
			return true;
	return false;
}

int net_port_check_vlan(const struct net_port_config *p, const char *opt,
			const char *arg)
{
	char err[160];

	if (!net_vlan_config_check(&p->vlan, err, sizeof(err)))
		return 0;
	log_err(TAG, "%s %s: %s", opt, arg, err);
	return -EINVAL;
}

/*
 * PATH[,client][,name=NAME][,queues=N][,offload=off][,vlan=N|,trunk=LIST
 * [,native=N]]: no comma in PATH.
 */
static int parse_port(struct net_options *o, const char *arg)
{
	struct net_port_config *p = port_add(o);
	const char *s = arg, *comma;
	int r;

	if (!p)
		return -EINVAL;
	comma = strchr(s, ',');
	r = port_set_path(p, s, comma ? (size_t)(comma - s) : strlen(s));
	if (r)
		return r;
	while (comma) {
		size_t len;

		s = comma + 1;
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (len == 6 && !strncmp(s, "client", 6)) {
			p->client = true;
		} else if (len > 7 && !strncmp(s, "queues=", 7)) {
			char num[16];
			unsigned long v;

			if (len - 7 >= sizeof(num)) {
				log_err(TAG, "--port: queues= is not a number");
				return -EINVAL;
			}
			memcpy(num, s + 7, len - 7);
			num[len - 7] = '\0';
			r = parse_uint("--port queues=", num, 1, NET_MAX_QUEUES,
				       &v);
			if (r)
				return r;
			p->queues = (unsigned)v;
		} else if (len > 5 && !strncmp(s, "name=", 5)) {
			r = net_port_set_name(p, "--port", s + 5, len - 5);
			if (r)
				return r;
		} else if (len == 11 && !strncmp(s, "offload=off", 11)) {
			p->no_offload = true;
		} else {
			char err[160];

			r = net_vlan_parse_param(&p->vlan, s, len, err,
						 sizeof(err));
			if (r < 0) {
				log_err(TAG, "--port %s: %s", arg, err);
				return r;
			}
			if (r > 0) {
				log_err(TAG, "--port %s: unknown parameter '%.*s'",
					arg, (int)len, s);
				return -EINVAL;
			}
		}
	}
	return net_port_check_vlan(p, "--port", arg);
}

/* "0,2-3": CPU numbers and ranges, one forwarding thread each. */
static int parse_cpus(struct net_options *o, const char *arg)
{
	const char *s = arg;

	o->ncpus = 0;
	while (*s) {
		char *end;
		unsigned long a, b;

		errno = 0;
		if (*s < '0' || *s > '9')
			goto bad;
		a = strtoul(s, &end, 10);
		b = a;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				goto bad;
			b = strtoul(end + 1, &end, 10);
		}
		if (errno || a > b || b >= CPU_SETSIZE ||
		    (*end && *end != ','))
			goto bad;
		for (unsigned long c = a; c <= b; c++) {
			if (o->ncpus >= NET_MAX_THREADS) {
				log_err(TAG, "--cpus: at most %d CPUs",
					NET_MAX_THREADS);
				return -EINVAL;
			}
			for (unsigned i = 0; i < o->ncpus; i++)
				if (o->cpus[i] == (int)c) {
					log_err(TAG, "--cpus: CPU %lu given twice",
						c);
					return -EINVAL;
				}
			o->cpus[o->ncpus++] = (int)c;
		}
		s = *end ? end + 1 : end;
		if (*end && !*s)
			goto bad;
	}
	if (o->ncpus)
		return 0;
bad:
	log_err(TAG, "--cpus: '%s' is not a list of CPUs such as 0,2-3", arg);
	return -EINVAL;
}

/*
 * --threads, --cpus and --cpu agree; vhost ports without queues= get
 * --queues, an uplink one queue pair (net_uplink.c configures one).
 */
static int check_threads(struct net_options *o)
{
	if (o->ncpus && o->cpu >= 0) {
		log_err(TAG, "--cpu and --cpus exclude each other");
		return -EINVAL;
	}
	if (o->ncpus && o->threads && o->threads != o->ncpus) {
		log_err(TAG, "--threads %u but --cpus lists %u CPUs",
			o->threads, o->ncpus);
		return -EINVAL;
	}
	if (o->ncpus)
		o->threads = o->ncpus;
	if (!o->threads)
		o->threads = 1;
	if (o->threads > 1 && o->cpu >= 0) {
		log_err(TAG, "--cpu pins one thread: use --cpus for %u",
			o->threads);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nports; i++)
		o->ports[i].no_offload |= o->no_offload;
	for (unsigned i = 0; i < o->nports; i++)
		if (o->ports[i].kind == NET_PORT_UPLINK)
			o->ports[i].queues = 1;
		else if (!o->ports[i].queues)
			o->ports[i].queues = o->queues;
	return 0;
}

static int check_ports(const struct net_options *o)
{
	if (o->control_path[0] && o->mode != NET_MODE_SWITCH) {
		log_err(TAG, "--control adds switch ports: not with --mode xconnect");
		return -EINVAL;
	}
	if (o->nports == 0 && !o->control_path[0]) {
		log_err(TAG, "no ports: give --port PATH (or --socket-path/--fd/--uplink, or --control PATH)");
		return -EINVAL;
	}
	if (o->mode == NET_MODE_XCONNECT && o->nports % 2) {
		log_err(TAG, "--mode xconnect pairs ports: %u ports is odd",
			o->nports);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->nports; i++) {
		if (o->mode == NET_MODE_XCONNECT &&
		    o->ports[i].vlan.mode != NET_VLAN_MODE_NONE) {
			log_err(TAG, "port %s: VLANs (vlan=, trunk=) need --mode "
				"switch, not xconnect", o->ports[i].name);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			char a[NET_DEVARGS_MAX], b[NET_DEVARGS_MAX];

			if (o->ports[i].kind != o->ports[j].kind)
				continue;
			if (o->ports[i].kind == NET_PORT_UPLINK) {
				if (net_uplink_devname(o->ports[i].devargs, a,
						       sizeof(a)) ||
				    net_uplink_devname(o->ports[j].devargs, b,
						       sizeof(b)) ||
				    strcmp(a, b))
					continue;
				log_err(TAG, "uplink device %s given twice", a);
				return -EINVAL;
			}
			if (o->ports[i].listen_fd < 0 &&
			    !strcmp(o->ports[i].path, o->ports[j].path)) {
				log_err(TAG, "socket %s given twice",
					o->ports[i].path);
				return -EINVAL;
			}
			if (o->ports[i].listen_fd >= 0 &&
			    o->ports[i].listen_fd == o->ports[j].listen_fd) {
				log_err(TAG, "--fd %d given twice",
					o->ports[i].listen_fd);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int net_options_parse(int argc, char *const argv[], struct net_options *o)
{
	unsigned long v;
	unsigned w;
	int c, r = 0;

	memset(o, 0, sizeof(*o));
	o->mode = NET_MODE_SWITCH;
	o->idle_spin_us = 500;
	o->mac_table_size = 4096;
	o->mac_age_s = 300;
	o->memory_mb = 256;
	o->copy_min = NET_COPY_MIN_DEFAULT;
	o->uplink_poll_us = 1000;
	o->cpu = -1;
	o->queues = 1;

	optind = 0;	/* full reset: tests parse several command lines */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqhV", net_long_options,
				NULL)) != -1) {
		struct net_port_config *p;

		switch (c) {
		case OPT_PORT:
			r = parse_port(o, optarg);
			break;
		case OPT_SOCKET_PATH:
			p = port_add(o);
			r = p ? port_set_path(p, optarg, strlen(optarg))
			      : -EINVAL;
			break;
		case OPT_FD:
			r = parse_uint("--fd", optarg, 0, INT_MAX, &v);
			if (r)
				break;
			p = port_add(o);
			if (!p) {
				r = -EINVAL;
				break;
			}
			p->listen_fd = (int)v;
			snprintf(p->path, sizeof(p->path), "fd:%lu", v);
			break;
		case OPT_CONTROL:
			if (!optarg[0] || strlen(optarg) >= sizeof(o->control_path)) {
				log_err(TAG, "--control: socket path must be 1 to %zu bytes",
					sizeof(o->control_path) - 1);
				r = -EINVAL;
				break;
			}
			strcpy(o->control_path, optarg);
			break;
		case OPT_UPLINK:
			p = port_add(o);
			if (p)
				p->name[0] = '\0';
			r = p ? net_uplink_parse(optarg, p) : -EINVAL;
			if (!r && p->name[0] == '\0')
				snprintf(p->name, sizeof(p->name), "uplink%u",
					 o->nports - 1);
			break;
		case OPT_UPLINK_POLL:
			r = parse_uint("--uplink-poll-us", optarg, 10, 1000000,
				       &v);
			o->uplink_poll_us = (unsigned)v;
			break;
		case OPT_PRINT_CAPS:
			o->action = NET_ACTION_CAPABILITIES;
			break;
		case OPT_MODE:
			r = PARSE_WORD("--mode", optarg, mode_words, &w);
			if (!r)
				o->mode = (enum net_mode)w;
			break;
		case OPT_MAC_SIZE:
			r = parse_uint("--mac-table-size", optarg, 16,
				       1u << 24, &v);
			o->mac_table_size = (unsigned)v;
			break;
		case OPT_MAC_AGE:
			r = parse_uint("--mac-age", optarg, 1, 1000000, &v);
			o->mac_age_s = (unsigned)v;
			break;
		case OPT_OFFLOAD:
			r = PARSE_WORD("--offload", optarg, onoff_words, &w);
			if (!r)
				o->no_offload = w == 1;
			break;
		case OPT_COPY:
			r = PARSE_WORD("--copy", optarg, copy_words, &w);
			if (!r)
				o->copy = (enum net_copy)w;
			break;
		case OPT_COPY_MIN:
			r = parse_uint("--copy-min", optarg, 0, 65535, &v);
			o->copy_min = (unsigned)v;
			break;
		case OPT_BUSY_POLL:
			o->busy_poll = true;
			break;
		case OPT_IDLE_SPIN:
			r = parse_uint("--idle-spin-us", optarg, 0, 1000000, &v);
			o->idle_spin_us = (unsigned)v;
			break;
		case OPT_CPU:
			r = parse_uint("--cpu", optarg, 0, CPU_SETSIZE - 1, &v);
			o->cpu = (int)v;
			break;
		case OPT_QUEUES:
			r = parse_uint("--queues", optarg, 1, NET_MAX_QUEUES, &v);
			o->queues = (unsigned)v;
			break;
		case OPT_THREADS:
			r = parse_uint("--threads", optarg, 1, NET_MAX_THREADS,
				       &v);
			o->threads = (unsigned)v;
			break;
		case OPT_CPUS:
			r = parse_cpus(o, optarg);
			break;
		case OPT_MEMORY:
			r = parse_uint("--memory", optarg, 64, 1u << 20, &v);
			o->memory_mb = (unsigned)v;
			break;
		case OPT_HUGEPAGES:
			r = PARSE_WORD("--hugepages", optarg, huge_words, &w);
			if (!r)
				o->hugepages = (enum net_huge)w;
			break;
		case OPT_ALLOW_ROOT:
			o->allow_root = true;
			break;
		case OPT_SECCOMP:
			if (be_sandbox_parse_seccomp(optarg, &o->seccomp)) {
				log_err(TAG, "--seccomp: '%s' is not kill, log or off",
					optarg);
				r = -EINVAL;
			}
			break;
		case OPT_STATS_FORMAT:
			r = PARSE_WORD("--stats-format", optarg, stats_words, &w);
			if (!r)
				o->stats_format = (enum net_stats_format)w;
			break;
		case 'v':
			o->verbosity = 1;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'h':
			o->action = NET_ACTION_HELP;
			return 0;
		case 'V':
			o->action = NET_ACTION_VERSION;
			return 0;
		case ':':
			log_err(TAG, "%s needs an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			log_err(TAG, "unknown option '%s' (see --help)",
				argv[optind - 1]);
			return -EINVAL;
		}
		if (r)
			return r;
	}
	if (optind < argc) {
		log_err(TAG, "unexpected argument '%s' (see --help)",
			argv[optind]);
		return -EINVAL;
	}
	if (o->action == NET_ACTION_CAPABILITIES)
		return 0;
	r = check_threads(o);
	return r ? r : check_ports(o);
}

int net_cpuset_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int w;

		if (!CPU_ISSET(cpu, set))
			continue;
		w = snprintf(buf + n, len - n, "%s%d", n ? "," : "", cpu);
		if (w < 0 || (size_t)w >= len - n)
			return -ENOSPC;
		n += (size_t)w;
	}
	return n ? 0 : -EINVAL;
}

struct eal_builder {
	struct net_eal_args *a;
	size_t used;
	int err;
};

static void eal_add(struct eal_builder *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void eal_add(struct eal_builder *b, const char *fmt, ...)
{
	struct net_eal_args *a = b->a;
	va_list ap;
	int w;

	if (b->err)
		return;
	if (a->argc >= NET_EAL_MAX_ARGS) {
		b->err = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	w = vsnprintf(a->store + b->used, sizeof(a->store) - b->used, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(a->store) - b->used) {
		b->err = -E2BIG;
		return;
	}
	a->argv[a->argc++] = a->store + b->used;
	b->used += (size_t)w + 1;
}

int net_eal_args_build(const struct net_options *o, pid_t pid,
		       const char *cpus, bool huge, struct net_eal_args *out)
{
	struct eal_builder b = { .a = out };
	bool pci = false;

	memset(out, 0, sizeof(*out));
	eal_add(&b, "splitvm-net");
	if (o->ncpus) {
		/* lcore i on the i-th CPU of --cpus. */
		char map[NET_MAX_THREADS * 16];
		size_t n = 0;

		for (unsigned i = 0; i < o->ncpus; i++)
			n += (size_t)snprintf(map + n, sizeof(map) - n, "%s%u@%d",
					      i ? "," : "", i, o->cpus[i]);
		eal_add(&b, "--lcores=%s", map);
	} else if (o->cpu >= 0) {
		eal_add(&b, "--lcores=0@%d", o->cpu);
	} else if (!cpus || !cpus[0]) {
		return -EINVAL;
	} else if (o->threads > 1) {
		eal_add(&b, "--lcores=(0-%u)@(%s)", o->threads - 1, cpus);
	} else {
		eal_add(&b, "--lcores=0@(%s)", cpus);
	}
	/*
	 * No root either way: huge pages through hugetlb memfds (--in-memory,
	 * no multi-process config either), the whole --memory taken at start
	 * and the heap never grown (--socket-limit: growing would take
	 * system calls the sandbox refuses); or anonymous mappings. Addressed
	 * by virtual address; no PCI to scan.
	 */
	if (huge) {
		eal_add(&b, "--in-memory");
		eal_add(&b, "--socket-limit");
		eal_add(&b, "%u", o->memory_mb);
	} else {
		eal_add(&b, "--no-huge");
		eal_add(&b, "--no-shconf");
	}
	eal_add(&b, "-m");
	eal_add(&b, "%u", o->memory_mb);
	eal_add(&b, "--iova-mode=va");
	/* PCI only for PCI uplinks, and only those devices. */
	for (unsigned i = 0; i < o->nports; i++) {
		if (o->ports[i].kind != NET_PORT_UPLINK ||
		    !net_uplink_is_pci(o->ports[i].devargs))
			continue;
		eal_add(&b, "-a");
		eal_add(&b, "%s", o->ports[i].devargs);
		pci = true;
	}
	if (!pci)
		eal_add(&b, "--no-pci");
	eal_add(&b, "--no-telemetry");
	eal_add(&b, "--file-prefix=splitvm-net-%ld", (long)pid);
	eal_add(&b, "--log-level=%d", o->verbosity > 0 ? 8 :
		    o->verbosity < 0 ? 4 : 5);
	if (b.err)
		return b.err;
	out->argv[out->argc] = NULL;
	return 0;
}
