/* SPDX-License-Identifier: GPL-2.0-only */
#include "event.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENT_BATCH 16

struct event_source {
	int fd;
	event_fn fn;
	void *opaque;
	bool dead;
	struct event_source *next;	/* live list, then graveyard */
};

struct event_loop {
	int epfd;
	bool stop;
	struct event_source *sources;
	/* Deleted during a dispatch round; freed once the round is over. */
	struct event_source *graveyard;
};

int event_loop_create(struct event_loop **out)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	int ret;

	if (!loop)
		return -ENOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		ret = -errno;
		free(loop);
		return ret;
	}
	*out = loop;
	return 0;
}

static void event_free_list(struct event_source *s)
{
	while (s) {
		struct event_source *next = s->next;

		free(s);
		s = next;
	}
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	event_free_list(loop->sources);
	event_free_list(loop->graveyard);
	close(loop->epfd);
	free(loop);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_fn fn, void *opaque)
{
	struct event_source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = events };
	int ret;

	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->fn = fn;
	s->opaque = opaque;
	ev.data.ptr = s;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		free(s);
		return ret;
	}
	s->next = loop->sources;
	loop->sources = s;
	return 0;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	struct event_source **pp;

	for (pp = &loop->sources; *pp; pp = &(*pp)->next) {
		struct event_source *s = *pp;

		if (s->fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = s->next;
		s->dead = true;
		s->next = loop->graveyard;
		loop->graveyard = s;
		return 0;
	}
	return -ENOENT;
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[EVENT_BATCH];

	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, EVENT_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct event_source *s = evs[i].data.ptr;

			if (!s->dead)
				s->fn(s->opaque, s->fd, evs[i].events);
		}
		event_free_list(loop->graveyard);
		loop->graveyard = NULL;
	}
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stop = true;
}
