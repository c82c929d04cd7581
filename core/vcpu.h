/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPU threads.  A vCPU fd is used only by its own thread: CPUID, MSRs,
 * registers and KVM_RUN all happen there.  Exits are dispatched to the
 * buses; anything that ends the VM goes through vm_request_exit().
 */
#ifndef SPLITVM_VCPU_H
#define SPLITVM_VCPU_H

struct vm;
struct kvm;
struct bus;
struct boot_setup;
struct vcpu;

struct vcpu_config {
	struct vm *vm;
	const struct kvm *kvm;
	int vm_fd;
	unsigned id;			/* also the APIC id */
	unsigned ncpus;
	const struct boot_setup *boot;	/* boot vCPU only, else NULL */
	struct bus *pio;
	struct bus *mmio;
};

/* KVM_CREATE_VCPU and map its kvm_run; the thread starts in vcpu_start. */
int vcpu_create(const struct vcpu_config *cfg, struct vcpu **out)
	__attribute__((warn_unused_result));
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));
/* Make the thread leave KVM_RUN and end; thread safe, idempotent. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* Signal used to kick vCPU threads out of KVM_RUN. */
int vcpu_kick_signal(void);

#endif
