/* SPDX-License-Identifier: GPL-2.0-only */
#include "console.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "event.h"
#include "log.h"

#define TAG "console"
#define CONSOLE_ESCAPE 0x01	/* Ctrl-A */

struct console {
	struct event_loop *loop;
	int in_fd;
	int wake_fd;		/* console_resume() -> main thread */
	bool reading;		/* in_fd is in the event loop */
	bool escape;		/* last byte was Ctrl-A */
	const struct console_ops *ops;
	void *ctx;
	uint8_t pending[256];	/* read but not yet taken by the sink */
	size_t pending_len;
};

/*
 * The saved terminal state is process-global by nature: there is one
 * controlling terminal, and the fatal-signal path can reach nothing else.
 */
static struct termios console_saved_tio;
static volatile sig_atomic_t console_tty_fd = -1;

static void console_restore_tty(void)
{
	if (console_tty_fd >= 0) {
		tcsetattr(console_tty_fd, TCSANOW, &console_saved_tio);
		console_tty_fd = -1;
	}
}

static void console_fatal_signal(int sig)
{
	/* tcsetattr is async-signal-safe; then die of the same signal. */
	console_restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void console_enter_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	static bool atexit_done;
	struct termios raw;

	if (!isatty(fd) || tcgetattr(fd, &console_saved_tio) < 0)
		return;
	raw = console_saved_tio;
	cfmakeraw(&raw);
	/* Keep output post-processing so host log lines stay readable. */
	raw.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		log_warn(TAG, "cannot put the terminal in raw mode: %s",
			 strerror(errno));
		return;
	}
	console_tty_fd = fd;
	if (!atexit_done) {
		atexit(console_restore_tty);
		atexit_done = true;
	}
	for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], console_fatal_signal);
}

static void console_on_input(void *opaque, int fd, uint32_t events);

static void console_set_reading(struct console *con, bool on)
{
	if (on == con->reading)
		return;
	if (on) {
		if (event_loop_add(con->loop, con->in_fd, EPOLLIN,
				   console_on_input, con) == 0)
			con->reading = true;
	} else {
		event_loop_del(con->loop, con->in_fd);
		con->reading = false;
	}
}

/* Push pending bytes to the sink; stop reading while it is full. */
static void console_flush_pending(struct console *con)
{
	size_t taken = 0;

	if (con->pending_len)
		taken = con->ops->input(con->ctx, con->pending,
					con->pending_len);
	memmove(con->pending, con->pending + taken, con->pending_len - taken);
	con->pending_len -= taken;
	console_set_reading(con, con->pending_len == 0);
}

/* Strip the escape sequences; returns false when the user quit. */
static bool console_filter(struct console *con, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (con->escape) {
			con->escape = false;
			if (c == 'x' || c == 'X') {
				con->ops->quit(con->ctx);
				return false;
			}
			if (c != CONSOLE_ESCAPE)
				continue;	/* unknown command: dropped */
		} else if (c == CONSOLE_ESCAPE && console_tty_fd >= 0) {
			con->escape = true;
			continue;
		}
		con->pending[con->pending_len++] = c;
	}
	return true;
}

static void console_on_input(void *opaque, int fd, uint32_t events)
{
	struct console *con = opaque;
	uint8_t buf[sizeof(con->pending)];
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - con->pending_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF or error: the guest simply gets no more input. */
		console_set_reading(con, false);
		return;
	}
	if (console_filter(con, buf, n))
		console_flush_pending(con);
}

static void console_on_wake(void *opaque, int fd, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn(TAG, "wake eventfd: %s", strerror(errno));
	console_flush_pending(con);
}

int console_create(struct event_loop *loop, int in_fd,
		   const struct console_ops *ops, void *ctx,
		   struct console **out)
{
	struct console *con = calloc(1, sizeof(*con));
	int ret;

	if (!con)
		return -ENOMEM;
	con->loop = loop;
	con->in_fd = in_fd;
	con->ops = ops;
	con->ctx = ctx;
	con->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->wake_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = event_loop_add(loop, con->wake_fd, EPOLLIN, console_on_wake, con);
	if (ret)
		goto err_close;

	/*
	 * stdin may be a file, /dev/null or closed (CI has none): epoll
	 * refuses regular files, and then there is simply no input.
	 */
	if (in_fd >= 0) {
		console_enter_raw(in_fd);
		console_set_reading(con, true);
		if (!con->reading)
			log_debug(TAG, "console input not pollable; guest gets no input");
	}
	*out = con;
	return 0;

err_close:
	close(con->wake_fd);
err_free:
	free(con);
	return ret;
}

void console_resume(struct console *con)
{
	uint64_t one = 1;

	if (write(con->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(TAG, "wake eventfd: %s", strerror(errno));
}

void console_destroy(struct console *con)
{
	if (!con)
		return;
	console_set_reading(con, false);
	event_loop_del(con->loop, con->wake_fd);
	close(con->wake_fd);
	console_restore_tty();
	free(con);
}
