/* SPDX-License-Identifier: GPL-2.0-only */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_mem.h"
#include "log.h"
#include "net_ctl_msg.h"

int options_parse_size(const char *text, uint64_t *bytes)
{
	unsigned long long value;
	unsigned shift;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;

	switch (toupper((unsigned char)*end)) {
	case '\0':
	case 'M':
		shift = 20;
		break;
	case 'K':
		shift = 10;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	case 'B':
		shift = 0;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		/* Accept "512MiB" and "512MB" too. */
		if (shift && (*end == 'i' || *end == 'I'))
			end++;
		if (shift && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (value > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)value << shift;
	return 0;
}

static int options_parse_cpus(const char *text, unsigned *ncpus)
{
	unsigned long v;
	char *end;

	if (!text || !isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (*end || errno)
		return -EINVAL;
	if (v == 0 || v > OPTIONS_MAX_CPUS)
		return -ERANGE;
	*ncpus = v;
	return 0;
}

static enum options_result options_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static bool options_parse_mac(const char *text, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)text[0]) ||
		    !isxdigit((unsigned char)text[1]) ||
		    text[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)strtoul((char[3]){ text[0], text[1], 0 },
					  NULL, 16);
		text += 3;
	}
	return true;
}

static bool options_switch_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BACKEND_SWITCH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/*
 * A --net device's vlan=, trunk=, native= (parsed into be->vlan): they
 * fit together, go with switch= only (a socket= back-end configures its
 * ports itself), and make an add request the switch takes whatever the
 * port's name.
 */
static enum options_result options_check_vlan(const struct backend_spec *be,
					      const char *arg)
{
	char err[256], name[NET_CTL_NAME_MAX + 1];
	char line[NET_CTL_MAX_LINE + 2];

	if (net_vlan_config_check(&be->vlan, err, sizeof(err)))
		return options_error("--net '%s': %s", arg, err);
	if (be->vlan.mode == NET_VLAN_MODE_NONE)
		return OPTIONS_RUN;
	if (be->kind != BACKEND_SWITCH)
		return options_error("--net '%s': vlan=, trunk= and native= go with switch=NAME (a socket= back-end configures its own ports)",
				     arg);
	memset(name, 'x', NET_CTL_NAME_MAX);
	name[NET_CTL_NAME_MAX] = '\0';
	if (net_ctl_format_add(name, &be->vlan, line, sizeof(line)))
		return options_error("--net switch=%s: the trunk= list is too long for the switch's request line (%d bytes at most); use ranges A-B, or all",
				     be->switch_name, NET_CTL_MAX_LINE);
	return OPTIONS_RUN;
}

/*
 * "socket=PATH|path=IMG|switch=NAME" with "queues=N", "readonly" (path=)
 * and "mac=xx:..", "vlan=N", "trunk=LIST", "native=N" (--net) into the
 * next vhost-user slot.  Paths cannot
 * contain ','.
 */
static enum options_result options_parse_vhost_user(struct options *opts,
						    enum vhost_user_dev_type type,
						    const char *arg)
{
	bool blk = type == VHOST_USER_DEV_BLK;
	const char *opt = blk ? "--disk" : "--net";
	const char *syntax = blk ?
		"socket=PATH or path=IMG[,readonly], [,queues=N]" :
		"socket=PATH or switch=NAME[,vlan=N|trunk=LIST[,native=N]], "
		"[,mac=xx:xx:xx:xx:xx:xx][,queues=N]";
	struct vhost_user_dev_spec *spec;
	struct backend_spec *be;
	char buf[512], *save = NULL, *item;
	unsigned sources = 0;
	bool ring_given = false;

	if (opts->vm.nr_vhost_user >= VM_MAX_VHOST_USER_DEVS)
		return options_error("%s %s: at most %u --disk and --net devices",
				     opt, arg, VM_MAX_VHOST_USER_DEVS);
	if (strlen(arg) >= sizeof(buf))
		return options_error("%s: argument too long", opt);
	spec = &opts->vm.vhost_user[opts->vm.nr_vhost_user];
	be = &opts->backends.specs[opts->vm.nr_vhost_user];
	memset(spec, 0, sizeof(*spec));
	memset(be, 0, sizeof(*be));
	spec->type = type;
	spec->queues = 1;
	strcpy(buf, arg);
	for (item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *value = strchr(item, '=');
		char err[256];
		int r;

		/* vlan=, trunk=, native=: splitvm-net's own parser. */
		r = blk ? 1 : net_vlan_parse_param(&be->vlan, item,
						   strlen(item), err,
						   sizeof(err));
		if (r < 0)
			return options_error("--net %s", err);
		if (r == 0)
			continue;
		if (blk && !strcmp(item, "readonly")) {
			be->readonly = true;
			continue;
		}
		if (!value)
			return options_error("%s '%s': expected %s", opt, item,
					     syntax);
		*value++ = '\0';
		if (!strcmp(item, "socket")) {
			if (!*value)
				return options_error("%s: socket= needs a path",
						     opt);
			if (strlen(value) >= sizeof(spec->socket_path))
				return options_error("%s socket=%s: path too long (at most %zu bytes)",
						     opt, value,
						     sizeof(spec->socket_path) - 1);
			strcpy(spec->socket_path, value);
			sources++;
		} else if (blk && !strcmp(item, "path")) {
			if (!*value)
				return options_error("--disk: path= needs an image");
			strcpy(be->image, value);	/* fits: buf is as big */
			be->kind = BACKEND_BLK;
			sources++;
		} else if (!blk && !strcmp(item, "switch")) {
			if (!options_switch_name_ok(value))
				return options_error("--net switch=%s: a name of 1 to %u letters, digits, '_' or '-'",
						     value, BACKEND_SWITCH_NAME_MAX);
			strcpy(be->switch_name, value);
			be->kind = BACKEND_SWITCH;
			sources++;
		} else if (!strcmp(item, "queues")) {
			unsigned long v;
			char *end;

			errno = 0;
			v = strtoul(value, &end, 10);
			if (!isdigit((unsigned char)*value) || *end || errno ||
			    v == 0 || v > VHOST_USER_DEV_MAX_QUEUES)
				return options_error("%s queues=%s: must be 1 to %u",
						     opt, value,
						     VHOST_USER_DEV_MAX_QUEUES);
			spec->queues = v;
		} else if (!strcmp(item, "ring")) {
			if (!strcmp(value, "split"))
				spec->ring = VHOST_USER_DEV_RING_SPLIT;
			else if (!strcmp(value, "packed"))
				spec->ring = VHOST_USER_DEV_RING_PACKED;
			else if (!strcmp(value, "auto"))
				spec->ring = VHOST_USER_DEV_RING_AUTO;
			else
				return options_error("%s ring=%s: split, packed or auto",
						     opt, value);
			ring_given = true;
		} else if (!strcmp(item, "mac") && !blk) {
			if (!options_parse_mac(value, spec->mac))
				return options_error("--net mac=%s: not a MAC address (xx:xx:xx:xx:xx:xx)",
						     value);
			if (spec->mac[0] & 1)
				return options_error("--net mac=%s: a multicast address",
						     value);
			spec->has_mac = true;
		} else {
			return options_error("%s: unknown key '%s' (expected %s)",
					     opt, item, syntax);
		}
	}
	if (sources != 1)
		return options_error("%s '%s': give exactly one of %s", opt, arg,
				     blk ? "socket=PATH and path=IMG" :
				     "socket=PATH and switch=NAME");
	if (!blk) {
		enum options_result res = options_check_vlan(be, arg);

		if (res != OPTIONS_RUN)
			return res;
	}
	if (be->readonly && be->kind != BACKEND_BLK)
		return options_error("--disk '%s': readonly goes with path=IMG (a socket= back-end decides itself)",
				     arg);
	/*
	 * A back-end splitvm spawns is restarted under the guest.  A
	 * switch port's packed rings could not be resumed (net keeps no
	 * inflight region): split unless asked, so the restart stays
	 * invisible.  splitvm-blk resumes packed rings from the region.
	 */
	if (!ring_given && be->kind == BACKEND_SWITCH)
		spec->ring = VHOST_USER_DEV_RING_SPLIT;
	if (be->kind == BACKEND_SWITCH && spec->queues > 1)
		return options_error("--net '%s': a switch port has one queue pair (queues=1)",
				     arg);
	opts->vm.nr_vhost_user++;
	return OPTIONS_RUN;
}

void options_usage(FILE *out)
{
	fprintf(out,
"Usage: splitvm [OPTION]... --kernel PATH\n"
"Run a virtual machine on KVM.\n"
"\n"
"Guest:\n"
"  -k, --kernel PATH     kernel to boot: a Linux bzImage, or an ELF image\n"
"                        (PVH entry note if present, else 64-bit entry)\n"
"  -i, --initrd PATH     initial ramdisk\n"
"  -a, --cmdline TEXT    kernel command line\n"
"                        (default \"%s\")\n"
"  -m, --memory SIZE     guest RAM: 512M, 4G, ... (a plain number is MiB;\n"
"                        default 512M, minimum %lluM)\n"
"  -c, --cpus N          virtual CPUs, 1 to %u and at most what KVM\n"
"                        allows (default 1)\n"
"      --hugepages       back guest RAM with 2 MiB huge pages\n"
"\n"
"Devices (repeatable, at most %u in all; each waits up to 5 s for its\n"
"back-end to listen on its unix socket):\n"
"      --disk path=IMG[,readonly][,queues=N]\n"
"                        virtio-blk served by a splitvm-blk that splitvm\n"
"                        starts, jails and restarts itself, on the image IMG\n"
"                        (opened by splitvm and handed over as an fd)\n"
"      --disk socket=PATH[,queues=N]\n"
"                        virtio-blk served by a vhost-user-blk back-end\n"
"                        listening on PATH; N request queues, 1 to %u\n"
"                        (default 1)\n"
"      --net switch=NAME[,mac=xx:xx:xx:xx:xx:xx][,VLAN]\n"
"                        virtio-net on a port of the splitvm-net switch NAME,\n"
"                        shared by every VM that names it and started by the\n"
"                        first (one queue pair). VLAN: vlan=N, an access\n"
"                        port of VLAN N (1 to 4094, untagged frames), or\n"
"                        trunk=LIST[,native=N], a trunk carrying LIST's VLANs\n"
"                        tagged (LIST: ids and ranges A-B separated by ':',\n"
"                        or all) and VLAN N untagged; without, the port is\n"
"                        VLAN-unaware and reaches only unaware ports\n"
"      --net socket=PATH[,mac=xx:xx:xx:xx:xx:xx][,queues=N]\n"
"                        virtio-net served by a vhost-user-net back-end;\n"
"                        without mac the guest picks a random address;\n"
"                        N queue pairs, 1 to %u (default 1); N > 1 adds\n"
"                        a control queue (multiqueue)\n"
"Every --disk and --net also takes ring=split|packed|auto: the virtqueue\n"
"layouts offered (auto: packed when the back-end offers it; the default\n"
"for socket= and path=, while switch= defaults to split).\n"
"A back-end that goes away is looked for again on the same PATH, 50 ms\n"
"to 5 s apart and for as long as it takes; the guest does not notice,\n"
"except on a net device with packed rings (or a disk with packed rings\n"
"whose back-end keeps no inflight region): its driver gets\n"
"DEVICE_NEEDS_RESET and must reset, a packed ring's position being only\n"
"in the back-end.\n"
"\n"
"Spawned back-ends (path=, switch=):\n"
"      --backend-dir DIR where splitvm-blk and splitvm-net are (default:\n"
"                        next to splitvm, or in the build tree)\n"
"      --backend-user NAME|UID[:GROUP|:GID]\n"
"                        as root, the user they run as (default: the user\n"
"                        'splitvm' if it exists, else nobody); never root.\n"
"                        They get no capabilities, no_new_privs, their own\n"
"                        seccomp filter (mode as --seccomp), only their\n"
"                        socket and image fds, and are restarted when they\n"
"                        exit (100 ms, doubling up to 30 s)\n"
"\n",
		OPTIONS_DEFAULT_CMDLINE, GUEST_MEM_MIN_SIZE >> 20,
		OPTIONS_MAX_CPUS, VM_MAX_VHOST_USER_DEVS,
		VHOST_USER_DEV_MAX_QUEUES, VHOST_USER_DEV_MAX_QUEUES);
	fprintf(out,
"Host:\n"
"      --kvm PATH        KVM device (default /dev/kvm)\n"
"      --api-socket PATH serve the control API (HTTP + JSON, see\n"
"                        docs/control-api.md) on the unix socket PATH,\n"
"                        created mode 0600 and removed on exit\n"
"  -v, --verbose         debug messages\n"
"  -q, --quiet           errors only\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Sandbox (entered once the VM is built, before the guest runs):\n"
"      --user NAME|UID[:GROUP|:GID]\n"
"                        when started as root, the user to become, with\n"
"                        no supplementary groups (default nobody/nogroup,\n"
"                        uid and gid %u)\n"
"      --seccomp=kill|log|off\n"
"                        a system call outside the core's allowlist kills\n"
"                        it (default), is only logged by the kernel (log,\n"
"                        for debugging), or nothing is filtered (off)\n"
"      --sandbox=on|off  on (default): also drop every capability and set\n"
"                        no_new_privs; off: keep every privilege and allow\n"
"                        every system call, for debugging\n"
"\n"
"The guest's serial console (COM1) is this terminal; Ctrl-A x quits.\n"
"\n"
"Exit status:\n"
"  0      the guest powered off (or wrote 0 to the debug-exit port)\n"
"  1      the VM could not be started, or splitvm failed while running\n"
"         it (the error says why)\n"
"  2      bad command line\n"
"  10     the guest reset or rebooted (including a triple fault)\n"
"  11     a vCPU stopped on an error KVM cannot handle (guest crash)\n"
"  128+N  stopped by signal N (130 SIGINT or Ctrl-A x, 143 SIGTERM)\n"
"  159    killed by its seccomp filter (SIGSYS): splitvm made a system\n"
"         call outside its allowlist, a bug; --seccomp=log and the\n"
"         kernel log (audit type=1326) show which\n"
"  S      the guest wrote S to the debug-exit port 0xf4 (for tests)\n",
		SANDBOX_DEFAULT_UID);
}

enum {
	OPT_HUGEPAGES = 0x100,
	OPT_KVM,
	OPT_DISK,
	OPT_NET,
	OPT_API_SOCKET,
	OPT_BACKEND_DIR,
	OPT_BACKEND_USER,
};

/* ---- sandbox options (core/sandbox.h) ---- */
enum {
	OPT_SANDBOX = 0x200,
	OPT_SECCOMP,
	OPT_USER,
};

static enum options_result options_parse_sandbox(struct options *opts, int c,
						 const char *arg)
{
	struct sandbox_config *sb = &opts->sandbox;
	int ret;

	switch (c) {
	case OPT_SANDBOX:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return options_error("--sandbox=%s: expected on or off",
					     arg);
		sb->disabled = !strcmp(arg, "off");
		return OPTIONS_RUN;
	case OPT_SECCOMP:
		if (!strcmp(arg, "kill"))
			sb->seccomp = SANDBOX_SECCOMP_KILL;
		else if (!strcmp(arg, "log"))
			sb->seccomp = SANDBOX_SECCOMP_LOG;
		else if (!strcmp(arg, "off"))
			sb->seccomp = SANDBOX_SECCOMP_OFF;
		else
			return options_error("--seccomp=%s: expected kill, log or off",
					     arg);
		return OPTIONS_RUN;
	default:	/* OPT_USER */
		ret = sandbox_parse_user(arg, &sb->uid, &sb->gid);
		if (ret == -ENOENT)
			return options_error("--user %s: no such user or group",
					     arg);
		if (ret)
			return options_error("--user '%s': expected NAME or UID, optionally :GROUP or :GID",
					     arg);
		sb->has_user = true;
		return OPTIONS_RUN;
	}
}

static const struct option options_long[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'a' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "kvm", required_argument, NULL, OPT_KVM },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "backend-dir", required_argument, NULL, OPT_BACKEND_DIR },
	{ "backend-user", required_argument, NULL, OPT_BACKEND_USER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static enum options_result options_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err(NULL, "%s (see splitvm --help)", msg);
	return OPTIONS_EXIT_USAGE;
}

enum options_result options_parse(int argc, char **argv, struct options *opts)
{
	int c, ret;

	memset(opts, 0, sizeof(*opts));
	opts->vm.kvm_path = "/dev/kvm";
	opts->vm.mem_size = OPTIONS_DEFAULT_MEMORY;
	opts->vm.ncpus = 1;
	opts->vm.boot.cmdline = OPTIONS_DEFAULT_CMDLINE;
	opts->vm.console_in_fd = STDIN_FILENO;
	opts->vm.console_out_fd = STDOUT_FILENO;

	optind = 1;
	opterr = 0;	/* we print our own one-line errors */
	while ((c = getopt_long(argc, argv, ":k:i:a:m:c:vqhV", options_long,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			opts->vm.boot.kernel_path = optarg;
			break;
		case 'i':
			opts->vm.boot.initrd_path = optarg;
			break;
		case 'a':
			opts->vm.boot.cmdline = optarg;
			break;
		case 'm':
			ret = options_parse_size(optarg, &opts->vm.mem_size);
			if (ret == -ERANGE)
				return options_error("--memory %s: too large", optarg);
			if (ret)
				return options_error("--memory '%s': not a size (examples: 512M, 4G)",
						     optarg);
			if (opts->vm.mem_size < GUEST_MEM_MIN_SIZE)
				return options_error("--memory %s: too small (minimum 16M)",
						     optarg);
			break;
		case 'c':
			ret = options_parse_cpus(optarg, &opts->vm.ncpus);
			if (ret == -ERANGE)
				return options_error("--cpus %s: must be between 1 and 254",
						     optarg);
			if (ret)
				return options_error("--cpus '%s': not a number",
						     optarg);
			break;
		case OPT_HUGEPAGES:
			opts->vm.mem_flags |= GUEST_MEM_HUGETLB;
			break;
		case OPT_KVM:
			opts->vm.kvm_path = optarg;
			break;
		case OPT_DISK:
		case OPT_NET:
			if (options_parse_vhost_user(opts, c == OPT_DISK ?
						     VHOST_USER_DEV_BLK :
						     VHOST_USER_DEV_NET,
						     optarg) != OPTIONS_RUN)
				return OPTIONS_EXIT_USAGE;
			break;
		case OPT_SANDBOX:
		case OPT_SECCOMP:
		case OPT_USER:
			if (options_parse_sandbox(opts, c, optarg) != OPTIONS_RUN)
				return OPTIONS_EXIT_USAGE;
			break;
		case OPT_BACKEND_DIR:
			if (!*optarg)
				return options_error("--backend-dir needs a directory");
			opts->backends.dir = optarg;
			break;
		case OPT_BACKEND_USER:
			ret = sandbox_parse_user(optarg, &opts->backends.uid,
						 &opts->backends.gid);
			if (ret == -ENOENT)
				return options_error("--backend-user %s: no such user or group",
						     optarg);
			if (ret)
				return options_error("--backend-user '%s': expected NAME or UID, optionally :GROUP or :GID",
						     optarg);
			if (opts->backends.uid == 0)
				return options_error("--backend-user %s: back-ends never run as root",
						     optarg);
			opts->backends.has_user = true;
			break;
		case OPT_API_SOCKET:
			/* sun_path holds 108 bytes with the NUL. */
			if (!*optarg || strlen(optarg) >= 108)
				return options_error("--api-socket '%s': a socket path of 1 to 107 bytes",
						     optarg);
			opts->api_socket = optarg;
			break;
		case 'v':
			opts->verbosity++;
			break;
		case 'q':
			opts->verbosity = -1;
			break;
		case 'h':
			options_usage(stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("splitvm %s\n", SPLITVM_VERSION);
			return OPTIONS_EXIT_OK;
		case ':':
			return options_error("%s needs an argument",
					     argv[optind - 1]);
		default:
			return options_error("unknown option '%s'",
					     argv[optind - 1]);
		}
	}
	if (optind < argc)
		return options_error("unexpected argument '%s'", argv[optind]);
	if (!opts->vm.boot.kernel_path)
		return options_error("no kernel given: use --kernel PATH");
	return OPTIONS_RUN;
}
