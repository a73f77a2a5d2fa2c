/*
 * authres: see authres.h. The authserv-id of a field is its first token
 * (after comments and blanks), ended by ';', a blank or a comment.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "../dkim/canon.h"

#define AUTHRES_NAME "Authentication-Results"

/* Skip blanks, folding and (nested, bounded) comments. */
static const char *
authres_cfws(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		if (depth == 0 &&
		    (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
		} else if (*p == '(') {
			if (++depth > 8)
				return end; /* no id can be read: not ours */
			p++;
		} else if (depth > 0 && *p == ')') {
			depth--;
			p++;
		} else if (depth > 0 && *p == '\\' && p + 1 < end) {
			p += 2;
		} else if (depth > 0) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

/* Does the field (value after the colon) claim authserv-id id? */
static int
authres_claims(const char *v, const char *end, const char *id)
{
	size_t idlen = strlen(id);
	const char *p = authres_cfws(v, end), *q = p;

	while (q < end && *q != ';' && *q != '(' && *q != ' ' && *q != '\t' &&
	       *q != '\r' && *q != '\n')
		q++;
	/* a quoted id is the same id (RFC 8601 2.5: a value) */
	if (q - p >= 2 && *p == '"' && q[-1] == '"') {
		p++;
		q--;
	}
	/* nor is a trailing dot another name */
	if (q > p && q[-1] == '.')
		q--;
	return (size_t)(q - p) == idlen && strncasecmp(p, id, idlen) == 0;
}

int
authres_strip(char *msg, size_t *len, const char *authserv_id)
{
	size_t hlen, boff, pos = 0, start;
	struct dkim_field f;
	int n = 0;

	dkim_split(msg, *len, &hlen, &boff);
	for (;;) {
		start = pos;
		if (!dkim_field_next(msg, hlen, &pos, &f))
			break;
		if (f.name_len != sizeof(AUTHRES_NAME) - 1 ||
		    strncasecmp(f.name, AUTHRES_NAME, f.name_len) != 0)
			continue;
		{
			const char *colon = memchr(f.p, ':', f.len);
			if (colon == NULL || !authres_claims(colon + 1,
						 f.p + f.len, authserv_id))
				continue;
		}
		/* drop the field and its CRLF: [start, pos) */
		memmove(msg + start, msg + pos, *len - pos);
		*len -= pos - start;
		hlen -= pos - start;
		pos = start;
		n++;
	}
	return n;
}

/* A token of RFC 2045 (RFC 8601's value), or else a quoted-string. */
static int
authres_value(struct buf *out, const char *v)
{
	const char *p, *at = strchr(v, '@');
	int token = *v != '\0';

	/* RFC 8601 2.3: a pvalue may be [local-part] "@" domain as it is */
	if (at == NULL || strchr(at + 1, '@') != NULL || at[1] == '\0')
		at = NULL;
	for (p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    (strchr("()<>@,;:\\\"/[]?=", *p) && p != at))
			token = 0;
	if (token)
		return buf_append(out, v, strlen(v));
	/* else quoted: always right */
	if (buf_append(out, "\"", 1) == -1)
		return -1;
	for (p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			continue;
		if ((c == '"' || c == '\\') && buf_append(out, "\\", 1) == -1)
			return -1;
		if (buf_append(out, p, 1) == -1)
			return -1;
	}
	return buf_append(out, "\"", 1);
}

/* A comment's text: printable, no parentheses or backslashes. */
static int
authres_comment(struct buf *out, const char *r)
{
	const char *p;

	if (buf_append(out, " (", 2) == -1)
		return -1;
	for (p = r; *p && p - r < 200; p++) {
		unsigned char c = (unsigned char)*p;
		char ch =
		    c < 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '\\'
			? ' '
			: *p;
		if (buf_append(out, &ch, 1) == -1)
			return -1;
	}
	return buf_append(out, ")", 1);
}

int
authres_format(struct buf *out, const char *authserv_id,
    const struct authres_item *items, int n)
{
	int i, k;

	if (buf_printf(out, AUTHRES_NAME ": %s", authserv_id) == -1)
		return -1;
	if (n == 0)
		return buf_printf(out, "; none\r\n");
	for (i = 0; i < n && i < AUTHRES_ITEMS_MAX; i++) {
		const struct authres_item *it = &items[i];
		if (buf_printf(out, ";\r\n\t%s=%s", it->method, it->result) ==
		    -1)
			return -1;
		if (it->reason && it->reason[0] &&
		    authres_comment(out, it->reason) == -1)
			return -1;
		for (k = 0; k < it->nprops && k < AUTHRES_PROPS_MAX; k++) {
			if (it->props[k].value == NULL)
				continue;
			if (buf_printf(out, " %s=", it->props[k].name) == -1 ||
			    authres_value(out, it->props[k].value) == -1)
				return -1;
		}
	}
	return buf_append(out, "\r\n", 2);
}
