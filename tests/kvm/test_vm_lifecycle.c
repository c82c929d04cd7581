/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Build, run and destroy a VM several times in one process and check that
 * nothing is left behind: every fd closed and every vCPU thread joined.
 * Exits 77 (meson SKIP) when /dev/kvm is unavailable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"
#include "vm.h"

static void run_once(const char *guest, unsigned ncpus)
{
	struct vm_exit result = { VM_EXIT_ERROR, -1 };
	struct vm_config cfg = {
		.kvm_path = "/dev/kvm",
		.mem_size = 64ull << 20,
		.ncpus = ncpus,
		.boot = {
			.kernel_path = guest,
			.cmdline = "guest.ticks=1",
			.ncpus = ncpus,
		},
		.console_in_fd = -1,
	};
	char out[65536];
	struct vm *vm;
	ssize_t n;
	int fd = memfd_create("console", MFD_CLOEXEC);

	cfg.console_out_fd = fd;
	CHECK(vm_create(&cfg, &vm) == 0, "vm_create");
	if (test_checks_failed)
		exit(1);
	CHECK(vm_run(vm, &result) == 0, "vm_run");
	vm_destroy(vm);
	CHECK(result.reason == VM_EXIT_DEBUG && result.status == 0,
	      "guest ended through the debug exit with 0 (reason %s, status %d)",
	      vm_exit_reason_name(result.reason), result.status);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	CHECK(strstr(out, "guest: result=PASS") != NULL,
	      "guest console reports PASS:\n%s", out);
	close(fd);
}

/* vm_create() failing at each stage must unwind everything it built. */
static void fail_once(const char *kernel, const char *kvm_path,
		      unsigned ncpus, uint64_t mem)
{
	struct vm_config cfg = {
		.kvm_path = kvm_path,
		.mem_size = mem,
		.ncpus = ncpus,
		.boot = { .kernel_path = kernel, .ncpus = ncpus },
		.console_in_fd = -1,
		.console_out_fd = -1,
	};
	struct vm *vm = NULL;

	CHECK(vm_create(&cfg, &vm) < 0, "vm_create(%s, %s, %u cpus) fails",
	      kernel, kvm_path, ncpus);
	CHECK(vm == NULL, "no VM handed out on failure");
}

int main(int argc, char **argv)
{
	int fds, threads;

	if (argc != 2) {
		fprintf(stderr, "usage: %s GUEST_ELF\n", argv[0]);
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not available: this test needs KVM\n");
		return 77;
	}
	log_init("test_vm_lifecycle", LOG_LEVEL_WARN);

	/* The first run may allocate process-lifetime state (libc, signals). */
	run_once(argv[1], 2);
	fds = test_count_fds();
	threads = test_count_threads();
	for (unsigned i = 0; i < 3; i++) {
		run_once(argv[1], 1 + i);
		CHECK(test_count_fds() == fds,
		      "run %u: %d fds open, %d before", i,
		      test_count_fds(), fds);
		CHECK(test_count_threads() == threads,
		      "run %u: %d threads, %d before", i,
		      test_count_threads(), threads);
	}
	CHECK(threads == 1, "only the main thread is left (%d)", threads);

	/*
	 * Failures at each stage: guest RAM size, the kernel load (RAM built),
	 * the KVM device (RAM and guest loaded), the vCPU count (KVM open).
	 */
	fail_once(argv[1], "/dev/kvm", 1, 1ull << 20);
	fail_once("/nonexistent/kernel", "/dev/kvm", 1, 64ull << 20);
	fail_once(argv[1], "/dev/null", 1, 64ull << 20);
	fail_once(argv[1], "/dev/kvm", 100000, 64ull << 20);
	CHECK(test_count_fds() == fds,
	      "failed vm_create calls leave %d fds open, %d before",
	      test_count_fds(), fds);
	CHECK(test_count_threads() == threads,
	      "failed vm_create calls leave %d threads", test_count_threads());
	return test_checks_report("vm_lifecycle");
}
