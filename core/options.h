/* SPDX-License-Identifier: GPL-2.0-only */
/* splitvm's command line: parsing and validation into a vm_config. */
#ifndef SPLITVM_OPTIONS_H
#define SPLITVM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend_spawn.h"
#include "sandbox.h"
#include "vm.h"

#define OPTIONS_DEFAULT_MEMORY	(512ull << 20)
#define OPTIONS_DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=1"
#define OPTIONS_MAX_CPUS	254

enum options_result {
	OPTIONS_RUN,		/* start the VM */
	OPTIONS_EXIT_OK,	/* --help or --version was printed */
	OPTIONS_EXIT_USAGE,	/* bad command line; the error was printed */
};

struct options {
	struct vm_config vm;
	int verbosity;		/* 0 = info, <0 quieter, >0 debug */
	struct sandbox_config sandbox;
	const char *api_socket;	/* --api-socket PATH, or NULL */
	struct backend_config backends;	/* path=, switch=: spawned back-ends */
};

enum options_result options_parse(int argc, char **argv,
				  struct options *opts);
void options_usage(FILE *out);

/*
 * "512M", "4G", "1048576K", "2T"; a plain number is MiB, as with QEMU's
 * -m.  -EINVAL for anything else, -ERANGE on overflow.
 */
int options_parse_size(const char *text, uint64_t *bytes)
	__attribute__((warn_unused_result));

#endif
