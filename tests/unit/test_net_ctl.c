/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net --control: request parsing and validation, port paths. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net_ctl.h"
#include "net_options.h"
#include "unit.h"

static int parse(const char *line, struct net_ctl_request *req)
{
	char err[128] = "";
	int r = net_ctl_parse(line, strlen(line), req, err, sizeof(err));

	/* A refusal always says why. */
	if (r)
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
	return r;
}

static void test_good_requests(void)
{
	struct net_ctl_request req;

	CU_ASSERT_EQUAL_FATAL(parse("{\"op\":\"add\",\"name\":\"vm-12_net0\"}",
				    &req), 0);
	CU_ASSERT_EQUAL(req.op, NET_CTL_ADD);
	CU_ASSERT_STRING_EQUAL(req.name, "vm-12_net0");
	CU_ASSERT_EQUAL_FATAL(parse(" { \"name\" : \"a\", \"op\" : \"remove\" } ",
				    &req), 0);
	CU_ASSERT_EQUAL(req.op, NET_CTL_REMOVE);
	CU_ASSERT_STRING_EQUAL(req.name, "a");
	CU_ASSERT_EQUAL(parse("{\"op\":\"list\"}", &req), 0);
	CU_ASSERT_EQUAL(req.op, NET_CTL_LIST);
	CU_ASSERT_EQUAL(parse("{\"op\":\"quit\"}", &req), 0);
	CU_ASSERT_EQUAL(req.op, NET_CTL_QUIT);
	CU_ASSERT_EQUAL(parse("{\"op\":\"stats\"}", &req), 0);
	CU_ASSERT_EQUAL(req.op, NET_CTL_STATS);
}

static void test_bad_requests(void)
{
	static const char *const bad[] = {
		"", "{", "[]", "\"add\"", "42", "null",
		"{\"op\":\"add\"}",				/* no name */
		"{\"op\":\"add\",\"name\":\"\"}",
		"{\"op\":\"add\",\"name\":\"../x\"}",		/* path escape */
		"{\"op\":\"add\",\"name\":\"a/b\"}",
		"{\"op\":\"add\",\"name\":\".start\"}",
		"{\"op\":\"add\",\"name\":\"a b\"}",
		"{\"op\":\"add\",\"name\":7}",
		"{\"op\":\"add\",\"name\":\"12345678901234567890123456789012345678901\"}",
		"{\"op\":\"list\",\"name\":\"a\"}",		/* takes no name */
		"{\"op\":\"stats\",\"name\":\"a\"}",
		"{\"op\":\"stats\",\"vlan\":10}",		/* add only */
		"{\"op\":\"drop\"}",
		"{\"op\":1}",
		"{\"op\":\"add\",\"name\":\"a\",\"path\":\"/etc/x\"}",
		"{\"op\":\"add\",\"name\":\"a\"} trailing",
		"{\"op\":{\"x\":{\"y\":1}}}",			/* too deep */
	};
	struct net_ctl_request req;
	char err[128], big[NET_CTL_MAX_LINE + 8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i], &req), -EINVAL);
	}
	/* An embedded NUL and an over-long line. */
	CU_ASSERT_EQUAL(net_ctl_parse("{\"op\":\"list\"}\0x", 15, &req, err,
				      sizeof(err)), -EINVAL);
	memset(big, ' ', sizeof(big));
	CU_ASSERT_EQUAL(net_ctl_parse(big, sizeof(big), &req, err,
				      sizeof(err)), -EINVAL);
	/* 40 bytes is the longest name. */
	CU_ASSERT_EQUAL(parse("{\"op\":\"add\",\"name\":\"1234567890123456789012345678901234567890\"}",
			      &req), 0);
}

static void test_vlan_members(void)
{
	static const char *const bad[] = {
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":0}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":4095}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":-3}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":1e3}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":\"10\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":99999999999999}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":10}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":\"10:10\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":\"\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":[10,20]}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":3,\"trunk\":\"4\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"native\":3}",
		"{\"op\":\"add\",\"name\":\"a\",\"vlan\":3,\"native\":3}",
		"{\"op\":\"remove\",\"name\":\"a\",\"vlan\":3}",
		"{\"op\":\"list\",\"trunk\":\"all\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":\"10\\n20\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":\"10,20\"}",
		"{\"op\":\"add\",\"name\":\"a\",\"trunk\":\"al\"}",
	};
	struct net_ctl_request req;

	CU_ASSERT_EQUAL_FATAL(parse("{\"op\":\"add\",\"name\":\"a\","
				    "\"vlan\":10}", &req), 0);
	CU_ASSERT_EQUAL(req.vlan.mode, NET_VLAN_MODE_ACCESS);
	CU_ASSERT_EQUAL(req.vlan.vid, 10);
	CU_ASSERT_EQUAL_FATAL(parse("{\"native\":7,\"op\":\"add\",\"name\":"
				    "\"t\",\"trunk\":\"10:20-30\"}", &req), 0);
	CU_ASSERT_EQUAL(req.vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_EQUAL(req.vlan.vid, 7);
	CU_ASSERT_TRUE(net_vlan_allowed(&req.vlan, 25));
	CU_ASSERT_FALSE(net_vlan_allowed(&req.vlan, 11));
	CU_ASSERT_EQUAL_FATAL(parse("{\"op\":\"add\",\"name\":\"b\"}", &req),
			      0);
	CU_ASSERT_EQUAL(req.vlan.mode, NET_VLAN_MODE_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &req) != -EINVAL)
			CU_FAIL(bad[i]);
}

/* A configuration from --port style parameters ("vlan=10", ...). */
static void config_of(struct net_vlan_config *c, const char *const *params)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	for (; *params; params++)
		CU_ASSERT_EQUAL_FATAL(net_vlan_parse_param(c, *params,
							   strlen(*params),
							   err, sizeof(err)),
				      0);
	CU_ASSERT_EQUAL_FATAL(net_vlan_config_check(c, err, sizeof(err)), 0);
}

/*
 * What a client (splitvm's supervisor) builds with net_ctl_format_add()
 * is a request the switch takes, with the very same VLAN configuration.
 */
static void test_format_add_round_trip(void)
{
	static const char *const cases[][4] = {
		{ NULL },
		{ "vlan=10", NULL },
		{ "vlan=4094", NULL },
		{ "trunk=10:20-29:4094", NULL },
		{ "native=5", "trunk=10:20", NULL },
		{ "trunk=all", "native=1", NULL },
	};
	struct net_ctl_request req;
	struct net_vlan_config c;
	char line[NET_CTL_MAX_LINE + 2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_of(&c, cases[i]);
		CU_ASSERT_EQUAL_FATAL(net_ctl_format_add("vm12-net0", &c, line,
							 sizeof(line)), 0);
		CU_ASSERT_EQUAL_FATAL(line[strlen(line) - 1], '\n');
		line[strlen(line) - 1] = '\0';
		CU_ASSERT_EQUAL_FATAL(parse(line, &req), 0);
		CU_ASSERT_EQUAL(req.op, NET_CTL_ADD);
		CU_ASSERT_STRING_EQUAL(req.name, "vm12-net0");
		CU_ASSERT_EQUAL(req.vlan.mode, c.mode);
		CU_ASSERT_EQUAL(req.vlan.vid, c.vid);
		CU_ASSERT_EQUAL(memcmp(req.vlan.allowed, c.allowed,
				       sizeof(c.allowed)), 0);
	}
	config_of(&c, (const char *const[]){ "vlan=10", NULL });
	CU_ASSERT_EQUAL(net_ctl_format_add("a", &c, line, sizeof(line)), 0);
	CU_ASSERT_STRING_EQUAL(line, "{\"op\":\"add\",\"name\":\"a\",\"vlan\":10}\n");
	config_of(&c, (const char *const[]){ "trunk=7:9-11", "native=3",
					     NULL });
	CU_ASSERT_EQUAL(net_ctl_format_add("a", &c, line, sizeof(line)), 0);
	CU_ASSERT_STRING_EQUAL(line, "{\"op\":\"add\",\"name\":\"a\","
			       "\"trunk\":\"7:9-11\",\"native\":3}\n");
}

/* Names that could break the JSON, lines the switch would refuse. */
static void test_format_add_refused(void)
{
	struct net_vlan_config c;
	char line[NET_CTL_MAX_LINE * 4], long_list[NET_CTL_MAX_LINE * 2];
	char err[128];
	size_t n = 0;

	config_of(&c, (const char *const[]){ NULL });
	CU_ASSERT_EQUAL(net_ctl_format_add("a\"b", &c, line, sizeof(line)),
			-EINVAL);
	CU_ASSERT_EQUAL(net_ctl_format_add("", &c, line, sizeof(line)),
			-EINVAL);
	CU_ASSERT_EQUAL(net_ctl_format_add("a", &c, line, 8), -ENOSPC);
	/* 1:3:5:...: a list the switch's line limit cannot hold. */
	n += (size_t)snprintf(long_list, sizeof(long_list), "trunk=");
	for (unsigned v = 1; n < NET_CTL_MAX_LINE; v += 2)
		n += (size_t)snprintf(long_list + n, sizeof(long_list) - n,
				      "%s%u", v > 1 ? ":" : "", v);
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL_FATAL(net_vlan_parse_param(&c, long_list, n, err,
						   sizeof(err)), 0);
	CU_ASSERT_EQUAL(net_ctl_format_add("a", &c, line, sizeof(line)),
			-ENOSPC);
}

static void test_port_path(void)
{
	char out[108];

	CU_ASSERT_EQUAL(net_ctl_port_path("/run/splitvm/s/control.sock", "vm1",
					  out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/run/splitvm/s/vm1.sock");
	CU_ASSERT_EQUAL(net_ctl_port_path("ctl", "p", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "p.sock");
	CU_ASSERT_EQUAL(net_ctl_port_path("/x/ctl", "p", out, 8), -ENAMETOOLONG);
}

static void test_options(void)
{
	static struct net_options o;
	char *const ok[] = { "splitvm-net", "--control", "/tmp/s/c.sock", NULL };
	char *const xc[] = { "splitvm-net", "--control", "/tmp/s/c.sock",
			     "--mode", "xconnect", NULL };
	char *const none[] = { "splitvm-net", NULL };

	CU_ASSERT_EQUAL(net_options_parse(3, ok, &o), 0);
	CU_ASSERT_STRING_EQUAL(o.control_path, "/tmp/s/c.sock");
	CU_ASSERT_EQUAL(o.nports, 0);
	CU_ASSERT_EQUAL(net_options_parse(5, xc, &o), -EINVAL);
	CU_ASSERT_EQUAL(net_options_parse(1, none, &o), -EINVAL);
}

/* A fake back-end for the control thread: only stats does anything. */
static size_t fake_ports;

static int fake_add(void *ctx, const char *name, const char *path,
		    const struct net_vlan_config *vlan)
{
	return -ENOSPC;
}

static int fake_remove(void *ctx, const char *name)
{
	return -ENOENT;
}

static int fake_list(void *ctx, char *buf, size_t len)
{
	buf[0] = '\0';
	return 0;
}

static void fake_quit(void *ctx)
{
}

/* A report as long as fake_ports makes it: {"ports":[0,1,...]} and \n. */
static int fake_stats(void *ctx, FILE *f)
{
	fprintf(f, "{\"ports\":[");
	for (size_t i = 0; i < fake_ports; i++)
		fprintf(f, "%s%zu", i ? "," : "", i);
	fprintf(f, "]}\n");
	return fflush(f) ? -EIO : 0;
}

static const struct net_ctl_ops fake_ops = {
	.add = fake_add, .remove = fake_remove, .list = fake_list,
	.quit = fake_quit, .stats = fake_stats,
};

/* One request line to the socket at path; the reply line, malloc'd. */
static char *ask(const char *path, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t used = 0, cap = 4 << 20;
	char *buf = malloc(cap + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (!buf || fd < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (used < cap && (!used || buf[used - 1] != '\n') &&
	       (n = read(fd, buf + used, cap - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(fd);
	return buf;
}

/*
 * {"op":"stats"}: the back-end's report inside {"ok":true,"stats":...}
 * on one line, also when it is far longer than a stream buffer or the
 * socket's (it is written as it is printed).
 */
static void test_stats_reply(void)
{
	static const size_t sizes[] = { 0, 3, 100000 };
	char dir[] = "/tmp/test_net_ctl.XXXXXX", path[64];
	struct net_ctl *c = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	CU_ASSERT_EQUAL_FATAL(net_ctl_start(path, &fake_ops, NULL, &c), 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *want, *got;
		size_t wlen;
		FILE *f = open_memstream(&want, &wlen);

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fake_ports = sizes[k];
		fprintf(f, "{\"ok\":true,\"stats\":");
		CU_ASSERT_EQUAL(fake_stats(NULL, f), 0);
		fclose(f);
		want[wlen - 1] = '}';		/* the report's newline */
		got = ask(path, "{\"op\":\"stats\"}\n");
		CU_ASSERT_PTR_NOT_NULL(got);
		if (got && strlen(got) == wlen + 1) {
			CU_ASSERT_EQUAL(strncmp(got, want, wlen), 0);
			CU_ASSERT_EQUAL(got[wlen], '\n');
		} else {
			CU_FAIL("the stats reply is cut short or too long");
		}
		free(got);
		free(want);
	}
	/* The thread still answers other requests after a long reply. */
	{
		char *got = ask(path, "{\"op\":\"list\"}\n");

		CU_ASSERT_PTR_NOT_NULL(got);
		if (got)
			CU_ASSERT_STRING_EQUAL(got, "{\"ok\":true,\"ports\":[]}\n");
		free(got);
	}
	net_ctl_stop(c);
	rmdir(dir);
}

static CU_TestInfo ctl_tests[] = {
	{ "add, remove, list, quit, stats", test_good_requests },
	{ "malformed and hostile requests are refused", test_bad_requests },
	{ "add with vlan, trunk, native", test_vlan_members },
	{ "a client's add request parses to its configuration",
	  test_format_add_round_trip },
	{ "a client's add request refuses bad names, long lines",
	  test_format_add_refused },
	{ "port sockets live next to the control socket", test_port_path },
	{ "--control on the command line", test_options },
	{ "stats: the report inside one reply line, however long",
	  test_stats_reply },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_ctl", NULL, NULL, NULL, NULL, ctl_tests },
	CU_SUITE_INFO_NULL,
};
