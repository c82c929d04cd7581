/* SPDX-License-Identifier: GPL-2.0-only */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

#define TAG "kvm"
#define KVM_CPUID_MAX_ENTRIES 256
#define KVM_MSR_LIST_MAX 1024

struct kvm {
	int fd;
	const char *path;
	unsigned max_vcpus;
	size_t vcpu_mmap_size;
	struct kvm_cpuid2 *cpuid;
	struct kvm_msr_list *msrs;
};

#define CAP(c) { KVM_CAP_##c, #c }
const struct kvm_cap_req kvm_required_caps[] = {
	CAP(USER_MEMORY),
	CAP(IRQCHIP),		/* in-kernel PIC, IOAPIC, LAPIC */
	CAP(PIT2),
	CAP(IRQ_ROUTING),
	CAP(IRQ_INJECT_STATUS),
	CAP(EXT_CPUID),		/* KVM_GET_SUPPORTED_CPUID */
	CAP(SET_TSS_ADDR),
	CAP(SET_IDENTITY_MAP_ADDR),
	CAP(IMMEDIATE_EXIT),	/* race-free vCPU kick */
	CAP(MP_STATE),
	CAP(IOEVENTFD),		/* guest kicks go straight to backends */
	CAP(IRQFD),		/* backend completions go straight to guest */
	CAP(SIGNAL_MSI),
};
#undef CAP
const unsigned kvm_nr_required_caps =
	sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]);

const struct kvm_cap_req *kvm_find_missing_cap(int (*probe)(void *ctx,
							    long cap),
					       void *ctx)
{
	for (unsigned i = 0; i < kvm_nr_required_caps; i++)
		if (probe(ctx, kvm_required_caps[i].cap) <= 0)
			return &kvm_required_caps[i];
	return NULL;
}

int kvm_check_extension(const struct kvm *kvm, long cap)
{
	int ret = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? -errno : ret;
}

static int kvm_probe_cap(void *ctx, long cap)
{
	return kvm_check_extension(ctx, cap);
}

static int kvm_load_cpuid(struct kvm *kvm)
{
	size_t size = sizeof(struct kvm_cpuid2) +
		      KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	int ret;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		ret = -errno;
		log_err(TAG, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		free(cpuid);
		return ret;
	}
	kvm->cpuid = cpuid;
	return 0;
}

static int kvm_load_msr_list(struct kvm *kvm)
{
	struct kvm_msr_list *list;
	int ret;

	list = calloc(1, sizeof(*list) + KVM_MSR_LIST_MAX * sizeof(__u32));
	if (!list)
		return -ENOMEM;
	list->nmsrs = KVM_MSR_LIST_MAX;
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		ret = -errno;
		log_err(TAG, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-ret));
		free(list);
		return ret;
	}
	kvm->msrs = list;
	return 0;
}

int kvm_open(const char *path, struct kvm **out)
{
	const struct kvm_cap_req *missing;
	struct kvm *kvm;
	int ret;

	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	kvm->path = path;
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			log_err(TAG, "cannot open %s: %s (is the kvm module loaded, and is this a host with virtualization?)",
				path, strerror(-ret));
		else if (ret == -EACCES || ret == -EPERM)
			log_err(TAG, "cannot open %s: %s (add the user to the group owning it, usually 'kvm')",
				path, strerror(-ret));
		else
			log_err(TAG, "cannot open %s: %s", path, strerror(-ret));
		goto err_free;
	}

	ret = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		if (ret < 0)
			log_err(TAG, "%s is not a KVM device (KVM_GET_API_VERSION: %s)",
				path, strerror(errno));
		else
			log_err(TAG, "%s speaks KVM API version %d, splitvm needs %d",
				path, ret, KVM_API_VERSION);
		ret = -ENODEV;
		goto err_close;
	}

	missing = kvm_find_missing_cap(kvm_probe_cap, kvm);
	if (missing) {
		log_err(TAG, "%s lacks capability KVM_CAP_%s, which splitvm needs",
			path, missing->name);
		ret = -ENOTSUP;
		goto err_close;
	}

	ret = kvm_check_extension(kvm, KVM_CAP_MAX_VCPUS);
	kvm->max_vcpus = ret > 0 ? ret : 1;
	if (kvm_check_extension(kvm, KVM_CAP_NR_VCPUS) <= 0)
		kvm->max_vcpus = 4;	/* KVM's documented default */

	ret = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < (int)sizeof(struct kvm_run)) {
		ret = ret < 0 ? -errno : -EINVAL;
		log_err(TAG, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-ret));
		goto err_close;
	}
	kvm->vcpu_mmap_size = ret;

	ret = kvm_load_cpuid(kvm);
	if (ret)
		goto err_close;
	ret = kvm_load_msr_list(kvm);
	if (ret)
		goto err_cpuid;

	*out = kvm;
	return 0;

err_cpuid:
	free(kvm->cpuid);
err_close:
	close(kvm->fd);
err_free:
	free(kvm);
	return ret;
}

void kvm_close(struct kvm *kvm)
{
	if (!kvm)
		return;
	free(kvm->msrs);
	free(kvm->cpuid);
	close(kvm->fd);
	free(kvm);
}

int kvm_fd(const struct kvm *kvm)
{
	return kvm->fd;
}

const char *kvm_path(const struct kvm *kvm)
{
	return kvm->path;
}

unsigned kvm_max_vcpus(const struct kvm *kvm)
{
	return kvm->max_vcpus;
}

size_t kvm_vcpu_mmap_size(const struct kvm *kvm)
{
	return kvm->vcpu_mmap_size;
}

const struct kvm_cpuid2 *kvm_supported_cpuid(const struct kvm *kvm)
{
	return kvm->cpuid;
}

bool kvm_has_msr(const struct kvm *kvm, unsigned index)
{
	for (unsigned i = 0; i < kvm->msrs->nmsrs; i++)
		if (kvm->msrs->indices[i] == index)
			return true;
	return false;
}
