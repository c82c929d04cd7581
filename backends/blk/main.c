/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-blk: a vhost-user virtio-blk back-end.  This file only wires
 * the command line, the image, DPDK's EAL and the signals together; the
 * work is in blk_vhost.c (DPDK) and blk_queue.c (io_uring).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include "blk_options.h"
#include "blk_relay.h"
#include "blk_req.h"
#include "blk_sandbox.h"
#include "blk_vhost.h"
#include "log.h"

#define TAG	"blk"

/* Exit statuses (also in docs/splitvm-blk.md). */
enum {
	BLK_EXIT_OK = 0,
	BLK_EXIT_ERROR = 1,
	BLK_EXIT_USAGE = 2,
};

/*
 * --direct: O_DIRECT on the image, checked with one sector-sized read at
 * 512-byte alignment (what requests will need; guest buffers that are
 * not aligned go through a bounce buffer).
 */
static int blk_set_direct(int fd, struct blk_disk *d)
{
	void *buf = NULL;
	int fl = fcntl(fd, F_GETFL), ret = -1;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) < 0) {
		log_err(TAG, "--direct: O_DIRECT: %s", strerror(errno));
		return -1;
	}
	if (posix_memalign(&buf, 4096, 4096)) {
		log_err(TAG, "--direct: out of memory");
		return -1;
	}
	if (pread(fd, (uint8_t *)buf + 512, 512, 0) < 0)
		log_err(TAG, "--direct: a 512-byte read fails (%s): the image "
			"needs larger alignment or does not support O_DIRECT",
			strerror(errno));
	else
		ret = 0;
	free(buf);
	d->direct = true;
	d->dio_align = 512;
	return ret;
}

static int blk_open_image(const struct blk_options *o, struct blk_disk *d)
{
	struct stat st;
	uint64_t bytes;
	int fd, fl;

	if (o->image) {
		fd = open(o->image, (o->read_only ? O_RDONLY : O_RDWR) |
			  O_CLOEXEC);
		if (fd < 0) {
			log_err(TAG, "cannot open %s: %s", o->image,
				strerror(errno));
			return -1;
		}
	} else {
		fd = o->image_fd;
		fl = fcntl(fd, F_GETFL);
		if (fl < 0) {
			log_err(TAG, "--image-fd %d: %s", fd, strerror(errno));
			return -1;
		}
		if ((fl & O_ACCMODE) == O_WRONLY ||
		    ((fl & O_ACCMODE) == O_RDONLY && !o->read_only)) {
			log_err(TAG, "--image-fd %d is not open for %s", fd,
				o->read_only ? "reading" : "reading and "
				"writing (or give --read-only)");
			return -1;
		}
	}
	if (o->direct && blk_set_direct(fd, d) < 0)
		goto err;
	if (fstat(fd, &st) < 0) {
		log_err(TAG, "image: %s", strerror(errno));
		goto err;
	}
	if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			log_err(TAG, "image: BLKGETSIZE64: %s",
				strerror(errno));
			goto err;
		}
	} else {
		log_err(TAG, "image is neither a file nor a block device");
		goto err;
	}
	if (bytes < VIRTIO_BLK_SECTOR_SIZE) {
		log_err(TAG, "image is smaller than one sector");
		goto err;
	}
	if (bytes % VIRTIO_BLK_SECTOR_SIZE)
		log_warn(TAG, "image size %llu is not a multiple of 512: the "
			 "last %llu bytes are not served",
			 (unsigned long long)bytes,
			 (unsigned long long)(bytes % VIRTIO_BLK_SECTOR_SIZE));
	d->capacity = bytes / VIRTIO_BLK_SECTOR_SIZE;
	return fd;
err:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	char mem[16], prefix[64], level[64];
	struct blk_vhost_config vc = { 0 };
	struct blk_relay *relay = NULL;
	struct blk_vhost *vhost = NULL;
	struct blk_disk disk = {
		.seg_max = 128,
		.max_discard_sectors = 1u << 22,	/* 2 GiB */
		.max_discard_seg = BLK_REQ_MAX_DWZ_SEG,
		.max_write_zeroes_sectors = 1u << 22,
		.max_write_zeroes_seg = BLK_REQ_MAX_DWZ_SEG,
	};
	struct blk_options o;
	sigset_t sigs;
	int sig, ret, image_fd, eal_argc = 0;
	char *eal_argv[16];

	_Static_assert(128 + 4 <= BLK_CHAIN_MAX_IOV, "seg_max fits a chain");
	if (blk_options_parse(argc, argv, &o))
		return BLK_EXIT_USAGE;
	if (o.help) {
		blk_options_usage(argv[0]);
		return BLK_EXIT_OK;
	}
	if (o.print_capabilities) {
		fputs(blk_capabilities_json, stdout);
		return BLK_EXIT_OK;
	}
	log_init("splitvm-blk", o.log_level);
	if (geteuid() == 0 && !o.allow_root) {
		log_err(TAG, "refusing to run as root: a back-end needs only "
			"its socket and its image (--allow-root overrides)");
		return BLK_EXIT_ERROR;
	}
	disk.read_only = o.read_only;
	disk.writeback = !o.writethrough;
	memcpy(disk.serial, o.serial, sizeof(disk.serial));
	image_fd = blk_open_image(&o, &disk);
	if (image_fd < 0)
		return BLK_EXIT_ERROR;
	/* The image is open: nothing from here on needs a capability. */
	if (be_sandbox_drop_privileges()) {
		close(image_fd);
		return BLK_EXIT_ERROR;
	}

	/*
	 * Signals are taken with sigwait() here; every thread EAL and we
	 * start inherits the mask.  EAL pins this thread to lcore 0: the
	 * queue threads get the CPUs we were started with instead.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (sched_getaffinity(0, sizeof(vc.worker_cpus), &vc.worker_cpus) < 0)
		CPU_ZERO(&vc.worker_cpus);

	snprintf(mem, sizeof(mem), "%u", o.mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=splitvm-blk-%d",
		 (int)getpid());
	snprintf(level, sizeof(level), "--log-level=%s",
		 o.verbose >= 2 ? "info" : "error");
	eal_argv[eal_argc++] = argv[0];
	eal_argv[eal_argc++] = "--no-huge";
	eal_argv[eal_argc++] = "-m";
	eal_argv[eal_argc++] = mem;
	eal_argv[eal_argc++] = "--no-pci";
	eal_argv[eal_argc++] = "--no-shconf";
	eal_argv[eal_argc++] = "--iova-mode=va";
	eal_argv[eal_argc++] = "--no-telemetry";
	eal_argv[eal_argc++] = "-l";
	eal_argv[eal_argc++] = "0";
	eal_argv[eal_argc++] = prefix;
	eal_argv[eal_argc++] = level;
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		log_err(TAG, "DPDK EAL initialisation failed: %s",
			strerror(rte_errno));
		close(image_fd);
		return BLK_EXIT_ERROR;
	}
	/*
	 * EAL's default log stream copies every line to syslog(), whose
	 * first call reads /etc/localtime: under the seccomp filter the
	 * first DPDK error (e.g. a refused message) would kill us.
	 */
	if (rte_openlog_stream(stderr) < 0)
		log_warn(TAG, "DPDK's log still goes to syslog");
	/*
	 * With --no-shconf EAL leaves its runtime directory empty; removed
	 * now, it is not left behind by a back-end that is killed.
	 */
	if (rmdir(rte_eal_get_runtime_dir()) < 0)
		log_debug(TAG, "runtime directory %s: %s",
			  rte_eal_get_runtime_dir(), strerror(errno));
	if (CPU_COUNT(&vc.worker_cpus))
		pthread_setaffinity_np(pthread_self(), sizeof(vc.worker_cpus),
				       &vc.worker_cpus);

	if (o.sock_fd >= 0) {
		ret = blk_relay_create(o.sock_fd, &relay);
		if (ret) {
			log_err(TAG, "--fd %d: %s", o.sock_fd, strerror(-ret));
			goto out;
		}
		vc.socket_path = blk_relay_path(relay);
	} else {
		vc.socket_path = o.socket_path;
	}
	vc.disk = &disk;
	vc.image_fd = image_fd;
	vc.num_queues = o.num_queues;
	vc.poll_us = o.poll_us;
	ret = blk_vhost_start(&vc, &vhost);
	if (ret) {
		log_err(TAG, "%s: %s", vc.socket_path, strerror(-ret));
		goto out;
	}
	if (relay) {
		ret = blk_relay_start(relay, getpid());
		if (ret) {
			log_err(TAG, "--fd relay: %s", strerror(-ret));
			goto out;
		}
	}
	/*
	 * Set up: the image is open, EAL's threads and librte_vhost's event
	 * thread run, the socket listens.  From here on the sandbox holds;
	 * queue threads started with the rings inherit it.
	 */
	ret = be_sandbox_apply(&blk_sandbox_policy, o.seccomp);
	if (ret)
		goto out;
	be_sandbox_probe();

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGUSR1) {
			blk_vhost_print_stats(vhost, stderr);
			continue;
		}
		log_info(TAG, "%s: shutting down", strsignal(sig));
		break;
	}
	ret = 0;
out:
	blk_vhost_stop(vhost);
	blk_relay_destroy(relay);
	rte_eal_cleanup();
	close(image_fd);
	return ret ? BLK_EXIT_ERROR : BLK_EXIT_OK;
}
