/*
 * canon: DKIM's view of a message (RFC 6376 3.4, 5.4.2): where the header
 * section ends, its fields one by one, the "relaxed" canonical forms of a
 * field and of the body, and which fields an h= list selects. Pure
 * functions over bytes in memory, so they are unit-tested and fuzzed.
 */
#ifndef POSTERN_DKIM_CANON_H
#define POSTERN_DKIM_CANON_H

#include <stddef.h>

#include "../util/buf.h"

#define DKIM_H_MAX 128	   /* names in an h= list */
#define DKIM_H_NAME_MAX 64 /* bytes in one of its names */
#define DKIM_REPEAT_MAX 8  /* instances of a field we sign; more: refused */

/* One header field: its bytes up to, not including, its final CRLF (the
 * folding CRLFs are inside), and its name (before the colon, trailing
 * WSP dropped; len 0 when the field has no colon). */
struct dkim_field {
	const char *p;
	size_t len;
	const char *name;
	size_t name_len;
};

/*
 * Where the header section of msg ends: *hlen bytes of fields with their
 * CRLFs, then the empty line, then the body at *boff. Only CRLF ends a
 * line. A message without an empty line is all header (empty body); one
 * that starts with CRLF has no header.
 */
void dkim_split(const char *msg, size_t len, size_t *hlen, size_t *boff);

/* The field at *pos in hdr[0..hlen): 1 and *pos moved past it, 0 at the
 * end. A field runs until a CRLF not followed by SP or TAB. */
int dkim_field_next(const char *hdr, size_t hlen, size_t *pos,
    struct dkim_field *);

/*
 * Relaxed header canonicalisation (RFC 6376 3.4.2) of one field, with or
 * without its final CRLF: "name:value\r\n" appended to out, the name in
 * lower case, the value unfolded, WSP runs as one SP, none at its ends.
 * -1 when the field has no colon or out is full.
 */
int dkim_canon_header_relaxed(const char *field, size_t len, struct buf *out);

/*
 * Relaxed body canonicalisation (RFC 6376 3.4.4): WSP at the end of a line
 * dropped, other WSP runs as one SP, empty lines at the end dropped, a
 * CRLF added after a last line without one. An empty body (or one of only
 * empty lines) is empty. Only CRLF ends a line: a bare CR or LF is an
 * ordinary byte. The result goes to sink in pieces; -1 if sink fails.
 */
int dkim_canon_body_relaxed(const char *body, size_t len,
    int (*sink)(void *arg, const void *p, size_t n), void *arg);

/*
 * Simple body canonicalisation (RFC 6376 3.4.3): the body as it is, with
 * the empty lines at its end dropped and a CRLF added after a last line
 * without one; an empty body is one CRLF. To sink in pieces; -1 if sink
 * fails.
 */
int dkim_canon_body_simple(const char *body, size_t len,
    int (*sink)(void *arg, const void *p, size_t n), void *arg);

/* A sink appending to the struct buf at arg. */
int dkim_sink_buf(void *arg, const void *p, size_t n);

/*
 * The h= list postern signs for the header section hdr[0..hlen): "from"
 * once more than From: occurs (so no From: can be added), then each of
 * to, cc, subject, date, message-id, reply-to, mime-version, content-type,
 * content-transfer-encoding, in-reply-to, references as often as it
 * occurs, joined by ':'. 0, or -1 when a field occurs more than
 * DKIM_REPEAT_MAX times or out (outlen bytes) is too small.
 */
int dkim_header_list(const char *hdr, size_t hlen, char *out, size_t outlen);

/*
 * The canonical (relaxed) fields that the h= value h selects from
 * hdr[0..hlen), appended to out in h's order (RFC 6376 5.4.2): each name
 * takes the bottom-most instance not yet taken, or nothing when none is
 * left. Names are separated by ':' with optional FWS. -1 when h is
 * malformed or has more than DKIM_H_MAX names, or out is full.
 */
int dkim_canon_selected(const char *hdr, size_t hlen, const char *h,
    struct buf *out);
/* The same in the "simple" form (RFC 6376 3.4.1): each field exactly as
 * it is, with its CRLF. */
int dkim_canon_selected_simple(const char *hdr, size_t hlen, const char *h,
    struct buf *out);

#endif
