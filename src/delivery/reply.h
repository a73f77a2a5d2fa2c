/*
 * reply: an SMTP server's reply as the outbound client reads it: one or
 * more lines "NNN-text" ending with "NNN text", all with the same code.
 */
#ifndef POSTERN_REPLY_H
#define POSTERN_REPLY_H

#include <stddef.h>

#define REPLY_TEXT_MAX 512  /* kept of the text, for logs and DSNs */
#define REPLY_LINES_MAX 64  /* lines in one reply (EHLO has ~15) */
#define REPLY_LINE_MAX 1000 /* RFC 5321 4.5.3.1.5: 512; be lenient */

struct reply {
	int code; /* 0 until complete */
	int nlines;
	char text[REPLY_TEXT_MAX]; /* lines joined by "\n", bounded */
	size_t textlen;
	unsigned ehlo;	    /* REPLY_EXT_* seen in an EHLO reply */
	long long size_max; /* SIZE n of an EHLO reply, 0 unknown */
};

#define REPLY_EXT_STARTTLS 0x01
#define REPLY_EXT_PIPELINING 0x02
#define REPLY_EXT_8BITMIME 0x04
#define REPLY_EXT_SMTPUTF8 0x08
#define REPLY_EXT_SIZE 0x10
#define REPLY_EXT_AUTH_PLAIN 0x20
#define REPLY_EXT_AUTH_LOGIN 0x40
#define REPLY_EXT_DSN 0x80
#define REPLY_EXT_REQUIRETLS 0x100

void reply_init(struct reply *);
/*
 * Feed one line (without CRLF). 1: the reply is complete; 0: more
 * lines follow; -1: malformed (bad code, codes differ, too many lines).
 */
int reply_line(struct reply *, const char *line, size_t len);

#endif
