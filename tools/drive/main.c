/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-drive: a host-side vhost-user front-end that runs fio-like block
 * jobs against any vhost-user blk back-end and reports IOPS, bandwidth and
 * latency percentiles; verify mode checks every block it reads.  --net
 * sends and receives frames through a vhost-user net back-end instead.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "drive_dev.h"
#include "blk_probe.h"
#include "net_probe.h"
#include "blk_report.h"
#include "drive_job.h"
#include "log.h"
#include "net_job.h"
#include "vhost_user_client.h"

#define TAG		"drive"
#define EXIT_OK		0
#define EXIT_ERROR	1
#define EXIT_USAGE	2
#define EXIT_DATA	3
#define MAX_IODEPTH	4096
#define MAX_BUFFER_BYTES	(4ull << 30)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char usage_text[] =
"Usage: splitvm-drive --socket PATH [options]\n"
"       splitvm-drive --net --socket PATH [net options]\n"
"\n"
"A vhost-user front-end on the host: connects to a vhost-user blk back-end,\n"
"shares its own memfd as guest RAM, drives split (or packed) virtqueues\n"
"and runs a fio-like job on the disk.  One thread drives every queue.\n"
"With --net it sends numbered frames to a vhost-user net back-end and\n"
"counts what comes back (a back-end that returns them, e.g. testpmd\n"
"--forward-mode=macswap).  With --probe it checks how a blk back-end\n"
"answers requests it must refuse (with --net: how a net back-end copes\n"
"with malformed descriptor chains).\n"
"\n"
"  -s, --socket PATH      the back-end's vhost-user unix socket (required)\n"
"      --rw MODE          read, write, randread, randwrite, rw (sequential\n"
"                         mix) or randrw (random mix); default randread\n"
"      --rwmixread PCT    percent of reads in rw/randrw (default 50)\n"
"      --bs SIZE          bytes per request, a multiple of 512 and of the\n"
"                         device's blk_size (default 4k)\n"
"      --iodepth N        requests in flight per queue (default 1, max 4096)\n"
"      --queues N         virtqueues to drive (default 1); --numjobs is the\n"
"                         same option\n"
"      --offset SIZE      start of the range used on the disk (default 0)\n"
"      --size SIZE        length of that range (default: to the end of the\n"
"                         disk), rounded down to a multiple of --bs\n"
"      --count N          stop after N requests\n"
"      --runtime SECONDS  stop after this long (decimals allowed)\n"
"                         With neither: one request per block of the range.\n"
"      --fsync N          send a FLUSH after every N writes of the job\n"
"                         (needs VIRTIO_BLK_F_FLUSH); FLUSHes are timed\n"
"                         apart and do not count for --count\n"
"      --verify           write every block of the range with a header\n"
"                         {offset, generation, seed, crc32} (fill), run the\n"
"                         job with every read checked against the\n"
"                         generation last written, then read every block\n"
"                         back and check it (readback)\n"
"      --seed N           seed of the block choice and the verify pattern\n"
"                         (default: random, printed)\n"
"      --wait MODE        poll: spin on the used rings (default); event:\n"
"                         sleep on the call eventfds\n"
"      --timeout MS       longest wait for the back-end: connect, each\n"
"                         message, and any completion (default 5000)\n"
"      --queue-size N     descriptors per ring, a power of two (default the\n"
"                         smallest >= 3 * iodepth, at least 64)\n"
"      --no-event-idx     do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
"      --packed           packed virtqueues (VIRTIO_F_RING_PACKED), blk and\n"
"                         net; not with the blk --probe\n"
"      --reconnect MS     when the back-end hangs up during the job,\n"
"                         connect again for up to MS ms and go on: the\n"
"                         restarted back-end resubmits what it had taken\n"
"                         (needs INFLIGHT_SHMFD; --packed: and the ring\n"
"                         resumed from it, as splitvm-blk does)\n"
"      --cpu N            run on CPU N only: latencies are timed with the\n"
"                         TSC, which a migration between CPUs can skew\n"
"      --progress         a progress line every second on stderr (default\n"
"                         when stderr is a terminal); --no-progress: none\n"
"      --json             print the results as one JSON object instead\n"
"";

static const char usage_blk_probe[] =
"      --probe            instead of a job: send requests a back-end must\n"
"                         refuse (past the end, unknown type, bad\n"
"                         descriptor layouts, a descriptor loop, discard\n"
"                         and write-zeroes past the end, ...), each\n"
"                         on a new connection, and check that it answers\n"
"                         with the right status or refuses, then still\n"
"                         serves a read; a table of verdicts.  A probe\n"
"                         waits min(--timeout, 1000) ms for its answer\n"
"\n";

/* In parts: ISO C compilers need not take string literals over 4095. */
static const char usage_net[] =
"Net mode (--net): one queue pair, VIRTIO_F_VERSION_1 frames, no offloads.\n"
"      --net              drive a vhost-user net back-end\n"
"      --frame-size N     Ethernet frame bytes without FCS, 60..1514\n"
"                         (default 60: 64 on the wire)\n"
"      --iodepth N        frames in flight on the transmit queue (default\n"
"                         64 in net mode)\n"
"      --count N          frames to send; --runtime S: send for S seconds;\n"
"                         with neither: 1000 frames\n"
"      --gap-us N         one frame at a time: after each comes back (or\n"
"                         is given up as lost), sleep N us before the\n"
"                         next, so every round trip starts after N us of\n"
"                         silence (--iodepth is ignored)\n"
"      --queue-size, --wait, --timeout, --seed, --cpu, --progress, --json\n"
"                         as for blk; --timeout also bounds the wait for\n"
"                         the last frames to come back (at most 1 s)\n"
"                         The blk options (--rw, --bs, --verify, ...) are\n"
"                         refused in net mode.\n"
"      --probe            with --net: instead of a job, feed the back-end\n"
"                         malformed transmit chains (loops, addresses\n"
"                         outside memory, zero and huge lengths, chains\n"
"                         shorter than the virtio-net header, runt and\n"
"                         oversize frames, bad indirect tables) and\n"
"                         malformed receive buffers, each on a new\n"
"                         connection with a good frame right behind it;\n"
"                         a probe passes when nothing but the good frame\n"
"                         comes out, it does so on the same connection and\n"
"                         a new connection still forwards a frame\n"
"      --peer PATH        with --net --probe: frames sent to --socket come\n"
"                         out of this port (a switch or cross-connect);\n"
"                         default: they come back on --socket (reflector)\n"
"\n";

static const char usage_tail[] =
"  -v, --verbose          log the negotiation (repeat for debug)\n"
"  -h, --help             this text\n"
"      --version          print the version\n"
"\n"
"SIZE takes a k, m, g or t suffix (powers of 1024).  Latencies are per\n"
"request, from adding it to the ring to seeing it used.\n"
"\n"
"Exit status: 0 the job ran without errors; 1 an error (connect,\n"
"negotiation, the back-end broke the protocol or stopped completing);\n"
"2 bad usage; 3 the job ran but requests failed (IOERR/UNSUPP) or\n"
"verify found mismatches (net: frames came back damaged, lost frames\n"
"are counted, not an error; probe: a verdict failed).\n";

enum {
	OPT_RW = 256, OPT_RWMIX, OPT_BS, OPT_IODEPTH, OPT_QUEUES, OPT_OFFSET,
	OPT_SIZE, OPT_COUNT, OPT_RUNTIME, OPT_FSYNC, OPT_VERIFY, OPT_SEED, OPT_WAIT,
	OPT_TIMEOUT, OPT_QSIZE, OPT_NO_EVENT_IDX, OPT_CPU, OPT_PROGRESS,
	OPT_NO_PROGRESS, OPT_JSON, OPT_VERSION, OPT_NET, OPT_FRAME_SIZE,
	OPT_PROBE, OPT_RECONNECT, OPT_PACKED, OPT_GAP_US, OPT_PEER,
};

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "rw", required_argument, NULL, OPT_RW },
	{ "rwmixread", required_argument, NULL, OPT_RWMIX },
	{ "bs", required_argument, NULL, OPT_BS },
	{ "iodepth", required_argument, NULL, OPT_IODEPTH },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "numjobs", required_argument, NULL, OPT_QUEUES },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "fsync", required_argument, NULL, OPT_FSYNC },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "queue-size", required_argument, NULL, OPT_QSIZE },
	{ "no-event-idx", no_argument, NULL, OPT_NO_EVENT_IDX },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "net", no_argument, NULL, OPT_NET },
	{ "probe", no_argument, NULL, OPT_PROBE },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "reconnect", required_argument, NULL, OPT_RECONNECT },
	{ "packed", no_argument, NULL, OPT_PACKED },
	{ "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
	{ "gap-us", required_argument, NULL, OPT_GAP_US },
	{ NULL, 0, NULL, 0 },
};

struct drive_args {
	const char *socket;
	struct drive_job_opts job;
	unsigned iodepth;
	unsigned queues;
	unsigned queue_size;
	bool size_set;
	bool event_idx;
	bool cpu_set;
	unsigned cpu;
	bool net;
	bool probe;
	const char *peer;	/* --net --probe: where frames come out */
	bool packed;
	unsigned reconnect_ms;
	unsigned frame_size;
	unsigned gap_us;
	bool iodepth_set;
	bool blk_only;		/* an option that means nothing for net */
	int progress;		/* -1: when stderr is a tty */
	bool json;
	int verbose;
};

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("splitvm-drive: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'splitvm-drive --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case '\0':			break;
	case 'k': case 'K':	shift = 10; break;
	case 'm': case 'M':	shift = 20; break;
	case 'g': case 'G':	shift = 30; break;
	case 't': case 'T':	shift = 40; break;
	default:		return false;
	}
	if (*end && end[1] && !((end[1] == 'i' || end[1] == 'b' ||
				 end[1] == 'B') && !end[2]) &&
	    !(end[1] == 'i' && end[2] == 'B' && !end[3]))
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_uint(const char *s, unsigned min, unsigned max,
		       unsigned *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_rw(const char *s, enum drive_rw *rw)
{
	for (int i = DRIVE_RW_READ; i <= DRIVE_RW_RANDRW; i++)
		if (!strcmp(s, drive_rw_name((enum drive_rw)i))) {
			*rw = (enum drive_rw)i;
			return true;
		}
	return false;
}

static int parse_args(int argc, char **argv, struct drive_args *a)
{
	uint64_t v;
	char *end;
	int c;

	*a = (struct drive_args){
		.job = { .rw = DRIVE_RW_RANDREAD, .rwmixread = 50, .bs = 4096,
			 .timeout_ms = VHOST_USER_CLIENT_DEFAULT_TIMEOUT_MS },
		.iodepth = 1, .queues = 1, .event_idx = true, .progress = -1,
		.frame_size = NET_JOB_MIN_FRAME,
	};
	while ((c = getopt_long(argc, argv, "s:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->socket = optarg;
			break;
		case OPT_RW:
			a->blk_only = true;
			if (!parse_rw(optarg, &a->job.rw))
				return usage_error("--rw: unknown mode '%s'",
						   optarg);
			break;
		case OPT_RWMIX:
			a->blk_only = true;
			if (!parse_uint(optarg, 0, 100, &a->job.rwmixread))
				return usage_error("--rwmixread: want 0..100");
			break;
		case OPT_BS:
			a->blk_only = true;
			if (!parse_size(optarg, &v) || !v || v % 512 ||
			    v > (64u << 20))
				return usage_error("--bs: want a multiple of "
						   "512 up to 64m, not '%s'",
						   optarg);
			a->job.bs = (uint32_t)v;
			break;
		case OPT_IODEPTH:
			a->iodepth_set = true;
			if (!parse_uint(optarg, 1, MAX_IODEPTH, &a->iodepth))
				return usage_error("--iodepth: want 1..%u",
						   MAX_IODEPTH);
			break;
		case OPT_QUEUES:
			a->blk_only = true;
			if (!parse_uint(optarg, 1, VHOST_USER_MAX_VRINGS,
					&a->queues))
				return usage_error("--queues: want 1..%u",
						   VHOST_USER_MAX_VRINGS);
			break;
		case OPT_OFFSET:
			a->blk_only = true;
			if (!parse_size(optarg, &a->job.offset) ||
			    a->job.offset % 512)
				return usage_error("--offset: want a multiple "
						   "of 512");
			break;
		case OPT_SIZE:
			a->blk_only = true;
			if (!parse_size(optarg, &a->job.size) || !a->job.size)
				return usage_error("--size: want a size > 0");
			a->size_set = true;
			break;
		case OPT_COUNT:
			if (!parse_u64(optarg, &a->job.count) || !a->job.count)
				return usage_error("--count: want N > 0");
			break;
		case OPT_RUNTIME:
			errno = 0;
			a->job.runtime = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !(a->job.runtime > 0) || a->job.runtime > 1e7)
				return usage_error("--runtime: want seconds "
						   "> 0");
			break;
		case OPT_FSYNC:
			a->blk_only = true;
			if (!parse_u64(optarg, &a->job.fsync))
				return usage_error("--fsync: want N >= 0");
			break;
		case OPT_VERIFY:
			a->blk_only = true;
			a->job.verify = true;
			break;
		case OPT_SEED:
			if (!parse_u64(optarg, &a->job.seed) || !a->job.seed)
				return usage_error("--seed: want N > 0");
			break;
		case OPT_WAIT:
			if (!strcmp(optarg, "poll"))
				a->job.event_wait = false;
			else if (!strcmp(optarg, "event"))
				a->job.event_wait = true;
			else
				return usage_error("--wait: poll or event");
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, INT_MAX,
					(unsigned *)&a->job.timeout_ms))
				return usage_error("--timeout: want ms > 0");
			break;
		case OPT_QSIZE:
			if (!parse_uint(optarg, 1, VIRTIO_QUEUE_SIZE_MAX,
					&a->queue_size) ||
			    (a->queue_size & (a->queue_size - 1)))
				return usage_error("--queue-size: want a power "
						   "of two up to %u",
						   VIRTIO_QUEUE_SIZE_MAX);
			break;
		case OPT_NO_EVENT_IDX:
			a->event_idx = false;
			break;
		case OPT_CPU:
			if (!parse_uint(optarg, 0, CPU_SETSIZE - 1, &a->cpu))
				return usage_error("--cpu: want a CPU number");
			a->cpu_set = true;
			break;
		case OPT_PROGRESS:
			a->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			a->progress = 0;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_NET:
			a->net = true;
			break;
		case OPT_PROBE:
			a->probe = true;
			break;
		case OPT_PEER:
			a->peer = optarg;
			break;
		case OPT_PACKED:
			a->packed = true;
			break;
		case OPT_RECONNECT:
			a->blk_only = true;
			if (!parse_uint(optarg, 1, INT_MAX, &a->reconnect_ms))
				return usage_error("--reconnect: want ms > 0");
			break;
		case OPT_FRAME_SIZE:
			if (!parse_uint(optarg, NET_JOB_MIN_FRAME,
					NET_JOB_MAX_FRAME, &a->frame_size))
				return usage_error("--frame-size: want %u..%u",
						   NET_JOB_MIN_FRAME,
						   NET_JOB_MAX_FRAME);
			break;
		case OPT_GAP_US:
			if (!parse_uint(optarg, 1, NET_JOB_MAX_GAP_US,
					&a->gap_us))
				return usage_error("--gap-us: want 1..%u",
						   NET_JOB_MAX_GAP_US);
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(usage_blk_probe, stdout);
			fputs(usage_net, stdout);
			fputs(usage_tail, stdout);
			exit(EXIT_OK);
		case OPT_VERSION:
			printf("splitvm-drive %s\n", SPLITVM_VERSION);
			exit(EXIT_OK);
		default:
			return usage_error("unknown option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!a->socket)
		return usage_error("--socket PATH is required");
	if (a->packed && a->probe && !a->net)
		return usage_error("--packed does not go with the blk --probe "
				   "(split rings only)");
	if (a->gap_us && !a->net)
		return usage_error("--gap-us is a --net option");
	if (a->peer && !(a->net && a->probe))
		return usage_error("--peer goes with --net --probe");
	if (a->net && a->blk_only)
		return usage_error("--rw, --rwmixread, --bs, --offset, --size, "
				   "--fsync, --verify, --queues and --reconnect "
				   "are blk options, not for --net");
	if (a->net) {
		if (!a->iodepth_set)
			a->iodepth = 64;
		if (!a->queue_size) {
			a->queue_size = 256;
			while (a->queue_size < a->iodepth)
				a->queue_size *= 2;
		} else if (a->queue_size < a->iodepth) {
			return usage_error("--queue-size %u is smaller than "
					   "--iodepth %u", a->queue_size,
					   a->iodepth);
		}
		return EXIT_OK;
	}
	/* The memfd holds a data buffer per request in flight. */
	if ((uint64_t)a->queues * a->iodepth * ((a->job.bs + 4095) & ~4095u) >
	    MAX_BUFFER_BYTES)
		return usage_error("--queues x --iodepth x --bs is more than "
				   "%llu GiB of buffers",
				   MAX_BUFFER_BYTES >> 30);
	if (!a->queue_size) {
		a->queue_size = 64;
		while (a->queue_size < 3 * a->iodepth)
			a->queue_size *= 2;
	} else if (a->queue_size < 3 * a->iodepth) {
		return usage_error("--queue-size %u is too small for --iodepth "
				   "%u (3 descriptors per request)",
				   a->queue_size, a->iodepth);
	}
	return EXIT_OK;
}

static bool job_writes(const struct drive_job_opts *o)
{
	return o->verify || o->rw == DRIVE_RW_WRITE ||
	       o->rw == DRIVE_RW_RANDWRITE ||
	       ((o->rw == DRIVE_RW_RW || o->rw == DRIVE_RW_RANDRW) &&
		o->rwmixread < 100);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct drive_stats st[DRIVE_PHASE_READBACK + 1];
	bool ran[DRIVE_PHASE_READBACK + 1] = { false };
	struct drive_dev_opts dopts;
	struct drive_job *job = NULL;
	struct drive_dev *dev = NULL;
	struct sigaction sa;
	struct drive_args a;
	struct blk_report rep;
	const char *error = NULL;
	uint64_t capacity, data_errors = 0;
	int ret, status = EXIT_OK;

	log_init("splitvm-drive", LOG_LEVEL_WARN);
	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	rep = (struct blk_report){
		.socket = a.socket, .job = &a.job, .iodepth = a.iodepth,
		.queues = a.queues, .queue_size = a.queue_size,
	};
	log_set_level(a.verbose >= 2 ? LOG_LEVEL_DEBUG :
		      a.verbose ? LOG_LEVEL_INFO : LOG_LEVEL_WARN);
	if (!a.job.seed) {
		while (!a.job.seed)
			if (getrandom(&a.job.seed, sizeof(a.job.seed), 0) !=
			    sizeof(a.job.seed))
				a.job.seed = 0x5eed;
	}
	if (a.cpu_set) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(a.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, "splitvm-drive: --cpu %u: %s\n", a.cpu,
				strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (a.progress < 0)
		a.progress = isatty(STDERR_FILENO);
	a.job.progress = a.progress;
	a.job.progress_tty = a.progress && isatty(STDERR_FILENO);
	a.job.stop = &stop_requested;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (a.net && a.probe) {
		dopts = (struct drive_dev_opts){
			.type = DRIVE_DEV_NET, .socket = a.socket,
			.event_idx = a.event_idx, .packed = a.packed,
			.timeout_ms = a.job.timeout_ms,
		};
		return drive_net_probe_main(&dopts, a.peer,
					    a.job.timeout_ms < 1000 ?
					    a.job.timeout_ms : 1000,
					    a.job.seed, a.json);
	}
	if (a.net) {
		struct net_job_opts nopts = {
			.frame_size = a.frame_size, .tx_depth = a.iodepth,
			.count = a.job.count, .runtime = a.job.runtime,
			.drain_ms = a.job.timeout_ms < 1000 ?
				    a.job.timeout_ms : 1000,
			.event_wait = a.job.event_wait, .gap_us = a.gap_us,
			.timeout_ms = a.job.timeout_ms,
			.progress = a.job.progress,
			.progress_tty = a.job.progress_tty,
			.seed = a.job.seed, .stop = &stop_requested,
		};

		if (!nopts.count && nopts.runtime <= 0)
			nopts.count = 1000;
		dopts = (struct drive_dev_opts){
			.type = DRIVE_DEV_NET, .socket = a.socket, .queues = 2,
			.queue_size = a.queue_size, .slots = a.queue_size,
			.data_size = NET_JOB_BUF_SIZE,
			.event_idx = a.event_idx, .packed = a.packed,
			.timeout_ms = a.job.timeout_ms,
		};
		return drive_net_main(&dopts, &nopts, a.json);
	}

	if (a.probe) {
		dopts = (struct drive_dev_opts){
			.type = DRIVE_DEV_BLK, .socket = a.socket,
			.event_idx = a.event_idx,
			.timeout_ms = a.job.timeout_ms,
		};
		return drive_probe_main(&dopts, a.job.timeout_ms < 1000 ?
					a.job.timeout_ms : 1000, a.json);
	}
	dopts = (struct drive_dev_opts){
		.type = DRIVE_DEV_BLK, .socket = a.socket, .queues = a.queues,
		.queue_size = a.queue_size, .slots = a.iodepth,
		.data_size = a.job.bs, .event_idx = a.event_idx,
		.packed = a.packed,
		.need_write = job_writes(&a.job),
		.timeout_ms = a.job.timeout_ms,
		.reconnect_ms = (int)a.reconnect_ms,
	};
	ret = drive_dev_open(&dopts, &dev);
	if (ret) {
		error = "cannot set up the device";
		status = EXIT_ERROR;
		goto out;
	}
	log_info(TAG, "%s: capacity %" PRIu64 " sectors, blk_size %u, %u "
		 "queues offered, features 0x%" PRIx64, a.socket,
		 dev->capacity, dev->blk_size, dev->backend_queues,
		 dev->features);

	if (a.job.fsync && !(dev->features & (1ull << VIRTIO_BLK_F_FLUSH))) {
		log_err(TAG, "--fsync: the back-end does not offer "
			"VIRTIO_BLK_F_FLUSH");
		error = "no FLUSH";
		status = EXIT_ERROR;
		goto out;
	}
	capacity = dev->capacity * VIRTIO_BLK_SECTOR_SIZE;
	if (a.job.offset >= capacity ||
	    (a.size_set && a.job.size > capacity - a.job.offset)) {
		log_err(TAG, "range [%" PRIu64 ", +%" PRIu64 ") is outside the "
			"disk (%" PRIu64 " bytes)", a.job.offset, a.job.size,
			capacity);
		error = "range outside the disk";
		status = EXIT_USAGE;
		goto out;
	}
	if (!a.size_set)
		a.job.size = capacity - a.job.offset;
	a.job.size -= a.job.size % a.job.bs;
	if (!a.job.size) {
		log_err(TAG, "the range holds no block of %u bytes", a.job.bs);
		error = "range smaller than one block";
		status = EXIT_USAGE;
		goto out;
	}
	if (a.job.verify && a.job.size / a.job.bs <=
	    (uint64_t)a.iodepth * a.queues) {
		log_err(TAG, "verify needs more blocks (%" PRIu64 ") than "
			"requests in flight (%u)", a.job.size / a.job.bs,
			a.iodepth * a.queues);
		error = "range too small for verify";
		status = EXIT_USAGE;
		goto out;
	}
	ret = drive_job_create(dev, &a.job, &job);
	if (ret) {
		log_err(TAG, "cannot set up the job: %s", strerror(-ret));
		error = "cannot set up the job";
		status = EXIT_ERROR;
		goto out;
	}
	for (int p = DRIVE_PHASE_FILL; p <= DRIVE_PHASE_READBACK; p++) {
		if (!a.job.verify && p != DRIVE_PHASE_MAIN)
			continue;
		if (stop_requested)
			break;
		ret = drive_job_run(job, (enum drive_phase)p, &st[p]);
		ran[p] = true;
		data_errors += st[p].io_errors + st[p].unsupported +
			       st[p].verify_errors;
		if (!a.json)
			blk_report_phase(&rep, (enum drive_phase)p, &st[p]);
		if (ret) {
			error = ret == -ETIMEDOUT ? "the back-end stopped "
				"completing requests" : ret == -EPROTO ?
				"the back-end broke the virtqueue protocol" :
				ret == -ECONNRESET ? "the back-end hung up" :
				"the job failed";
			status = EXIT_ERROR;
			break;
		}
	}
	if (!status && data_errors) {
		error = "requests failed or verify found mismatches";
		status = EXIT_DATA;
	}
out:
	if (!a.json && dev && dev->reconnects)
		printf("reconnected %u time%s\n", dev->reconnects,
		       dev->reconnects == 1 ? "" : "s");
	if (a.json)
		blk_report_json(&rep, dev, st, ran, error);
	else if (!error)
		printf("seed %" PRIu64 ": ok\n", a.job.seed);
	else
		printf("seed %" PRIu64 ": FAILED: %s\n", a.job.seed, error);
	fflush(stdout);
	drive_job_destroy(job);
	drive_dev_close(dev);
	return status;
}
