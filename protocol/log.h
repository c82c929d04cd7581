/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One logging interface for every splitvm process: a line per event on
 * stderr, "<program>: <level>: [<tag>] <message>", filtered by level.
 */
#ifndef SPLITVM_LOG_H
#define SPLITVM_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Program name printed before every line and the most verbose level shown. */
void log_init(const char *program, enum log_level max_level);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *tag, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

#define log_err(tag, ...)   log_msg(LOG_LEVEL_ERR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_LEVEL_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_LEVEL_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...) \
	do { \
		if (log_get_level() >= LOG_LEVEL_DEBUG) \
			log_msg(LOG_LEVEL_DEBUG, tag, __VA_ARGS__); \
	} while (0)

#endif
