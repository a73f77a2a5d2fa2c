/*
 * authsock: where Dovecot asks postern who may open a mailbox. A UNIX
 * socket (`[mailbox] auth_socket`), one question per connection, asked by
 * `postern dovecot-auth`, the checkpassword program Dovecot runs for each
 * IMAP login (dovecot/checkpw.c):
 *
 *     AUTH <service> <client address> <login, base64> <password, base64>
 *
 * answered "OK <the user's address, base64>", "FAIL" or "TEMP" (each
 * line ends in LF). The answer comes from auth/mailbox_login.c on the
 * password lane; failures count in the login password's failure counters
 * (policy/bruteforce, bf_login, shared with the panel), keyed by the IMAP
 * client's address, as Dovecot saw it.
 */
#ifndef POSTERN_AUTHSOCK_H
#define POSTERN_AUTHSOCK_H

#include "../auth/mailbox_login.h"
#include "../mail/addr.h"
#include "../util/net.h"
#include "../util/service.h"

#define AUTHSOCK_LINE_MAX 4096

/* One question, read (question.c). */
struct authsock_question {
	char service[16]; /* imap, pop3, ...: [a-z0-9-] */
	char ip[NET_IP_MAX], ipkey[NET_IPKEY_MAX];
	char login[ADDR_MAX + 1];
	char password[MAILBOX_PASSWORD_MAX + 1];
};

/* Parse a question line (no LF) in place; v6_prefix as [limits]
 * ipv6_prefix. 0, or -1 when it is not exactly one well-formed question:
 * five fields, a known word, an address, non-empty base64 without NULs. */
int authsock_question_parse(char *line, int v6_prefix,
    struct authsock_question *);

extern const struct service authsock_service;

#endif
