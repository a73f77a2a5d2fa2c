/*
 * log: one event per line, "name key=value ...", to stderr.
 * Text from outside (peers, users, operators) goes through log_value()
 * (or log_quote() inside quotes) so a field can never be forged; a
 * control byte that reaches a line anyway is escaped, so a line can
 * never be.
 * No secret is ever passed here.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

void log_init(const char *progname, int verbose);
void log_event(enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_info(...) log_event(LOG_INFO, __VA_ARGS__)
#define log_warnx(...) log_event(LOG_WARN, __VA_ARGS__)
#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Quote peer bytes for a log line: printable ASCII kept, rest \xNN. */
const char *log_quote(char *dst, size_t dstlen, const char *src, size_t len);
/* An address for "key=<%s>": as log_quote, blanks escaped too. LOG_ADDR_MAX
 * holds any address (ADDR_MAX, 320 bytes, each at most 4). */
#define LOG_ADDR_MAX (320 * 4 + 5) /* and log_quote's margin */
const char *log_addr(char *dst, size_t dstlen, const char *src);
/*
 * Any text as the VALUE of key=VALUE: in double quotes, '"', '\\', control
 * bytes and bytes past ASCII as \xNN, so it can add neither a field nor a
 * line; cut to fit dst (at least 8 bytes), the quotes always closed. NULL
 * gives "-". LOG_VALUE_MAX holds 128 input bytes.
 */
#define LOG_VALUE_MAX (128 * 4 + 3)
const char *log_value(char *dst, size_t dstlen, const char *src);

#endif
