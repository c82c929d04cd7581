/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The messages between the core and its back-end supervisor (one
 * SOCK_SEQPACKET socketpair, one fixed-size message per packet).
 */
#ifndef SPLITVM_BACKEND_MSG_H
#define SPLITVM_BACKEND_MSG_H

#include <stdint.h>

enum backend_msg_type {
	/* supervisor -> core: the state of one device's back-end */
	BACKEND_MSG_STATUS = 1,
	/* core -> supervisor: restart device `dev`'s back-end now */
	BACKEND_MSG_RESTART = 2,
	/* core -> supervisor: stop every back-end, clean up, close */
	BACKEND_MSG_SHUTDOWN = 3,
};

enum backend_state {
	BACKEND_STATE_STARTING = 0,	/* spawned, not known to listen yet */
	BACKEND_STATE_RUNNING = 1,
	BACKEND_STATE_RESTARTING = 2,	/* exited; restart scheduled */
	BACKEND_STATE_STOPPED = 3,	/* shut down with the VM */
};

struct backend_msg {
	uint32_t type;		/* enum backend_msg_type */
	uint32_t dev;		/* index among the VM's --disk/--net devices */
	int32_t pid;		/* STATUS: the back-end's pid, 0 if none */
	uint32_t state;		/* STATUS: enum backend_state */
	uint32_t restarts;	/* STATUS: restarts so far */
	int32_t result;		/* STATUS answering RESTART: 0 or -errno */
	uint32_t last_exit;	/* STATUS: last wait status (raw), or 0 */
	uint32_t pad;
};

_Static_assert(sizeof(struct backend_msg) == 32, "backend_msg layout");

#endif
