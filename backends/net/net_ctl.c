/* SPDX-License-Identifier: GPL-2.0-only */
#include "net_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define TAG	"control"
/* A client gets this long to send a complete line. */
#define NET_CTL_READ_TIMEOUT_MS	2000

/*
 * Who asked for each port: the requester's pidfd (its SO_PEERCRED pid).
 * When that process ends without removing its port (killed), the port
 * goes: a VM's supervisor that dies leaves nothing behind in the switch.
 */
#define NET_CTL_MAX_OWNERS	64

struct net_ctl_owner {
	char name[NET_CTL_NAME_MAX + 1];
	int pidfd;			/* -1: slot free */
	pid_t pid;
};

struct net_ctl {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct net_ctl_owner owners[NET_CTL_MAX_OWNERS];
	const struct net_ctl_ops *ops;
	void *ctx;
	int listen_fd;
	int stop_fd;
	pthread_t thread;
	bool started;
};

static const char *const net_ctl_ops_names[] = {
	[NET_CTL_ADD] = "add",
	[NET_CTL_REMOVE] = "remove",
	[NET_CTL_LIST] = "list",
	[NET_CTL_QUIT] = "quit",
	[NET_CTL_STATS] = "stats",
};

/* An add's VLAN members, named as --port's parameters. */
static const char *const net_ctl_vlan_members[] = { "vlan", "trunk",
						    "native" };
#define NET_CTL_VLAN_MEMBERS \
	(sizeof(net_ctl_vlan_members) / sizeof(net_ctl_vlan_members[0]))

static bool net_ctl_is_vlan_member(const char *key)
{
	for (size_t i = 0; i < NET_CTL_VLAN_MEMBERS; i++)
		if (!strcmp(key, net_ctl_vlan_members[i]))
			return true;
	return false;
}

/*
 * "vlan":N, "trunk":"10:20" (or "all"), "native":N: the same parser and
 * checks as the command line's vlan=, trunk=, native=, for add only.
 */
static int net_ctl_parse_vlan(struct json_object *obj,
			      struct net_ctl_request *req, char *err,
			      size_t errlen)
{
	for (size_t i = 0; i < NET_CTL_VLAN_MEMBERS; i++) {
		const char *key = net_ctl_vlan_members[i];
		struct json_object *v;
		char param[NET_CTL_MAX_LINE + 16];
		bool is_list = !strcmp(key, "trunk");
		int r;

		if (!json_object_object_get_ex(obj, key, &v))
			continue;
		if (req->op != NET_CTL_ADD) {
			snprintf(err, errlen, "\"%s\" is for add only", key);
			return -EINVAL;
		}
		/* Only what a list can hold: the error quotes the value,
		 * and it goes to the log. */
		if (is_list ? !json_object_is_type(v, json_type_string) ||
			      json_object_get_string(v)[strspn(
				json_object_get_string(v), "0123456789:-al")] :
			      !json_object_is_type(v, json_type_int)) {
			snprintf(err, errlen, "\"%s\" must be %s", key,
				 is_list ? "a string such as \"10:20\" or "
					   "\"all\"" : "a number");
			return -EINVAL;
		}
		if (is_list)
			snprintf(param, sizeof(param), "%s=%s", key,
				 json_object_get_string(v));
		else
			snprintf(param, sizeof(param), "%s=%" PRId64, key,
				 json_object_get_int64(v));
		r = net_vlan_parse_param(&req->vlan, param, strlen(param), err,
					 errlen);
		if (r)
			return -EINVAL;
	}
	return net_vlan_config_check(&req->vlan, err, errlen);
}

int net_ctl_parse(const char *line, size_t len, struct net_ctl_request *req,
		  char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj, *op = NULL, *name = NULL;
	struct json_object_iter it;
	char text[NET_CTL_MAX_LINE + 1];
	int ret = -EINVAL;
	size_t end;

	memset(req, 0, sizeof(*req));
	if (len > NET_CTL_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes",
			 NET_CTL_MAX_LINE);
		return -EINVAL;
	}
	memcpy(text, line, len);
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(err, errlen, "NUL byte in the request");
		return -EINVAL;
	}
	/* Flat objects only: depth 2 refuses anything nested deeper. */
	tok = json_tokener_new_ex(2);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len + 1);
	end = json_tokener_get_parse_end(tok);
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    end < len) {
		snprintf(err, errlen, "malformed JSON");
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "a request is a JSON object");
		goto out;
	}
	json_object_object_foreachC(obj, it) {
		if (strcmp(it.key, "op") && strcmp(it.key, "name") &&
		    !net_ctl_is_vlan_member(it.key)) {
			snprintf(err, errlen, "unknown member \"%.32s\"", it.key);
			goto out;
		}
	}
	if (!json_object_object_get_ex(obj, "op", &op) ||
	    !json_object_is_type(op, json_type_string)) {
		snprintf(err, errlen, "\"op\" must be a string");
		goto out;
	}
	for (size_t i = 0; i < sizeof(net_ctl_ops_names) /
				sizeof(net_ctl_ops_names[0]); i++) {
		if (!strcmp(json_object_get_string(op), net_ctl_ops_names[i])) {
			req->op = (enum net_ctl_op)i;
			ret = 0;
		}
	}
	if (ret) {
		snprintf(err, errlen,
			 "unknown op (add, remove, list, quit, stats)");
		goto out;
	}
	json_object_object_get_ex(obj, "name", &name);
	if (req->op == NET_CTL_ADD || req->op == NET_CTL_REMOVE) {
		if (!name || !json_object_is_type(name, json_type_string) ||
		    !net_ctl_name_ok(json_object_get_string(name))) {
			snprintf(err, errlen, "\"name\" must be 1 to %d of "
				 "A-Z a-z 0-9 _ -", NET_CTL_NAME_MAX);
			ret = -EINVAL;
			goto out;
		}
		strcpy(req->name, json_object_get_string(name));
	} else if (name) {
		snprintf(err, errlen, "\"%s\" takes no name",
			 net_ctl_ops_names[req->op]);
		ret = -EINVAL;
	}
	if (!ret)
		ret = net_ctl_parse_vlan(obj, req, err, errlen);
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return ret;
}

int net_ctl_port_path(const char *control_path, const char *name, char *out,
		      size_t len)
{
	const char *slash = strrchr(control_path, '/');
	int dirlen = slash ? (int)(slash - control_path) : 0;
	int w;

	if (slash)
		w = snprintf(out, len, "%.*s/%s.sock", dirlen, control_path,
			     name);
	else
		w = snprintf(out, len, "%s.sock", name);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* One reply line: {"ok":true,...} or {"ok":false,"error":"..."}. */
static void net_ctl_reply(int fd, struct json_object *obj)
{
	const char *text;
	size_t len;
	char buf[NET_CTL_MAX_LINE * 4];

	if (!obj)
		return;
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	if (text && len + 1 < sizeof(buf)) {
		memcpy(buf, text, len);
		buf[len++] = '\n';
		/* A client gone away is its loss (SIGPIPE is ignored). */
		if (write(fd, buf, len) < 0)
			log_debug(TAG, "reply: %s", strerror(errno));
	}
	json_object_put(obj);
}

static struct json_object *net_ctl_result(bool ok, const char *error)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	return o;
}

/* All of buf to a client that gets NET_CTL_READ_TIMEOUT_MS per chunk. */
static int net_ctl_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&p, 1, NET_CTL_READ_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * {"ok":true,"stats":{...}}: the statistics can be far longer than any
 * other reply (64 ports with trunk lists), so they go to the client as
 * they are printed, through a stream whose last byte (the report's
 * newline) is held back for our closing brace.  No growing buffer:
 * realloc of a large one would need mremap, which the filter refuses.
 */
struct net_ctl_stream {
	int fd;
	int err;
	bool held;
	char last;
};

static ssize_t net_ctl_stream_write(void *cookie, const char *buf,
				    size_t len)
{
	struct net_ctl_stream *s = cookie;

	if (!len || s->err)
		return s->err ? -1 : 0;
	if (s->held)
		s->err = net_ctl_write_all(s->fd, &s->last, 1);
	if (!s->err && len > 1)
		s->err = net_ctl_write_all(s->fd, buf, len - 1);
	if (s->err) {
		errno = -s->err;
		return -1;
	}
	s->last = buf[len - 1];
	s->held = true;
	return (ssize_t)len;
}

static void net_ctl_reply_stats(struct net_ctl *c, int fd)
{
	static const char head[] = "{\"ok\":true,\"stats\":";
	struct net_ctl_stream s = { .fd = fd };
	cookie_io_functions_t io = { .write = net_ctl_stream_write };
	FILE *f;
	int r;

	s.err = net_ctl_write_all(fd, head, sizeof(head) - 1);
	f = s.err ? NULL : fopencookie(&s, "w", io);
	if (!f) {
		log_debug(TAG, "stats reply: %s",
			  strerror(s.err ? -s.err : errno));
		return;
	}
	r = c->ops->stats(c->ctx, f);
	if (fclose(f) && !r)
		r = s.err ? s.err : -EIO;
	/* The report is one line: its newline ends ours, after the brace. */
	if (!r && (!s.held || s.last != '\n'))
		r = -EPROTO;
	if (!r)
		r = net_ctl_write_all(fd, "}\n", 2);
	/* Half a reply went out: the client sees it cut short. */
	if (r)
		log_warn(TAG, "stats reply: %s", strerror(-r));
}

static void net_ctl_forget(struct net_ctl *c, const char *name)
{
	for (unsigned i = 0; i < NET_CTL_MAX_OWNERS; i++) {
		struct net_ctl_owner *o = &c->owners[i];

		if (o->pidfd >= 0 && !strcmp(o->name, name)) {
			close(o->pidfd);
			o->pidfd = -1;
		}
	}
}

/* The process on the other end of fd now owns port name. */
static void net_ctl_own(struct net_ctl *c, int fd, const char *name)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	net_ctl_forget(c, name);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.pid <= 0)
		return;
	for (unsigned i = 0; i < NET_CTL_MAX_OWNERS; i++) {
		struct net_ctl_owner *o = &c->owners[i];

		if (o->pidfd >= 0)
			continue;
		o->pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
		if (o->pidfd < 0)
			log_warn(TAG, "port %s: cannot watch its owner %d: %s",
				 name, (int)cred.pid, strerror(errno));
		o->pid = cred.pid;
		strcpy(o->name, name);
		return;
	}
}

/* An owner ended: its port goes too (if it did not remove it itself). */
static void net_ctl_owner_gone(struct net_ctl *c, struct net_ctl_owner *o)
{
	int left = c->ops->remove(c->ctx, o->name);

	if (left >= 0)
		log_warn(TAG, "port %s: its owner (pid %d) ended without "
			 "removing it: removed, %d ports left", o->name,
			 (int)o->pid, left);
	close(o->pidfd);
	o->pidfd = -1;
}

static void net_ctl_handle(struct net_ctl *c, int fd, const char *line,
			   size_t len)
{
	struct net_ctl_request req;
	struct json_object *o;
	char err[128], path[sizeof(c->path)], names[NET_CTL_MAX_LINE * 2];
	int r;

	if (net_ctl_parse(line, len, &req, err, sizeof(err))) {
		log_warn(TAG, "request refused: %s", err);
		net_ctl_reply(fd, net_ctl_result(false, err));
		return;
	}
	switch (req.op) {
	case NET_CTL_ADD:
		r = net_ctl_port_path(c->path, req.name, path, sizeof(path));
		if (!r)
			r = c->ops->add(c->ctx, req.name, path, &req.vlan);
		if (r) {
			snprintf(err, sizeof(err), "add %s: %s", req.name,
				 r == -EEXIST ? "a port of that name exists" :
				 r == -ENOSPC ? "no free port" : strerror(-r));
			net_ctl_reply(fd, net_ctl_result(false, err));
			return;
		}
		net_ctl_own(c, fd, req.name);
		o = net_ctl_result(true, NULL);
		if (o)
			json_object_object_add(o, "path",
					       json_object_new_string(path));
		net_ctl_reply(fd, o);
		return;
	case NET_CTL_REMOVE:
		r = c->ops->remove(c->ctx, req.name);
		net_ctl_forget(c, req.name);
		if (r < 0) {
			snprintf(err, sizeof(err), "remove %s: no such port",
				 req.name);
			net_ctl_reply(fd, net_ctl_result(false, err));
			return;
		}
		o = net_ctl_result(true, NULL);
		if (o)
			json_object_object_add(o, "ports", json_object_new_int(r));
		net_ctl_reply(fd, o);
		return;
	case NET_CTL_STATS:
		net_ctl_reply_stats(c, fd);
		return;
	case NET_CTL_LIST:
	case NET_CTL_QUIT:
		r = c->ops->list(c->ctx, names, sizeof(names));
		if (req.op == NET_CTL_QUIT) {
			if (r > 0) {
				snprintf(err, sizeof(err), "%d ports in use", r);
				net_ctl_reply(fd, net_ctl_result(false, err));
				return;
			}
			net_ctl_reply(fd, net_ctl_result(true, NULL));
			log_info(TAG, "quit: no port left");
			c->ops->quit(c->ctx);
			return;
		}
		o = net_ctl_result(true, NULL);
		if (o) {
			char arr[sizeof(names) + 3];

			snprintf(arr, sizeof(arr), "[%s]", names);
			json_object_object_add(o, "ports", json_tokener_parse(arr));
		}
		net_ctl_reply(fd, o);
		return;
	}
}

/* Serve one connection: lines until EOF, a time-out or a bad line. */
static void net_ctl_serve(struct net_ctl *c, int fd)
{
	char buf[NET_CTL_MAX_LINE + 1];
	size_t used = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		char *nl;
		ssize_t n;

		if (poll(p, 2, NET_CTL_READ_TIMEOUT_MS) <= 0 || p[1].revents)
			return;
		n = read(fd, buf + used, sizeof(buf) - used);
		if (n <= 0)
			return;
		used += (size_t)n;
		while ((nl = memchr(buf, '\n', used))) {
			size_t len = (size_t)(nl - buf);

			net_ctl_handle(c, fd, buf, len);
			used -= len + 1;
			memmove(buf, nl + 1, used);
		}
		if (used == sizeof(buf)) {
			net_ctl_reply(fd, net_ctl_result(false,
				"request line too long"));
			return;
		}
	}
}

static void *net_ctl_thread(void *arg)
{
	struct net_ctl *c = arg;

	for (;;) {
		struct pollfd p[2 + NET_CTL_MAX_OWNERS] = {
			{ .fd = c->listen_fd, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		struct net_ctl_owner *who[2 + NET_CTL_MAX_OWNERS];
		nfds_t n = 2;
		int fd;

		for (unsigned i = 0; i < NET_CTL_MAX_OWNERS; i++) {
			if (c->owners[i].pidfd < 0)
				continue;
			who[n] = &c->owners[i];
			p[n++] = (struct pollfd){ .fd = c->owners[i].pidfd,
						  .events = POLLIN };
		}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err(TAG, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		for (nfds_t k = 2; k < n; k++)
			if (p[k].revents)
				net_ctl_owner_gone(c, who[k]);
		if (!p[0].revents)
			continue;
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		net_ctl_serve(c, fd);
		close(fd);
	}
	return NULL;
}

int net_clear_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (r != -ECONNREFUSED)
		return r;
	return unlink(path) ? -errno : 0;
}

int net_ctl_start(const char *path, const struct net_ctl_ops *ops, void *ctx,
		  struct net_ctl **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct net_ctl *c;
	int r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = ops;
	c->ctx = ctx;
	c->listen_fd = -1;
	for (unsigned i = 0; i < NET_CTL_MAX_OWNERS; i++)
		c->owners[i].pidfd = -1;
	strcpy(c->path, path);
	strcpy(sun.sun_path, path);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	r = net_clear_stale_socket(path);
	if (r) {
		log_err(TAG, "%s: %s", path, r == -EADDRINUSE ?
			"another process listens there" : strerror(-r));
		goto err;
	}
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->stop_fd < 0 || c->listen_fd < 0 ||
	    bind(c->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(c->listen_fd, 8)) {
		r = -errno;
		log_err(TAG, "cannot listen on %s: %s", path, strerror(-r));
		goto err;
	}
	r = -pthread_create(&c->thread, NULL, net_ctl_thread, c);
	if (r) {
		unlink(path);
		goto err;
	}
	c->started = true;
	/* json-c seeds its hash tables on first use (getrandom): now,
	 * before the seccomp filter, not on the first request. */
	{
		struct json_object *o = json_object_new_object();

		if (o)
			json_object_object_add(o, "seed", NULL);
		json_object_put(o);
	}
	log_info(TAG, "control socket %s", path);
	*out = c;
	return 0;
err:
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	free(c);
	return r;
}

void net_ctl_stop(struct net_ctl *c)
{
	uint64_t one = 1;

	if (!c)
		return;
	if (c->started) {
		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			log_warn(TAG, "stop: %s", strerror(errno));
		pthread_join(c->thread, NULL);
	}
	close(c->listen_fd);
	close(c->stop_fd);
	for (unsigned i = 0; i < NET_CTL_MAX_OWNERS; i++)
		if (c->owners[i].pidfd >= 0)
			close(c->owners[i].pidfd);
	unlink(c->path);
	free(c);
}
