/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtual machine: the KVM VM fd, guest RAM, in-kernel irqchip and PIT,
 * the I/O buses with the platform devices, the loaded guest and its vCPU
 * threads.  vm_run() drives it from the main thread until it ends.
 */
#ifndef SPLITVM_VM_H
#define SPLITVM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"
#include "vhost_user_dev.h"

/* --disk and --net devices together. */
#define VM_MAX_VHOST_USER_DEVS	8

struct vm;
struct bus;

struct vm_config {
	const char *kvm_path;		/* default "/dev/kvm" */
	uint64_t mem_size;
	unsigned mem_flags;		/* GUEST_MEM_* */
	unsigned ncpus;
	struct boot_config boot;
	int console_in_fd;		/* -1: no console input */
	int console_out_fd;		/* where the UART's output goes */
	/* vhost-user devices, in PCI slot order; named blk0.., net0.. */
	unsigned nr_vhost_user;
	struct vhost_user_dev_spec vhost_user[VM_MAX_VHOST_USER_DEVS];
};

/* Why a VM ended; splitvm maps these to distinct exit statuses. */
enum vm_exit_reason {
	VM_EXIT_POWEROFF,	/* ACPI S5 */
	VM_EXIT_RESET,		/* reboot request or triple fault */
	VM_EXIT_DEBUG,		/* debug-exit port; status = guest's code */
	VM_EXIT_SIGNAL,		/* SIGINT/SIGTERM/console quit; status = signo */
	VM_EXIT_CRASH,		/* internal error or exit we cannot handle */
	VM_EXIT_ERROR,		/* the VMM failed while running the VM */
};

struct vm_exit {
	enum vm_exit_reason reason;
	int status;
};

/* Build the whole VM, guest loaded, vCPUs created but not running. */
int vm_create(const struct vm_config *cfg, struct vm **out)
	__attribute__((warn_unused_result));
/* Run until the VM ends; every vCPU thread has been joined on return. */
int vm_run(struct vm *vm, struct vm_exit *result)
	__attribute__((warn_unused_result));
void vm_destroy(struct vm *vm);

const char *vm_exit_reason_name(enum vm_exit_reason reason);

/*
 * Serve the control API (core/control.h) on this listening socket while
 * vm_run() runs; the VM does not close it.  Before vm_run().
 */
void vm_set_api_socket(struct vm *vm, int listen_fd);

/*
 * The spawned back-ends (core/backend_spawn.h) the main loop follows and
 * the control API reports; the VM does not own them.  Before vm_run().
 */
struct backend_spawn;
void vm_set_backends(struct vm *vm, struct backend_spawn *bs);
struct backend_spawn *vm_backends(struct vm *vm);

/* For the control API: main thread, while vm_run() runs. */

enum vm_state {
	VM_STATE_CREATED,	/* vm_run() not entered yet */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,	/* every vCPU parked outside KVM_RUN */
	VM_STATE_STOPPING,	/* an exit was requested */
};

const char *vm_state_name(enum vm_state state);

struct vm_info {
	enum vm_state state;
	unsigned ncpus;
	uint64_t mem_size;
	double uptime_s;		/* since vm_run() started the vCPUs */
	const char *kernel_path;
	const char *initrd_path;	/* NULL: none */
	const char *cmdline;
	bool ended;			/* exit requested: exit is valid */
	struct vm_exit exit;
	uint64_t irq_line_changes;	/* KVM_IRQ_LINE calls (UART, INTx) */
	unsigned nr_devices;
};

void vm_get_info(struct vm *vm, struct vm_info *out);
/*
 * Park every vCPU outside KVM_RUN, waiting up to timeout_ms for them:
 * 0, -EALREADY (paused already), -ESHUTDOWN (the VM is ending) or
 * -ETIMEDOUT (a vCPU is busy in an exit; it parks when that ends).
 */
int vm_pause(struct vm *vm, int timeout_ms) __attribute__((warn_unused_result));
/* 0, -EALREADY (not paused) or -ESHUTDOWN. */
int vm_resume(struct vm *vm) __attribute__((warn_unused_result));
struct vcpu_stats;
void vm_get_vcpu_stats(struct vm *vm, unsigned index, struct vcpu_stats *out);
struct vhost_user_dev *vm_device(struct vm *vm, unsigned index);

/* For devices and vCPU threads. */

/* End the VM; callable from any thread, the first request wins. */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status);
/* An exit was requested: vCPUs stop entering the guest. */
bool vm_exit_pending(struct vm *vm);
/* Drive an ISA/IOAPIC interrupt line (GSI).  Thread safe. */
int vm_irq_line(struct vm *vm, unsigned gsi, bool level);
struct bus *vm_pio_bus(struct vm *vm);
struct bus *vm_mmio_bus(struct vm *vm);

#endif
