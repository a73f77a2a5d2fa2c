/*
 * route: where a recipient goes once postern holds mailboxes ([mailbox]
 * lmtp set): a user's mailbox (their own address, whatever name or alias
 * the recipient used), a hosted domain without such a user, or anywhere
 * else; or, at a hosted domain, an SRS address (SRS0=/SRS1=, any case):
 * a bounce to mail postern forwarded, relayed to the address it decodes
 * to. Asked by the MX at RCPT, by the queue's load worker, and by
 * `queue list`; it reads the store, so never on a loop.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

#include <stddef.h>
#include <time.h>

struct store;

#define ROUTE_ERROR (-1) /* the store failed: try again later */
#define ROUTE_REMOTE 0	 /* not hosted: MX or smarthost */
#define ROUTE_MAILBOX 1	 /* a user's mailbox: LMTP */
#define ROUTE_NOUSER 2	 /* hosted domain, no such user: 5.1.1 */
#define ROUTE_SRS 3	 /* our SRS address: remote, to mailbox (decoded) */
#define ROUTE_SRS_BAD 4	 /* SRS at a hosted domain, forged/malformed: 5.1.1 */
#define ROUTE_SRS_EXPIRED 5 /* SRS, older than [forward] srs_max_age: 5.1.1 */

/* ROUTE_MAILBOX fills mailbox with the user's own address (folded local
 * part, primary domain name); ROUTE_SRS with the address the bounce goes
 * to (an SRS0 address's original sender; an SRS1 address's first
 * forwarder's SRS0 address). An SRS address is judged by the server's
 * key (srs_key_current()) and its age now. */
int route_rcpt(struct store *, const char *rcpt, char *mailbox, size_t len);
/* The same, an SRS address's age taken at when (the queue: the time the
 * message was accepted, so a bounce accepted at the MX never expires
 * in the queue). */
int route_rcpt_at(struct store *, const char *rcpt, time_t when, char *mailbox,
    size_t len);

/* Quarantined mail: "user+FOLDER@domain", which Dovecot's LMTP saves in
 * that folder (recipient_delimiter = +, lmtp_save_to_detail_mailbox).
 * 0, or -1 if it does not fit. */
#define ROUTE_JUNK_FOLDER "Junk"
int route_folder(char *mailbox, size_t len, const char *folder);

#endif
