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
