/*
 * dotdata: byte-at-a-time state machines over chunks, copying runs of
 * ordinary bytes at once. A condemned message stops being stored but is
 * still read to its end, so the session stays in step with the client.
 */
#include "dotdata.h"

void
dot_init(struct dot_reader *r, struct buf *out, size_t line_max,
    size_t size_max)
{
	r->state = DOT_LINE_START;
	r->error = DOT_OK;
	r->line_len = 0;
	r->total = 0;
	r->line_max = line_max;
	r->size_max = size_max;
	r->out = out;
	buf_reset(out);
}

static void
dot_fail(struct dot_reader *r, enum dot_error e)
{
	if (r->error == DOT_OK)
		r->error = e;
}

static void
dot_put(struct dot_reader *r, const char *p, size_t n)
{
	if (r->error != DOT_OK || n == 0)
		return;
	if (r->out->len + n > r->size_max || buf_append(r->out, p, n) == -1) {
		dot_fail(r, DOT_TOO_BIG);
		buf_free(r->out);
	}
}

/* Count one byte of the message: errors come in byte order, so the
 * outcome does not depend on how the input was split. */
static void
dot_count(struct dot_reader *r)
{
	if (++r->total > r->size_max)
		dot_fail(r, DOT_TOO_BIG);
}

/* One ordinary byte of a line; line_max counts the line's CRLF. */
static void
dot_byte(struct dot_reader *r, char c)
{
	dot_count(r);
	if (c == '\r')
		r->state = DOT_CR;
	else if (c == '\n')
		dot_fail(r, DOT_BARE_NL);
	else if (c == '\0')
		dot_fail(r, DOT_NUL);
	/* the line's length once its CRLF is there */
	if (++r->line_len + (c == '\r' ? 1 : 2) > r->line_max)
		dot_fail(r, DOT_LONG_LINE);
}

size_t
dot_scan(struct dot_reader *r, const char *p, size_t n, int *end)
{
	size_t i, run = 0; /* start of bytes to copy as they are */

	*end = 0;
	for (i = 0; i < n; i++) {
		char c = p[i];

		switch (r->state) {
		case DOT_LINE_START:
			r->line_len = 0;
			if (c == '.') {
				dot_put(r, p + run, i - run);
				run = i + 1; /* the dot is not copied */
				r->state = DOT_DOT;
				r->line_len = 1;
				continue;
			}
			r->state = DOT_MID;
			dot_byte(r, c);
			break;
		case DOT_MID:
			dot_byte(r, c);
			break;
		case DOT_CR:
			if (c == '\n') {
				dot_count(r);
				r->state = DOT_LINE_START;
				break;
			}
			dot_fail(r, DOT_BARE_NL); /* bare CR */
			r->state = DOT_MID;
			dot_byte(r, c);
			break;
		case DOT_DOT:
			if (c == '\r') {
				/* held back: the end, or a condemned message */
				run = i + 1;
				r->state = DOT_DOT_CR;
				break;
			}
			r->state = DOT_MID; /* a stuffed dot: ".." is "." */
			dot_byte(r, c);
			break;
		case DOT_DOT_CR:
			if (c == '\n') {
				*end = 1;
				return i + 1;
			}
			dot_fail(r, DOT_BARE_NL); /* ".\r" then not LF */
			r->state = DOT_MID;
			dot_byte(r, c);
			break;
		}
	}
	dot_put(r, p + run, n - run);
	return n;
}

void
dot_raw(struct dot_reader *r, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r->state == DOT_CR) {
			r->state = DOT_MID;
			if (p[i] == '\n') {
				dot_count(r);
				r->line_len = 0;
				continue;
			}
			dot_fail(r, DOT_BARE_NL);
		}
		dot_byte(r, p[i]);
	}
	dot_put(r, p, n);
}

void
dot_raw_end(struct dot_reader *r)
{
	if (r->state == DOT_CR)
		dot_fail(r, DOT_BARE_NL);
}
