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

enum net_mode {
	NET_MODE_SWITCH,
	NET_MODE_XCONNECT,
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

/* Queue pairs per port and forwarding threads, at most. */
#define NET_MAX_QUEUES 16
#define NET_MAX_THREADS 16

struct net_port_config {
	char path[108];		/* sun_path */
	char name[32];
	bool client;		/* connect (and reconnect) instead of listen */
	int listen_fd;		/* --fd: inherited listening socket, else -1 */
	unsigned queues;	/* queue pairs served (queues=, else --queues) */
};

struct net_options {
	enum net_action action;
	enum net_mode mode;
	enum net_stats_format stats_format;
	struct net_port_config ports[NET_SWITCH_MAX_PORTS];
	unsigned nports;
	bool busy_poll;
	bool allow_root;
	enum be_seccomp seccomp;	/* --seccomp= (default kill) */
	unsigned idle_spin_us;
	unsigned mac_table_size;
	unsigned mac_age_s;
	unsigned memory_mb;
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

extern const char net_options_usage[];

/* --print-capabilities output (vhost-user backend program conventions). */
extern const char net_capabilities_json[];

#define NET_EAL_MAX_ARGS 16

struct net_eal_args {
	int argc;
	char *argv[NET_EAL_MAX_ARGS + 1];
	char store[512];
};

/* The CPUs in set as "a,b,c", for an EAL cpuset. 0 or -ENOSPC/-EINVAL. */
int net_cpuset_format(const cpu_set_t *set, char *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * EAL arguments: no hugepages, no shared config, IOVA as VA, no PCI scan,
 * no telemetry socket, a per-process file prefix (pid), one lcore per
 * forwarding thread: pinned to o->cpu or o->cpus[i], or allowed on every
 * CPU in cpus ("0,1").
 */
int net_eal_args_build(const struct net_options *o, pid_t pid,
		       const char *cpus, struct net_eal_args *out)
	__attribute__((warn_unused_result));

#endif
