/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control API without HTTP or a VM: routing, request bodies, error
 * replies, and the listening socket's life (mode, stale, live, removal).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "options.h"
#include "unit.h"

static void test_route(void)
{
	enum control_endpoint ep;
	const char *allow;

	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.info", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_INFO);
	CU_ASSERT_EQUAL(control_route("PUT", "/api/v1/vm.pause", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_PAUSE);
	CU_ASSERT_EQUAL(control_route("POST", "/api/v1/vm.resume", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_RESUME);
	CU_ASSERT_EQUAL(control_route("POST", "/api/v1/vm.shutdown", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_SHUTDOWN);
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.devices", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_DEVICES);
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.counters", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_COUNTERS);
	CU_ASSERT_EQUAL(control_route("PUT", "/api/v1/vm.device-restart", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_DEVICE_RESTART);
	CU_ASSERT_EQUAL(control_route("GET", "/metrics", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_METRICS);
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.metrics", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_METRICS);
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vmm.ping", &ep, &allow), 0);
	CU_ASSERT_EQUAL(ep, CONTROL_EP_PING);
}

static void test_route_errors(void)
{
	enum control_endpoint ep;
	const char *allow;

	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.nope", &ep, &allow), -ENOENT);
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.info/", &ep, &allow), -ENOENT);
	CU_ASSERT_EQUAL(control_route("GET", "/API/V1/VM.INFO", &ep, &allow), -ENOENT);
	CU_ASSERT_EQUAL(control_route("GET", "", &ep, &allow), -ENOENT);
	CU_ASSERT_EQUAL(control_route(NULL, "/metrics", &ep, &allow), -ENOENT);
	CU_ASSERT_EQUAL(control_route("GET", NULL, &ep, &allow), -ENOENT);

	CU_ASSERT_EQUAL(control_route("DELETE", "/api/v1/vm.info", &ep, &allow), -EINVAL);
	CU_ASSERT_STRING_EQUAL(allow, "GET");
	CU_ASSERT_EQUAL(control_route("PUT", "/api/v1/vm.info", &ep, &allow), -EINVAL);
	CU_ASSERT_STRING_EQUAL(allow, "GET");
	CU_ASSERT_EQUAL(control_route("GET", "/api/v1/vm.pause", &ep, &allow), -EINVAL);
	CU_ASSERT_STRING_EQUAL(allow, "PUT, POST");
	CU_ASSERT_EQUAL(control_route("HEAD", "/metrics", &ep, &allow), -EINVAL);
	CU_ASSERT_EQUAL(control_route("get", "/metrics", &ep, &allow), -EINVAL);
}

/* The reply's {"error": {"code", "message"}}, checked against status. */
static void check_error(const struct control_reply *r, unsigned status,
			const char *message_part)
{
	struct json_object *obj, *err, *code, *msg;

	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_STRING_EQUAL(r->content_type, "application/json");
	CU_ASSERT_EQUAL(strlen(r->body), r->len);
	obj = json_tokener_parse(r->body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	CU_ASSERT_FATAL(json_object_object_get_ex(obj, "error", &err));
	CU_ASSERT_FATAL(json_object_object_get_ex(err, "code", &code));
	CU_ASSERT_EQUAL(json_object_get_int(code), (int)status);
	CU_ASSERT_FATAL(json_object_object_get_ex(err, "message", &msg));
	if (!strstr(json_object_get_string(msg), message_part))
		printf("\nmessage: %s\n", json_object_get_string(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(json_object_get_string(msg), message_part));
	json_object_put(obj);
}

static void handle_ping(const char *body, size_t len, struct control_reply *r)
{
	/* PING never touches the VM: a NULL one shows that bodies are
	 * refused before any handler runs. */
	CU_ASSERT_EQUAL_FATAL(control_handle(NULL, CONTROL_EP_PING, body, len, r), 0);
}

static void test_bodies(void)
{
	static const char nul_inside[] = "{}\0{}";
	struct control_reply r;
	char *big;

	handle_ping(NULL, 0, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"version\""));
	free(r.body);
	handle_ping("{}", 2, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	free(r.body);
	handle_ping(" {} \r\n", 6, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	free(r.body);
	handle_ping("\n", 1, &r);
	CU_ASSERT_EQUAL(r.status, 200);
	free(r.body);

	handle_ping("{bad", 4, &r);
	check_error(&r, 400, "malformed JSON");
	free(r.body);
	handle_ping("{\"a\":", 5, &r);
	check_error(&r, 400, "malformed JSON");
	free(r.body);
	handle_ping("{} {}", 5, &r);
	check_error(&r, 400, "malformed JSON");
	free(r.body);
	handle_ping(nul_inside, sizeof(nul_inside) - 1, &r);
	check_error(&r, 400, "malformed JSON");
	free(r.body);
	handle_ping("[1,2]", 5, &r);
	check_error(&r, 400, "JSON object");
	free(r.body);
	handle_ping("42", 2, &r);
	check_error(&r, 400, "JSON object");
	free(r.body);
	handle_ping("{\"force\":true}", 14, &r);
	check_error(&r, 400, "unknown member \"force\"");
	free(r.body);
	handle_ping("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", 30, &r);
	CU_ASSERT_EQUAL(r.status, 400);
	free(r.body);

	big = malloc(CONTROL_MAX_BODY + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', CONTROL_MAX_BODY + 2);
	big[0] = '{';
	big[CONTROL_MAX_BODY] = '}';
	big[CONTROL_MAX_BODY + 1] = '0';
	handle_ping(big, CONTROL_MAX_BODY + 2, &r);
	check_error(&r, 413, "too large");
	free(r.body);
	free(big);
}

static void test_restart_body(void)
{
	struct control_reply r;

	/* Checked before the VM's device list is looked at. */
	CU_ASSERT_EQUAL_FATAL(control_handle(NULL, CONTROL_EP_DEVICE_RESTART,
					     NULL, 0, &r), 0);
	check_error(&r, 400, "\"id\"");
	free(r.body);
	CU_ASSERT_EQUAL_FATAL(control_handle(NULL, CONTROL_EP_DEVICE_RESTART,
					     "{\"id\":3}", 8, &r), 0);
	check_error(&r, 400, "\"id\"");
	free(r.body);
	CU_ASSERT_EQUAL_FATAL(control_handle(NULL, CONTROL_EP_DEVICE_RESTART,
					     "{\"name\":\"blk0\"}", 15, &r), 0);
	check_error(&r, 400, "unknown member");
	free(r.body);
}

static void test_error_reply(void)
{
	struct control_reply r;

	CU_ASSERT_EQUAL_FATAL(control_error(409, "quote \" and \\ kept", &r), 0);
	check_error(&r, 409, "quote \" and \\ kept");
	CU_ASSERT_EQUAL(r.body[r.len - 1], '\n');
	free(r.body);
}

static char sock_dir[64];

static void sock_path(char *buf, size_t size, const char *name)
{
	if (!sock_dir[0]) {
		strcpy(sock_dir, "/tmp/splitvm-test-control-XXXXXX");
		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(sock_dir));
	}
	snprintf(buf, size, "%s/%s", sock_dir, name);
}

static void test_listen(void)
{
	struct control_listener l, l2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[128];
	struct stat st;
	int fd;

	sock_path(path, sizeof(path), "api.sock");
	CU_ASSERT_EQUAL_FATAL(control_listen(path, &l), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	/* Live: someone accepts (the backlog does): refused. */
	CU_ASSERT_EQUAL(control_listen(path, &l2), -EADDRINUSE);

	/* Stale: the socket file outlived its listener: replaced. */
	close(l.fd);
	l.fd = -1;
	CU_ASSERT_EQUAL_FATAL(control_listen(path, &l2), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_ino, l2.ino);

	/* A client can connect. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path);
	CU_ASSERT_EQUAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	control_unlisten(&l2);
	CU_ASSERT_EQUAL(l2.fd, -1);
	CU_ASSERT_EQUAL(stat(path, &st), -1);
	control_unlisten(&l2);		/* twice is harmless */
}

static void test_listen_not_ours(void)
{
	struct control_listener l, other;
	char path[128];
	struct stat st;
	FILE *f;

	/* A regular file is never removed or replaced. */
	sock_path(path, sizeof(path), "file");
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(control_listen(path, &l), -EEXIST);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT(S_ISREG(st.st_mode));
	unlink(path);

	/* Replaced by someone else while we ran: theirs stays. */
	sock_path(path, sizeof(path), "moved.sock");
	CU_ASSERT_EQUAL_FATAL(control_listen(path, &l), 0);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(control_listen(path, &other), 0);
	control_unlisten(&l);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	control_unlisten(&other);
	CU_ASSERT_EQUAL(stat(path, &st), -1);

	CU_ASSERT_EQUAL(control_listen("", &l), -ENAMETOOLONG);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		CU_ASSERT_EQUAL(control_listen(longp, &l), -ENAMETOOLONG);
	}
	rmdir(sock_dir);
}

static void test_option(void)
{
	char longp[120];
	char *argv[] = { "splitvm", "--kernel", "k", "--api-socket", "/run/x.sock", NULL };
	char *bad[] = { "splitvm", "--kernel", "k", "--api-socket", longp, NULL };
	char *empty[] = { "splitvm", "--kernel", "k", "--api-socket", "", NULL };
	struct options o;

	CU_ASSERT_EQUAL(options_parse(5, argv, &o), OPTIONS_RUN);
	CU_ASSERT_STRING_EQUAL(o.api_socket, "/run/x.sock");
	CU_ASSERT_EQUAL(options_parse(3, argv, &o), OPTIONS_RUN);
	CU_ASSERT_PTR_NULL(o.api_socket);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CU_ASSERT_EQUAL(options_parse(5, bad, &o), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(options_parse(5, empty, &o), OPTIONS_EXIT_USAGE);
}

static CU_TestInfo control_tests[] = {
	{ "routes", test_route },
	{ "route errors", test_route_errors },
	{ "request bodies", test_bodies },
	{ "device-restart body", test_restart_body },
	{ "error reply", test_error_reply },
	{ "listening socket", test_listen },
	{ "socket files not ours", test_listen_not_ours },
	{ "--api-socket", test_option },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "control", NULL, NULL, NULL, NULL, control_tests },
	CU_SUITE_INFO_NULL,
};
