/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stateless platform ports that end or reset the VM: i8042 reset,
 * ACPI sleep control (poweroff), debug exit, and the POST port sink.
 */
#ifndef SPLITVM_PLATFORM_DEVICES_H
#define SPLITVM_PLATFORM_DEVICES_H

struct vm;
struct bus;

int platform_devices_register(struct vm *vm, struct bus *pio)
	__attribute__((warn_unused_result));

#endif
