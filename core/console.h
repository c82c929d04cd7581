/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host side of the guest console: stdin is fed to a sink (the UART)
 * from the event loop, in raw mode when it is a terminal.  The terminal is
 * restored on every way out of the process, crashes included.
 * Ctrl-A x quits; Ctrl-A Ctrl-A sends a literal Ctrl-A.
 */
#ifndef SPLITVM_CONSOLE_H
#define SPLITVM_CONSOLE_H

#include <stddef.h>

struct console;
struct event_loop;

struct console_ops {
	/* Offer guest input; returns how many bytes were taken. */
	size_t (*input)(void *ctx, const void *buf, size_t len);
	/* The user typed the quit sequence. */
	void (*quit)(void *ctx);
};

int console_create(struct event_loop *loop, int in_fd,
		   const struct console_ops *ops, void *ctx,
		   struct console **out) __attribute__((warn_unused_result));
/* The sink has room again; thread safe (called from vCPU threads). */
void console_resume(struct console *con);
void console_destroy(struct console *con);

#endif
