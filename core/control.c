/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API's HTTP side: our own AF_UNIX listening socket handed
 * to libmicrohttpd in its "external epoll" mode, so MHD never starts a
 * thread and never blocks.  Its epoll fd sits in the core's event loop;
 * a timerfd follows MHD_get_timeout() for connection time-outs and for
 * work MHD left pending.  Requests are bounded by CONTROL_* (control.h).
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "vm.h"

#define TAG "api"

struct control {
	struct event_loop *loop;
	struct vm *vm;
	struct MHD_Daemon *mhd;
	int mhd_fd;		/* MHD's epoll fd, in our loop */
	int timer_fd;
	bool watching_mhd;
	bool watching_timer;
};

/* One per request (MHD's con_cls). */
struct control_request {
	int route;		/* control_route() result */
	enum control_endpoint ep;
	const char *allow;
	char *body;
	size_t len;
	size_t seen;		/* body bytes received */
	bool too_large;
	bool early_reply;	/* 413 queued before the body came */
	bool shutdown;		/* end the VM once the reply is out */
};

/* ---- the listening socket ------------------------------------------------ */

static int control_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Files and syscalls the libraries want on first use, done here, before
 * the core's seccomp filter exists: glibc reads /etc/localtime for the
 * Date header, json-c seeds its hash with getrandom().
 */
static void control_warm_up(void)
{
	struct json_object *obj;
	time_t now = time(NULL);
	struct tm tm;
	char date[64];

	tzset();
	strftime(date, sizeof(date), "%F %T", localtime_r(&now, &tm));
	obj = json_tokener_parse("{\"warm\":1}");
	json_object_put(obj);
}

int control_listen(const char *path, struct control_listener *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	control_warm_up();
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err(TAG, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		ret = control_probe(path);
		if (ret == 0) {
			log_err(TAG, "%s is in use by a running splitvm", path);
			return -EADDRINUSE;
		}
		if (ret != -ECONNREFUSED) {
			log_err(TAG, "%s: %s", path, strerror(-ret));
			return ret;
		}
		log_info(TAG, "replacing stale socket %s", path);
		if (unlink(path) && errno != ENOENT)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	/* Single-threaded here: the umask makes the socket 0600 from birth. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!ret && listen(fd, CONTROL_MAX_CONNECTIONS) < 0)
		ret = -errno;
	if (!ret && stat(path, &st) < 0)
		ret = -errno;
	if (ret) {
		log_err(TAG, "cannot listen on %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	out->fd = fd;
	strcpy(out->path, path);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

void control_unlisten(struct control_listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	/* Someone may have replaced it; theirs stays. */
	if (stat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
}

/* ---- HTTP ------------------------------------------------------------------ */

static void control_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void control_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug(TAG, "libmicrohttpd: %s", msg);
}

static enum MHD_Result control_send(struct MHD_Connection *conn,
				    struct control_reply *reply,
				    const char *allow, bool close_conn)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(reply->len, reply->body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(reply->body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				reply->content_type);
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (close_conn)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result control_send_error(struct MHD_Connection *conn,
					  unsigned status, const char *msg,
					  const char *allow, bool close_conn)
{
	struct control_reply reply;

	if (control_error(status, msg, &reply))
		return MHD_NO;
	return control_send(conn, &reply, allow, close_conn);
}

/* The first call for a request: route it, look at Content-Length. */
static struct control_request *control_request_new(struct MHD_Connection *conn,
						   const char *url,
						   const char *method)
{
	struct control_request *req = calloc(1, sizeof(*req));
	const char *cl;

	if (!req)
		return NULL;
	req->route = control_route(method, url, &req->ep, &req->allow);
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > CONTROL_MAX_BODY)
		req->too_large = true;
	return req;
}

static enum MHD_Result control_access(void *cls, struct MHD_Connection *conn,
				      const char *url, const char *method,
				      const char *version,
				      const char *upload_data,
				      size_t *upload_data_size, void **con_cls)
{
	struct control *ctl = cls;
	struct control_request *req = *con_cls;
	struct control_reply reply;

	if (!req) {
		req = control_request_new(conn, url, method);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		/* Refuse a body we will not read before it is sent. */
		if (req->too_large) {
			req->early_reply = true;
			return control_send_error(conn, 413,
						  "request body too large",
						  NULL, true);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		/*
		 * MHD takes no reply in the middle of a body: a body without
		 * Content-Length that grows too large is read and dropped up
		 * to CONTROL_DRAIN_MAX, then answered 413; past that the
		 * connection is closed without a reply.
		 */
		req->seen += n;
		if (req->too_large)
			return req->seen > CONTROL_DRAIN_MAX ? MHD_NO : MHD_YES;
		if (req->len + n > CONTROL_MAX_BODY) {
			req->too_large = true;
			free(req->body);
			req->body = NULL;
			req->len = 0;
			return MHD_YES;
		}
		char *nb = realloc(req->body, req->len + n);

		if (!nb)
			return MHD_NO;
		memcpy(nb + req->len, upload_data, n);
		req->body = nb;
		req->len += n;
		return MHD_YES;
	}
	if (req->too_large)
		return req->early_reply ? MHD_YES :
			control_send_error(conn, 413, "request body too large",
					   NULL, true);
	if (req->route == -ENOENT)
		return control_send_error(conn, 404, "no such endpoint", NULL,
					  false);
	if (req->route)
		return control_send_error(conn, 405, "method not allowed",
					  req->allow, false);
	if (control_handle(ctl->vm, req->ep, req->body, req->len, &reply))
		return control_send_error(conn, 500, "out of memory", NULL,
					  true);
	req->shutdown = req->ep == CONTROL_EP_SHUTDOWN && reply.status < 300;
	if (req->shutdown)
		log_info(TAG, "shutdown requested");
	return control_send(conn, &reply, NULL, req->shutdown);
}

static void control_completed(void *cls, struct MHD_Connection *conn,
			      void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct control *ctl = cls;
	struct control_request *req = *con_cls;

	if (!req)
		return;
	/* The same path as the guest's ACPI poweroff: exit status 0. */
	if (req->shutdown)
		vm_request_exit(ctl->vm, VM_EXIT_POWEROFF, 0);
	free(req->body);
	free(req);
	*con_cls = NULL;
}

/* ---- driving MHD from the event loop ------------------------------------- */

static void control_arm_timer(struct control *ctl)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(ctl->mhd, &ms) == MHD_YES) {
		/* 0: MHD has work now; a zero it_value would disarm. */
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000 + (ms ? 0 : 1);
	}
	if (timerfd_settime(ctl->timer_fd, 0, &its, NULL) < 0)
		log_warn(TAG, "timerfd: %s", strerror(errno));
}

static void control_run(struct control *ctl)
{
	if (MHD_run(ctl->mhd) != MHD_YES)
		log_debug(TAG, "MHD_run failed");
	control_arm_timer(ctl);
}

static void control_on_mhd(void *opaque, int fd, uint32_t events)
{
	control_run(opaque);
}

static void control_on_timer(void *opaque, int fd, uint32_t events)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug(TAG, "timerfd read: %s", strerror(errno));
	control_run(opaque);
}

int control_create(struct event_loop *loop, struct vm *vm, int listen_fd,
		   struct control **out)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	const union MHD_DaemonInfo *info;
	int fd, ret;

	if (!ctl)
		return -ENOMEM;
	ctl->loop = loop;
	ctl->vm = vm;
	ctl->timer_fd = -1;
	/* MHD closes the socket it is given; the caller keeps its own. */
	fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	ctl->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
		0, NULL, NULL, control_access, ctl,
		MHD_OPTION_EXTERNAL_LOGGER, control_mhd_log, ctl,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONTROL_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONTROL_CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONTROL_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, control_completed, ctl,
		MHD_OPTION_END);
	if (!ctl->mhd) {
		close(fd);
		log_err(TAG, "libmicrohttpd would not start");
		ret = -EIO;
		goto err;
	}
	info = MHD_get_daemon_info(ctl->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		ret = -EIO;
		goto err;
	}
	ctl->mhd_fd = info->epoll_fd;
	ctl->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_CLOEXEC | TFD_NONBLOCK);
	if (ctl->timer_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = event_loop_add(loop, ctl->mhd_fd, EPOLLIN, control_on_mhd, ctl);
	if (ret)
		goto err;
	ctl->watching_mhd = true;
	ret = event_loop_add(loop, ctl->timer_fd, EPOLLIN, control_on_timer,
			     ctl);
	if (ret)
		goto err;
	ctl->watching_timer = true;
	control_arm_timer(ctl);
	*out = ctl;
	return 0;

err:
	log_err(TAG, "control API: %s", strerror(-ret));
	control_destroy(ctl);
	return ret;
}

void control_destroy(struct control *ctl)
{
	if (!ctl)
		return;
	if (ctl->watching_mhd)
		event_loop_del(ctl->loop, ctl->mhd_fd);
	if (ctl->watching_timer)
		event_loop_del(ctl->loop, ctl->timer_fd);
	if (ctl->mhd)
		MHD_stop_daemon(ctl->mhd);
	if (ctl->timer_fd >= 0)
		close(ctl->timer_fd);
	free(ctl);
}
