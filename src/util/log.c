/*
 * log: event lines on stderr, with a timestamp when stderr is not a
 * terminal-less journal. One call writes one line with one write(2), so
 * lines from workers never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_verbose;

void
log_init(const char *progname, int verbose)
{
	(void)progname;
	log_verbose = verbose;
}

static void
log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048], text[2048];
	struct timespec ts;
	struct tm tm;
	int n, m, i;

	if (lvl == LOG_DEBUG && !log_verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
	    ts.tv_nsec / 1000000,
	    lvl == LOG_ERR    ? "error"
	    : lvl == LOG_WARN ? "warn"
			      : "info");
	m = vsnprintf(text, sizeof(text), fmt, ap);
	if (m < 0)
		m = 0;
	if (m > (int)sizeof(text) - 1)
		m = sizeof(text) - 1;
	/* the last line of defence: a CR or LF in a value that was not
	 * quoted still cannot start a line of its own */
	for (i = 0; i < m && n < (int)sizeof(line) - 5; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f) {
			line[n++] = '\\';
			line[n++] = 'x';
			line[n++] = "0123456789abcdef"[c >> 4];
			line[n++] = "0123456789abcdef"[c & 15];
		} else
			line[n++] = (char)c;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
log_event(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(lvl, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Printable ASCII kept but for '"', '\\' and (space) a blank; the rest \xNN. */
static const char *
log_escape(char *dst, size_t dstlen, const char *src, size_t len, int space)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len && o + 5 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' &&
		    (c != ' ' || !space)) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

const char *
log_quote(char *dst, size_t dstlen, const char *src, size_t len)
{
	return log_escape(dst, dstlen, src, len, 0);
}

/* An address as <...> in a line: a quoted local part may hold a blank,
 * which would start a field of its own. */
const char *
log_addr(char *dst, size_t dstlen, const char *src)
{
	return log_escape(dst, dstlen, src ? src : "", src ? strlen(src) : 0,
	    1);
}

const char *
log_value(char *dst, size_t dstlen, const char *src)
{
	size_t o;

	if (dstlen < 8) {
		if (dstlen)
			dst[0] = '\0';
		return dst;
	}
	if (src == NULL)
		src = "-";
	dst[0] = '"';
	/* room for the closing quote and the NUL */
	log_quote(dst + 1, dstlen - 2, src, strlen(src));
	o = strlen(dst);
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}
