/* SPDX-License-Identifier: GPL-2.0-only */
#include "devices/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "log.h"

/* Register offsets from the base port. */
#define SERIAL_REG_RBR		0	/* read; THR on write; DLL with DLAB */
#define SERIAL_REG_IER		1	/* DLM with DLAB */
#define SERIAL_REG_IIR		2	/* read; FCR on write */
#define SERIAL_REG_LCR		3
#define SERIAL_REG_MCR		4
#define SERIAL_REG_LSR		5
#define SERIAL_REG_MSR		6
#define SERIAL_REG_SCR		7
#define SERIAL_NR_REGS		8

#define SERIAL_IER_RDI		0x01	/* receive data available */
#define SERIAL_IER_THRI		0x02	/* transmit holding register empty */
#define SERIAL_IER_RLSI		0x04	/* receiver line status */
#define SERIAL_IER_MSI		0x08	/* modem status */
#define SERIAL_IER_MASK		0x0f	/* 16550A: bits 4-7 read as zero */

#define SERIAL_IIR_NO_INT	0x01
#define SERIAL_IIR_MSI		0x00
#define SERIAL_IIR_THRI		0x02
#define SERIAL_IIR_RDI		0x04
#define SERIAL_IIR_RLSI		0x06
#define SERIAL_IIR_RX_TIMEOUT	0x0c
#define SERIAL_IIR_ID_MASK	0x0f
#define SERIAL_IIR_FIFO_ON	0xc0

#define SERIAL_FCR_ENABLE	0x01
#define SERIAL_FCR_CLEAR_RX	0x02
#define SERIAL_FCR_CLEAR_TX	0x04
#define SERIAL_FCR_DMA		0x08
#define SERIAL_FCR_TRIG_SHIFT	6
#define SERIAL_FCR_TRIG_MASK	0xc0

#define SERIAL_LCR_DLAB		0x80

#define SERIAL_MCR_DTR		0x01
#define SERIAL_MCR_RTS		0x02
#define SERIAL_MCR_OUT1		0x04
#define SERIAL_MCR_OUT2		0x08
#define SERIAL_MCR_LOOP		0x10
#define SERIAL_MCR_MASK		0x1f	/* 16550A: bits 5-7 read as zero */

#define SERIAL_LSR_DR		0x01
#define SERIAL_LSR_OE		0x02
#define SERIAL_LSR_THRE		0x20
#define SERIAL_LSR_TEMT		0x40

#define SERIAL_MSR_DCTS		0x01
#define SERIAL_MSR_DDSR		0x02
#define SERIAL_MSR_TERI		0x04
#define SERIAL_MSR_DDCD		0x08
#define SERIAL_MSR_DELTA_MASK	0x0f
#define SERIAL_MSR_CTS		0x10
#define SERIAL_MSR_DSR		0x20
#define SERIAL_MSR_RI		0x40
#define SERIAL_MSR_DCD		0x80

/*
 * Guest output is written as it comes; this buffer only holds what a
 * slow reader has not taken yet.  Shorter than PIPE_BUF so a write to a
 * pipe is never split.
 */
#define SERIAL_OUT_BUF_SIZE	256
#define SERIAL_FLUSH_WAIT_MS	1000

enum serial_out_mode {
	SERIAL_OUT_WRITE,	/* non-blocking fd, or a file: write() */
	SERIAL_OUT_SEND,	/* socket: send(MSG_DONTWAIT) */
	SERIAL_OUT_POLL,	/* blocking pipe or tty: write() only if poll() says so */
};

struct serial {
	char name[32];
	pthread_mutex_t lock;

	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;
	void (*rx_space)(void *ctx);
	void *rx_ctx;
	bool irq_level;		/* last level given to set_irq */

	/* Receive FIFO, a ring; in 16450 mode (FIFOs off) it holds one byte. */
	uint8_t rx[SERIAL_RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool rx_starved;	/* serial_receive() refused bytes since last rx_space */
	uint8_t rbr;		/* last byte read: RBR keeps it when empty */

	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errors;	/* OE: sticky until LSR is read */
	uint8_t msr;		/* modem lines in 7-4, deltas in 3-0 */
	bool thr_pending;	/* THRE interrupt latched, until IIR reports it */

	/* Output side. */
	int out_fd;
	bool out_owned;		/* out_fd is our private reopen: close it */
	enum serial_out_mode out_mode;
	bool out_dead;		/* permanent error: everything is dropped */
	bool out_drop_logged;
	uint64_t dropped;
	uint8_t out_buf[SERIAL_OUT_BUF_SIZE];
	size_t out_len;
};

/* ---- output to the host ---- */

static ssize_t serial_out_write(struct serial *s, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->out_fd, .events = POLLOUT };
	int ret;

	switch (s->out_mode) {
	case SERIAL_OUT_SEND:
		return send(s->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	case SERIAL_OUT_POLL:
		ret = poll(&pfd, 1, 0);
		if (ret < 0)
			return -1;
		/* An error or hangup is reported by write() without waiting. */
		if (ret == 0 || !(pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			errno = EAGAIN;
			return -1;
		}
		break;
	case SERIAL_OUT_WRITE:
		break;
	}
	return write(s->out_fd, buf, len);
}

static void serial_out_drop_locked(struct serial *s, size_t n)
{
	if (!s->out_drop_logged && !s->out_dead) {
		log_warn(s->name, "output reader is not keeping up; dropping output (counted)");
		s->out_drop_logged = true;
	}
	s->dropped += n;
}

/* Write what out_fd takes now and keep the rest.  Never waits. */
static void serial_out_drain_locked(struct serial *s)
{
	size_t done = 0;

	while (done < s->out_len && !s->out_dead) {
		ssize_t n = serial_out_write(s, s->out_buf + done,
					     s->out_len - done);

		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		/* EPIPE, EIO (hangup), EBADF...: the reader will not return. */
		log_warn(s->name, "output: %s; discarding guest output from now on",
			 strerror(errno));
		s->out_dead = true;
	}
	memmove(s->out_buf, s->out_buf + done, s->out_len - done);
	s->out_len -= done;
	if (s->out_dead && s->out_len) {
		s->dropped += s->out_len;
		s->out_len = 0;
	}
}

static void serial_out_byte_locked(struct serial *s, uint8_t c)
{
	if (s->out_fd < 0)
		return;
	if (s->out_dead) {
		s->dropped++;
		return;
	}
	if (s->out_len == sizeof(s->out_buf)) {
		serial_out_drain_locked(s);
		if (s->out_len == sizeof(s->out_buf)) {
			/* Keep the oldest bytes: a log reads better with a gap at its end. */
			serial_out_drop_locked(s, 1);
			return;
		}
	}
	s->out_buf[s->out_len++] = c;
	/*
	 * Hand every byte over at once: a prompt without a newline must
	 * show up while the guest waits for input.  The byte already cost
	 * a VM exit, far more than the write; the buffer only holds what a
	 * slow reader could not take yet.
	 */
	serial_out_drain_locked(s);
}

/*
 * A vCPU must never sleep in write(): a blocking stdout whose reader
 * stopped (a full pipe, a stopped terminal) would freeze the guest.  The
 * usual out_fd is an inherited stdout in blocking mode, and setting
 * O_NONBLOCK on it would change the file description the parent shell
 * shares.  So pipes and terminals are reopened through /proc as a private
 * non-blocking description; if that fails, each write is gated by poll().
 */
static int serial_out_open(struct serial *s, int fd)
{
	char path[64];
	struct stat st;
	int flags, nfd;

	s->out_fd = fd;
	s->out_mode = SERIAL_OUT_WRITE;
	if (fd < 0)
		return 0;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		s->out_mode = SERIAL_OUT_SEND;
		return 0;
	}
	/* Files and disks make progress without a reader. */
	if ((flags & O_NONBLOCK) || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd >= 0) {
		s->out_fd = nfd;
		s->out_owned = true;
		return 0;
	}
	log_debug(s->name, "cannot reopen output fd %d non-blocking (%s); gating writes with poll()",
		  fd, strerror(errno));
	s->out_mode = SERIAL_OUT_POLL;
	return 0;
}

/* ---- UART core ---- */

static unsigned serial_rx_capacity(const struct serial *s)
{
	return (s->fcr & SERIAL_FCR_ENABLE) ? SERIAL_RX_FIFO_SIZE : 1;
}

static unsigned serial_rx_trigger(const struct serial *s)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	return levels[(s->fcr & SERIAL_FCR_TRIG_MASK) >> SERIAL_FCR_TRIG_SHIFT];
}

static void serial_rx_push_locked(struct serial *s, uint8_t c)
{
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO_SIZE] = c;
	s->rx_count++;
}

static void serial_rx_reset_locked(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

/* The modem input lines: the MCR outputs in loopback, else a live carrier. */
static uint8_t serial_modem_lines(uint8_t mcr)
{
	uint8_t lines = 0;

	if (!(mcr & SERIAL_MCR_LOOP))
		return SERIAL_MSR_DCD | SERIAL_MSR_DSR | SERIAL_MSR_CTS;
	if (mcr & SERIAL_MCR_RTS)
		lines |= SERIAL_MSR_CTS;
	if (mcr & SERIAL_MCR_DTR)
		lines |= SERIAL_MSR_DSR;
	if (mcr & SERIAL_MCR_OUT1)
		lines |= SERIAL_MSR_RI;
	if (mcr & SERIAL_MCR_OUT2)
		lines |= SERIAL_MSR_DCD;
	return lines;
}

static void serial_set_lines_locked(struct serial *s, uint8_t lines)
{
	uint8_t old = s->msr & ~SERIAL_MSR_DELTA_MASK;
	uint8_t changed = old ^ lines;
	uint8_t delta = s->msr & SERIAL_MSR_DELTA_MASK;

	if (changed & SERIAL_MSR_CTS)
		delta |= SERIAL_MSR_DCTS;
	if (changed & SERIAL_MSR_DSR)
		delta |= SERIAL_MSR_DDSR;
	if (changed & SERIAL_MSR_DCD)
		delta |= SERIAL_MSR_DDCD;
	/* TERI flags the trailing edge of ring only. */
	if ((old & SERIAL_MSR_RI) && !(lines & SERIAL_MSR_RI))
		delta |= SERIAL_MSR_TERI;
	s->msr = lines | delta;
}

/* The highest-priority pending interrupt, as IIR reports it. */
static uint8_t serial_iir_locked(const struct serial *s)
{
	uint8_t fifo = (s->fcr & SERIAL_FCR_ENABLE) ? SERIAL_IIR_FIFO_ON : 0;

	if ((s->ier & SERIAL_IER_RLSI) && s->lsr_errors)
		return fifo | SERIAL_IIR_RLSI;
	if ((s->ier & SERIAL_IER_RDI) && s->rx_count) {
		/*
		 * Below the trigger level a 16550A reports a character
		 * timeout after four character times.  No time passes here
		 * between bytes, so the timeout is due at once.
		 */
		if (fifo && s->rx_count < serial_rx_trigger(s))
			return fifo | SERIAL_IIR_RX_TIMEOUT;
		return fifo | SERIAL_IIR_RDI;
	}
	if ((s->ier & SERIAL_IER_THRI) && s->thr_pending)
		return fifo | SERIAL_IIR_THRI;
	if ((s->ier & SERIAL_IER_MSI) && (s->msr & SERIAL_MSR_DELTA_MASK))
		return fifo | SERIAL_IIR_MSI;
	return fifo | SERIAL_IIR_NO_INT;
}

/*
 * End of every locked operation: drive the IRQ line and say whether the
 * host side should be told there is room for input again.
 *
 * The line is a level.  Writing THR drops THRE and, output being
 * instantaneous, raises it again within the same access, so no pulse is
 * emitted: 8250 drivers (Linux, BSD, Windows) loop on IIR until it reads
 * "no interrupt", which is when the level falls.  On a PC, OUT2 gates the
 * line; we gate on the register bit, loopback included, as UARTs with the
 * gate built in do.
 */
static bool serial_update_locked(struct serial *s)
{
	bool level = !(serial_iir_locked(s) & SERIAL_IIR_NO_INT) &&
		     (s->mcr & SERIAL_MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_ctx, level);
	}
	if (s->rx_starved && !s->rx_count && !(s->mcr & SERIAL_MCR_LOOP)) {
		s->rx_starved = false;
		return true;
	}
	return false;
}

static uint8_t serial_read_reg_locked(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & SERIAL_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case SERIAL_REG_RBR:
		if (dlab)
			return s->dll;
		if (s->rx_count) {
			s->rbr = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO_SIZE;
			s->rx_count--;
		}
		return s->rbr;
	case SERIAL_REG_IER:
		return dlab ? s->dlm : s->ier;
	case SERIAL_REG_IIR:
		v = serial_iir_locked(s);
		/* Reading IIR acknowledges THRE, and only when it reports it. */
		if ((v & SERIAL_IIR_ID_MASK) == SERIAL_IIR_THRI)
			s->thr_pending = false;
		return v;
	case SERIAL_REG_LCR:
		return s->lcr;
	case SERIAL_REG_MCR:
		return s->mcr;
	case SERIAL_REG_LSR:
		/* The transmitter is always empty: output is instantaneous. */
		v = SERIAL_LSR_THRE | SERIAL_LSR_TEMT | s->lsr_errors;
		if (s->rx_count)
			v |= SERIAL_LSR_DR;
		s->lsr_errors = 0;
		return v;
	case SERIAL_REG_MSR:
		v = s->msr;
		s->msr &= ~SERIAL_MSR_DELTA_MASK;
		return v;
	default:
		return s->scr;
	}
}

/* Loopback: the transmitter feeds the receiver; host input is cut off. */
static void serial_loopback_locked(struct serial *s, uint8_t c)
{
	if (s->rx_count < serial_rx_capacity(s)) {
		serial_rx_push_locked(s, c);
		return;
	}
	s->lsr_errors |= SERIAL_LSR_OE;
	/* A full FIFO loses the new byte; a 16450 holding register is overwritten. */
	if (!(s->fcr & SERIAL_FCR_ENABLE))
		s->rx[s->rx_head] = c;
}

static void serial_write_fcr_locked(struct serial *s, uint8_t v)
{
	/* Other FCR bits only take while FIFO enable is written as 1. */
	if (!(v & SERIAL_FCR_ENABLE))
		v = 0;
	/* Switching FIFO mode resets both FIFOs. */
	if ((v ^ s->fcr) & SERIAL_FCR_ENABLE)
		serial_rx_reset_locked(s);
	if (v & SERIAL_FCR_CLEAR_RX)
		serial_rx_reset_locked(s);
	/* CLEAR_TX: nothing is ever waiting in the transmitter. */
	s->fcr = v & (SERIAL_FCR_ENABLE | SERIAL_FCR_DMA | SERIAL_FCR_TRIG_MASK);
}

static void serial_write_reg_locked(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & SERIAL_LCR_DLAB;
	uint8_t old;

	switch (reg) {
	case SERIAL_REG_RBR:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & SERIAL_MCR_LOOP)
			serial_loopback_locked(s, v);
		else
			serial_out_byte_locked(s, v);
		/* THR empties at once: THRE is latched again. */
		s->thr_pending = true;
		break;
	case SERIAL_REG_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		old = s->ier;
		s->ier = v & SERIAL_IER_MASK;
		/* THRE is resampled when THRI is turned on (Linux tests this). */
		if (!(old & SERIAL_IER_THRI) && (s->ier & SERIAL_IER_THRI))
			s->thr_pending = true;
		/*
		 * Linux toggles IER around every console write and at the end
		 * of every transmit burst: the end of a burst of output.
		 */
		if (s->out_len)
			serial_out_drain_locked(s);
		break;
	case SERIAL_REG_IIR:
		serial_write_fcr_locked(s, v);
		break;
	case SERIAL_REG_LCR:
		s->lcr = v;
		break;
	case SERIAL_REG_MCR:
		s->mcr = v & SERIAL_MCR_MASK;
		serial_set_lines_locked(s, serial_modem_lines(s->mcr));
		break;
	case SERIAL_REG_LSR:
	case SERIAL_REG_MSR:
		break;		/* factory test registers: writes ignored */
	default:
		s->scr = v;
		break;
	}
}

/* ISA splits a wide access into byte cycles, one register each. */
static uint64_t serial_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial *s = opaque;
	uint64_t v = 0;
	bool notify;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = 0xff;

		if (offset + i < SERIAL_NR_REGS)
			b = serial_read_reg_locked(s, offset + i);
		v |= b << (8 * i);
	}
	notify = serial_update_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (notify && s->rx_space)
		s->rx_space(s->rx_ctx);
	return v;
}

static void serial_bus_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned size)
{
	struct serial *s = opaque;
	bool notify;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size; i++) {
		if (offset + i < SERIAL_NR_REGS)
			serial_write_reg_locked(s, offset + i, value >> (8 * i));
	}
	notify = serial_update_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (notify && s->rx_space)
		s->rx_space(s->rx_ctx);
}

const struct bus_device_ops serial_bus_ops = {
	.name = "serial",
	.read = serial_bus_read,
	.write = serial_bus_write,
};

size_t serial_receive(struct serial *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t taken = 0;
	bool notify;

	pthread_mutex_lock(&s->lock);
	/* In loopback the serial input is disconnected from the receiver. */
	if (!(s->mcr & SERIAL_MCR_LOOP)) {
		while (taken < len && s->rx_count < serial_rx_capacity(s))
			serial_rx_push_locked(s, p[taken++]);
	}
	if (taken < len)
		s->rx_starved = true;
	notify = serial_update_locked(s);
	pthread_mutex_unlock(&s->lock);
	if (notify && s->rx_space)
		s->rx_space(s->rx_ctx);
	return taken;
}

static int64_t serial_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void serial_flush(struct serial *s)
{
	int64_t deadline = serial_now_ms() + SERIAL_FLUSH_WAIT_MS;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pollfd pfd = { .fd = s->out_fd, .events = POLLOUT };
		int64_t left;

		serial_out_drain_locked(s);
		left = deadline - serial_now_ms();
		if (!s->out_len || s->out_dead || left <= 0)
			break;
		/* Wait unlocked: a running vCPU must not stall behind us. */
		pthread_mutex_unlock(&s->lock);
		poll(&pfd, 1, (int)left);
		pthread_mutex_lock(&s->lock);
	}
	if (s->out_len) {
		serial_out_drop_locked(s, s->out_len);
		s->out_len = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

uint64_t serial_get_dropped(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int serial_create(const struct serial_config *cfg, struct serial **out)
{
	struct serial *s;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "serial");
	s->set_irq = cfg->set_irq;
	s->irq_ctx = cfg->irq_ctx;
	s->rx_space = cfg->rx_space;
	s->rx_ctx = cfg->rx_ctx;
	ret = serial_out_open(s, cfg->out_fd);
	if (ret) {
		log_err(s->name, "output fd %d: %s", cfg->out_fd, strerror(-ret));
		goto err_free;
	}
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret)
		goto err_close;

	/* Power-on state; the divisor is the BIOS's 9600 baud. */
	s->dll = 0x0c;
	s->msr = serial_modem_lines(0);
	*out = s;
	return 0;

err_close:
	if (s->out_owned)
		close(s->out_fd);
err_free:
	free(s);
	return ret;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	serial_flush(s);
	if (s->dropped)
		log_warn(s->name, "%llu bytes of guest output were dropped",
			 (unsigned long long)s->dropped);
	if (s->out_owned)
		close(s->out_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
