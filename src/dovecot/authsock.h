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

#include "../util/service.h"

#define AUTHSOCK_LINE_MAX 4096

extern const struct service authsock_service;

#endif
