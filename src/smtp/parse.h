/*
 * parse: SMTP argument parsing shared by the session and the fuzzers.
 */
#ifndef POSTERN_PARSE_H
#define POSTERN_PARSE_H

#include <stddef.h>

/*
 * "FROM:<path> params" (prefix "FROM:" or "TO:", any case; one space
 * after the colon tolerated). A source route "@a,@b:" is dropped
 * (RFC 5321 C). The address goes to out (may be "" for <>), *rest
 * points at the parameters. Refuses control characters, 8-bit bytes
 * unless utf8, and anything over outlen. 0 or -1.
 */
int smtp_parse_path(char *arg, const char *prefix, char *out, size_t outlen,
    char **rest, int utf8);
/* A recipient: local@domain, the domain a valid name (no literals). */
int smtp_parse_rcpt(const char *addr, char *why, size_t whylen);
/* RFC 3461 xtext of 1..max printable characters. */
int smtp_parse_xtext_ok(const char *v, size_t max);

#endif
