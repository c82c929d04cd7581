/* SPDX-License-Identifier: GPL-2.0-only */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

void metrics_put_label_value(FILE *f, const char *value)
{
	fputc('"', f);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void metrics_pci_address(int devfn, char buf[8])
{
	if (devfn < 0 || devfn > 0xff)
		buf[0] = '\0';
	else
		snprintf(buf, 8, "00:%02x.%x", (unsigned)devfn >> 3,
			 (unsigned)devfn & 7);
}

static void metrics_family(FILE *f, const char *name, const char *type,
			   const char *help)
{
	fprintf(f, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

static void metrics_vm(FILE *f, const struct metrics_snapshot *s)
{
	const struct vm_info *vi = s->info;

	metrics_family(f, "splitvm_vm", "info", "The VM and its guest.");
	fputs("splitvm_vm_info{version=", f);
	metrics_put_label_value(f, s->version);
	fputs(",kernel=", f);
	metrics_put_label_value(f, vi->kernel_path);
	fputs("} 1\n", f);

	metrics_family(f, "splitvm_vm_state", "stateset",
		       "Whether the VM runs, is paused or is stopping.");
	for (enum vm_state st = VM_STATE_CREATED; st <= VM_STATE_STOPPING; st++)
		fprintf(f, "splitvm_vm_state{splitvm_vm_state=\"%s\"} %d\n",
			vm_state_name(st), vi->state == st);

	metrics_family(f, "splitvm_vm_vcpus", "gauge", "Virtual CPUs.");
	fprintf(f, "splitvm_vm_vcpus %u\n", vi->ncpus);
	metrics_family(f, "splitvm_vm_memory_bytes", "gauge", "Guest RAM.");
	fprintf(f, "splitvm_vm_memory_bytes %" PRIu64 "\n", vi->mem_size);
	metrics_family(f, "splitvm_vm_uptime_seconds", "gauge",
		       "Time since the vCPUs were started.");
	fprintf(f, "splitvm_vm_uptime_seconds %.3f\n", vi->uptime_s);
	metrics_family(f, "splitvm_vm_irq_line_changes", "counter",
		       "Interrupt line changes made by the core (UART, INTx); "
		       "MSI-X interrupts from back-ends bypass the core.");
	fprintf(f, "splitvm_vm_irq_line_changes_total %" PRIu64 "\n",
		vi->irq_line_changes);
}

static void metrics_vcpus(FILE *f, const struct metrics_snapshot *s)
{
	metrics_family(f, "splitvm_vcpu_exits", "counter",
		       "vCPU exits to the core, by KVM exit reason.");
	for (unsigned i = 0; i < s->info->ncpus; i++)
		for (unsigned r = 0; r < VCPU_EXIT_NR; r++)
			fprintf(f, "splitvm_vcpu_exits_total{vcpu=\"%u\",reason=\"%s\"} %" PRIu64 "\n",
				i, vcpu_exit_stat_name(r), s->vcpus[i].exits[r]);
	metrics_family(f, "splitvm_vcpu_parked", "gauge",
		       "1 while the vCPU is parked by a pause.");
	for (unsigned i = 0; i < s->info->ncpus; i++)
		fprintf(f, "splitvm_vcpu_parked{vcpu=\"%u\"} %d\n", i,
			s->vcpus[i].parked);
}

static void metrics_device_label(FILE *f, const struct vhost_user_dev_info *d)
{
	fputs("{device=", f);
	metrics_put_label_value(f, d->name);
	fputc('}', f);
}

static void metrics_device_counter(FILE *f, const struct metrics_snapshot *s,
				   const char *name, const char *help,
				   size_t offset)
{
	metrics_family(f, name, "counter", help);
	for (unsigned i = 0; i < s->nr_devices; i++) {
		const struct vhost_user_dev_info *d = &s->devices[i];

		fprintf(f, "%s_total", name);
		metrics_device_label(f, d);
		fprintf(f, " %" PRIu64 "\n",
			*(const uint64_t *)((const char *)d + offset));
	}
}

static void metrics_devices(FILE *f, const struct metrics_snapshot *s)
{
	char pci[8];

	metrics_family(f, "splitvm_device", "info",
		       "A virtio device and its vhost-user back-end.");
	for (unsigned i = 0; i < s->nr_devices; i++) {
		const struct vhost_user_dev_info *d = &s->devices[i];

		metrics_pci_address(d->devfn, pci);
		fputs("splitvm_device_info{device=", f);
		metrics_put_label_value(f, d->name);
		fputs(",type=", f);
		metrics_put_label_value(f, d->type);
		fputs(",pci=", f);
		metrics_put_label_value(f, pci);
		fputs(",socket=", f);
		metrics_put_label_value(f, d->socket_path);
		fputs("} 1\n", f);
	}
	metrics_family(f, "splitvm_device_backend_up", "gauge",
		       "1 while the back-end is connected, 0 while reconnecting or failed.");
	for (unsigned i = 0; i < s->nr_devices; i++) {
		fputs("splitvm_device_backend_up", f);
		metrics_device_label(f, &s->devices[i]);
		fprintf(f, " %d\n", !s->devices[i].broken);
	}
	metrics_family(f, "splitvm_device_restarts", "counter",
		       "Times a new back-end took the device over (reconnects).");
	for (unsigned i = 0; i < s->nr_devices; i++) {
		fputs("splitvm_device_restarts_total", f);
		metrics_device_label(f, &s->devices[i]);
		fprintf(f, " %u\n", s->devices[i].restarts);
	}
	metrics_device_counter(f, s, "splitvm_device_driver_ok",
			       "Times the driver started the queues (DRIVER_OK).",
			       offsetof(struct vhost_user_dev_info,
					driver_ok_count));
	metrics_device_counter(f, s, "splitvm_device_resets",
			       "Times the driver reset running queues.",
			       offsetof(struct vhost_user_dev_info,
					reset_count));
}

int metrics_format(const struct metrics_snapshot *snap, char **text,
		   size_t *len)
{
	FILE *f;

	*text = NULL;
	*len = 0;
	f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	metrics_vm(f, snap);
	metrics_vcpus(f, snap);
	metrics_devices(f, snap);
	fputs("# EOF\n", f);
	if (ferror(f)) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
