/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest loading: a Linux bzImage (x86 boot protocol, 64-bit entry) or an
 * ELF image (PVH entry note, else 64-bit entry), with initrd, command line,
 * memory map and ACPI tables, and the boot vCPU's initial state.
 */
#ifndef SPLITVM_BOOT_H
#define SPLITVM_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

struct guest_mem;

enum boot_protocol {
	BOOT_PROTOCOL_LINUX64,	/* 64-bit entry, %rsi = boot_params */
	BOOT_PROTOCOL_PVH,	/* 32-bit entry, %ebx = PVH start_info */
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path;	/* NULL: no initrd */
	const char *cmdline;		/* NULL or "": empty command line */
	unsigned ncpus;			/* for the ACPI MADT */
};

struct boot_setup {
	enum boot_protocol protocol;
	uint64_t entry;			/* %rip of the boot vCPU */
	uint64_t info_gpa;		/* boot_params or start_info */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_gpa;
};

/*
 * Load the kernel and initrd into guest RAM and write every boot structure.
 * On failure logs one line naming the problem and returns a negative errno:
 * -ENOENT/-EACCES (file), -ENOEXEC (not a kernel we can boot), -EFBIG or
 * -ENOSPC (does not fit in guest memory), -E2BIG (command line too long).
 */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg,
	      struct boot_setup *out) __attribute__((warn_unused_result));

/*
 * Initial state of the boot vCPU for setup.  regs/sregs are the vCPU's
 * current values (from KVM_GET_*REGS); only what the entry protocol
 * defines is changed.
 */
void boot_vcpu_state(const struct boot_setup *setup, struct kvm_regs *regs,
		     struct kvm_sregs *sregs);

#endif
