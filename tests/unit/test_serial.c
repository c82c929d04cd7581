/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 16550A driven only through its port accessors, as a guest driver
 * would, with output into a pipe read back here and the IRQ line recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "devices/serial.h"
#include "unit.h"

/* Register offsets and bits, as a guest driver knows them. */
#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

/* Tests that could hang (a blocking write, a deadlock) die by SIGALRM. */
#define HANG_LIMIT_S	10

struct irq_log {
	bool level;
	unsigned changes;	/* set_irq calls */
	unsigned redundant;	/* calls that did not change the level */
	bool seq[32];
};

struct fixture {
	struct serial *s;
	int rd, wr;		/* the output pipe; rd is non-blocking */
	struct irq_log irq;
	unsigned rx_space_calls;
	bool rx_space_reenter;	/* rx_space calls serial_receive: lock must be free */
	size_t reenter_taken;
};

static struct fixture fx;

static void record_irq(void *ctx, bool level)
{
	struct irq_log *log = ctx;

	if (level == log->level)
		log->redundant++;
	if (log->changes < sizeof(log->seq) / sizeof(log->seq[0]))
		log->seq[log->changes] = level;
	log->changes++;
	log->level = level;
}

static void record_rx_space(void *ctx)
{
	struct fixture *f = ctx;

	f->rx_space_calls++;
	if (f->rx_space_reenter)
		f->reenter_taken += serial_receive(f->s, "!", 1);
}

static void setup(void)
{
	int fds[2];
	struct serial_config cfg = {
		.name = "test-uart",
		.set_irq = record_irq,
		.irq_ctx = &fx.irq,
		.rx_space = record_rx_space,
		.rx_ctx = &fx,
	};

	memset(&fx, 0, sizeof(fx));
	fx.rd = fx.wr = -1;
	/* A blocking write end, like an inherited stdout. */
	if (pipe2(fds, O_CLOEXEC))
		return;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fx.rd = fds[0];
	fx.wr = fds[1];
	cfg.out_fd = fx.wr;
	if (serial_create(&cfg, &fx.s))
		fx.s = NULL;
	alarm(HANG_LIMIT_S);
}

static void teardown(void)
{
	alarm(0);
	serial_destroy(fx.s);
	if (fx.rd >= 0)
		close(fx.rd);
	if (fx.wr >= 0)
		close(fx.wr);
}

static void uart_out(unsigned reg, uint8_t v)
{
	serial_bus_ops.write(fx.s, reg, v, 1);
}

static uint8_t uart_in(unsigned reg)
{
	return serial_bus_ops.read(fx.s, reg, 1);
}

static void uart_puts(const char *str)
{
	while (*str)
		uart_out(THR, (uint8_t)*str++);
}

/* Everything currently in the output pipe, NUL-terminated. */
static size_t pipe_read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	return len;
}

static void test_output_reaches_fd(void)
{
	char buf[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(LCR, 0x03);
	uart_puts("hello\n");
	/* A newline ends a line: it is written without an explicit flush. */
	pipe_read_all(fx.rd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "hello\n");

	/*
	 * A prompt without a newline, and nothing after it (the guest now
	 * waits for input): it must be visible without any flush.
	 */
	uart_puts("login: ");
	pipe_read_all(fx.rd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "login: ");

	/* Single bytes, as an echoing shell writes them. */
	uart_puts("# ");
	pipe_read_all(fx.rd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "# ");

	/* Bytes with the high bit and NULs pass unchanged. */
	uart_out(THR, 0x00);
	uart_out(THR, 0xff);
	serial_flush(fx.s);
	CU_ASSERT_EQUAL(read(fx.rd, buf, sizeof(buf)), 2);
	CU_ASSERT_EQUAL((uint8_t)buf[0], 0x00);
	CU_ASSERT_EQUAL((uint8_t)buf[1], 0xff);
	CU_ASSERT_EQUAL(serial_get_dropped(fx.s), 0);
}

static void test_divisor_latch(void)
{
	char buf[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(LCR, 0x80 | 0x03);		/* DLAB */
	CU_ASSERT_EQUAL(uart_in(DLL), 0x0c);	/* 9600 baud at power-on */
	uart_out(DLL, 0x01);			/* 115200 */
	uart_out(DLM, 0x02);
	CU_ASSERT_EQUAL(uart_in(DLL), 0x01);
	CU_ASSERT_EQUAL(uart_in(DLM), 0x02);
	CU_ASSERT_EQUAL(uart_in(LCR), 0x83);
	uart_out(LCR, 0x03);
	/* The divisor did not leak into THR or IER. */
	CU_ASSERT_EQUAL(uart_in(IER), 0x00);
	serial_flush(fx.s);
	CU_ASSERT_EQUAL(pipe_read_all(fx.rd, buf, sizeof(buf)), 0);
	/* And it is still there. */
	uart_out(LCR, 0x83);
	CU_ASSERT_EQUAL(uart_in(DLL), 0x01);
	CU_ASSERT_EQUAL(uart_in(DLM), 0x02);
}

static void test_scratch(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(SCR, 0xa5);
	CU_ASSERT_EQUAL(uart_in(SCR), 0xa5);
	uart_out(SCR, 0x5a);
	CU_ASSERT_EQUAL(uart_in(SCR), 0x5a);
}

/* The probe sequence of Linux's 8250 autoconfig() and startup(). */
static void test_linux_autoconfig(void)
{
	uint8_t save_mcr, iir1, iir2;
	char buf[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	/* IER: the low nibble sticks, the high one reads 0 (no XScale UUE). */
	uart_out(IER, 0);
	CU_ASSERT_EQUAL(uart_in(IER) & 0x0f, 0);
	uart_out(IER, 0x0f);
	CU_ASSERT_EQUAL(uart_in(IER) & 0x0f, 0x0f);
	uart_out(IER, 0xff);
	CU_ASSERT_EQUAL(uart_in(IER), 0x0f);
	uart_out(IER, 0);

	/* Loopback test: RTS -> CTS, OUT2 -> DCD. */
	save_mcr = uart_in(MCR);
	uart_out(MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);	/* 0x1a */
	CU_ASSERT_EQUAL(uart_in(MSR) & 0xf0, 0x90);
	/* In loopback a transmitted byte comes back, not out. */
	uart_out(THR, 'Z');
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, LSR_DR);
	CU_ASSERT_EQUAL(uart_in(RBR), 'Z');
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, 0);
	uart_out(MCR, save_mcr);
	serial_flush(fx.s);
	CU_ASSERT_EQUAL(pipe_read_all(fx.rd, buf, sizeof(buf)), 0);

	/* EFR probe (LCR 0xbf), then FIFO detection: 16550A is IIR 7:6 = 3. */
	uart_out(LCR, 0xbf);
	uart_out(FCR, 0);
	uart_out(LCR, 0);
	uart_out(FCR, 0x01);
	CU_ASSERT_EQUAL(uart_in(IIR) >> 6, 3);
	/* With LCR 0xbf the FCR/IIR offset reads non-zero: no EFR. */
	uart_out(LCR, 0xbf);
	CU_ASSERT_NOT_EQUAL(uart_in(IIR), 0);
	uart_out(LCR, 0);
	/* Not a 16750: the 64-byte FIFO bit 5 never shows. */
	uart_out(FCR, 0x21);
	CU_ASSERT_EQUAL(uart_in(IIR) & 0xe0, 0xc0);
	uart_out(FCR, 0);
	CU_ASSERT_EQUAL(uart_in(IIR) & 0xc0, 0);
	uart_out(FCR, 0x01);

	/* startup(): the LSR safety check and the THRE re-assert test. */
	CU_ASSERT_EQUAL(uart_in(LSR), LSR_THRE | LSR_TEMT);
	uart_out(IER, IER_THRI);
	iir1 = uart_in(IIR);
	uart_out(IER, 0);
	uart_out(IER, IER_THRI);
	iir2 = uart_in(IIR);
	uart_out(IER, 0);
	CU_ASSERT_EQUAL(iir1, 0xc2);
	CU_ASSERT_EQUAL(iir2, 0xc2);
	/* The TXEN test: enabling THRI with TEMT set gives an interrupt. */
	uart_out(IER, IER_THRI);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_TEMT, LSR_TEMT);
	CU_ASSERT_EQUAL(uart_in(IIR) & 0x01, 0);
	uart_out(IER, 0);
}

static void test_modem_status(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	/* Carrier on, no change pending: getty sees a connected line. */
	CU_ASSERT_EQUAL(uart_in(MSR), 0xb0);
	uart_out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	CU_ASSERT_EQUAL(uart_in(MSR), 0xb0);

	/* Loopback with DTR only: CTS and DCD drop, DSR stays. */
	uart_out(MCR, MCR_LOOP | MCR_DTR);
	CU_ASSERT_EQUAL(uart_in(MSR), 0x20 | 0x08 | 0x01);	/* DDCD|DCTS */
	CU_ASSERT_EQUAL(uart_in(MSR), 0x20);			/* deltas read-clear */
	/* OUT1 -> RI: the leading edge of ring sets no delta ... */
	uart_out(MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
	CU_ASSERT_EQUAL(uart_in(MSR), 0x60);
	/* ... the trailing edge sets TERI. */
	uart_out(MCR, MCR_LOOP | MCR_DTR);
	CU_ASSERT_EQUAL(uart_in(MSR), 0x24);

	/* A delta raises the modem status interrupt when MSI is on. */
	uart_out(MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT2);
	uart_out(IER, IER_MSI);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x00);
	CU_ASSERT_TRUE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(MSR), 0xb0 | 0x08 | 0x01);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x01);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(fx.irq.redundant, 0);
}

static void test_iir_priority(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(FCR, 0x01);			/* FIFOs on, trigger 1 */
	/* Loopback: DCTS and DDSR are pending (CTS, DSR dropped). */
	uart_out(MCR, MCR_LOOP | MCR_OUT2);
	/* 17 bytes into a 16-byte FIFO: overrun. */
	for (unsigned i = 0; i < 17; i++)
		uart_out(THR, 'a' + i);
	uart_out(IER, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
	CU_ASSERT_TRUE(fx.irq.level);

	/* 1. line status, cleared by reading LSR. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc6);
	CU_ASSERT_EQUAL(uart_in(LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
	CU_ASSERT_EQUAL(uart_in(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	/* 2. receive data, cleared by draining; reading IIR does not clear it,
	 * nor THRE behind it. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc4);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc4);
	for (unsigned i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(uart_in(RBR), 'a' + i);	/* the 17th was lost */
	/* 3. THRE, cleared by reading IIR when it is the reported cause. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc2);
	/* 4. modem status, cleared by reading MSR. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc0);
	CU_ASSERT_TRUE(fx.irq.level);
	uart_in(MSR);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc1);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(fx.irq.redundant, 0);

	/* FCR: clearing the RX FIFO drops its content; without FIFOs the top
	 * bits of IIR are clear. */
	uart_out(THR, 'x');
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc4);
	uart_out(FCR, 0x01 | 0x02);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, 0);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc2);
	uart_out(FCR, 0);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x01);
}

static void test_rx_trigger_and_timeout(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(MCR, MCR_OUT2);
	uart_out(IER, IER_RDI);
	uart_out(FCR, 0xc1);			/* trigger at 14 */
	CU_ASSERT_EQUAL(serial_receive(fx.s, "abc", 3), 3);
	/* Below the trigger: reported as a character timeout. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0xcc);
	CU_ASSERT_EQUAL(serial_receive(fx.s, "defghijklmn", 11), 11);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc4);
	/* Switching FIFO mode resets the FIFO; a 16450 holds one byte. */
	uart_out(FCR, 0);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, 0);
	CU_ASSERT_EQUAL(serial_receive(fx.s, "xy", 2), 1);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x04);
	CU_ASSERT_EQUAL(uart_in(RBR), 'x');
	CU_ASSERT_EQUAL(uart_in(IIR), 0x01);
}

static void test_thre_interrupt(void)
{
	char buf[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	CU_ASSERT_EQUAL(fx.irq.changes, 0);
	/* Enabling THRI with THR empty: pending at once. */
	uart_out(IER, IER_THRI);
	CU_ASSERT_TRUE(fx.irq.level);
	/* Reading IIR (cause THRE) clears it ... */
	CU_ASSERT_EQUAL(uart_in(IIR), 0x02);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x01);
	/* ... writing THR re-arms it, the byte being sent at once. */
	uart_out(THR, 'k');
	CU_ASSERT_TRUE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(LSR), LSR_THRE | LSR_TEMT);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x02);
	CU_ASSERT_FALSE(fx.irq.level);
	/* A pending THRE disappears from IIR while THRI is off. */
	uart_out(THR, 'l');
	uart_out(IER, 0);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(IIR), 0x01);

	CU_ASSERT_EQUAL(fx.irq.changes, 6);
	CU_ASSERT_EQUAL(fx.irq.redundant, 0);
	CU_ASSERT_TRUE(fx.irq.seq[0] && !fx.irq.seq[1] && fx.irq.seq[2] &&
		       !fx.irq.seq[3] && fx.irq.seq[4] && !fx.irq.seq[5]);
	serial_flush(fx.s);
	pipe_read_all(fx.rd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "kl");
}

static void test_rx_interrupt(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(FCR, 0x01);
	uart_out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	uart_out(IER, IER_RDI);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, 0);

	CU_ASSERT_EQUAL(serial_receive(fx.s, "ab", 2), 2);
	CU_ASSERT_TRUE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, LSR_DR);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc4);
	CU_ASSERT_EQUAL(uart_in(RBR), 'a');
	CU_ASSERT_TRUE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(RBR), 'b');
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, 0);
	CU_ASSERT_EQUAL(uart_in(IIR), 0xc1);
	CU_ASSERT_EQUAL(fx.irq.changes, 2);
	/* RDI off: data waits without an interrupt. */
	uart_out(IER, 0);
	CU_ASSERT_EQUAL(serial_receive(fx.s, "c", 1), 1);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_DR, LSR_DR);
	CU_ASSERT_EQUAL(fx.irq.redundant, 0);
}

static void test_out2_gating(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	uart_out(MCR, MCR_DTR | MCR_RTS);	/* OUT2 off */
	uart_out(IER, IER_THRI | IER_RDI);
	CU_ASSERT_EQUAL(serial_receive(fx.s, "a", 1), 1);
	/* Pending inside the UART, but the line stays low. */
	CU_ASSERT_EQUAL(uart_in(IIR), 0x04);
	CU_ASSERT_EQUAL(fx.irq.changes, 0);
	CU_ASSERT_FALSE(fx.irq.level);
	uart_out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	CU_ASSERT_TRUE(fx.irq.level);
	uart_out(MCR, MCR_DTR | MCR_RTS);
	CU_ASSERT_FALSE(fx.irq.level);
	CU_ASSERT_EQUAL(fx.irq.changes, 2);
}

static void test_receive_capacity(void)
{
	char in[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	memset(in, 'q', sizeof(in));
	uart_out(FCR, 0x01);
	CU_ASSERT_EQUAL(serial_receive(fx.s, in, 20), SERIAL_RX_FIFO_SIZE);
	CU_ASSERT_EQUAL(serial_receive(fx.s, in, 1), 0);
	/* Host input never overruns: it is refused instead. */
	CU_ASSERT_EQUAL(uart_in(LSR) & LSR_OE, 0);
	for (unsigned i = 0; i < SERIAL_RX_FIFO_SIZE - 1; i++)
		uart_in(RBR);
	CU_ASSERT_EQUAL(fx.rx_space_calls, 0);
	/* Draining the last byte calls rx_space, without the device lock. */
	fx.rx_space_reenter = true;
	CU_ASSERT_EQUAL(uart_in(RBR), 'q');
	fx.rx_space_reenter = false;
	CU_ASSERT_EQUAL(fx.rx_space_calls, 1);
	CU_ASSERT_EQUAL(fx.reenter_taken, 1);
	CU_ASSERT_EQUAL(uart_in(RBR), '!');
	uart_in(RBR);
	CU_ASSERT_EQUAL(fx.rx_space_calls, 1);

	/* No refusal, no call. */
	CU_ASSERT_EQUAL(serial_receive(fx.s, in, 4), 4);
	for (unsigned i = 0; i < 4; i++)
		uart_in(RBR);
	CU_ASSERT_EQUAL(fx.rx_space_calls, 1);

	/* Loopback disconnects the input; leaving it offers room again. */
	uart_out(MCR, MCR_LOOP);
	CU_ASSERT_EQUAL(serial_receive(fx.s, in, 1), 0);
	uart_out(MCR, 0);
	CU_ASSERT_EQUAL(fx.rx_space_calls, 2);
}

/* A 16-bit access is two byte cycles. */
static void test_wide_access(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.s);
	serial_bus_ops.write(fx.s, LCR, 0x0b03, 2);
	CU_ASSERT_EQUAL(uart_in(LCR), 0x03);
	CU_ASSERT_EQUAL(uart_in(MCR), 0x0b);
	CU_ASSERT_EQUAL(serial_bus_ops.read(fx.s, LCR, 2), 0x0b03);
	/* Past the last register: all ones. */
	CU_ASSERT_EQUAL(serial_bus_ops.read(fx.s, SCR, 2) >> 8, 0xff);
}

static void fill_pipe(int fd)
{
	char junk[4096];
	int flags = fcntl(fd, F_GETFL);

	memset(junk, '.', sizeof(junk));
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	while (write(fd, junk, 1) > 0)
		;
	fcntl(fd, F_SETFL, flags);
}

static struct serial *create_on(int out_fd)
{
	struct serial_config cfg = { .name = "test-full", .out_fd = out_fd };
	struct serial *s = NULL;

	if (serial_create(&cfg, &s))
		return NULL;
	return s;
}

static void write_lines(struct serial *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		serial_bus_ops.write(s, THR, i % 64 == 63 ? '\n' : 'x', 1);
}

/* A reader that stopped on a non-blocking pipe: bytes dropped, no hang. */
static void test_full_nonblocking_pipe(void)
{
	static char buf[1 << 20];
	struct serial *s;
	size_t n;
	int fds[2];

	CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
	s = create_on(fds[1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	fill_pipe(fds[1]);
	write_lines(s, 10000);
	CU_ASSERT(serial_get_dropped(s) > 0);
	CU_ASSERT_EQUAL(serial_bus_ops.read(s, LSR, 1), LSR_THRE | LSR_TEMT);

	/* The reader catches up: output flows again, oldest bytes first. */
	n = pipe_read_all(fds[0], buf, sizeof(buf));
	CU_ASSERT(n > 0);
	serial_bus_ops.write(s, THR, 'o', 1);
	serial_bus_ops.write(s, THR, 'k', 1);
	serial_bus_ops.write(s, THR, '\n', 1);
	n = pipe_read_all(fds[0], buf, sizeof(buf));
	CU_ASSERT(n >= 3 && memcmp(buf + n - 3, "ok\n", 3) == 0);
	serial_destroy(s);
	close(fds[0]);
	close(fds[1]);
}

/* The same with a blocking pipe, as stdout usually is: still no hang. */
static void test_full_blocking_pipe(void)
{
	struct serial *s;
	int fds[2];

	CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC) == 0);
	s = create_on(fds[1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	write_lines(s, 200000);		/* three times a pipe's capacity */
	CU_ASSERT(serial_get_dropped(s) > 0);
	serial_destroy(s);		/* flush gives up after a second */
	/* The fd we were given is still blocking: we did not touch it. */
	CU_ASSERT_EQUAL(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
	close(fds[0]);
	close(fds[1]);
}

/* The reader went away: EPIPE is logged once, output is discarded. */
static void test_broken_pipe(void)
{
	struct serial *s;
	int fds[2];

	CU_ASSERT_FATAL(pipe2(fds, O_CLOEXEC) == 0);
	s = create_on(fds[1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	close(fds[0]);
	write_lines(s, 128);
	CU_ASSERT_EQUAL(serial_get_dropped(s), 128);
	CU_ASSERT_EQUAL(serial_bus_ops.read(s, LSR, 1), LSR_THRE | LSR_TEMT);
	serial_destroy(s);
	close(fds[1]);
}

static void test_create_rejects_bad_fd(void)
{
	int fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	close(fds[0]);
	close(fds[1]);
	CU_ASSERT_PTR_NULL(create_on(fds[1]));
}

static int suite_init(void)
{
	/* As main() does: a vanished reader is an EPIPE, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static CU_TestInfo serial_tests[] = {
	{ "output reaches out_fd", test_output_reaches_fd },
	{ "divisor latch", test_divisor_latch },
	{ "scratch register", test_scratch },
	{ "Linux autoconfig probe", test_linux_autoconfig },
	{ "modem status and loopback", test_modem_status },
	{ "IIR priority and clearing", test_iir_priority },
	{ "RX trigger level and timeout", test_rx_trigger_and_timeout },
	{ "THRE interrupt", test_thre_interrupt },
	{ "RX interrupt", test_rx_interrupt },
	{ "OUT2 gates the IRQ", test_out2_gating },
	{ "receive capacity and rx_space", test_receive_capacity },
	{ "16-bit access", test_wide_access },
	{ "full non-blocking pipe", test_full_nonblocking_pipe },
	{ "full blocking pipe", test_full_blocking_pipe },
	{ "broken pipe", test_broken_pipe },
	{ "bad out_fd rejected", test_create_rejects_bad_fd },
	CU_TEST_INFO_NULL,
};

CU_SuiteInfo unit_suites[] = {
	{ "serial", suite_init, NULL, setup, teardown, serial_tests },
	CU_SUITE_INFO_NULL,
};
