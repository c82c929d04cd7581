/* SPDX-License-Identifier: GPL-2.0-only */
#include "blk_options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char blk_capabilities_json[] =
	"{\n  \"type\": \"block\",\n"
	"  \"features\": [\n    \"read-only\",\n    \"blk-file\"\n  ]\n}\n";

enum {
	OPT_SOCKET_PATH = 256,
	OPT_FD,
	OPT_BLK_FILE,
	OPT_IMAGE_FD,
	OPT_READ_ONLY,
	OPT_NUM_QUEUES,
	OPT_POLL_US,
	OPT_SERIAL,
	OPT_ALLOW_ROOT,
	OPT_PRINT_CAPS,
	OPT_MEM,
	OPT_WRITETHROUGH,
	OPT_DIRECT,
	OPT_SECCOMP,
};

static const struct option blk_long_options[] = {
	{ "socket-path", required_argument, NULL, OPT_SOCKET_PATH },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "blk-file", required_argument, NULL, OPT_BLK_FILE },
	{ "image", required_argument, NULL, OPT_BLK_FILE },
	{ "image-fd", required_argument, NULL, OPT_IMAGE_FD },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "num-queues", required_argument, NULL, OPT_NUM_QUEUES },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPS },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "writethrough", no_argument, NULL, OPT_WRITETHROUGH },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void blk_options_usage(const char *prog)
{
	printf(
"usage: %s (--socket-path PATH | --fd N) (--blk-file PATH | --image-fd N)\n"
"       [options]\n"
"A vhost-user virtio-blk back-end: DPDK librte_vhost, io_uring I/O.\n"
"  --socket-path PATH    listen for the front-end on this unix socket\n"
"  --fd N                serve the already connected vhost-user socket N\n"
"  --blk-file PATH       raw image file or block device (alias --image)\n"
"  --image-fd N          use the image already open as fd N\n"
"  --read-only           refuse writes (VIRTIO_BLK_F_RO)\n"
"  --writethrough        start with the write cache off (fdatasync after\n"
"                        every write; the driver may switch, CONFIG_WCE)\n"
"  --direct              O_DIRECT I/O, bypassing the host page cache\n"
"  --num-queues N        request queues, 1-%u (default 1)\n"
"  --poll-us N           poll up to this long before sleeping (default 100;\n"
"                        less while the waits outlast it)\n"
"  --serial STR          GET_ID answer, up to %u bytes\n"
"  --mem MB              DPDK memory, no hugepages (default 64)\n"
"  --allow-root          run even as root (refused by default)\n"
"  --seccomp kill|log|off  system call filter once serving (default kill;\n"
"                        log: allow but have the kernel log what is off\n"
"                        the list)\n"
"  --print-capabilities  print the vhost-user capabilities JSON, exit\n"
"  -v, --verbose         more log lines (twice: DPDK's too)\n"
"  -q, --quiet           errors only\n",
	       prog, BLK_OPTIONS_MAX_QUEUES, VIRTIO_BLK_ID_BYTES);
}

static __attribute__((format(printf, 1, 2)))
int blk_usage_error(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line, like every splitvm usage error. */
	fprintf(stderr, "splitvm-blk: %s (see --help)\n", line);
	return -EINVAL;
}

static bool blk_parse_uint(const char *s, unsigned long min,
			   unsigned long max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

int blk_options_parse(int argc, char **argv, struct blk_options *o)
{
	unsigned v;
	int c;

	memset(o, 0, sizeof(*o));
	o->sock_fd = -1;
	o->image_fd = -1;
	o->num_queues = 1;
	o->poll_us = 100;
	o->mem_mb = 64;
	o->log_level = LOG_LEVEL_INFO;
	snprintf(o->serial, sizeof(o->serial), "splitvm-blk");

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vqh", blk_long_options,
				NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET_PATH:
			if (!optarg[0])
				return blk_usage_error("--socket-path: empty");
			o->socket_path = optarg;
			break;
		case OPT_FD:
		case OPT_IMAGE_FD:
			if (!blk_parse_uint(optarg, 0, INT_MAX, &v))
				return blk_usage_error("bad file descriptor "
						       "'%s'", optarg);
			*(c == OPT_FD ? &o->sock_fd : &o->image_fd) = (int)v;
			break;
		case OPT_BLK_FILE:
			if (!optarg[0])
				return blk_usage_error("--blk-file: empty");
			o->image = optarg;
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			break;
		case OPT_NUM_QUEUES:
			if (!blk_parse_uint(optarg, 1, BLK_OPTIONS_MAX_QUEUES,
					    &o->num_queues))
				return blk_usage_error("--num-queues '%s': "
						       "want 1-16", optarg);
			break;
		case OPT_POLL_US:
			if (!blk_parse_uint(optarg, 0, 1000000, &o->poll_us))
				return blk_usage_error("--poll-us '%s': want "
						       "0-1000000", optarg);
			break;
		case OPT_SERIAL:
			if (strlen(optarg) > VIRTIO_BLK_ID_BYTES)
				return blk_usage_error("--serial '%s': at most "
						       "20 bytes", optarg);
			snprintf(o->serial, sizeof(o->serial), "%s", optarg);
			break;
		case OPT_MEM:
			if (!blk_parse_uint(optarg, 16, 65536, &o->mem_mb))
				return blk_usage_error("--mem '%s': want "
						       "16-65536 (MB)", optarg);
			break;
		case OPT_WRITETHROUGH:
			o->writethrough = true;
			break;
		case OPT_DIRECT:
			o->direct = true;
			break;
		case OPT_ALLOW_ROOT:
			o->allow_root = true;
			break;
		case OPT_SECCOMP:
			if (be_sandbox_parse_seccomp(optarg, &o->seccomp))
				return blk_usage_error("--seccomp '%s': want kill, "
						       "log or off", optarg);
			break;
		case OPT_PRINT_CAPS:
			o->print_capabilities = true;
			break;
		case 'v':
			o->log_level = LOG_LEVEL_DEBUG;
			o->verbose++;
			break;
		case 'q':
			o->log_level = LOG_LEVEL_ERR;
			break;
		case 'h':
			o->help = true;
			break;
		default:
			return blk_usage_error("unknown or incomplete option "
					       "'%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return blk_usage_error("unexpected argument '%s'",
				       argv[optind]);
	if (o->help || o->print_capabilities)
		return 0;
	if (!!o->socket_path == (o->sock_fd >= 0))
		return blk_usage_error("give exactly one of --socket-path and "
				       "--fd");
	if (!!o->image == (o->image_fd >= 0))
		return blk_usage_error("give exactly one of --blk-file and "
				       "--image-fd");
	return 0;
}
