/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM system fd (/dev/kvm): API version, capabilities, and what the
 * host supports (CPUID, MSRs).  VM and vCPU fds live in vm.c and vcpu.c.
 */
#ifndef SPLITVM_KVM_H
#define SPLITVM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

struct kvm;

struct kvm_cap_req {
	long cap;
	const char *name;
};

/* Every capability the core cannot work without. */
extern const struct kvm_cap_req kvm_required_caps[];
extern const unsigned kvm_nr_required_caps;

/*
 * Open and check the KVM device: API version 12 and every required
 * capability.  Logs one line naming the problem and returns -errno.
 */
int kvm_open(const char *path, struct kvm **out)
	__attribute__((warn_unused_result));
void kvm_close(struct kvm *kvm);

int kvm_fd(const struct kvm *kvm);
const char *kvm_path(const struct kvm *kvm);
/* KVM_CHECK_EXTENSION: > 0 when supported (some caps return a count). */
int kvm_check_extension(const struct kvm *kvm, long cap);
unsigned kvm_max_vcpus(const struct kvm *kvm);
size_t kvm_vcpu_mmap_size(const struct kvm *kvm);

/* What KVM can present to a guest; owned by struct kvm, read-only. */
const struct kvm_cpuid2 *kvm_supported_cpuid(const struct kvm *kvm);
bool kvm_has_msr(const struct kvm *kvm, unsigned index);

/*
 * First required capability that probe() reports missing, or NULL.  Split
 * out of kvm_open() so the check itself is testable without a kernel.
 */
const struct kvm_cap_req *kvm_find_missing_cap(int (*probe)(void *ctx,
							    long cap),
					       void *ctx);

#endif
