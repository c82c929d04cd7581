/* SPDX-License-Identifier: GPL-2.0-only */
/* Architectural MSR values of a vCPU at reset, as firmware leaves them. */
#ifndef SPLITVM_X86_MSR_H
#define SPLITVM_X86_MSR_H

struct kvm;

/* Program the boot MSRs on vcpu_fd (call from the vCPU's own thread). */
int msr_init_vcpu(const struct kvm *kvm, int vcpu_fd)
	__attribute__((warn_unused_result));

#endif
