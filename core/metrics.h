/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's and every device's metrics as OpenMetrics text (which
 * Prometheus also reads): pure formatting of a snapshot, no I/O.
 */
#ifndef SPLITVM_METRICS_H
#define SPLITVM_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "vcpu.h"
#include "vhost_user_dev.h"
#include "vm.h"

#define METRICS_CONTENT_TYPE \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

struct metrics_snapshot {
	const struct vm_info *info;
	const char *version;
	const struct vcpu_stats *vcpus;		/* info->ncpus of them */
	unsigned nr_devices;
	const struct vhost_user_dev_info *devices;
};

/* Text ending in "# EOF\n", malloc'ed into *text: 0 or -ENOMEM. */
int metrics_format(const struct metrics_snapshot *snap, char **text,
		   size_t *len) __attribute__((warn_unused_result));

/* A label value as OpenMetrics quotes it: \\ \" \n escaped. */
void metrics_put_label_value(FILE *f, const char *value);

/* "00:03.0" from a devfn; "" for -1.  buf holds at least 8 bytes. */
void metrics_pci_address(int devfn, char buf[8]);

#endif
