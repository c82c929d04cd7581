/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API: HTTP/1.1 + JSON on a unix socket (docs/control-api.md),
 * served by libmicrohttpd from the main event loop, without threads of
 * its own.  Access control is the socket file's mode (0600).
 */
#ifndef SPLITVM_CONTROL_H
#define SPLITVM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_loop;
struct vm;
struct control;

/* Request limits: each breach gets a 4xx JSON error, never a crash. */
#define CONTROL_MAX_BODY		4096	/* bytes of request body */
/* A larger body without Content-Length is read and dropped up to this. */
#define CONTROL_DRAIN_MAX		(4u << 20)
#define CONTROL_CONN_MEMORY		(16 * 1024)	/* headers + buffers */
#define CONTROL_MAX_CONNECTIONS		16
#define CONTROL_CONN_TIMEOUT_S		5	/* idle or slow connection */
#define CONTROL_PAUSE_TIMEOUT_MS	2000

/* A listening unix socket at path, created mode 0600. */
struct control_listener {
	int fd;
	char path[108];
	dev_t dev;		/* to remove only our own socket file */
	ino_t ino;
};

/*
 * Bind and listen.  A live socket at path (someone accepts) is refused
 * with -EADDRINUSE, a stale one (connection refused) is replaced,
 * anything that is not a socket is refused with -EEXIST.
 */
int control_listen(const char *path, struct control_listener *out)
	__attribute__((warn_unused_result));
/* Close it and remove the file if it is still ours. */
void control_unlisten(struct control_listener *l);

/* Serve on listen_fd (not taken over) from loop until destroyed. */
int control_create(struct event_loop *loop, struct vm *vm, int listen_fd,
		   struct control **out) __attribute__((warn_unused_result));
void control_destroy(struct control *ctl);

/* ---- request routing and handling, without HTTP (control_api.c) ---- */

enum control_endpoint {
	CONTROL_EP_PING,
	CONTROL_EP_INFO,
	CONTROL_EP_PAUSE,
	CONTROL_EP_RESUME,
	CONTROL_EP_SHUTDOWN,
	CONTROL_EP_DEVICES,
	CONTROL_EP_COUNTERS,
	CONTROL_EP_DEVICE_RESTART,
	CONTROL_EP_METRICS,
};

#define CONTROL_METHOD_GET	(1u << 0)
#define CONTROL_METHOD_PUT	(1u << 1)
#define CONTROL_METHOD_POST	(1u << 2)

/*
 * 0 and *ep; -ENOENT for an unknown path (404); -EINVAL for a method
 * the path does not take (405), *allow then says which ("GET", "PUT,
 * POST").  Query strings are not part of url (libmicrohttpd strips them).
 */
int control_route(const char *method, const char *url,
		  enum control_endpoint *ep, const char **allow)
	__attribute__((warn_unused_result));

/* What a request gets back; body is malloc'ed. */
struct control_reply {
	unsigned status;		/* HTTP status */
	const char *content_type;
	char *body;
	size_t len;
};

/*
 * Run one routed request with its body (NULL/0: none).  Bodies must be
 * empty or a JSON object; which members each endpoint takes is in
 * docs/control-api.md.  Returns 0, or -ENOMEM with no reply.
 */
int control_handle(struct vm *vm, enum control_endpoint ep,
		   const char *body, size_t len, struct control_reply *reply)
	__attribute__((warn_unused_result));

/* A JSON error body {"error": {"code": status, "message": msg}}. */
int control_error(unsigned status, const char *message,
		  struct control_reply *reply)
	__attribute__((warn_unused_result));

#endif
