/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm-net's command line, EAL arguments and statistics formats. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_msg.h"
#include "net_options.h"
#include "net_stats.h"
#include "unit.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static struct net_options opts;

static int parse(int argc, char *const argv[])
{
	return net_options_parse(argc, argv, &opts);
}

static int has_arg(const struct net_eal_args *a, const char *s);

static void test_ports(void)
{
	char *const argv[] = { "splitvm-net", "--port", "/tmp/a.sock",
		"--port", "/tmp/b.sock,client,name=uplink",
		"--socket-path", "/tmp/c.sock", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL(opts.action, NET_ACTION_RUN);
	CU_ASSERT_EQUAL(opts.mode, NET_MODE_SWITCH);
	CU_ASSERT_EQUAL(opts.nports, 3);
	CU_ASSERT_STRING_EQUAL(opts.ports[0].path, "/tmp/a.sock");
	CU_ASSERT_STRING_EQUAL(opts.ports[0].name, "port0");
	CU_ASSERT_FALSE(opts.ports[0].client);
	CU_ASSERT_EQUAL(opts.ports[0].listen_fd, -1);
	CU_ASSERT_STRING_EQUAL(opts.ports[1].path, "/tmp/b.sock");
	CU_ASSERT_STRING_EQUAL(opts.ports[1].name, "uplink");
	CU_ASSERT_TRUE(opts.ports[1].client);
	CU_ASSERT_STRING_EQUAL(opts.ports[2].path, "/tmp/c.sock");
	CU_ASSERT_FALSE(opts.ports[2].client);
	/* Defaults the help text promises. */
	CU_ASSERT_FALSE(opts.busy_poll);
	CU_ASSERT_EQUAL(opts.idle_spin_us, 500);
	CU_ASSERT_EQUAL(opts.mac_table_size, 4096);
	CU_ASSERT_EQUAL(opts.mac_age_s, 300);
	CU_ASSERT_EQUAL(opts.memory_mb, 256);
	CU_ASSERT_EQUAL(opts.cpu, -1);
	CU_ASSERT_FALSE(opts.allow_root);
	CU_ASSERT_EQUAL(opts.stats_format, NET_STATS_TEXT);
	CU_ASSERT_EQUAL(opts.seccomp, BE_SECCOMP_KILL);
	CU_ASSERT_EQUAL(opts.threads, 1);
	CU_ASSERT_EQUAL(opts.ncpus, 0);
	CU_ASSERT_EQUAL(opts.ports[0].queues, 1);
}

static void test_queues_threads(void)
{
	char *const argv[] = { "splitvm-net", "--port", "/a,queues=4",
		"--port", "/b", "--queues", "2", "--cpus", "3,0-1", NULL };
	char *const threads[] = { "splitvm-net", "--port", "/a", "--threads",
		"3", NULL };
	struct net_eal_args a;

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	/* queues= wins; --queues (even given later) is the default. */
	CU_ASSERT_EQUAL(opts.ports[0].queues, 4);
	CU_ASSERT_EQUAL(opts.ports[1].queues, 2);
	CU_ASSERT_EQUAL(opts.threads, 3);
	CU_ASSERT_EQUAL(opts.ncpus, 3);
	CU_ASSERT_EQUAL(opts.cpus[0], 3);
	CU_ASSERT_EQUAL(opts.cpus[1], 0);
	CU_ASSERT_EQUAL(opts.cpus[2], 1);
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 1, "0,1", false, &a), 0);
	CU_ASSERT_TRUE(has_arg(&a, "--lcores=0@3,1@0,2@1"));

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(threads), threads), 0);
	CU_ASSERT_EQUAL(opts.threads, 3);
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 1, "0,1", false, &a), 0);
	CU_ASSERT_TRUE(has_arg(&a, "--lcores=(0-2)@(0,1)"));
}

/* An uplink has one queue pair whatever --queues says; a PCI uplink with
 * --cpus: both the lcore map and the device allowed. */
static void test_uplink_queues_threads(void)
{
	char *const argv[] = { "splitvm-net", "--queues", "4", "--port", "/a",
		"--uplink", "net_memif0,socket=/m,name=up", "--uplink",
		"0000:01:00.0", "--cpus", "0,1", NULL };
	struct net_eal_args a;

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL(opts.ports[0].queues, 4);
	CU_ASSERT_EQUAL(opts.ports[1].kind, NET_PORT_UPLINK);
	CU_ASSERT_EQUAL(opts.ports[1].queues, 1);
	CU_ASSERT_EQUAL(opts.ports[2].queues, 1);
	CU_ASSERT_EQUAL(opts.threads, 2);
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 1, "0,1", false, &a), 0);
	CU_ASSERT_TRUE(has_arg(&a, "--lcores=0@0,1@1"));
	CU_ASSERT_TRUE(has_arg(&a, "0000:01:00.0"));
	CU_ASSERT_FALSE(has_arg(&a, "--no-pci"));
}

/* offload=off on one port (an uplink too); --offload off on every one. */
static void test_offload(void)
{
	char *const one[] = { "splitvm-net", "--port", "/a,offload=off",
		"--port", "/b,name=b", NULL };
	char *const all[] = { "splitvm-net", "--port", "/a", "--uplink",
		"net_memif0,socket=/m", "--offload", "off", NULL };
	char *const bad[] = { "splitvm-net", "--port", "/a", "--offload",
		"maybe", NULL };
	char *const badport[] = { "splitvm-net", "--port", "/a,offload=no",
		NULL };
	char *const uplink[] = { "splitvm-net", "--uplink",
		"net_tap0,iface=t0,offload=off,name=up,x=1", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(one), one), 0);
	CU_ASSERT_FALSE(opts.no_offload);
	CU_ASSERT_TRUE(opts.ports[0].no_offload);
	CU_ASSERT_FALSE(opts.ports[1].no_offload);
	CU_ASSERT_STRING_EQUAL(opts.ports[1].name, "b");
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(all), all), 0);
	CU_ASSERT_TRUE(opts.ports[0].no_offload);
	CU_ASSERT_TRUE(opts.ports[1].no_offload);
	CU_ASSERT_EQUAL(parse(ARGC(bad), bad), -EINVAL);
	CU_ASSERT_EQUAL(parse(ARGC(badport), badport), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(uplink), uplink), 0);
	CU_ASSERT_TRUE(opts.ports[0].no_offload);
	/* Ours, taken out of what goes to the driver. */
	CU_ASSERT_STRING_EQUAL(opts.ports[0].devargs,
			       "net_tap0,iface=t0,x=1");
	CU_ASSERT_STRING_EQUAL(opts.ports[0].name, "up");
}

static void test_vlan_options(void)
{
	char *const good[] = { "splitvm-net", "--port", "/a,vlan=10,name=a",
		"--port", "/b,trunk=10:20-22,native=5", "--port", "/c",
		"--uplink", "net_memif0,socket=/m,trunk=all,name=up,x=1",
		"--port", "/d,native=7,trunk=8", NULL };
	static const char *const bad[] = {
		"/a,vlan=0", "/a,vlan=4095", "/a,vlan=", "/a,vlan", "/a,vlan=1x",
		"/a,vlan=10,vlan=11", "/a,vlan=10,trunk=20",
		"/a,trunk=20,vlan=10", "/a,native=5", "/a,vlan=3,native=5",
		"/a,native=5,vlan=3", "/a,trunk=", "/a,trunk=10:", "/a,trunk=:10",
		"/a,trunk=10:10", "/a,trunk=10-20:15", "/a,trunk=20-10",
		"/a,trunk=1-4095", "/a,trunk=10,trunk=20", "/a,trunk=all:3",
		"/a,trunk=5,native=0", "/a,trunk=5,native=6,native=7",
		"/a,vlan=-1", "/a,vlan=+3", "/a,vlan=00010x",
	};
	char *const upbad[] = { "splitvm-net", "--uplink",
		"net_ring0,vlan=5000", NULL };
	char *const xc[] = { "splitvm-net", "--mode", "xconnect", "--port",
		"/a,vlan=3", "--port", "/b", NULL };
	char *const xc_plain[] = { "splitvm-net", "--mode", "xconnect",
		"--port", "/a", "--port", "/b", NULL };
	char *const ctl[] = { "splitvm-net", "--control", "/c/ctl.sock",
		NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(good), good), 0);
	CU_ASSERT_TRUE(net_options_have_vlans(&opts));
	CU_ASSERT_EQUAL(opts.ports[0].vlan.mode, NET_VLAN_MODE_ACCESS);
	CU_ASSERT_EQUAL(opts.ports[0].vlan.vid, 10);
	CU_ASSERT_STRING_EQUAL(opts.ports[0].name, "a");
	CU_ASSERT_EQUAL(opts.ports[1].vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_EQUAL(opts.ports[1].vlan.vid, 5);
	CU_ASSERT_TRUE(net_vlan_allowed(&opts.ports[1].vlan, 10));
	CU_ASSERT_TRUE(net_vlan_allowed(&opts.ports[1].vlan, 21));
	CU_ASSERT_FALSE(net_vlan_allowed(&opts.ports[1].vlan, 11));
	CU_ASSERT_FALSE(net_vlan_allowed(&opts.ports[1].vlan, 23));
	CU_ASSERT_EQUAL(opts.ports[2].vlan.mode, NET_VLAN_MODE_NONE);
	CU_ASSERT_EQUAL(opts.ports[3].vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_TRUE(opts.ports[3].vlan.all);
	CU_ASSERT_TRUE(net_vlan_allowed(&opts.ports[3].vlan, 4094));
	/* Ours: not passed to the driver. */
	CU_ASSERT_STRING_EQUAL(opts.ports[3].devargs, "net_memif0,socket=/m,x=1");
	CU_ASSERT_EQUAL(opts.ports[4].vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_EQUAL(opts.ports[4].vlan.vid, 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *const argv[] = { "splitvm-net", "--port", (char *)bad[i],
			NULL };

		if (parse(ARGC(argv), argv) != -EINVAL)
			CU_FAIL(bad[i]);
	}
	CU_ASSERT_EQUAL(parse(ARGC(upbad), upbad), -EINVAL);
	CU_ASSERT_EQUAL(parse(ARGC(xc), xc), -EINVAL);
	CU_ASSERT_EQUAL(parse(ARGC(xc_plain), xc_plain), 0);
	CU_ASSERT_FALSE(net_options_have_vlans(&opts));
	CU_ASSERT_EQUAL(parse(ARGC(ctl), ctl), 0);
}

/* --copy: direct unless asked for mbuf; nothing else accepted. */
static void test_copy(void)
{
	char *const dflt[] = { "splitvm-net", "--port", "/a", NULL };
	char *const mbuf[] = { "splitvm-net", "--port", "/a", "--copy",
		"mbuf", NULL };
	char *const direct[] = { "splitvm-net", "--port", "/a",
		"--copy=mbuf", "--copy=direct", NULL };
	char *const bad[] = { "splitvm-net", "--port", "/a", "--copy",
		"zero", NULL };

	char *const min300[] = { "splitvm-net", "--port", "/a", "--copy-min",
		"300", NULL };
	char *const minbad[] = { "splitvm-net", "--port", "/a",
		"--copy-min", "65536", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(dflt), dflt), 0);
	CU_ASSERT_EQUAL(opts.copy, NET_COPY_DIRECT);
	CU_ASSERT_EQUAL(opts.copy_min, 0);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(min300), min300), 0);
	CU_ASSERT_EQUAL(opts.copy_min, 300);
	CU_ASSERT_EQUAL(parse(ARGC(minbad), minbad), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(mbuf), mbuf), 0);
	CU_ASSERT_EQUAL(opts.copy, NET_COPY_MBUF);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(direct), direct), 0);
	CU_ASSERT_EQUAL(opts.copy, NET_COPY_DIRECT);
	CU_ASSERT_EQUAL(parse(ARGC(bad), bad), -EINVAL);
}

static void test_seccomp(void)
{
	char *const log_[] = { "splitvm-net", "--port", "/p",
		"--seccomp", "log", NULL };
	char *const off[] = { "splitvm-net", "--port", "/p",
		"--seccomp=off", NULL };
	char *const kill_[] = { "splitvm-net", "--port", "/p",
		"--seccomp=off", "--seccomp=kill", NULL };
	char *const bad[] = { "splitvm-net", "--port", "/p",
		"--seccomp=allow", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(log_), log_), 0);
	CU_ASSERT_EQUAL(opts.seccomp, BE_SECCOMP_LOG);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(off), off), 0);
	CU_ASSERT_EQUAL(opts.seccomp, BE_SECCOMP_OFF);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(kill_), kill_), 0);
	CU_ASSERT_EQUAL(opts.seccomp, BE_SECCOMP_KILL);
	CU_ASSERT_EQUAL(parse(ARGC(bad), bad), -EINVAL);
}

static void test_settings(void)
{
	char *const argv[] = { "splitvm-net", "--mode", "xconnect",
		"--fd", "3", "--port", "/p1", "--busy-poll", "--idle-spin-us", "0",
		"--mac-table-size", "100", "--mac-age", "7", "--memory", "128",
		"--cpu", "1", "--allow-root", "--stats-format", "json", "-v",
		NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CU_ASSERT_EQUAL(opts.mode, NET_MODE_XCONNECT);
	CU_ASSERT_EQUAL(opts.nports, 2);
	CU_ASSERT_EQUAL(opts.ports[0].listen_fd, 3);
	CU_ASSERT_TRUE(opts.busy_poll);
	CU_ASSERT_EQUAL(opts.idle_spin_us, 0);
	CU_ASSERT_EQUAL(opts.mac_table_size, 100);
	CU_ASSERT_EQUAL(opts.mac_age_s, 7);
	CU_ASSERT_EQUAL(opts.memory_mb, 128);
	CU_ASSERT_EQUAL(opts.cpu, 1);
	CU_ASSERT_TRUE(opts.allow_root);
	CU_ASSERT_EQUAL(opts.stats_format, NET_STATS_JSON);
	CU_ASSERT_EQUAL(opts.verbosity, 1);
}

static void test_actions(void)
{
	char *const caps[] = { "splitvm-net", "--print-capabilities", NULL };
	char *const help[] = { "splitvm-net", "--port", "/x", "-h", NULL };

	/* --print-capabilities needs no port (a manager probes with it). */
	CU_ASSERT_EQUAL(parse(ARGC(caps), caps), 0);
	CU_ASSERT_EQUAL(opts.action, NET_ACTION_CAPABILITIES);
	CU_ASSERT_PTR_NOT_NULL(strstr(net_capabilities_json, "\"type\": \"net\""));
	CU_ASSERT_EQUAL(parse(ARGC(help), help), 0);
	CU_ASSERT_EQUAL(opts.action, NET_ACTION_HELP);
}

static void test_rejects(void)
{
	char long_path[200];
	char *const bad[][8] = {
		{ "splitvm-net", NULL },				/* no port */
		{ "splitvm-net", "--port", "/a", "--mode", "xconnect", NULL },
		{ "splitvm-net", "--port", "/a", "--port", "/a", NULL },
		{ "splitvm-net", "--port", "/a,server", NULL },
		{ "splitvm-net", "--port", ",client", NULL },
		{ "splitvm-net", "--port", "/a", "--mode", "hub", NULL },
		{ "splitvm-net", "--port", "/a", "--mac-age", "0", NULL },
		{ "splitvm-net", "--port", "/a", "--memory", "12x", NULL },
		{ "splitvm-net", "--port", "/a", "--fd", "-1", NULL },
		{ "splitvm-net", "--fd", "3", "--fd", "3", NULL },
		{ "splitvm-net", "--port", "/a", "--bogus", NULL },
		{ "splitvm-net", "--port", "/a", "stray", NULL },
		{ "splitvm-net", "--port", "/a", "--stats-format", "xml", NULL },
		{ "splitvm-net", "--port", "/a", "--cpu", NULL },
		{ "splitvm-net", "--port", "/a", "--queues", "0", NULL },
		{ "splitvm-net", "--port", "/a", "--queues", "17", NULL },
		{ "splitvm-net", "--port", "/a,queues=", NULL },
		{ "splitvm-net", "--port", "/a,queues=0", NULL },
		{ "splitvm-net", "--port", "/a,queues=2x", NULL },
		{ "splitvm-net", "--port", "/a", "--threads", "0", NULL },
		{ "splitvm-net", "--port", "/a", "--threads", "17", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "1,", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "2-1", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "1,1", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "a", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "0-16", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "0,1", "--threads",
		  "3", NULL },
		{ "splitvm-net", "--port", "/a", "--cpus", "0", "--cpu", "0",
		  NULL },
		{ "splitvm-net", "--port", "/a", "--threads", "2", "--cpu", "0",
		  NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (bad[i][argc])
			argc++;
		CU_ASSERT_EQUAL(parse(argc, bad[i]), -EINVAL);
	}

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	{
		char *const argv[] = { "splitvm-net", "--port", long_path, NULL };

		CU_ASSERT_EQUAL(parse(ARGC(argv), argv), -EINVAL);
	}
}

static void test_too_many_ports(void)
{
	char *argv[2 + 2 * (NET_SWITCH_MAX_PORTS + 1) + 1];
	char paths[NET_SWITCH_MAX_PORTS + 1][16];
	int argc = 1;

	argv[0] = "splitvm-net";
	for (int i = 0; i <= NET_SWITCH_MAX_PORTS; i++) {
		snprintf(paths[i], sizeof(paths[i]), "/s%d", i);
		argv[argc++] = "--port";
		argv[argc++] = paths[i];
	}
	argv[argc] = NULL;
	CU_ASSERT_EQUAL(parse(argc, argv), -EINVAL);
	CU_ASSERT_EQUAL(parse(argc - 2, argv), 0);
	CU_ASSERT_EQUAL(opts.nports, NET_SWITCH_MAX_PORTS);
}

static int has_arg(const struct net_eal_args *a, const char *s)
{
	for (int i = 0; i < a->argc; i++)
		if (!strcmp(a->argv[i], s))
			return 1;
	return 0;
}

static void test_eal_args(void)
{
	char *const argv[] = { "splitvm-net", "--port", "/a", "--memory", "300",
			       NULL };
	struct net_eal_args a;
	cpu_set_t set;
	char cpus[64];

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(argv), argv), 0);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CPU_SET(1, &set);
	CPU_SET(5, &set);
	CU_ASSERT_EQUAL(net_cpuset_format(&set, cpus, sizeof(cpus)), 0);
	CU_ASSERT_STRING_EQUAL(cpus, "0,1,5");
	CU_ASSERT_EQUAL(net_cpuset_format(&set, cpus, 4), -ENOSPC);
	CPU_ZERO(&set);
	CU_ASSERT_EQUAL(net_cpuset_format(&set, cpus, sizeof(cpus)), -EINVAL);

	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 4242, "0,1", false, &a), 0);
	CU_ASSERT_STRING_EQUAL(a.argv[0], "splitvm-net");
	CU_ASSERT_PTR_NULL(a.argv[a.argc]);
	/* What makes an unprivileged, hugepage-free run possible. */
	CU_ASSERT_TRUE(has_arg(&a, "--no-huge"));
	CU_ASSERT_TRUE(has_arg(&a, "--no-shconf"));
	CU_ASSERT_TRUE(has_arg(&a, "--iova-mode=va"));
	CU_ASSERT_TRUE(has_arg(&a, "--no-pci"));
	CU_ASSERT_TRUE(has_arg(&a, "--no-telemetry"));
	CU_ASSERT_TRUE(has_arg(&a, "--file-prefix=splitvm-net-4242"));
	CU_ASSERT_TRUE(has_arg(&a, "--lcores=0@(0,1)"));
	CU_ASSERT_TRUE(has_arg(&a, "300"));

	opts.cpu = 1;
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 1, "0,1", false, &a), 0);
	CU_ASSERT_TRUE(has_arg(&a, "--lcores=0@1"));
	opts.cpu = -1;
	CU_ASSERT_EQUAL(net_eal_args_build(&opts, 1, "", false, &a), -EINVAL);

	/* Huge pages: memfds (no root, no writable mount), never more than
	 * --memory (the heap may not grow under the sandbox). */
	CU_ASSERT_EQUAL(opts.hugepages, NET_HUGE_AUTO);
	CU_ASSERT_EQUAL_FATAL(net_eal_args_build(&opts, 1, "0,1", true, &a), 0);
	CU_ASSERT_FALSE(has_arg(&a, "--no-huge"));
	CU_ASSERT_TRUE(has_arg(&a, "--in-memory"));
	CU_ASSERT_TRUE(has_arg(&a, "--socket-limit"));
	CU_ASSERT_TRUE(has_arg(&a, "-m"));
	CU_ASSERT_TRUE(has_arg(&a, "--iova-mode=va"));
	for (int i = 1; i + 1 < a.argc; i++)
		if (!strcmp(a.argv[i], "--socket-limit") ||
		    !strcmp(a.argv[i], "-m"))
			CU_ASSERT_STRING_EQUAL(a.argv[i + 1], "300");
}

static void test_hugepages(void)
{
	char *const on[] = { "splitvm-net", "--port", "/a", "--hugepages",
			     "on", NULL };
	char *const off[] = { "splitvm-net", "--port", "/a", "--hugepages",
			      "off", NULL };
	char *const bad[] = { "splitvm-net", "--port", "/a", "--hugepages",
			      "yes", NULL };

	CU_ASSERT_EQUAL_FATAL(parse(ARGC(on), on), 0);
	CU_ASSERT_EQUAL(opts.hugepages, NET_HUGE_ON);
	CU_ASSERT_EQUAL_FATAL(parse(ARGC(off), off), 0);
	CU_ASSERT_EQUAL(opts.hugepages, NET_HUGE_OFF);
	CU_ASSERT_EQUAL(parse(ARGC(bad), bad), -EINVAL);
}

static char *print(int json, const struct net_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(json ? net_report_print_json(f, r)
			     : net_report_print_text(f, r), 0);
	fclose(f);
	return buf;
}

static int vlan_param(struct net_vlan_config *c, const char *p)
{
	char err[160];

	return net_vlan_parse_param(c, p, strlen(p), err, sizeof(err));
}

static void test_stats_formats(void)
{
	struct net_queue_stats q[2] = {
		{ .rx_frames = 10, .rx_bytes = 640, .tx_frames = 3,
		  .tx_bytes = 192, .flooded = 4, .sw_offload = 6,
		  .direct = 7,
		  .drops = { [NET_DROP_RUNT] = 1, [NET_DROP_RX_FULL] = 2,
			     [NET_DROP_BAD_OFFLOAD] = 5, [NET_DROP_VLAN] = 7 } },
		{ 0 },
	};
	struct net_vlan_config trunk = { 0 };
	struct net_port_report ports[2] = {
		{ .name = "vm\"1", .path = "/tmp/a\\b\n", .connected = true,
		  .vlan = &trunk, .nqueues = 1, .queues = &q[0] },
		{ .name = "up", .path = "/u", .client = true, .nqueues = 1,
		  .queues = &q[1] },
	};
	struct net_report r = { .mode = "switch", .mac_entries = 5,
				.nports = 2, .ports = ports, .fwd_frames = 10,
				.fwd_busy_cycles = 2345, .tsc_hz = 2000000000 };
	char *s;

	CU_ASSERT_EQUAL_FATAL(vlan_param(&trunk, "trunk=10:20-22"), 0);
	CU_ASSERT_EQUAL_FATAL(vlan_param(&trunk, "native=5"), 0);
	CU_ASSERT_EQUAL(net_queue_stats_drops(&q[0]), 15);
	s = print(1, &r);
	CU_ASSERT_STRING_EQUAL(s,
		"{\"mode\":\"switch\",\"mac_entries\":5,\"fwd\":{\"frames\":10,"
		"\"busy_cycles\":2345,\"tsc_hz\":2000000000},\"ports\":["
		"{\"port\":0,\"name\":\"vm\\\"1\",\"socket\":\"/tmp/a\\\\b\\u000a\","
		"\"role\":\"server\",\"connected\":true,\"vlan\":{\"mode\":"
		"\"trunk\",\"trunk\":\"10:20-22\",\"native\":5},"
		"\"queues\":[{\"queue\":0,"
		"\"rx_frames\":10,\"rx_bytes\":640,\"tx_frames\":3,\"tx_bytes\":192,"
		"\"flooded\":4,\"sw_offload\":6,\"direct\":7,\"drops\":{\"runt\":1,"
		"\"bad_src\":0,\"hairpin\":0,"
		"\"no_dest\":0,\"rx_full\":2,\"oversize\":0,"
		"\"short_chain\":0,\"bad_chain\":0,\"bad_rx_buf\":0,"
		"\"bad_offload\":5,\"no_mbuf\":0,\"vlan\":7}}]},"
		"{\"port\":1,\"name\":\"up\",\"socket\":\"/u\",\"role\":\"client\","
		"\"connected\":false,\"vlan\":{\"mode\":\"none\"},"
		"\"queues\":[{\"queue\":0,\"rx_frames\":0,"
		"\"rx_bytes\":0,\"tx_frames\":0,\"tx_bytes\":0,\"flooded\":0,"
		"\"sw_offload\":0,\"direct\":0,"
		"\"drops\":{\"runt\":0,\"bad_src\":0,\"hairpin\":0,\"no_dest\":0,"
		"\"rx_full\":0,\"oversize\":0,\"short_chain\":0,"
		"\"bad_chain\":0,\"bad_rx_buf\":0,\"bad_offload\":0,"
		"\"no_mbuf\":0,\"vlan\":0}}]}]}\n");
	free(s);
	s = print(0, &r);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "mode switch, 2 ports, 5 MAC entries"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "rx 10 frames 640 bytes, tx 3 frames "
					 "192 bytes, flooded 4, sw_offload 6, direct 7, "
					 "drops 15 runt=1 "
					 "rx_full=2 bad_offload=5 vlan=7"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, ": connected, trunk 10:20-22 native 5\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "port 1 up (client /u): not connected\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "forwarding: 10 frames in 2345 busy "
					 "cycles (234.5 cycles/frame), TSC 2000000000 Hz"));
	free(s);
	CU_ASSERT_STRING_EQUAL(net_drop_reason_name(NET_DROP_HAIRPIN), "hairpin");
	CU_ASSERT_STRING_EQUAL(net_drop_reason_name(NET_DROP_BAD_CHAIN), "bad_chain");
	CU_ASSERT_STRING_EQUAL(net_drop_reason_name(NET_DROP_COUNT), "?");
}

static void test_queue_num_answer(void)
{
	uint8_t msg[64];
	uint32_t hdr[3] = { 17 /* GET_QUEUE_NUM */, 1, 0 };
	uint64_t n = 0;

	memset(msg, 0xee, sizeof(msg));
	memcpy(msg, hdr, sizeof(hdr));
	CU_ASSERT_TRUE(net_msg_answer_queue_num(msg, sizeof(msg), 3));
	memcpy(hdr, msg, sizeof(hdr));
	memcpy(&n, msg + 12, sizeof(n));
	CU_ASSERT_EQUAL(hdr[0], 17);
	CU_ASSERT_EQUAL(hdr[2], 8);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_FALSE(net_msg_answer_queue_num(msg, 19, 3));	/* short */
	hdr[0] = 1;						/* GET_FEATURES */
	memcpy(msg, hdr, sizeof(hdr));
	CU_ASSERT_FALSE(net_msg_answer_queue_num(msg, sizeof(msg), 3));
}

static CU_TestInfo options_tests[] = {
	{ "GET_QUEUE_NUM answered with the queue pairs served",
	  test_queue_num_answer },
	{ "ports: server, client, name, --socket-path", test_ports },
	{ "every setting", test_settings },
	{ "--seccomp kill, log, off", test_seccomp },
	{ "--print-capabilities and --help", test_actions },
	{ "bad command lines are refused", test_rejects },
	{ "at most 64 ports", test_too_many_ports },
	{ "EAL arguments for unprivileged runs", test_eal_args },
	{ "--hugepages auto, on, off", test_hugepages },
	{ "--queues, queues=, --threads, --cpus", test_queues_threads },
	{ "offload=off, --offload", test_offload },
	{ "--copy direct|mbuf", test_copy },
	{ "uplinks: one queue pair, with --cpus", test_uplink_queues_threads },
	{ "stats as text and JSON", test_stats_formats },
	{ "vlan=, trunk=, native= on ports and uplinks", test_vlan_options },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "net_options", NULL, NULL, NULL, NULL, options_tests },
	CU_SUITE_INFO_NULL,
};
