/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * splitvm-net: parse the command line, refuse root, start DPDK's EAL and
 * the ports, forward until SIGINT/SIGTERM. The logic lives in the library.
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "be_caps.h"
#include "log.h"
#include "net_backend.h"
#include "net_options.h"
#include "net_sandbox.h"
#include "net_uplink_args.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/*
 * The handlers need the backend, which exists only after DPDK and the
 * ports are up; a signal that arrives before is remembered and passed on
 * then, so an early SIGTERM still stops splitvm-net.
 */
static _Atomic(struct net_backend *) signal_backend;
static volatile sig_atomic_t pending_stop, pending_stats;
/*
 * Handlers that may hold the backend: a handler runs on whichever thread
 * the kernel picks, so one that loaded the pointer just before main()
 * cleared it could still be writing to the workers' eventfds while the
 * backend is destroyed; main() waits for this to drop to zero first.
 */
static atomic_uint signal_users;

static void on_signal(int sig)
{
	struct net_backend *be;

	if (sig == SIGUSR1)
		pending_stats = 1;
	else
		pending_stop = 1;
	atomic_fetch_add(&signal_users, 1);
	be = atomic_load(&signal_backend);
	if (be && sig == SIGUSR1)
		net_backend_request_stats(be);
	else if (be)
		net_backend_request_stop(be);
	atomic_fetch_sub(&signal_users, 1);
}

/* No handler uses the backend from here on. */
static void signals_release_backend(void)
{
	atomic_store(&signal_backend, NULL);
	while (atomic_load(&signal_users))
		sched_yield();
}

static int install_signals(void)
{
	struct sigaction sa;
	const int sigs[] = { SIGINT, SIGTERM, SIGUSR1 };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -1;
	/* A frontend hanging up must not kill us through a write. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
	static struct net_options opts;
	struct net_backend *be = NULL;
	struct net_ctl *ctl = NULL;
	int r, status = 0, caps[4];
	size_t ncaps;

	log_init("splitvm-net", LOG_LEVEL_INFO);
	if (net_options_parse(argc, argv, &opts))
		return EXIT_USAGE;
	switch (opts.action) {
	case NET_ACTION_HELP:
		fputs(net_options_usage, stdout);
		fputs(net_options_usage_more, stdout);
		fputs(net_options_usage_process, stdout);
		return 0;
	case NET_ACTION_VERSION:
		puts("splitvm-net " SPLITVM_VERSION);
		return 0;
	case NET_ACTION_CAPABILITIES:
		fputs(net_capabilities_json, stdout);
		return 0;
	case NET_ACTION_RUN:
		break;
	}
	if (opts.verbosity > 0)
		log_set_level(LOG_LEVEL_DEBUG);
	else if (opts.verbosity < 0)
		log_set_level(LOG_LEVEL_ERR);
	if (geteuid() == 0 && !opts.allow_root) {
		log_err("main", "refusing to run as root: start splitvm-net as an "
			"unprivileged user (or pass --allow-root)");
		return EXIT_USAGE;
	}
	/*
	 * Before EAL creates threads: they inherit no capability, except
	 * the ones an uplink needs to be opened, dropped once it is.
	 */
	ncaps = net_uplink_caps(&opts, caps, sizeof(caps) / sizeof(caps[0]));
	if (ncaps ? be_caps_drop_but(caps, ncaps) : be_sandbox_drop_privileges())
		return EXIT_RUNTIME;
	/* Handlers before EAL so its threads inherit the same dispositions;
	 * they do nothing until the backend exists. */
	if (install_signals()) {
		log_err("main", "cannot install signal handlers");
		return EXIT_RUNTIME;
	}
	r = net_eal_start(&opts);
	if (r)
		return EXIT_RUNTIME;
	r = net_backend_create(&opts, &be);
	if (r) {
		log_err("main", "cannot start the ports: %s", strerror(-r));
		status = EXIT_RUNTIME;
		goto out;
	}
	if (ncaps && be_caps_drop_all_threads()) {
		status = EXIT_RUNTIME;
		goto out;
	}
	if (opts.control_path[0]) {
		r = net_backend_ctl_prepare(be, opts.control_path);
		if (r)
			log_err("main", "--control: cannot start librte_vhost: %s",
				strerror(-r));
		else
			r = net_ctl_start(opts.control_path, &net_backend_ctl_ops,
					  be, &ctl);
		if (r) {
			status = EXIT_RUNTIME;
			goto out;
		}
	}
	/*
	 * EAL's threads and librte_vhost's event thread exist, the sockets
	 * are registered: the sandbox holds from here on.
	 */
	r = be_sandbox_apply(net_sandbox_policy_for(&opts), opts.seccomp);
	if (r) {
		status = EXIT_RUNTIME;
		goto out;
	}
	be_sandbox_probe();
	atomic_store(&signal_backend, be);
	if (pending_stop)
		net_backend_request_stop(be);
	if (pending_stats)
		net_backend_request_stats(be);
	log_info("main", "forwarding: %u ports%s, mode %s, %s, %u thread%s",
		 opts.nports, ctl ? " and those added through --control" : "",
		 opts.mode == NET_MODE_XCONNECT ? "xconnect" : "switch",
		 opts.busy_poll ? "busy polling" : "sleeping when idle",
		 opts.threads, opts.threads == 1 ? "" : "s");
	r = net_backend_run(be);
	if (r)
		status = EXIT_RUNTIME;
	if (net_backend_print_stats(be))
		log_warn("main", "cannot print statistics");
	signals_release_backend();
out:
	net_ctl_stop(ctl);
	net_backend_destroy(be);
	net_eal_stop(&opts);
	return status;
}
