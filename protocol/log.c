/* SPDX-License-Identifier: GPL-2.0-only */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_program = "splitvm";
static enum log_level log_max = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_init(const char *program, enum log_level max_level)
{
	log_program = program;
	log_max = max_level;
}

void log_set_level(enum log_level max_level)
{
	log_max = max_level;
}

enum log_level log_get_level(void)
{
	return log_max;
}

void log_vmsg(enum log_level level, const char *tag, const char *fmt,
	      va_list ap)
{
	char line[1024];
	int n;

	if (level > log_max)
		return;

	/*
	 * Build the whole line first and emit it with one write() so that
	 * lines from concurrent threads never interleave.
	 */
	n = snprintf(line, sizeof(line), "%s: %s: ", log_program,
		     log_level_names[level]);
	if (tag && tag[0] && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, "[%s] ", tag);
	if (n < (int)sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, tag, fmt, ap);
	va_end(ap);
}
