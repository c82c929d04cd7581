/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A 16550A UART (the PC's COM1) as the guest's console: guest output goes
 * to a host fd, host input is fed in by the caller; the IRQ is a callback.
 */
#ifndef SPLITVM_DEVICES_SERIAL_H
#define SPLITVM_DEVICES_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_device_ops;
struct serial;

/* Bytes the receive FIFO holds, as on a real 16550A (1 with FIFOs off). */
#define SERIAL_RX_FIFO_SIZE	16

struct serial_config {
	const char *name;	/* log tag, e.g. "ttyS0"; must outlive the device */
	/*
	 * Where transmitted bytes go; -1 discards them.  Never closed nor
	 * switched to O_NONBLOCK by the device (a blocking pipe or terminal
	 * is reopened privately through /proc instead).  Output never blocks
	 * a vCPU: when the reader does not keep up, bytes are dropped and
	 * counted (serial_get_dropped()).  The process must ignore SIGPIPE so
	 * a vanished reader is an EPIPE, not a death.
	 */
	int out_fd;
	/*
	 * The interrupt line changed level.  Called with the device lock
	 * held, so two vCPUs cannot deliver levels out of order: it must
	 * not call back into this device (KVM_IRQ_LINE does not).
	 */
	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;
	/*
	 * After serial_receive() refused bytes, the guest has emptied the
	 * receive FIFO: offer input again.  Called once per refusal, from a
	 * vCPU thread, without the device lock, possibly before the refusing
	 * serial_receive() has returned to its caller: signal an eventfd or
	 * similar, do not wait on a plain condition.  May be NULL.
	 */
	void (*rx_space)(void *ctx);
	void *rx_ctx;
};

int serial_create(const struct serial_config *cfg, struct serial **out)
	__attribute__((warn_unused_result));
/* Flushes pending output first. */
void serial_destroy(struct serial *s);

/* Registered over the 8 ports of the UART; opaque is the struct serial. */
extern const struct bus_device_ops serial_bus_ops;

/*
 * Host input to the receive FIFO.  Returns how many bytes were taken:
 * fewer than len when the FIFO is full (or the UART is in loopback and
 * its input disconnected); rx_space then says when to try again.
 */
size_t serial_receive(struct serial *s, const void *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * Write out what a slow reader has not taken yet (output is otherwise
 * written as the guest produces it); call this when the VM stops.  Waits
 * up to a second for the reader; never longer.
 */
void serial_flush(struct serial *s);

/* Output bytes dropped because the reader did not keep up or went away. */
uint64_t serial_get_dropped(struct serial *s);

#endif
