/*
 * dict: where Dovecot learns each mailbox's quota and reports its usage.
 * postern serves Dovecot's dict protocol (dictproto.h) on a UNIX socket
 * (`[mailbox] dict_socket`), which Dovecot reaches through its "proxy"
 * dict client, with no process of its own in between:
 *
 *   - the userdb (`userdb { driver = dict }`, for IMAP logins and every
 *     LMTP delivery): shared/userdb/USER is answered with a JSON object
 *     of userdb fields, {"quota_rule":"*:storage=NB"} for a user with a
 *     mailbox quota, {} for one without, not found for no such user;
 *   - the quota plugin (`quota = dict:...:proxy:SOCKET:quota`):
 *     priv/quota/storage and priv/quota/messages are the usage postern
 *     keeps (store_mailbox.c); its transactions (set after a recount,
 *     atomic increments after a delivery or an expunge) write it.
 *
 * Every look-up and commit runs on a worker; the loop only reads lines
 * and answers them, one command at a time per connection, in order.
 */
#ifndef POSTERN_DICT_H
#define POSTERN_DICT_H

#include "../util/service.h"

extern const struct service dict_service;

#endif
