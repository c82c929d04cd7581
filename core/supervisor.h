/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The back-end supervisor: a process forked by the core before it
 * sandboxes itself, which runs as the back-end user with no capability
 * and starts, restarts and finally stops the VM's spawned back-ends.
 */
#ifndef SPLITVM_SUPERVISOR_H
#define SPLITVM_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend_spawn.h"

#define SUPERVISOR_PATH_MAX	108

struct supervisor_dev {
	char name[16];			/* "blk0", "net0" */
	enum backend_kind kind;
	int image_fd;			/* BLK */
	bool readonly;			/* BLK */
	unsigned queues;		/* BLK */
	char sock_path[SUPERVISOR_PATH_MAX];
	char switch_dir[SUPERVISOR_PATH_MAX];	/* SWITCH */
	char port_name[48];		/* SWITCH: its port on the switch */
	struct net_vlan_config vlan;	/* SWITCH: its port's VLANs */
};

struct supervisor_config {
	int sock_fd;			/* to the core (SOCK_SEQPACKET) */
	int blk_bin_fd;			/* O_PATH of splitvm-blk, or -1 */
	int net_bin_fd;			/* O_PATH of splitvm-net, or -1 */
	bool change_id;			/* root: become uid/gid */
	uid_t uid;
	gid_t gid;
	char vm_dir[SUPERVISOR_PATH_MAX];
	const char *seccomp;		/* the back-ends' --seccomp */
	int verbosity;
	unsigned ndevs;			/* spawned devices only */
	unsigned dev_index[VM_MAX_VHOST_USER_DEVS];	/* their VM indices */
	struct supervisor_dev devs[VM_MAX_VHOST_USER_DEVS];
};

/*
 * Restart delays: 100 ms, doubling while a back-end keeps dying, at most
 * 30 s; back to 100 ms once one ran SUPERVISOR_STABLE_MS.
 */
#define SUPERVISOR_DELAY_MIN_MS	100
#define SUPERVISOR_DELAY_MAX_MS	30000
#define SUPERVISOR_STABLE_MS	10000

/*
 * The wait before the next start: prev_ms the last wait (0: none yet),
 * ran_ms how long the back-end that ended ran; a restart asked for
 * (control API) waits 0.
 */
unsigned supervisor_next_delay(unsigned prev_ms, uint64_t ran_ms,
			       bool requested);

/* The forked child's whole life; never returns. */
__attribute__((noreturn)) void supervisor_main(struct supervisor_config *cfg);

#endif
