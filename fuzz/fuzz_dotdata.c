/*
 * fuzz_dotdata: the DATA and BDAT readers on arbitrary bytes, fed in
 * chunks. The first bytes choose the limits and the split points:
 *   [0] line_max, [1] size_max, [2..5] lengths of the first chunks,
 * the rest is what the client sends. Each stream is read whole, split
 * at the chosen points and one byte at a time. Properties:
 *  - every split gives the same end, the same end position and the same
 *    error, and when the message is accepted the same output;
 *  - an accepted message (an end, no error) has only CRLF line ends, no
 *    NUL, and ends with CRLF unless empty;
 *  - dot-stuffing that output again and adding the final ".\r\n" reads
 *    back to exactly the same output, ending exactly at the last byte:
 *    nothing in an accepted message can end it early or start another
 *    (SMTP smuggling);
 *  - BDAT keeps the bytes as they are, whatever the chunks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/dotdata.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCUTS 4

struct result {
	int end;
	size_t end_pos; /* bytes consumed, the final dot's line included */
	enum dot_error error;
	struct buf out;
};

/* Chunk lengths: cuts[] first, then the rest (byte by byte if bytewise). */
static size_t
next_chunk(const size_t *cuts, int ncuts, int k, int bytewise, size_t left)
{
	size_t n = left;

	if (bytewise)
		n = 1;
	else if (k < ncuts)
		n = cuts[k];
	return n < left ? n : left;
}

static void
scan(const char *p, size_t len, const size_t *cuts, int ncuts, int bytewise,
    size_t line_max, size_t size_max, struct result *res)
{
	struct dot_reader r;
	size_t off = 0;
	int k = 0;

	buf_init(&res->out, (size_t)1 << 24);
	dot_init(&r, &res->out, line_max, size_max);
	res->end = 0;
	res->end_pos = len;
	for (;;) {
		size_t n = next_chunk(cuts, ncuts, k++, bytewise, len - off);
		size_t used = dot_scan(&r, p + off, n, &res->end);
		if (used > n || (!res->end && used != n))
			abort();
		off += used;
		if (res->end) {
			res->end_pos = off;
			break;
		}
		if (off == len && k > ncuts)
			break;
	}
	res->error = r.error;
}

static void
raw(const char *p, size_t len, const size_t *cuts, int ncuts, int bytewise,
    size_t line_max, size_t size_max, struct result *res)
{
	struct dot_reader r;
	size_t off = 0;
	int k = 0;

	buf_init(&res->out, (size_t)1 << 24);
	dot_init(&r, &res->out, line_max, size_max);
	while (off < len) {
		size_t n = next_chunk(cuts, ncuts, k++, bytewise, len - off);
		dot_raw(&r, p + off, n);
		off += n;
	}
	dot_raw_end(&r);
	res->end = 1;
	res->end_pos = len;
	res->error = r.error;
}

static void
same(const struct result *a, const struct result *b)
{
	if (a->end != b->end || a->end_pos != b->end_pos ||
	    a->error != b->error)
		abort();
	/* a condemned message is thrown away: only accepted output counts */
	if (a->error == DOT_OK &&
	    (a->out.len != b->out.len ||
		(a->out.len && memcmp(a->out.data, b->out.data, a->out.len))))
		abort();
}

/* Only CRLF line ends, no NUL; empty or ending with CRLF if ended. */
static void
check_crlf(const char *p, size_t n, int must_end_crlf)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\0')
			abort();
		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			abort();
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
	}
	if (must_end_crlf && n > 0 &&
	    (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n'))
		abort();
}

/* Send the accepted message again, stuffed, and read it back. */
static void
check_restuffed(const struct result *res, size_t line_max, size_t size_max)
{
	const char *p = res->out.data;
	size_t n = res->out.len, i, o = 0;
	char *wire = malloc(2 * n + 4);
	struct result again;
	int bol = 1;

	if (wire == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (bol && p[i] == '.')
			wire[o++] = '.';
		wire[o++] = p[i];
		bol = p[i] == '\n';
	}
	memcpy(wire + o, ".\r\n", 3);
	o += 3;
	scan(wire, o, NULL, 0, 0, line_max, size_max, &again);
	if (!again.end || again.end_pos != o || again.error != DOT_OK ||
	    again.out.len != n || (n && memcmp(again.out.data, p, n) != 0))
		abort();
	buf_free(&again.out);
	free(wire);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, split, bytes;
	size_t cuts[NCUTS], line_max, size_max, len;
	const char *p;
	char *stream;
	int i;

	if (size < 2 + NCUTS)
		return 0;
	line_max = data[0] & 0x80 ? 65536 : 2 + (data[0] & 0x7f);
	size_max =
	    data[1] & 0x80 ? (size_t)1 << 20 : 16 * (size_t)(data[1] & 0x7f);
	for (i = 0; i < NCUTS; i++)
		cuts[i] = data[2 + i];
	len = size - 2 - NCUTS;
	if ((stream = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(stream, data + 2 + NCUTS, len);
	p = stream;

	/* DATA */
	scan(p, len, NULL, 0, 0, line_max, size_max, &whole);
	scan(p, len, cuts, NCUTS, 0, line_max, size_max, &split);
	scan(p, len, NULL, 0, 1, line_max, size_max, &bytes);
	same(&whole, &split);
	same(&whole, &bytes);
	if (whole.end && whole.error == DOT_OK) {
		check_crlf(whole.out.data, whole.out.len, 1);
		if (whole.out.len > size_max)
			abort();
		check_restuffed(&whole, line_max, size_max);
	}
	buf_free(&whole.out);
	buf_free(&split.out);
	buf_free(&bytes.out);

	/* BDAT */
	raw(p, len, NULL, 0, 0, line_max, size_max, &whole);
	raw(p, len, cuts, NCUTS, 0, line_max, size_max, &split);
	raw(p, len, NULL, 0, 1, line_max, size_max, &bytes);
	same(&whole, &split);
	same(&whole, &bytes);
	if (whole.error == DOT_OK) {
		check_crlf(whole.out.data, whole.out.len, 0);
		if (whole.out.len != len ||
		    (len && memcmp(whole.out.data, p, len) != 0))
			abort();
	}
	buf_free(&whole.out);
	buf_free(&split.out);
	buf_free(&bytes.out);
	free(stream);
	return 0;
}
