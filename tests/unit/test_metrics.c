/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics_format(): OpenMetrics text from a made-up snapshot.  A small
 * checker holds the output to the rules a scraper relies on: every
 * sample belongs to a family declared before it (with the suffix its
 * type allows), no family twice, label values escaped, "# EOF" last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

#define MAX_FAMILIES 64

struct family {
	char name[128];
	char type[32];
};

static const char *sample_suffix(const char *type)
{
	if (!strcmp(type, "counter"))
		return "_total";
	if (!strcmp(type, "info"))
		return "_info";
	return "";
}

/* The sample's metric name: up to '{' or ' '. */
static void sample_name(const char *line, char *out, size_t size)
{
	size_t n = strcspn(line, "{ ");

	if (n >= size)
		n = size - 1;
	memcpy(out, line, n);
	out[n] = '\0';
}

/* Returns the number of rule violations, printing each. */
static int check_openmetrics(const char *text)
{
	struct family fam[MAX_FAMILIES];
	unsigned nfam = 0;
	int bad = 0;
	char *copy = strdup(text), *save = NULL, *line;
	size_t len = strlen(text);

	if (len < 6 || strcmp(text + len - 6, "# EOF\n")) {
		printf("\ndoes not end with # EOF\n");
		bad++;
	}
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (!strcmp(line, "# EOF"))
			continue;
		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			for (unsigned i = 0; i < nfam; i++)
				if (!strcmp(fam[i].name, name)) {
					printf("\nfamily %s twice\n", name);
					bad++;
				}
			if (nfam < MAX_FAMILIES) {
				snprintf(fam[nfam].name, sizeof(fam[nfam].name), "%s", name);
				snprintf(fam[nfam].type, sizeof(fam[nfam].type), "%s", type);
				nfam++;
			}
			continue;
		}
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (line[0] == '#') {
			printf("\nunknown comment: %s\n", line);
			bad++;
			continue;
		}
		sample_name(line, name, sizeof(name));
		if (!nfam) {
			printf("\nsample before any family: %s\n", line);
			bad++;
			continue;
		}
		/* Samples of a family follow its TYPE line. */
		snprintf(type, sizeof(type), "%s", sample_suffix(fam[nfam - 1].type));
		{
			char want[128];

			snprintf(want, sizeof(want), "%s%s", fam[nfam - 1].name, type);
			if (strcmp(name, want)) {
				printf("\nsample %s not in family %s (%s)\n", name,
				       fam[nfam - 1].name, fam[nfam - 1].type);
				bad++;
			}
		}
	}
	free(copy);
	return bad;
}

static const struct vm_info info = {
	.state = VM_STATE_PAUSED,
	.ncpus = 2,
	.mem_size = 128ull << 20,
	.uptime_s = 12.5,
	.kernel_path = "/boot/vm\"linux\\x\ny",
	.cmdline = "console=ttyS0",
	.irq_line_changes = 7,
	.nr_devices = 2,
};

static void fill(struct vcpu_stats vcpus[2], struct vhost_user_dev_info devs[2])
{
	memset(vcpus, 0, 2 * sizeof(*vcpus));
	vcpus[0].exits[VCPU_EXIT_IO] = 1000;
	vcpus[0].exits[VCPU_EXIT_MMIO] = 20;
	vcpus[1].exits[VCPU_EXIT_INTR] = 3;
	vcpus[1].parked = true;
	memset(devs, 0, 2 * sizeof(*devs));
	devs[0] = (struct vhost_user_dev_info){
		.name = "blk0", .type = "virtio-blk", .socket_path = "/tmp/b.sock",
		.devfn = 3 << 3, .driver_ok_count = 2, .reset_count = 1,
	};
	devs[1] = (struct vhost_user_dev_info){
		.name = "net0", .type = "virtio-net", .socket_path = "/tmp/n.sock",
		.devfn = -1, .broken = true, .restarts = 0,
	};
}

static void test_format(void)
{
	struct vcpu_stats vcpus[2];
	struct vhost_user_dev_info devs[2];
	struct metrics_snapshot snap = {
		.info = &info, .version = "0.1.0", .vcpus = vcpus,
		.nr_devices = 2, .devices = devs,
	};
	char *text;
	size_t len;

	fill(vcpus, devs);
	CU_ASSERT_EQUAL_FATAL(metrics_format(&snap, &text, &len), 0);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_EQUAL(check_openmetrics(text), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_vcpu_exits_total{vcpu=\"0\",reason=\"io\"} 1000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_vcpu_exits_total{vcpu=\"0\",reason=\"mmio\"} 20\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_vcpu_exits_total{vcpu=\"1\",reason=\"intr\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_vcpu_parked{vcpu=\"1\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_vm_state{splitvm_vm_state=\"paused\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_vm_state{splitvm_vm_state=\"running\"} 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_vm_vcpus 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_vm_memory_bytes 134217728\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_vm_uptime_seconds 12.500\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_vm_irq_line_changes_total 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_device_info{device=\"blk0\",type=\"virtio-blk\",pci=\"00:03.0\",socket=\"/tmp/b.sock\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
		"splitvm_device_info{device=\"net0\",type=\"virtio-net\",pci=\"\",socket=\"/tmp/n.sock\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_device_backend_up{device=\"blk0\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_device_backend_up{device=\"net0\"} 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_device_restarts_total{device=\"net0\"} 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_device_driver_ok_total{device=\"blk0\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "splitvm_device_resets_total{device=\"blk0\"} 1\n"));
	/* The kernel path's quote, backslash and newline are escaped. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "kernel=\"/boot/vm\\\"linux\\\\x\\ny\"} 1\n"));
	free(text);
}

static void test_no_devices(void)
{
	struct vcpu_stats vcpus[2];
	struct vhost_user_dev_info devs[2];
	struct metrics_snapshot snap = {
		.info = &info, .version = "0.1.0", .vcpus = vcpus,
	};
	char *text;
	size_t len;

	fill(vcpus, devs);
	CU_ASSERT_EQUAL_FATAL(metrics_format(&snap, &text, &len), 0);
	CU_ASSERT_EQUAL(check_openmetrics(text), 0);
	CU_ASSERT_PTR_NULL(strstr(text, "device=\""));
	/* Families are declared even when empty: scrapers see them all. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE splitvm_device_restarts counter\n"));
	free(text);
}

static void test_checker_catches(void)
{
	/* The checker itself must fail bad text, or it proves nothing. */
	CU_ASSERT(check_openmetrics("# TYPE a counter\na 1\n# EOF\n") > 0);
	CU_ASSERT(check_openmetrics("# TYPE a counter\na_total 1\n") > 0);
	CU_ASSERT(check_openmetrics("b 1\n# EOF\n") > 0);
	CU_ASSERT(check_openmetrics("# TYPE a gauge\n# TYPE a gauge\n# EOF\n") > 0);
	CU_ASSERT_EQUAL(check_openmetrics("# TYPE a counter\na_total{x=\"1\"} 1\n# EOF\n"), 0);
}

static void test_helpers(void)
{
	char pci[8], *buf = NULL;
	size_t len = 0;
	FILE *f;

	metrics_pci_address(0x18, pci);
	CU_ASSERT_STRING_EQUAL(pci, "00:03.0");
	metrics_pci_address(0xff, pci);
	CU_ASSERT_STRING_EQUAL(pci, "00:1f.7");
	metrics_pci_address(-1, pci);
	CU_ASSERT_STRING_EQUAL(pci, "");
	metrics_pci_address(0x100, pci);
	CU_ASSERT_STRING_EQUAL(pci, "");

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	metrics_put_label_value(f, "a\"b\\c\nd");
	metrics_put_label_value(f, NULL);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "\"a\\\"b\\\\c\\nd\"\"\"");
	free(buf);
}

static CU_TestInfo metrics_tests[] = {
	{ "format", test_format },
	{ "no devices", test_no_devices },
	{ "checker catches bad text", test_checker_catches },
	{ "label values and PCI addresses", test_helpers },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "metrics", NULL, NULL, NULL, NULL, metrics_tests },
	CU_SUITE_INFO_NULL,
};
