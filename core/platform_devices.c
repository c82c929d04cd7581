/* SPDX-License-Identifier: GPL-2.0-only */
#include "platform_devices.h"

#include "bus.h"
#include "log.h"
#include "platform.h"
#include "vm.h"

#define I8042_STATUS_SYSTEM	0x04	/* self-test passed */

/* i8042 data port: no keyboard behind it. */
static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
}

static const struct bus_device_ops i8042_data_ops = {
	.name = "i8042-data",
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	/* Output and input buffers empty: a reset command is accepted. */
	return I8042_STATUS_SYSTEM;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value,
			    unsigned size)
{
	struct vm *vm = opaque;

	/* Command 0xfe pulses the CPU reset line. */
	if ((value & 0xff) == PLATFORM_I8042_CMD_RESET) {
		log_info("i8042", "guest requested a reset");
		vm_request_exit(vm, VM_EXIT_RESET, 0);
	}
}

static const struct bus_device_ops i8042_cmd_ops = {
	.name = "i8042-cmd",
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};

static uint64_t acpi_sleep_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;	/* SLEEP_STATUS: never woken, never asleep */
}

static void acpi_sleep_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
	struct vm *vm = opaque;
	unsigned typ;

	if (offset != 0 || !(value & PLATFORM_ACPI_SLP_EN))
		return;
	typ = (value & PLATFORM_ACPI_SLP_TYP_MASK) >> PLATFORM_ACPI_SLP_TYP_SHIFT;
	if (typ == PLATFORM_ACPI_S5_TYP) {
		log_info("acpi", "guest powered off");
		vm_request_exit(vm, VM_EXIT_POWEROFF, 0);
	} else {
		/* Only S5 is in the DSDT; S1-S4 are not offered. */
		log_warn("acpi", "ignoring request for sleep type %u", typ);
	}
}

static const struct bus_device_ops acpi_sleep_ops = {
	.name = "acpi-sleep",
	.read = acpi_sleep_read,
	.write = acpi_sleep_write,
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
	struct vm *vm = opaque;

	log_info("debug-exit", "guest exit with status %u",
		 (unsigned)(value & 0xff));
	vm_request_exit(vm, VM_EXIT_DEBUG, value & 0xff);
}

static const struct bus_device_ops debug_exit_ops = {
	.name = "debug-exit",
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static uint64_t sink_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0xff;
}

static void sink_write(void *opaque, uint64_t offset, uint64_t value,
		       unsigned size)
{
}

/* Port 0x80: Linux writes it as an I/O delay, thousands of times. */
static const struct bus_device_ops post_ops = {
	.name = "post",
	.read = sink_read,
	.write = sink_write,
};

int platform_devices_register(struct vm *vm, struct bus *pio)
{
	int ret;

	/* Separate ranges: port 0x61 between them is the in-kernel PIT's. */
	ret = bus_register(pio, PLATFORM_I8042_DATA_PORT, 1, &i8042_data_ops,
			   vm);
	if (!ret)
		ret = bus_register(pio, PLATFORM_I8042_CMD_PORT, 1,
				   &i8042_cmd_ops, vm);
	if (!ret)
		ret = bus_register(pio, PLATFORM_ACPI_SLEEP_CTL_PORT, 2,
				   &acpi_sleep_ops, vm);
	if (!ret)
		ret = bus_register(pio, PLATFORM_DEBUG_EXIT_PORT, 1,
				   &debug_exit_ops, vm);
	if (!ret)
		ret = bus_register(pio, PLATFORM_POST_PORT, 1, &post_ops, vm);
	return ret;
}
