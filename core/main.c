/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm: the core VMM process.  Everything lives in the core library. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend_spawn.h"
#include "control.h"
#include "log.h"
#include "options.h"
#include "sandbox.h"
#include "vm.h"

#define EXIT_USAGE	2
#define EXIT_RESET	10
#define EXIT_CRASH	11

static int main_exit_status(const struct vm_exit *result)
{
	switch (result->reason) {
	case VM_EXIT_POWEROFF:
		return EXIT_SUCCESS;
	case VM_EXIT_RESET:
		return EXIT_RESET;
	case VM_EXIT_DEBUG:
		return result->status;
	case VM_EXIT_SIGNAL:
		return 128 + result->status;
	case VM_EXIT_CRASH:
		return EXIT_CRASH;
	case VM_EXIT_ERROR:
	default:
		return EXIT_FAILURE;
	}
}

/*
 * A closed stdin, stdout or stderr would be reused by the next fd we open
 * (the guest memfd, an eventfd) and console traffic would land there.
 */
static void main_keep_std_fds_open(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd)
			abort();	/* lowest free fd must be fd itself */
	}
}

/* The spawned back-ends' settings that follow from the core's own. */
static void main_backend_defaults(struct options *opts)
{
	static const char *const modes[] = {
		[SANDBOX_SECCOMP_KILL] = "kill",
		[SANDBOX_SECCOMP_LOG] = "log",
		[SANDBOX_SECCOMP_OFF] = "off",
	};
	struct backend_config *bc = &opts->backends;

	/* Their sockets' group is the one the core runs as once sandboxed. */
	if (geteuid() != 0 || opts->sandbox.disabled)
		bc->core_gid = getegid();
	else
		bc->core_gid = opts->sandbox.has_user ? opts->sandbox.gid
						      : SANDBOX_DEFAULT_GID;
	bc->seccomp = modes[opts->sandbox.seccomp];
	bc->verbosity = opts->verbosity;
}

int main(int argc, char **argv)
{
	struct backend_spawn *backends = NULL;
	struct options opts;
	struct vm_exit result = { VM_EXIT_ERROR, 0 };
	struct control_listener api = { .fd = -1 };
	struct vm *vm;
	int status;

	main_keep_std_fds_open();
	log_init("splitvm", LOG_LEVEL_INFO);
	switch (options_parse(argc, argv, &opts)) {
	case OPTIONS_EXIT_OK:
		return EXIT_SUCCESS;
	case OPTIONS_EXIT_USAGE:
		return EXIT_USAGE;
	case OPTIONS_RUN:
		break;
	}
	if (opts.verbosity < 0)
		log_set_level(LOG_LEVEL_ERR);
	else if (opts.verbosity > 0)
		log_set_level(LOG_LEVEL_DEBUG);

	/* A reader that went away must not kill us mid-teardown. */
	signal(SIGPIPE, SIG_IGN);

	/*
	 * Back-ends first: the supervisor is forked while the core is still
	 * small and privileged enough to set their user, and the devices
	 * then connect to the sockets it names.
	 */
	if (backend_spawn_needed(&opts.backends, &opts.vm)) {
		main_backend_defaults(&opts);
		if (backend_spawn_start(&opts.backends, &opts.vm, &backends))
			return EXIT_FAILURE;
	}
	/* Before the VM is built: nothing is created once sandboxed. */
	if (opts.api_socket && control_listen(opts.api_socket, &api)) {
		backend_spawn_stop(backends);
		return EXIT_FAILURE;
	}
	if (vm_create(&opts.vm, &vm)) {
		control_unlisten(&api);
		backend_spawn_stop(backends);
		return EXIT_FAILURE;
	}
	vm_set_backends(vm, backends);
	if (api.fd >= 0) {
		vm_set_api_socket(vm, api.fd);
		opts.sandbox.control_api = true;
	}
	/*
	 * Built: every fd the VM needs is open, no thread runs yet.  From
	 * here on the core is unprivileged and filtered for good.
	 */
	if (sandbox_apply(&opts.sandbox)) {
		vm_destroy(vm);
		control_unlisten(&api);
		backend_spawn_stop(backends);
		return EXIT_FAILURE;
	}
	sandbox_run_test_probe();
	if (vm_run(vm, &result))
		result.reason = VM_EXIT_ERROR;
	vm_destroy(vm);
	control_unlisten(&api);
	backend_spawn_stop(backends);

	status = main_exit_status(&result);
	if (result.reason != VM_EXIT_POWEROFF && result.reason != VM_EXIT_DEBUG)
		log_warn(NULL, "VM ended: %s (exit status %d)",
			 vm_exit_reason_name(result.reason), status);
	return status;
}
