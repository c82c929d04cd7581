/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The core's main-thread event loop: epoll over fds with a callback each.
 * Signals, the console, VM-exit requests and (later) backend sockets and
 * the control API all arrive here.  Not thread safe: main thread only.
 */
#ifndef SPLITVM_EVENT_H
#define SPLITVM_EVENT_H

#include <stdint.h>

struct event_loop;

/* events: EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR as reported by epoll. */
typedef void (*event_fn)(void *opaque, int fd, uint32_t events);

int event_loop_create(struct event_loop **out)
	__attribute__((warn_unused_result));
void event_loop_destroy(struct event_loop *loop);

int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_fn fn, void *opaque)
	__attribute__((warn_unused_result));
/* Safe to call from a callback, also for the fd being dispatched. */
int event_loop_del(struct event_loop *loop, int fd);

/* Dispatch until event_loop_stop(); returns 0 or -errno from epoll. */
int event_loop_run(struct event_loop *loop)
	__attribute__((warn_unused_result));
void event_loop_stop(struct event_loop *loop);

#endif
