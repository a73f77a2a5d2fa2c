/*
 * fuzz_dkim_canon: DKIM's reading of a message on arbitrary bytes: the
 * header/body split, the field splitter, relaxed header and body
 * canonicalisation, the signed-header list and the bottom-up selection,
 * and an h= list taken from the input's first line. Checks the canonical
 * forms' invariants and that a second pass changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* No TAB, no SP run, no SP before a CRLF, CRLF only at line ends. */
static void
check_relaxed(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\t')
			abort();
		if (p[i] != ' ')
			continue;
		if (i + 1 < n && p[i + 1] == ' ')
			abort();
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			abort();
	}
}

static void
check_field(const char *p, size_t len, struct buf *a, struct buf *b)
{
	const char *colon;
	size_t i;

	buf_reset(a);
	if (dkim_canon_header_relaxed(p, len, a) == -1) {
		if (memchr(p, ':', len) != NULL)
			abort(); /* the buffer is large enough */
		return;
	}
	/* "name:value\r\n": one CRLF, at the end; a lower-case name. */
	if (a->len < 3 || memcmp(a->data + a->len - 2, "\r\n", 2) != 0 ||
	    memmem(a->data, a->len - 2, "\r\n", 2) != NULL)
		abort();
	check_relaxed(a->data, a->len);
	colon = memchr(a->data, ':', a->len);
	for (i = 0; a->data + i < colon; i++)
		if (a->data[i] >= 'A' && a->data[i] <= 'Z')
			abort();
	if (colon[1] == ' ' || (a->len >= 3 && a->data[a->len - 3] == ' '))
		abort();
	buf_reset(b);
	if (dkim_canon_header_relaxed(a->data, a->len, b) == -1 ||
	    a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
		abort();
}

static void
check_body(const char *p, size_t len, struct buf *a, struct buf *b)
{
	buf_reset(a);
	buf_reset(b);
	if (dkim_canon_body_relaxed(p, len, dkim_sink_buf, a) == -1)
		abort();
	if (a->len > len + 2)
		abort();
	/* Empty, or text ending in one CRLF, not in an empty line. */
	if (a->len > 0 &&
	    (a->len < 3 || memcmp(a->data + a->len - 2, "\r\n", 2) != 0))
		abort();
	if (a->len >= 4 && memcmp(a->data + a->len - 4, "\r\n\r\n", 4) == 0)
		abort();
	check_relaxed(a->data, a->len);
	if (dkim_canon_body_relaxed(a->data, a->len, dkim_sink_buf, b) == -1 ||
	    a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct dkim_field f;
	struct buf a, b, sel;
	char h[1024], hin[256];
	size_t hlen, boff, pos = 0, n, prev;

	buf_init(&a, 2 * size + 64);
	buf_init(&b, 2 * size + 64);
	buf_init(&sel, 2 * size + 64);

	dkim_split(msg, size, &hlen, &boff);
	if (hlen > boff || boff > size)
		abort();
	while (prev = pos, dkim_field_next(msg, hlen, &pos, &f)) {
		if (f.p != msg + prev || f.len > hlen - prev || pos > hlen ||
		    pos <= prev || f.name_len > f.len)
			abort();
		check_field(f.p, f.len, &a, &b);
	}
	check_body(msg + boff, size - boff, &a, &b);

	/* The list postern signs selects only what it counted. */
	if (dkim_header_list(msg, hlen, h, sizeof(h)) == 0) {
		if (dkim_canon_selected(msg, hlen, h, &sel) == -1)
			abort();
		if (sel.len > hlen + 2)
			abort();
	}

	/* An h= list from the input's first line, on the whole input. */
	for (n = 0; n < size && n + 1 < sizeof(hin) && data[n] != '\n'; n++)
		hin[n] = data[n] == '\0' ? ':' : (char)data[n];
	hin[n] = '\0';
	buf_reset(&sel);
	(void)dkim_canon_selected(msg, hlen, hin, &sel);
	if (sel.len > hlen + 2)
		abort();

	buf_free(&a);
	buf_free(&b);
	buf_free(&sel);
	return 0;
}
