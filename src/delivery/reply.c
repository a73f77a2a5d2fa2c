/*
 * reply: the parser of replies from remote servers. Remote bytes are
 * hostile: the text kept is bounded and stripped of control characters
 * so it can go into a log line or a DSN as it is.
 */
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include "reply.h"

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
}

static void
reply_ehlo_keyword(struct reply *r, const char *t, size_t n)
{
	if (n >= 8 && strncasecmp(t, "STARTTLS", 8) == 0 && n == 8)
		r->ehlo |= REPLY_EXT_STARTTLS;
	else if (n == 10 && strncasecmp(t, "PIPELINING", 10) == 0)
		r->ehlo |= REPLY_EXT_PIPELINING;
	else if (n == 8 && strncasecmp(t, "8BITMIME", 8) == 0)
		r->ehlo |= REPLY_EXT_8BITMIME;
	else if (n == 8 && strncasecmp(t, "SMTPUTF8", 8) == 0)
		r->ehlo |= REPLY_EXT_SMTPUTF8;
	else if (n == 3 && strncasecmp(t, "DSN", 3) == 0)
		r->ehlo |= REPLY_EXT_DSN;
	else if (n == 10 && strncasecmp(t, "REQUIRETLS", 10) == 0)
		r->ehlo |= REPLY_EXT_REQUIRETLS;
	else if (n >= 4 && strncasecmp(t, "SIZE", 4) == 0 &&
		 (n == 4 || t[4] == ' ')) {
		r->ehlo |= REPLY_EXT_SIZE;
		if (n > 5) {
			char num[24];
			size_t l =
			    n - 5 < sizeof(num) - 1 ? n - 5 : sizeof(num) - 1;
			memcpy(num, t + 5, l);
			num[l] = '\0';
			r->size_max = strtoll(num, NULL, 10);
			if (r->size_max < 0)
				r->size_max = 0;
		}
	} else if (n > 5 && strncasecmp(t, "AUTH ", 5) == 0) {
		size_t i = 5;
		while (i < n) {
			size_t j = i;
			while (j < n && t[j] != ' ')
				j++;
			if (j - i == 5 && strncasecmp(t + i, "PLAIN", 5) == 0)
				r->ehlo |= REPLY_EXT_AUTH_PLAIN;
			if (j - i == 5 && strncasecmp(t + i, "LOGIN", 5) == 0)
				r->ehlo |= REPLY_EXT_AUTH_LOGIN;
			i = j + 1;
		}
	}
}

int
reply_line(struct reply *r, const char *line, size_t len)
{
	int code;
	size_t i;

	if (len < 3 || len > REPLY_LINE_MAX || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code)
		return -1;
	if (++r->nlines > REPLY_LINES_MAX)
		return -1;
	r->code = code;
	/* keep "NNN text" lines, joined, printable only */
	if (r->textlen > 0 && r->textlen + 1 < sizeof(r->text))
		r->text[r->textlen++] = ' ';
	for (i = 0; i < len && r->textlen + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)line[i];
		if (i == 3)
			c = ' ';
		r->text[r->textlen++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	r->text[r->textlen] = '\0';
	if (r->nlines > 1 && len > 4)
		reply_ehlo_keyword(r, line + 4, len - 4);
	if (len > 3 && line[3] == '-')
		return 0;
	return 1;
}
