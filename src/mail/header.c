/*
 * header: a small RFC 5322 reader, enough for From: and the fields
 * RFC 6409 wants present. Bytes are hostile: every loop is bounded by
 * len, every copy by its destination.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "header.h"

static int
header_name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

void
header_scan(const char *msg, size_t len, struct header_info *hi)
{
	size_t i = 0;

	memset(hi, 0, sizeof(*hi));
	while (i < len) {
		size_t start = i, colon = 0, end, name_end;
		/* a blank line ends the header section */
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n') {
			hi->header_len = i + 2;
			return;
		}
		if (msg[i] == '\n') {
			hi->header_len = i + 1;
			return;
		}
		/* one field: up to a line end not followed by WSP */
		for (end = i; end < len; end++) {
			if (msg[end] == ':' && colon == 0)
				colon = end;
			if (msg[end] == '\n' &&
			    (end + 1 >= len ||
				(msg[end + 1] != ' ' && msg[end + 1] != '\t')))
				break;
		}
		i = end < len ? end + 1 : len;
		if (colon == 0 || colon == start)
			continue;
		/* "From :" is still From (RFC 5322 obsolete syntax) */
		name_end = colon;
		while (name_end > start + 1 &&
		       (msg[name_end - 1] == ' ' || msg[name_end - 1] == '\t'))
			name_end--;
		if (header_name_is(msg + start, name_end - start, "From")) {
			if (hi->from_count++ == 0) {
				hi->from = msg + colon + 1;
				hi->from_len = end - colon - 1;
			}
		} else if (header_name_is(msg + start, name_end - start,
			       "Date")) {
			hi->has_date = 1;
		} else if (header_name_is(msg + start, name_end - start,
			       "Message-ID")) {
			hi->has_msgid = 1;
		}
	}
	hi->header_len = len;
}

/* Trim spaces; copy into out unless empty. */
static int
header_emit(const char *s, size_t n, char (*out)[ADDR_MAX + 1], int max,
    int *count)
{
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if (*count >= max || n > ADDR_MAX)
		return -1;
	memcpy(out[*count], s, n);
	out[*count][n] = '\0';
	(*count)++;
	return 0;
}

int
header_addresses(const char *val, size_t len, char (*out)[ADDR_MAX + 1],
    int max, int *n)
{
	/* the current address, comments and folding removed */
	char cur[ADDR_MAX * 4 + 1], angle[ADDR_MAX + 1];
	size_t cl = 0, al = 0, i;
	int depth = 0, quoted = 0, in_angle = 0, have_angle = 0;

	*n = 0;
	for (i = 0; i < len; i++) {
		char c = val[i];
		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (quoted) {
			if (c == '\\' && i + 1 < len) {
				/* keep the escape: "a\"b"@x stays quoted */
				if (in_angle && al + 2 < sizeof(angle)) {
					angle[al++] = c;
					angle[al++] = val[i + 1];
				} else if (!in_angle && cl + 2 < sizeof(cur)) {
					cur[cl++] = c;
					cur[cl++] = val[i + 1];
				}
				i++;
				continue;
			}
			if (c == '"')
				quoted = 0;
		} else if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		} else if (c == '(') {
			if (++depth > 16)
				return -1;
			continue;
		} else if (c == '"') {
			quoted = 1;
		} else if (c == '<' && !in_angle) {
			if (have_angle)
				return -1;
			in_angle = 1;
			al = 0;
			continue;
		} else if (c == '>' && in_angle) {
			in_angle = 0;
			have_angle = 1;
			continue;
		} else if (!in_angle && (c == ',' || c == ';')) {
			if (have_angle) {
				if (header_emit(angle, al, out, max, n) == -1)
					return -1;
			} else if (header_emit(cur, cl, out, max, n) == -1)
				return -1;
			cl = al = 0;
			have_angle = 0;
			continue;
		} else if (!in_angle && c == ':') {
			cl = 0; /* a group's display name */
			continue;
		}
		if (in_angle) {
			if (al + 1 >= sizeof(angle))
				return -1;
			angle[al++] = c;
		} else if (have_angle) {
			/* only space or comments may follow <address> */
			if (!isspace((unsigned char)c))
				return -1;
		} else {
			if (cl + 1 >= sizeof(cur))
				return -1;
			cur[cl++] = c;
		}
	}
	if (quoted || depth || in_angle)
		return -1;
	if (have_angle)
		return header_emit(angle, al, out, max, n);
	return header_emit(cur, cl, out, max, n);
}
