/*
 * dotdata: the reader of a message body as SMTP carries it. DATA ends
 * only at <CR><LF>.<CR><LF>, with dot-unstuffing; BDAT chunks are raw.
 * Both hold the message to CRLF line ends: a bare CR or LF, a NUL, an
 * over-long line or too many bytes condemn the message (the error is
 * sticky, answered once after the end), so nothing in a message can
 * end it early here or at the next hop (SMTP smuggling).
 */
#ifndef POSTERN_DOTDATA_H
#define POSTERN_DOTDATA_H

#include <stddef.h>

#include "../util/buf.h"

enum dot_state { DOT_LINE_START, DOT_MID, DOT_CR, DOT_DOT, DOT_DOT_CR };
enum dot_error { DOT_OK, DOT_TOO_BIG, DOT_BARE_NL, DOT_LONG_LINE, DOT_NUL };

struct dot_reader {
	enum dot_state state;
	enum dot_error error;
	size_t line_len, line_max, size_max;
	size_t total;	 /* message bytes so far */
	struct buf *out; /* the message, unstuffed */
};

void dot_init(struct dot_reader *, struct buf *out, size_t line_max,
    size_t size_max);
/* DATA bytes: returns the bytes consumed; *end set at the final dot. */
size_t dot_scan(struct dot_reader *, const char *p, size_t n, int *end);
/* BDAT bytes: all consumed. dot_raw_end() at LAST. */
void dot_raw(struct dot_reader *, const char *p, size_t n);
void dot_raw_end(struct dot_reader *);

#endif
