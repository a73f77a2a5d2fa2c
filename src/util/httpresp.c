/*
 * httpresp: see httpresp.h. Lines are gathered byte by byte into a
 * fixed buffer (a longer one is refused), bodies copied in runs. A
 * response is refused rather than guessed at: a bad status line, a
 * header field without a name, a folded line, a NUL or bare CR, two
 * different Content-Lengths, a transfer coding other than chunked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpresp.h"

void
httpresp_init(struct httpresp *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->state = HR_STATUS;
	r->content_length = -1;
	if (max_body == SIZE_MAX) /* the NUL must fit */
		max_body--;
	r->max_body = max_body;
	/* room for the terminating NUL */
	buf_init(&r->body, max_body + 1);
}

void
httpresp_free(struct httpresp *r)
{
	buf_free(&r->body);
}

static int
hr_fail(struct httpresp *r, const char *why)
{
	r->state = HR_ERROR;
	r->error = why;
	return -1;
}

static int
hr_done(struct httpresp *r)
{
	if (buf_append(&r->body, "", 1) == -1)
		return hr_fail(r, "out of memory");
	r->body.len--;
	r->state = HR_DONE;
	return 1;
}

static int
hr_body(struct httpresp *r, const char *p, size_t n)
{
	if (n > r->max_body - r->body.len)
		return hr_fail(r, "body too long");
	if (buf_append(&r->body, p, n) == -1)
		return hr_fail(r, "out of memory");
	return 0;
}

/* "HTTP/1.x NNN reason" */
static int
hr_status_line(struct httpresp *r, const char *l)
{
	if (strncmp(l, "HTTP/1.", 7) != 0 || l[7] < '0' || l[7] > '9' ||
	    l[8] != ' ')
		return hr_fail(r, "not an HTTP/1 status line");
	l += 9;
	if (l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (l[3] != ' ' && l[3] != '\0'))
		return hr_fail(r, "bad status code");
	r->status = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	r->state = HR_HEADER;
	return 0;
}

static int
hr_is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int
hr_content_length(struct httpresp *r, const char *v)
{
	long long n = 0;
	const char *p;

	if (*v == '\0')
		return hr_fail(r, "bad Content-Length");
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '9' || p - v >= 18)
			return hr_fail(r, "bad Content-Length");
		n = n * 10 + (*p - '0');
	}
	if (r->content_length != -1 && r->content_length != n)
		return hr_fail(r, "two Content-Lengths");
	if ((unsigned long long)n > r->max_body)
		return hr_fail(r, "body too long");
	r->content_length = n;
	return 0;
}

/* After the empty line: where the body is, or the end. */
static int
hr_headers_end(struct httpresp *r)
{
	if (r->status < 200) {
		/* 100 Continue and friends: the real answer follows */
		if (++r->interim > 4)
			return hr_fail(r, "too many interim responses");
		r->state = HR_STATUS;
		r->chunked = 0;
		r->content_length = -1;
		r->content_type[0] = '\0';
		return 0;
	}
	if (r->status == 204 || r->status == 304)
		return hr_done(r);
	if (r->chunked) {
		r->state = HR_CHUNK_SIZE;
		return 0;
	}
	if (r->content_length >= 0) {
		r->left = (unsigned long long)r->content_length;
		r->state = HR_BODY_LEN;
		return r->left == 0 ? hr_done(r) : 0;
	}
	r->state = HR_BODY_EOF;
	return 0;
}

static int
hr_header_line(struct httpresp *r, char *l)
{
	char *colon, *v, *e;

	if (*l == '\0')
		return hr_headers_end(r);
	if (++r->nheaders > HTTPRESP_HEADERS_MAX)
		return hr_fail(r, "too many header fields");
	if (*l == ' ' || *l == '\t')
		return hr_fail(r, "folded header field");
	for (colon = l; *colon && *colon != ':'; colon++)
		if (!hr_is_tchar((unsigned char)*colon))
			return hr_fail(r, "bad header field name");
	if (*colon != ':' || colon == l)
		return hr_fail(r, "bad header field");
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (e = v; *e; e++)
		if ((unsigned char)*e < 0x20 && *e != '\t')
			return hr_fail(r, "control character in a header");
	if (r->state == HR_TRAILER)
		return 0; /* trailers are read and dropped */
	if (strcasecmp(l, "Content-Length") == 0)
		return hr_content_length(r, v);
	if (strcasecmp(l, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0 || r->chunked)
			return hr_fail(r, "unsupported Transfer-Encoding");
		r->chunked = 1;
	} else if (strcasecmp(l, "Content-Type") == 0) {
		strncpy(r->content_type, v, sizeof(r->content_type) - 1);
		r->content_type[sizeof(r->content_type) - 1] = '\0';
	}
	return 0;
}

/* "1a2b;ext=1" */
static int
hr_chunk_size(struct httpresp *r, const char *l)
{
	unsigned long long n = 0;
	const char *p;

	for (p = l; *p; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (p - l >= 15)
			return hr_fail(r, "bad chunk size");
		n = n * 16 + (unsigned long long)d;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (p == l || (*p != '\0' && *p != ';'))
		return hr_fail(r, "bad chunk size");
	if (n > r->max_body - r->body.len)
		return hr_fail(r, "body too long");
	r->left = n;
	r->state = n == 0 ? HR_TRAILER : HR_CHUNK_DATA;
	return 0;
}

static int
hr_line(struct httpresp *r)
{
	char *l = r->line;

	r->line[r->linelen] = '\0';
	r->linelen = 0;
	switch (r->state) {
	case HR_STATUS:
		return hr_status_line(r, l);
	case HR_HEADER:
		return hr_header_line(r, l);
	case HR_CHUNK_SIZE:
		return hr_chunk_size(r, l);
	case HR_CHUNK_END:
		if (*l != '\0')
			return hr_fail(r, "no CRLF after a chunk");
		r->state = HR_CHUNK_SIZE;
		return 0;
	case HR_TRAILER:
		if (*l == '\0')
			return hr_done(r);
		return hr_header_line(r, l);
	default:
		return hr_fail(r, "internal error");
	}
}

/* One byte of a line; a complete line is handled at its LF. */
static int
hr_line_byte(struct httpresp *r, char c)
{
	if (c == '\n') {
		if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
			r->linelen--;
		return hr_line(r);
	}
	if (c == '\0')
		return hr_fail(r, "NUL in a line");
	if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
		return hr_fail(r, "bare CR in a line");
	if (r->linelen == HTTPRESP_LINE_MAX)
		return hr_fail(r, "line too long");
	r->line[r->linelen++] = c;
	return 0;
}

int
httpresp_feed(struct httpresp *r, const char *data, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		switch (r->state) {
		case HR_DONE:
			return 1;
		case HR_ERROR:
			return -1;
		case HR_BODY_EOF:
			return hr_body(r, data + i, len - i);
		case HR_BODY_LEN:
		case HR_CHUNK_DATA:
			n = len - i;
			if (n > r->left)
				n = (size_t)r->left;
			if (hr_body(r, data + i, n) == -1)
				return -1;
			i += n;
			r->left -= n;
			if (r->left == 0) {
				if (r->state == HR_BODY_LEN)
					return hr_done(r);
				r->state = HR_CHUNK_END;
			}
			break;
		default:
			if (hr_line_byte(r, data[i++]) == -1)
				return -1;
			break;
		}
	}
	return r->state == HR_DONE ? 1 : r->state == HR_ERROR ? -1 : 0;
}

int
httpresp_eof(struct httpresp *r)
{
	if (r->state == HR_DONE)
		return 1;
	if (r->state == HR_BODY_EOF)
		return hr_done(r);
	if (r->state != HR_ERROR)
		hr_fail(r, "connection closed before the response ended");
	return -1;
}
