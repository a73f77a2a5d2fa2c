/*
 * route: where a recipient goes once postern holds mailboxes ([mailbox]
 * lmtp set): a user's mailbox (their own address, whatever name or alias
 * the recipient used), a hosted domain without such a user, or anywhere
 * else. Asked by the MX at RCPT, by the queue's load worker, and by
 * `queue list`; it reads the store, so never on a loop.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

#include <stddef.h>

struct store;

#define ROUTE_ERROR (-1) /* the store failed: try again later */
#define ROUTE_REMOTE 0	 /* not hosted: MX or smarthost */
#define ROUTE_MAILBOX 1	 /* a user's mailbox: LMTP */
#define ROUTE_NOUSER 2	 /* hosted domain, no such user: 5.1.1 */

/* ROUTE_MAILBOX fills mailbox with the user's own address (folded local
 * part, primary domain name). */
int route_rcpt(struct store *, const char *rcpt, char *mailbox, size_t len);

/* Quarantined mail: "user+FOLDER@domain", which Dovecot's LMTP saves in
 * that folder (recipient_delimiter = +, lmtp_save_to_detail_mailbox).
 * 0, or -1 if it does not fit. */
#define ROUTE_JUNK_FOLDER "Junk"
int route_folder(char *mailbox, size_t len, const char *folder);

#endif
