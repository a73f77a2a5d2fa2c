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

/* What EHLO/HELO accepts: 1..255 printable ASCII characters (no space,
 * control or 8-bit byte: RFC 5321 names are ASCII, and SMTPUTF8 is not
 * negotiated before EHLO). Bare words ("MyLaptop") and underscores pass:
 * real clients send them. */
int smtp_helo_is_acceptable(const char *helo);
/* An RFC 5321 Domain (LDH labels of 1..63 characters) or an address
 * literal ([192.0.2.1], [IPv6:2001:db8::1]). */
int smtp_helo_is_name(const char *helo);
/*
 * The "from" clause of a Received: field (RFC 5321 4.4), for a client at
 * ip (inet_ntop text) that said EHLO helo (NULL if none):
 * "NAME ([IP])" when helo is a name or an address literal, else
 * "[IP] (helo=TEXT)" where TEXT is helo with '(' ')' '\' quoted and any
 * byte outside printable ASCII as '?': nothing a client sends can end
 * the comment or the field, or put 8-bit bytes in a signed header.
 */
void smtp_trace_from(const char *helo, const char *ip, char *out, size_t len);

#endif
