/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net's --uplink: parsing, what devargs say, privileges, seccomp. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>

#include "net_options.h"
#include "net_sandbox.h"
#include "net_stats.h"
#include "net_uplink_args.h"
#include "unit.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static struct net_options opts;

static int parse(int argc, char *const argv[])
{
	return net_options_parse(argc, argv, &opts);
}

static void test_parse(void)
{
	char *const argv[] = { "splitvm-net", "--port", "/a.sock",
		"--uplink", "net_memif0,socket=/m.sock,name=up,role=server",
		"--uplink", "net_tap0,iface=t0",
		"--uplink-poll-us", "250", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL(opts.nports, 3);
	CU_ASSERT_EQUAL(opts.ports[0].kind, NET_PORT_VHOST);
	CU_ASSERT_EQUAL(opts.ports[1].kind, NET_PORT_UPLINK);
	/* name= is ours: out of the devargs the driver sees. */
	CU_ASSERT_STRING_EQUAL(opts.ports[1].devargs,
			       "net_memif0,socket=/m.sock,role=server");
	CU_ASSERT_STRING_EQUAL(opts.ports[1].name, "up");
	CU_ASSERT_STRING_EQUAL(opts.ports[2].devargs, "net_tap0,iface=t0");
	CU_ASSERT_STRING_EQUAL(opts.ports[2].name, "uplink2");
	CU_ASSERT_EQUAL(opts.uplink_poll_us, 250);
}

static void test_xconnect_pairs(void)
{
	char *const ok[] = { "splitvm-net", "--mode", "xconnect", "--port",
		"/a", "--uplink", "net_ring0", NULL };
	char *const odd[] = { "splitvm-net", "--mode", "xconnect",
		"--uplink", "net_ring0", NULL };

	CU_ASSERT_EQUAL(parse(ARGC(ok), ok), 0);
	CU_ASSERT_EQUAL(opts.uplink_poll_us, 1000);
	CU_ASSERT_EQUAL(parse(ARGC(odd), odd), -EINVAL);
}

static void test_rejects(void)
{
	char long_args[NET_DEVARGS_MAX + 16];
	char *const bad[][6] = {
		{ "splitvm-net", "--uplink", "", NULL },
		{ "splitvm-net", "--uplink", ",iface=x", NULL },
		{ "splitvm-net", "--uplink", "net_tap0,,iface=x", NULL },
		{ "splitvm-net", "--uplink", "iface=x", NULL },
		{ "splitvm-net", "--uplink", "net_tap0,name=0123456789012345678901234567890123", NULL },
		{ "splitvm-net", "--uplink", "net_tap0", "--uplink", "net_tap0,iface=b", NULL },
		{ "splitvm-net", "--uplink", "net_tap0\n", NULL },
		{ "splitvm-net", "--uplink", "net_ring0", "--uplink-poll-us", "0", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (bad[i][argc])
			argc++;
		CU_ASSERT_EQUAL(parse(argc, bad[i]), -EINVAL);
	}
	memset(long_args, 'a', sizeof(long_args) - 1);
	memcpy(long_args, "net_tap0,iface=", 15);
	long_args[sizeof(long_args) - 1] = '\0';
	{
		char *const argv[] = { "splitvm-net", "--uplink", long_args,
				       NULL };

		CU_ASSERT_EQUAL(parse(ARGC(argv), argv), -EINVAL);
	}
}

static void test_types(void)
{
	char name[16];

	CU_ASSERT_EQUAL(net_uplink_type_of("net_memif0,socket=/x"),
			NET_UPLINK_MEMIF);
	CU_ASSERT_EQUAL(net_uplink_type_of("eth_memif"), NET_UPLINK_MEMIF);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_tap0"), NET_UPLINK_TAP);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_tap_up,iface=x"),
			NET_UPLINK_TAP);
	/* net_tun is another driver (L3), not a tap. */
	CU_ASSERT_EQUAL(net_uplink_type_of("net_tun0"), NET_UPLINK_OTHER);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_tapx"), NET_UPLINK_OTHER);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_af_packet0,iface=eth0"),
			NET_UPLINK_AF_PACKET);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_ring1"), NET_UPLINK_RING);
	CU_ASSERT_EQUAL(net_uplink_type_of("net_null0"), NET_UPLINK_OTHER);
	CU_ASSERT_EQUAL(net_uplink_type_of("0000:01:00.0"), NET_UPLINK_PCI);
	CU_ASSERT_EQUAL(net_uplink_type_of("01:00.1,txq_inline=1"),
			NET_UPLINK_PCI);
	CU_ASSERT_FALSE(net_uplink_is_pci("0000:01:00.8"));
	CU_ASSERT_FALSE(net_uplink_is_pci("0000:01:00"));
	CU_ASSERT_FALSE(net_uplink_is_pci("0000:0g:00.0"));
	CU_ASSERT_FALSE(net_uplink_is_pci("0000:01:00.0x"));
	CU_ASSERT_STRING_EQUAL(net_uplink_type_name(NET_UPLINK_PCI), "pci");

	CU_ASSERT_EQUAL(net_uplink_devname("net_tap0,iface=x", name,
					   sizeof(name)), 0);
	CU_ASSERT_STRING_EQUAL(name, "net_tap0");
	CU_ASSERT_EQUAL(net_uplink_devname("net_a_very_long_name0", name,
					   sizeof(name)), -ENOSPC);

	/* memif defaults to the client role (it creates the memory). */
	CU_ASSERT_TRUE(net_uplink_memif_client("net_memif0,socket=/x"));
	CU_ASSERT_TRUE(net_uplink_memif_client("net_memif0,role=client"));
	CU_ASSERT_TRUE(net_uplink_memif_client("net_memif0,role=slave"));
	CU_ASSERT_FALSE(net_uplink_memif_client("net_memif0,role=server"));
	CU_ASSERT_FALSE(net_uplink_memif_client("net_memif0,x=1,role=master"));
	CU_ASSERT_FALSE(net_uplink_memif_client("net_tap0,role=client"));

	CU_ASSERT_TRUE(net_uplink_teardown_sandboxed("net_memif0"));
	CU_ASSERT_TRUE(net_uplink_teardown_sandboxed("net_ring0"));
	CU_ASSERT_FALSE(net_uplink_teardown_sandboxed("net_tap0"));
	CU_ASSERT_FALSE(net_uplink_teardown_sandboxed("0000:01:00.0"));

	/* memif's server leaves its listener with the interrupt thread,
	 * which rte_eal_cleanup() does not stop: no cleanup with memif. */
	CU_ASSERT_TRUE(net_uplink_eal_cleanup_safe("net_ring0"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("net_memif0,role=server"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("net_memif0"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("net_tap0"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("net_af_packet0,iface=x"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("0000:01:00.0"));
	CU_ASSERT_FALSE(net_uplink_eal_cleanup_safe("net_null0"));
}

static void test_caps(void)
{
	char *const argv[] = { "splitvm-net", "--uplink", "net_tap0",
		"--uplink", "net_af_packet0,iface=x", "--uplink", "net_tap1",
		"--uplink", "net_memif0", NULL };
	char *const afp[] = { "splitvm-net", "--uplink", "net_af_packet0",
		NULL };
	char *const none[] = { "splitvm-net", "--port", "/a", "--uplink",
		"net_memif0", NULL };
	int caps[4];

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL_FATAL(net_uplink_caps(&opts, caps, 4), 2);
	CU_ASSERT_EQUAL(caps[0], CAP_NET_ADMIN);
	CU_ASSERT_EQUAL(caps[1], CAP_NET_RAW);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(afp), afp), 0);
	CU_ASSERT_EQUAL_FATAL(net_uplink_caps(&opts, caps, 4), 2);
	CU_ASSERT_EQUAL(caps[0], CAP_NET_RAW);
	CU_ASSERT_EQUAL(caps[1], CAP_NET_ADMIN);
	CU_ASSERT_EQUAL(net_uplink_caps(&opts, caps, 1), 1);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(none), none), 0);
	CU_ASSERT_EQUAL(net_uplink_caps(&opts, caps, 4), 0);
}

static void test_eal_pci(void)
{
	char *const argv[] = { "splitvm-net", "--port", "/a", "--uplink",
		"0000:01:00.0,name=nic", "--uplink", "net_tap0", NULL };
	struct net_eal_args a;
	int allow = -1;

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 7, "0", false, &a), 0);
	for (int i = 0; i < a.argc; i++) {
		CU_ASSERT_STRING_NOT_EQUAL(a.argv[i], "--no-pci");
		if (!strcmp(a.argv[i], "-a"))
			allow = i;
	}
	/* Only the uplink's device is allowed on the PCI bus. */
	CU_ASSERT_FATAL(allow > 0 && allow + 1 < a.argc);
	CU_ASSERT_STRING_EQUAL(a.argv[allow + 1], "0000:01:00.0");

	/* More PCI uplinks than EAL arguments fit: refused, not cut. */
	{
		char *many[2 + 2 * NET_SWITCH_MAX_PORTS];
		char addr[NET_SWITCH_MAX_PORTS][16];
		int n = 1;

		many[0] = "splitvm-net";
		for (int i = 0; i < NET_SWITCH_MAX_PORTS; i++) {
			snprintf(addr[i], sizeof(addr[i]), "0000:%02x:00.0", i);
			many[n++] = "--uplink";
			many[n++] = addr[i];
		}
		many[n] = NULL;
		CU_ASSERT_EQUAL_FATAL(parse(n, many), 0);
		CU_ASSERT_EQUAL(net_eal_args_build(&opts, 7, "0", false, &a), -E2BIG);
	}
}

static bool policy_has(const struct be_sandbox_policy *p, int nr)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].nr == nr)
			return true;
	return false;
}

static void test_sandbox_policy(void)
{
	char *const plain[] = { "splitvm-net", "--port", "/a", NULL };
	char *const server[] = { "splitvm-net", "--port", "/a", "--uplink",
		"net_memif0,role=server", NULL };
	char *const client[] = { "splitvm-net", "--port", "/a", "--uplink",
		"net_memif0", NULL };
	char *const tap[] = { "splitvm-net", "--port", "/a", "--uplink",
		"net_tap0", NULL };
	const struct be_sandbox_policy *p;

	/* Without uplinks nothing beyond the common list (no ftruncate). */
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(plain), plain), 0);
	p = net_sandbox_policy_for(&opts);
	CU_ASSERT_EQUAL(p->nrules, 0);
	/* A memif server only maps what its client sends. */
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(server), server), 0);
	p = net_sandbox_policy_for(&opts);
	CU_ASSERT_TRUE(policy_has(p, SCMP_SYS(epoll_create)));
	CU_ASSERT_FALSE(policy_has(p, SCMP_SYS(ftruncate)));
	CU_ASSERT_FALSE(policy_has(p, SCMP_SYS(readv)));
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(client), client), 0);
	p = net_sandbox_policy_for(&opts);
	CU_ASSERT_TRUE(policy_has(p, SCMP_SYS(memfd_create)));
	CU_ASSERT_TRUE(policy_has(p, SCMP_SYS(ftruncate)));
	CU_ASSERT_FALSE(policy_has(p, SCMP_SYS(writev)));
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(tap), tap), 0);
	p = net_sandbox_policy_for(&opts);
	CU_ASSERT_TRUE(policy_has(p, SCMP_SYS(readv)));
	CU_ASSERT_TRUE(policy_has(p, SCMP_SYS(writev)));
	CU_ASSERT_FALSE(policy_has(p, SCMP_SYS(ftruncate)));
	CU_ASSERT_FALSE(policy_has(p, SCMP_SYS(sendto)));
}

static void test_stats_uplink(void)
{
	struct net_queue_stats q = { .rx_frames = 2, .tx_frames = 1 };
	struct net_port_report port = {
		.name = "up", .path = "", .devargs = "net_memif0,socket=/m",
		.connected = true, .nqueues = 1, .queues = &q };
	struct net_report r = { .mode = "xconnect", .nports = 1,
				.ports = &port };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(net_report_print_json(f, &r), 0);
	CU_ASSERT_EQUAL(net_report_print_text(f, &r), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"port\":0,\"name\":\"up\","
		"\"devargs\":\"net_memif0,socket=/m\",\"role\":\"uplink\","
		"\"connected\":true,"));
	CU_ASSERT_PTR_NULL(strstr(buf, "\"socket\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "port 0 up (uplink "
				      "net_memif0,socket=/m): connected"));
	free(buf);
}

static CU_TestInfo uplink_tests[] = {
	{ "--uplink DEVARGS[,name=NAME]", test_parse },
	{ "uplinks pair with ports in xconnect", test_xconnect_pairs },
	{ "bad uplinks are refused", test_rejects },
	{ "driver, PCI address, memif role", test_types },
	{ "capabilities an uplink needs", test_caps },
	{ "a PCI uplink is the only PCI device allowed", test_eal_pci },
	{ "seccomp list per kind of uplink", test_sandbox_policy },
	{ "an uplink in the statistics", test_stats_uplink },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_uplink", NULL, NULL, NULL, NULL, uplink_tests },
	CU_SUITE_INFO_NULL,
};
