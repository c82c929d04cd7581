/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPU threads.  A vCPU fd is used only by its own thread: CPUID, MSRs,
 * registers and KVM_RUN all happen there.  Exits are dispatched to the
 * buses; anything that ends the VM goes through vm_request_exit().
 */
#ifndef SPLITVM_VCPU_H
#define SPLITVM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

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

/*
 * Pause: the thread leaves KVM_RUN (same kick as vcpu_kick) and parks
 * until vcpu_resume() or vcpu_kick().  Thread safe.  vcpu_wait_parked()
 * waits up to timeout_ms for the thread to be parked (or gone): 0 or
 * -ETIMEDOUT.
 */
void vcpu_pause(struct vcpu *vcpu);
void vcpu_resume(struct vcpu *vcpu);
int vcpu_wait_parked(struct vcpu *vcpu, int timeout_ms)
	__attribute__((warn_unused_result));

/* Exits to user space, by KVM exit reason; counted by the vCPU thread. */
enum vcpu_exit_stat {
	VCPU_EXIT_IO,
	VCPU_EXIT_MMIO,
	VCPU_EXIT_INTR,
	VCPU_EXIT_SHUTDOWN,
	VCPU_EXIT_SYSTEM_EVENT,
	VCPU_EXIT_INTERNAL_ERROR,
	VCPU_EXIT_FAIL_ENTRY,
	VCPU_EXIT_HLT,
	VCPU_EXIT_OTHER,
	VCPU_EXIT_NR,
};

struct vcpu_stats {
	uint64_t exits[VCPU_EXIT_NR];
	bool parked;
};

/* Lowercase name used in the API and metrics ("io", "mmio", ...). */
const char *vcpu_exit_stat_name(enum vcpu_exit_stat stat);
/* A consistent-enough snapshot from any thread (relaxed atomics). */
void vcpu_get_stats(struct vcpu *vcpu, struct vcpu_stats *out);

/* Signal used to kick vCPU threads out of KVM_RUN. */
int vcpu_kick_signal(void);

#endif
