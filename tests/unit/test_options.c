/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <string.h>

#include "guest_mem.h"
#include "options.h"
#include "supervisor.h"
#include "unit.h"

static void test_sizes(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(options_parse_size("512", &v), 0);
	CU_ASSERT_EQUAL(v, 512ull << 20);
	CU_ASSERT_EQUAL(options_parse_size("512M", &v), 0);
	CU_ASSERT_EQUAL(v, 512ull << 20);
	CU_ASSERT_EQUAL(options_parse_size("4G", &v), 0);
	CU_ASSERT_EQUAL(v, 4ull << 30);
	CU_ASSERT_EQUAL(options_parse_size("4g", &v), 0);
	CU_ASSERT_EQUAL(v, 4ull << 30);
	CU_ASSERT_EQUAL(options_parse_size("65536K", &v), 0);
	CU_ASSERT_EQUAL(v, 64ull << 20);
	CU_ASSERT_EQUAL(options_parse_size("1T", &v), 0);
	CU_ASSERT_EQUAL(v, 1ull << 40);
	CU_ASSERT_EQUAL(options_parse_size("2GiB", &v), 0);
	CU_ASSERT_EQUAL(v, 2ull << 30);
	CU_ASSERT_EQUAL(options_parse_size("256MB", &v), 0);
	CU_ASSERT_EQUAL(v, 256ull << 20);
	CU_ASSERT_EQUAL(options_parse_size("4096B", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
}

static void test_bad_sizes(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(options_parse_size("", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("abc", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("-1G", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size(" 1G", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("12Q", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("1GG", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("1.5G", &v), -EINVAL);
	CU_ASSERT_EQUAL(options_parse_size("99999999999999999999", &v), -ERANGE);
	CU_ASSERT_EQUAL(options_parse_size("17179869184T", &v), -ERANGE);
}

static enum options_result parse(struct options *o, int argc,
				 const char **argv)
{
	return options_parse(argc, (char **)argv, o);
}

static void test_defaults_and_values(void)
{
	struct options o;
	const char *a1[] = { "splitvm", "--kernel", "k.elf" };
	const char *a2[] = { "splitvm", "-k", "k", "-i", "rd", "-a", "x=1",
			     "-m", "1G", "-c", "4", "--hugepages",
			     "--kvm", "/tmp/kvm", "-v" };

	CU_ASSERT_EQUAL(parse(&o, 3, a1), OPTIONS_RUN);
	CU_ASSERT_STRING_EQUAL(o.vm.boot.kernel_path, "k.elf");
	CU_ASSERT_PTR_NULL(o.vm.boot.initrd_path);
	CU_ASSERT_EQUAL(o.vm.mem_size, OPTIONS_DEFAULT_MEMORY);
	CU_ASSERT_EQUAL(o.vm.ncpus, 1);
	CU_ASSERT_STRING_EQUAL(o.vm.kvm_path, "/dev/kvm");
	CU_ASSERT_STRING_EQUAL(o.vm.boot.cmdline, OPTIONS_DEFAULT_CMDLINE);
	CU_ASSERT_EQUAL(o.vm.mem_flags, 0);

	CU_ASSERT_EQUAL(parse(&o, 15, a2), OPTIONS_RUN);
	CU_ASSERT_STRING_EQUAL(o.vm.boot.initrd_path, "rd");
	CU_ASSERT_STRING_EQUAL(o.vm.boot.cmdline, "x=1");
	CU_ASSERT_EQUAL(o.vm.mem_size, 1ull << 30);
	CU_ASSERT_EQUAL(o.vm.ncpus, 4);
	CU_ASSERT_EQUAL(o.vm.mem_flags, GUEST_MEM_HUGETLB);
	CU_ASSERT_STRING_EQUAL(o.vm.kvm_path, "/tmp/kvm");
	CU_ASSERT_EQUAL(o.verbosity, 1);
}

static void test_usage_errors(void)
{
	struct options o;
	const char *no_kernel[] = { "splitvm", "-m", "1G" };
	const char *bad_mem[] = { "splitvm", "-k", "k", "-m", "lots" };
	const char *small_mem[] = { "splitvm", "-k", "k", "-m", "8M" };
	const char *zero_cpus[] = { "splitvm", "-k", "k", "-c", "0" };
	const char *many_cpus[] = { "splitvm", "-k", "k", "-c", "255" };
	const char *nan_cpus[] = { "splitvm", "-k", "k", "-c", "two" };
	const char *unknown[] = { "splitvm", "-k", "k", "--frobnicate" };
	const char *missing[] = { "splitvm", "-k" };
	const char *extra[] = { "splitvm", "-k", "k", "stray" };

	CU_ASSERT_EQUAL(parse(&o, 3, no_kernel), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 5, bad_mem), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 5, small_mem), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 5, zero_cpus), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 5, many_cpus), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 5, nan_cpus), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 4, unknown), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 2, missing), OPTIONS_EXIT_USAGE);
	CU_ASSERT_EQUAL(parse(&o, 4, extra), OPTIONS_EXIT_USAGE);
}

static void test_vhost_user_devices(void)
{
	struct options o;
	const char *ok[] = { "splitvm", "-k", "k",
			     "--disk", "socket=/run/a.sock",
			     "--net", "socket=/run/n.sock,mac=52:54:00:AB:cd:0f",
			     "--disk", "queues=4,socket=/run/b.sock",
			     "--net", "socket=/run/m.sock,queues=1",
			     "--net", "queues=16,socket=/run/q.sock" };
	const struct vhost_user_dev_spec *d = o.vm.vhost_user;

	CU_ASSERT_EQUAL_FATAL(parse(&o, 13, ok), OPTIONS_RUN);
	CU_ASSERT_EQUAL_FATAL(o.vm.nr_vhost_user, 5);
	CU_ASSERT_EQUAL(d[0].type, VHOST_USER_DEV_BLK);
	CU_ASSERT_STRING_EQUAL(d[0].socket_path, "/run/a.sock");
	CU_ASSERT_EQUAL(d[0].queues, 1);
	CU_ASSERT_FALSE(d[0].has_mac);
	CU_ASSERT_EQUAL(d[1].type, VHOST_USER_DEV_NET);
	CU_ASSERT_STRING_EQUAL(d[1].socket_path, "/run/n.sock");
	CU_ASSERT_TRUE(d[1].has_mac);
	CU_ASSERT_EQUAL(memcmp(d[1].mac, "\x52\x54\x00\xab\xcd\x0f", 6), 0);
	CU_ASSERT_EQUAL(d[2].queues, 4);
	CU_ASSERT_STRING_EQUAL(d[2].socket_path, "/run/b.sock");
	CU_ASSERT_FALSE(d[3].has_mac);
	CU_ASSERT_EQUAL(d[3].queues, 1);
	/* net: queue pairs, more than one with the control queue. */
	CU_ASSERT_EQUAL(d[4].type, VHOST_USER_DEV_NET);
	CU_ASSERT_EQUAL(d[4].queues, 16);
	CU_ASSERT_STRING_EQUAL(d[4].socket_path, "/run/q.sock");
}

static void test_vhost_user_errors(void)
{
	static const char *const bad[][2] = {
		{ "--disk", "" },			/* no socket */
		{ "--disk", "socket=" },		/* empty path */
		{ "--disk", "queues=2" },		/* no socket */
		{ "--disk", "socket=/s,queues=0" },
		{ "--disk", "socket=/s,queues=17" },
		{ "--disk", "socket=/s,queues=x" },
		{ "--disk", "socket=/s,queues=-1" },
		{ "--disk", "socket=/s,mac=52:54:00:00:00:01" }, /* net only */
		{ "--disk", "socket=/s,size=1G" },	/* unknown key */
		{ "--disk", "/s" },			/* no key */
		{ "--net", "socket=/s,mac=52:54:00:00:00" },
		{ "--net", "socket=/s,mac=52:54:00:00:00:0g" },
		{ "--net", "socket=/s,mac=52:54:00:00:00:011" },
		{ "--net", "socket=/s,mac=01:00:5e:00:00:01" }, /* multicast */
		{ "--net", "socket=/s,queues=0" },
		{ "--net", "socket=/s,queues=17" },	/* 16 pairs at most */
		{ "--net", "socket=/s,queues=2x" },
		{ "--net", "socket=/s,queues=" },
	};
	char long_path[200] = "socket=/";
	struct options o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { "splitvm", "-k", "k", bad[i][0],
				       bad[i][1] };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
	memset(long_path + 8, 'a', 120);
	{
		const char *argv[] = { "splitvm", "-k", "k", "--disk",
				       long_path };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
	/* At most VM_MAX_VHOST_USER_DEVS in all. */
	{
		const char *argv[3 + 2 * (VM_MAX_VHOST_USER_DEVS + 1)] = {
			"splitvm", "-k", "k" };

		for (unsigned i = 0; i <= VM_MAX_VHOST_USER_DEVS; i++) {
			argv[3 + 2 * i] = i % 2 ? "--net" : "--disk";
			argv[4 + 2 * i] = "socket=/s";
		}
		CU_ASSERT_EQUAL(parse(&o, 3 + 2 * VM_MAX_VHOST_USER_DEVS, argv),
				OPTIONS_RUN);
		CU_ASSERT_EQUAL(o.vm.nr_vhost_user, VM_MAX_VHOST_USER_DEVS);
		CU_ASSERT_EQUAL(parse(&o, 3 + 2 * (VM_MAX_VHOST_USER_DEVS + 1),
				      argv), OPTIONS_EXIT_USAGE);
	}
}

/* ---- spawned back-ends: path=, switch=, --backend-* ---- */

static void test_spawned_backends(void)
{
	struct options o;
	const char *ok[] = { "splitvm", "-k", "k",
			     "--disk", "path=/img/a.raw,readonly,queues=2",
			     "--net", "switch=lan-1_x,mac=52:54:00:00:00:07",
			     "--disk", "socket=/run/b.sock",
			     "--backend-dir", "/opt/splitvm",
			     "--backend-user", "4242:17" };
	static const char *const bad[][2] = {
		{ "--disk", "path=" },
		{ "--disk", "path=/a,socket=/b" },	/* two back-ends */
		{ "--disk", "readonly" },		/* none */
		{ "--disk", "socket=/b,readonly" },	/* readonly: path= only */
		{ "--disk", "switch=lan" },		/* net only */
		{ "--net", "path=/a" },			/* disk only */
		{ "--net", "switch=" },
		{ "--net", "switch=a/b" },
		{ "--net", "switch=../x" },
		{ "--net", "switch=123456789012345678901234567890123" },
		{ "--net", "switch=lan,socket=/s" },
		{ "--net", "switch=lan,queues=2" },	/* one pair per port */
		{ "--net", "switch=lan,readonly" },
		{ "--backend-user", "0" },		/* never root */
		{ "--backend-user", "0:0" },
		{ "--backend-dir", "" },
		{ "--disk", "socket=/s,ring=" },
		{ "--disk", "socket=/s,ring=wide" },
	};
	const struct backend_spec *b = o.backends.specs;

	CU_ASSERT_EQUAL_FATAL(parse(&o, 13, ok), OPTIONS_RUN);
	CU_ASSERT_EQUAL_FATAL(o.vm.nr_vhost_user, 3);
	CU_ASSERT_EQUAL(b[0].kind, BACKEND_BLK);
	CU_ASSERT_STRING_EQUAL(b[0].image, "/img/a.raw");
	CU_ASSERT_TRUE(b[0].readonly);
	CU_ASSERT_EQUAL(o.vm.vhost_user[0].queues, 2);
	CU_ASSERT_EQUAL(o.vm.vhost_user[0].socket_path[0], '\0');
	CU_ASSERT_EQUAL(b[1].kind, BACKEND_SWITCH);
	CU_ASSERT_STRING_EQUAL(b[1].switch_name, "lan-1_x");
	CU_ASSERT_TRUE(o.vm.vhost_user[1].has_mac);
	CU_ASSERT_EQUAL(b[2].kind, BACKEND_EXTERNAL);
	CU_ASSERT_STRING_EQUAL(o.vm.vhost_user[2].socket_path, "/run/b.sock");
	CU_ASSERT_STRING_EQUAL(o.backends.dir, "/opt/splitvm");
	CU_ASSERT_TRUE(o.backends.has_user);
	CU_ASSERT(o.backends.uid == 4242 && o.backends.gid == 17);
	CU_ASSERT_TRUE(backend_spawn_needed(&o.backends, &o.vm));
	/*
	 * Spawned back-ends are restarted unnoticed: splitvm-blk on any
	 * ring (packed ones resume from the inflight region), a switch port
	 * on split rings.
	 */
	CU_ASSERT_EQUAL(o.vm.vhost_user[0].ring, VHOST_USER_DEV_RING_AUTO);
	CU_ASSERT_EQUAL(o.vm.vhost_user[1].ring, VHOST_USER_DEV_RING_SPLIT);
	CU_ASSERT_EQUAL(o.vm.vhost_user[2].ring, VHOST_USER_DEV_RING_AUTO);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { "splitvm", "-k", "k", bad[i][0],
				       bad[i][1] };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
	{
		const char *argv[] = { "splitvm", "-k", "k", "--disk",
				       "socket=/s" };

		CU_ASSERT_EQUAL_FATAL(parse(&o, 5, argv), OPTIONS_RUN);
		CU_ASSERT_FALSE(backend_spawn_needed(&o.backends, &o.vm));
	}
	{
		const char *argv[] = { "splitvm", "-k", "k",
				       "--disk", "path=/i,ring=packed",
				       "--net", "socket=/s,ring=split",
				       "--net", "switch=x,ring=auto" };

		CU_ASSERT_EQUAL_FATAL(parse(&o, 9, argv), OPTIONS_RUN);
		CU_ASSERT_EQUAL(o.vm.vhost_user[0].ring,
				VHOST_USER_DEV_RING_PACKED);
		CU_ASSERT_EQUAL(o.vm.vhost_user[1].ring,
				VHOST_USER_DEV_RING_SPLIT);
		CU_ASSERT_EQUAL(o.vm.vhost_user[2].ring,
				VHOST_USER_DEV_RING_AUTO);
	}
}

/* --net switch=NAME with vlan=, trunk=, native= (the switch's grammar). */
static void test_switch_vlans(void)
{
	struct options o;
	const char *ok[] = { "splitvm", "-k", "k",
			     "--net", "switch=lan,vlan=10",
			     "--net", "vlan=4094,switch=lan,mac=52:54:00:00:00:07",
			     "--net", "switch=lan,trunk=10:20-29,native=5",
			     "--net", "native=1,switch=lan,trunk=all",
			     "--net", "switch=lan" };
	static const char *const bad[] = {
		"switch=lan,vlan=0", "switch=lan,vlan=4095",
		"switch=lan,vlan=", "switch=lan,vlan", "switch=lan,vlan=1x",
		"switch=lan,vlan=-1", "switch=lan,vlan=10,vlan=10",
		"switch=lan,vlan=10,trunk=20", "switch=lan,trunk=20,vlan=10",
		"switch=lan,vlan=10,native=5", "switch=lan,native=5",
		"switch=lan,trunk=", "switch=lan,trunk", "switch=lan,trunk=5:5",
		"switch=lan,trunk=1-10:10", "switch=lan,trunk=20-10",
		"switch=lan,trunk=4095", "switch=lan,trunk=1,trunk=2",
		"switch=lan,trunk=10,native=0", "switch=lan,trunk=a\"b",
		/* a socket= back-end configures its own ports */
		"socket=/s,vlan=10", "socket=/s,trunk=10",
		"socket=/s,trunk=10,native=2",
	};
	const struct backend_spec *b = o.backends.specs;
	char list[64];

	CU_ASSERT_EQUAL_FATAL(parse(&o, 13, ok), OPTIONS_RUN);
	CU_ASSERT_EQUAL_FATAL(o.vm.nr_vhost_user, 5);
	CU_ASSERT_EQUAL(b[0].vlan.mode, NET_VLAN_MODE_ACCESS);
	CU_ASSERT_EQUAL(b[0].vlan.vid, 10);
	CU_ASSERT_EQUAL(b[1].vlan.mode, NET_VLAN_MODE_ACCESS);
	CU_ASSERT_EQUAL(b[1].vlan.vid, 4094);
	CU_ASSERT_TRUE(o.vm.vhost_user[1].has_mac);
	CU_ASSERT_EQUAL(b[2].vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_EQUAL(b[2].vlan.vid, 5);
	CU_ASSERT_EQUAL(net_vlan_format_list(&b[2].vlan, list, sizeof(list)),
			0);
	CU_ASSERT_STRING_EQUAL(list, "10:20-29");
	CU_ASSERT_EQUAL(b[3].vlan.mode, NET_VLAN_MODE_TRUNK);
	CU_ASSERT_EQUAL(b[3].vlan.vid, 1);
	CU_ASSERT_TRUE(b[3].vlan.all);
	CU_ASSERT_EQUAL(b[4].vlan.mode, NET_VLAN_MODE_NONE);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { "splitvm", "-k", "k", "--net", bad[i] };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
	{
		/* --disk has no VLANs. */
		const char *argv[] = { "splitvm", "-k", "k", "--disk",
				       "path=/i,vlan=10" };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
	{
		/* 1:3:5:...: fits the command line, not the switch's
		 * request line. */
		char arg[500];
		size_t n = (size_t)snprintf(arg, sizeof(arg),
					    "switch=lan,trunk=1");
		const char *argv[] = { "splitvm", "-k", "k", "--net", arg };

		for (unsigned v = 3; n + 6 < sizeof(arg); v += 2)
			n += (size_t)snprintf(arg + n, sizeof(arg) - n, ":%u",
					      v);
		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
}

/* The supervisor's restart delays (core/supervisor.c). */
static void test_restart_delays(void)
{
	unsigned d = 0, seen[12];

	for (unsigned i = 0; i < 12; i++)
		d = seen[i] = supervisor_next_delay(d, 50, false);
	CU_ASSERT_EQUAL(seen[0], 100);
	CU_ASSERT_EQUAL(seen[1], 200);
	CU_ASSERT_EQUAL(seen[2], 400);
	CU_ASSERT_EQUAL(seen[8], 25600);
	CU_ASSERT_EQUAL(seen[9], 30000);	/* capped */
	CU_ASSERT_EQUAL(seen[11], 30000);
	/* A back-end that lived long enough starts the series again. */
	CU_ASSERT_EQUAL(supervisor_next_delay(30000, 10000, false), 100);
	CU_ASSERT_EQUAL(supervisor_next_delay(800, 9999, false), 1600);
	/* Asked for: at once. */
	CU_ASSERT_EQUAL(supervisor_next_delay(30000, 5, true), 0);
	CU_ASSERT_EQUAL(supervisor_next_delay(0, 5, false), 100);
}

/* ---- sandbox options ---- */

static void test_sandbox_options(void)
{
	struct options o;
	const char *none[] = { "splitvm", "-k", "k" };
	const char *all[] = { "splitvm", "-k", "k", "--sandbox=off",
			      "--seccomp=log", "--user", "nobody:nogroup" };
	const char *eq[] = { "splitvm", "-k", "k", "--seccomp", "off",
			     "--user=4242:17", "--sandbox", "on" };
	static const char *const bad[][2] = {
		{ "--sandbox", "yes" },
		{ "--sandbox", "" },
		{ "--seccomp", "trap" },
		{ "--seccomp", "KILL" },
		{ "--user", "" },
		{ "--user", "root:" },
		{ "--user", "no-such-user-here" },
		{ "--user", "4294967295" },
	};

	/* Default: on, killing, no --user (root becomes 65534 at apply). */
	CU_ASSERT_EQUAL_FATAL(parse(&o, 3, none), OPTIONS_RUN);
	CU_ASSERT_FALSE(o.sandbox.disabled);
	CU_ASSERT_EQUAL(o.sandbox.seccomp, SANDBOX_SECCOMP_KILL);
	CU_ASSERT_FALSE(o.sandbox.has_user);

	CU_ASSERT_EQUAL_FATAL(parse(&o, 7, all), OPTIONS_RUN);
	CU_ASSERT_TRUE(o.sandbox.disabled);
	CU_ASSERT_EQUAL(o.sandbox.seccomp, SANDBOX_SECCOMP_LOG);
	CU_ASSERT_TRUE(o.sandbox.has_user);
	CU_ASSERT(o.sandbox.uid == 65534 && o.sandbox.gid == 65534);

	CU_ASSERT_EQUAL_FATAL(parse(&o, 8, eq), OPTIONS_RUN);
	CU_ASSERT_FALSE(o.sandbox.disabled);
	CU_ASSERT_EQUAL(o.sandbox.seccomp, SANDBOX_SECCOMP_OFF);
	CU_ASSERT(o.sandbox.uid == 4242 && o.sandbox.gid == 17);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { "splitvm", "-k", "k", bad[i][0],
				       bad[i][1] };

		CU_ASSERT_EQUAL(parse(&o, 5, argv), OPTIONS_EXIT_USAGE);
	}
}

static CU_TestInfo options_tests[] = {
	{ "sizes", test_sizes },
	{ "bad sizes", test_bad_sizes },
	{ "defaults and values", test_defaults_and_values },
	{ "usage errors", test_usage_errors },
	{ "vhost-user devices", test_vhost_user_devices },
	{ "vhost-user device errors", test_vhost_user_errors },
	{ "sandbox options", test_sandbox_options },
	{ "spawned back-ends", test_spawned_backends },
	{ "switch ports in VLANs: vlan=, trunk=, native=", test_switch_vlans },
	{ "restart delays", test_restart_delays },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "options", NULL, NULL, NULL, NULL, options_tests },
	CU_SUITE_INFO_NULL,
};
