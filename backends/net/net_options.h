/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net's command line (pure C, unit tested) and the EAL arguments
 * derived from it for an unprivileged, hugepage-free DPDK.
 */
#ifndef SPLITVM_NET_OPTIONS_H
#define SPLITVM_NET_OPTIONS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "be_sandbox.h"
#include "net_switch.h"
#include "net_vlan.h"

enum net_mode {
	NET_MODE_SWITCH,
	NET_MODE_XCONNECT,
};

/* --copy-min's default: every frame (docs/benchmarks.md, "Direct copy"). */
#define NET_COPY_MIN_DEFAULT 0

/* How a frame goes from one split vhost ring to another (--copy). */
enum net_copy {
	NET_COPY_DIRECT,	/* one copy, guest buffer to guest buffer */
	NET_COPY_MBUF,		/* librte_vhost's dequeue and enqueue */
};

enum net_action {
	NET_ACTION_RUN,
	NET_ACTION_HELP,
	NET_ACTION_VERSION,
	NET_ACTION_CAPABILITIES,
};

enum net_stats_format {
	NET_STATS_TEXT,
	NET_STATS_JSON,
};

enum net_port_kind {
	NET_PORT_VHOST,		/* a vhost-user socket (--port, --fd) */
	NET_PORT_UPLINK,	/* a DPDK ethdev from devargs (--uplink) */
};

#define NET_DEVARGS_MAX 256

/* Queue pairs per port and forwarding threads, at most. */
#define NET_MAX_QUEUES 16
#define NET_MAX_THREADS 16

struct net_port_config {
	enum net_port_kind kind;
	char path[108];		/* sun_path (vhost) */
	char name[32];
	bool client;		/* connect (and reconnect) instead of listen */
	int listen_fd;		/* --fd: inherited listening socket, else -1 */
	char devargs[NET_DEVARGS_MAX];	/* uplink, without our name= */
	unsigned queues;	/* queue pairs served (queues=, else --queues) */
	bool no_offload;	/* offload=off (vhost), or --offload off */
	struct net_vlan_config vlan;	/* vlan=, trunk=, native= */
};

/* --hugepages: DPDK memory from huge pages when free ones are there, always
 * (an error when not), or never. */
enum net_huge {
	NET_HUGE_AUTO,
	NET_HUGE_ON,
	NET_HUGE_OFF,
};

struct net_options {
	enum net_action action;
	enum net_mode mode;
	enum net_copy copy;
	unsigned copy_min;	/* --copy-min: shorter frames take the mbuf path */
	enum net_stats_format stats_format;
	struct net_port_config ports[NET_SWITCH_MAX_PORTS];
	unsigned nports;
	char control_path[108];	/* --control PATH, or "" */
	bool busy_poll;
	bool no_offload;	/* --offload off: every port without */
	bool allow_root;
	enum be_seccomp seccomp;	/* --seccomp= (default kill) */
	unsigned idle_spin_us;
	unsigned mac_table_size;
	unsigned mac_age_s;
	unsigned memory_mb;
	enum net_huge hugepages;	/* --hugepages (default auto) */
	unsigned uplink_poll_us;	/* idle nap for uplinks without interrupts */
	int cpu;		/* pin the forwarding thread, or -1 */
	unsigned queues;	/* --queues: default queue pairs per port */
	unsigned threads;	/* forwarding threads (--threads, --cpus) */
	int cpus[NET_MAX_THREADS];	/* --cpus: thread i on cpus[i] */
	unsigned ncpus;		/* 0: not pinned (or --cpu) */
	int verbosity;		/* -1 quiet, 0 normal, 1 verbose */
};

/* 0, or -EINVAL after logging what is wrong. argv is not modified. */
int net_options_parse(int argc, char *const argv[], struct net_options *o)
	__attribute__((warn_unused_result));

/* name (len bytes, not terminated) as p's name; -EINVAL if too long. */
int net_port_set_name(struct net_port_config *p, const char *opt,
		      const char *name, size_t len)
	__attribute__((warn_unused_result));

/* Whether any port has vlan= or trunk=. */
bool net_options_have_vlans(const struct net_options *o);

/* p's VLAN parameters fit together; else logs "OPT ARG: why", -EINVAL. */
int net_port_check_vlan(const struct net_port_config *p, const char *opt,
			const char *arg) __attribute__((warn_unused_result));

/* --help: the ports, then forwarding and process options (two strings:
 * C99 promises only 4095 bytes for one literal). */
extern const char net_options_usage[];
extern const char net_options_usage_more[];
extern const char net_options_usage_process[];

/* --print-capabilities output (vhost-user backend program conventions). */
extern const char net_capabilities_json[];

#define NET_EAL_MAX_ARGS 48

struct net_eal_args {
	int argc;
	char *argv[NET_EAL_MAX_ARGS + 1];
	char store[4096];
};

/* The CPUs in set as "a,b,c", for an EAL cpuset. 0 or -ENOSPC/-EINVAL. */
int net_cpuset_format(const cpu_set_t *set, char *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * EAL arguments: memory from huge pages (huge: --in-memory, which needs no
 * root and no writable hugetlbfs, capped at --memory so that it never
 * grows under the sandbox) or anonymous memory (--no-huge), no shared
 * config, IOVA as VA, no telemetry
 * socket, a per-process file prefix (pid), one lcore per forwarding
 * thread: pinned to o->cpu or o->cpus[i], or allowed on every CPU in cpus
 * ("0,1"). No PCI scan, unless an uplink is a PCI device: then only those
 * are allowed (-a).
 */
int net_eal_args_build(const struct net_options *o, pid_t pid,
		       const char *cpus, bool huge, struct net_eal_args *out)
	__attribute__((warn_unused_result));

#endif
