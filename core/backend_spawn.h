/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Back-ends the core starts itself (--disk path=, --net switch=): the
 * runtime directories, the images opened by the core, and the
 * supervisor process (core/supervisor.c) that spawns, jails and restarts
 * them; the core keeps only a socket to it.  See docs/architecture.md.
 */
#ifndef SPLITVM_BACKEND_SPAWN_H
#define SPLITVM_BACKEND_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "net_vlan_config.h"
#include "vm.h"

struct event_loop;
struct backend_spawn;

/* Switch names: [A-Za-z0-9_-], 1 to this many bytes. */
#define BACKEND_SWITCH_NAME_MAX	32
/* The dedicated back-end user, when it exists (contrib/quickstart). */
#define BACKEND_DEFAULT_USER	"splitvm"

enum backend_kind {
	BACKEND_EXTERNAL,	/* socket=PATH: someone else's back-end */
	BACKEND_BLK,		/* --disk path=IMG: splitvm-blk */
	BACKEND_SWITCH,		/* --net switch=NAME: a port on splitvm-net */
};

struct backend_spec {
	enum backend_kind kind;
	char image[512];		/* BLK: the image's path */
	bool readonly;			/* BLK */
	char switch_name[BACKEND_SWITCH_NAME_MAX + 1];	/* SWITCH */
	/* SWITCH: vlan=, trunk=, native= of its port, validated (the
	 * switch checks them again; see net_ctl_format_add()). */
	struct net_vlan_config vlan;
};

struct backend_config {
	const char *dir;		/* --backend-dir, or NULL: next to splitvm */
	bool has_user;			/* --backend-user given */
	uid_t uid;
	gid_t gid;
	/* The group the core runs as once sandboxed: its sockets' group. */
	gid_t core_gid;
	const char *seccomp;		/* back-ends' --seccomp: kill, log, off */
	int verbosity;
	/* Indexed like vm_config.vhost_user; EXTERNAL for socket=. */
	struct backend_spec specs[VM_MAX_VHOST_USER_DEVS];
};

/* What the control API shows of one device's back-end. */
struct backend_status {
	bool spawned;			/* false: an external back-end */
	const char *program;		/* "splitvm-blk", "splitvm-net" */
	const char *switch_name;	/* SWITCH: its name */
	const struct net_vlan_config *vlan;	/* SWITCH: its port's VLANs */
	int pid;			/* 0: not running */
	const char *state;		/* "starting", "running", ... */
	unsigned restarts;
};

/* True when some device's back-end is to be spawned. */
bool backend_spawn_needed(const struct backend_config *cfg,
			  const struct vm_config *vm);

/*
 * Before the VM is built, with the core's privileges: find the back-end
 * programs, open the images, make the runtime directories, fork the
 * supervisor (which drops to the back-end user and starts every
 * back-end) and write each spawned device's socket path into vm.
 * One error line and a negative errno on failure.
 */
int backend_spawn_start(const struct backend_config *cfg,
			struct vm_config *vm, struct backend_spawn **out)
	__attribute__((warn_unused_result));

/* Follow the supervisor's reports from the main loop. */
int backend_spawn_watch(struct backend_spawn *bs, struct event_loop *loop)
	__attribute__((warn_unused_result));
void backend_spawn_unwatch(struct backend_spawn *bs);

void backend_spawn_get(struct backend_spawn *bs, unsigned dev,
		       struct backend_status *out);
/*
 * Ask for device dev's back-end to be restarted now: 0 (asked),
 * -ENODEV (not spawned), -EBUSY (a switch other VMs share), -EPIPE.
 */
int backend_spawn_restart(struct backend_spawn *bs, unsigned dev)
	__attribute__((warn_unused_result));

/*
 * Stop every back-end and wait (a few seconds at most) until the
 * supervisor has removed what it made; NULL is fine.
 */
void backend_spawn_stop(struct backend_spawn *bs);

#endif
