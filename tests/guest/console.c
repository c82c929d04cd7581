/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console on COM1: polled 16550A output and a small printf.  Works at CPL3
 * and at CPL0 (the fault handler).
 *
 * Every port access is a VM exit, and maybe a trip through the CPL0 gate
 * (cpu.c): with the FIFO on, the line status is polled once per 16 bytes,
 * which then go out with one rep outsb.
 */
#include "guest.h"
#include "platform.h"

#define UART_THR		0
#define UART_FCR		2
#define UART_IIR		2
#define UART_LSR		5
#define UART_FCR_ENABLE		0x01
#define UART_IIR_FIFO_ON	0xc0
#define UART_RBR		0
#define UART_LSR_DR		0x01
#define UART_LSR_THRE		0x20
#define UART_FIFO_SIZE		16
/* A UART that never drains must not hang the guest (see tsc_deadline_ms). */
#define UART_DRAIN_TIMEOUT_MS	100

static unsigned int console_burst = 1;

void console_init(void)
{
	/* Enable the FIFOs without clearing them: output may be pending. */
	outb(PLATFORM_COM1_PORT + UART_FCR, UART_FCR_ENABLE);
	if ((inb(PLATFORM_COM1_PORT + UART_IIR) & UART_IIR_FIFO_ON) ==
	    UART_IIR_FIFO_ON)
		console_burst = UART_FIFO_SIZE;
}

static void console_wait_thre(void)
{
	uint64_t deadline = 0;

	while (!(inb(PLATFORM_COM1_PORT + UART_LSR) & UART_LSR_THRE)) {
		if (!deadline)
			deadline = tsc_deadline_ms(UART_DRAIN_TIMEOUT_MS);
		else if (tsc_expired(deadline))
			return;
		cpu_relax();
	}
}

void console_write(const char *s, size_t len)
{
	while (len) {
		size_t n = len < console_burst ? len : console_burst;

		console_wait_thre();
		outsb(PLATFORM_COM1_PORT + UART_THR, s, n);
		s += n;
		len -= n;
	}
}

size_t console_read(uint8_t *buf, size_t len, uint64_t timeout_ms)
{
	uint64_t deadline = tsc_deadline_ms(timeout_ms);
	size_t n = 0;

	/* Polled: the receive interrupt is not what this checks. */
	while (n < len && !tsc_expired(deadline)) {
		if (inb(PLATFORM_COM1_PORT + UART_LSR) & UART_LSR_DR)
			buf[n++] = inb(PLATFORM_COM1_PORT + UART_RBR);
		else
			cpu_relax();
	}
	return n;
}

bool console_poll(uint8_t *c)
{
	if (!(inb(PLATFORM_COM1_PORT + UART_LSR) & UART_LSR_DR))
		return false;
	*c = inb(PLATFORM_COM1_PORT + UART_RBR);
	return true;
}

/*
 * printf: %d %i %u %x %X %p %s %c %%, flag 0, a width, a precision for
 * %s, lengths l, ll and z.
 */

struct fmt_buf {
	char buf[128];
	size_t len;
};

static void fmt_flush(struct fmt_buf *b)
{
	console_write(b->buf, b->len);
	b->len = 0;
}

static void fmt_putc(struct fmt_buf *b, char c)
{
	if (b->len == sizeof(b->buf))
		fmt_flush(b);
	b->buf[b->len++] = c;
}

static void fmt_pad(struct fmt_buf *b, char c, unsigned int n)
{
	while (n--)
		fmt_putc(b, c);
}

static void fmt_number(struct fmt_buf *b, uint64_t v, bool negative,
		       unsigned int base, bool upper, bool zero,
		       unsigned int width)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + negative;
	if (negative && zero)
		fmt_putc(b, '-');
	if (width > len)
		fmt_pad(b, zero ? '0' : ' ', width - len);
	if (negative && !zero)
		fmt_putc(b, '-');
	while (n)
		fmt_putc(b, tmp[--n]);
}

void guest_vprintf(const char *fmt, va_list ap)
{
	struct fmt_buf b = { .len = 0 };

	for (; *fmt; fmt++) {
		unsigned int width = 0, lng = 0;
		size_t prec = (size_t)-1;
		bool zero = false;
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			fmt_putc(&b, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			zero = true;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			while (*++fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (size_t)(*fmt - '0');
		}
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z') {
			lng = 1;
			fmt++;
		}

		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 2)
				s = va_arg(ap, long long);
			else if (lng == 1)
				s = va_arg(ap, long);
			else
				s = va_arg(ap, int);
			u = s < 0 ? 0 - (uint64_t)s : (uint64_t)s;
			fmt_number(&b, u, s < 0, 10, false, zero, width);
			break;
		case 'u':
		case 'x':
		case 'X':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng == 1)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			fmt_number(&b, u, false, *fmt == 'u' ? 10 : 16,
				   *fmt == 'X', zero, width);
			break;
		case 'p':
			fmt_putc(&b, '0');
			fmt_putc(&b, 'x');
			u = (uintptr_t)va_arg(ap, void *);
			fmt_number(&b, u, false, 16, false, zero, width);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			size_t len;

			if (!str)
				str = "(null)";
			for (len = 0; len < prec && str[len]; len++)
				;
			if (width > len)
				fmt_pad(&b, ' ', width - (unsigned int)len);
			for (size_t i = 0; i < len; i++)
				fmt_putc(&b, str[i]);
			break;
		}
		case 'c':
			fmt_putc(&b, (char)va_arg(ap, int));
			break;
		case '%':
			fmt_putc(&b, '%');
			break;
		case '\0':
			fmt--;		/* a lone '%' ends the format */
			break;
		default:
			fmt_putc(&b, '%');
			fmt_putc(&b, *fmt);
			break;
		}
	}
	fmt_flush(&b);
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
}
