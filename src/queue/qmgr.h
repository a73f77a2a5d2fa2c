/*
 * qmgr: the queue manager. It owns the messages in the spool: it loads
 * them at start, hears of new ones from the sessions, and delivers each
 * recipient (DKIM-signed) to its domain's mail hosts, a smarthost, or a
 * capture folder; temporary failures are retried with exponential
 * backoff, permanent ones and expired ones produce one DSN. It runs on
 * its own event loop thread; file work and signing run on the workers.
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <stddef.h>

struct spool_env;
struct store;

/* Start on its own thread; the config is conf_current(), a worker's
 * store (for the signing keys) store_thread(). */
int qmgr_start(void);
void qmgr_stop(void);
/* After the workers stopped: free what is left. */
void qmgr_free(void);
/* A message was just queued (any thread). */
void qmgr_notify(const char *id);
/* Look at the spool again and retry everything now (any thread). */
void qmgr_flush(void);
/* Tell fn (on a worker, with its thread context) how many recipients of
 * a message a login submitted were refused by their servers (5xx). */
void qmgr_on_refused(void (*fn)(void *thread_ctx, const char *login, int n));

/* route.c: where a recipient goes when [mailbox] lmtp is set (on a
 * worker, or in the CLI). QUEUE_ROUTE_MAILBOX fills mailbox with the
 * user's own address (folded local part, primary domain name). */
#define QUEUE_ROUTE_ERROR (-1) /* the store failed: try again later */
#define QUEUE_ROUTE_REMOTE 0   /* not hosted: MX or smarthost */
#define QUEUE_ROUTE_MAILBOX 1  /* a user's mailbox: LMTP */
#define QUEUE_ROUTE_NOUSER 2   /* hosted domain, no such user: 5.1.1 */
int queue_route(struct store *, const char *rcpt, char *mailbox, size_t len);
/* Quarantined mail: "user+FOLDER@domain", which Dovecot's LMTP saves in
 * that folder (recipient_delimiter = +, lmtp_save_to_detail_mailbox). */
#define QUEUE_JUNK_FOLDER "Junk"
int queue_route_folder(char *mailbox, size_t len, const char *folder);

/* sign.c: DKIM-sign a message for the domain of its From: (on a
 * worker), if the envelope allowed its sender that domain (hostname:
 * postern's own messages). Prepends DKIM-Signature fields to *msg
 * (realloc'd); a message whose From: domain has no key, or is not the
 * sender's, is left as it is. 0 or -1. */
int queue_sign(struct store *, const struct spool_env *, const char *hostname,
    char **msg, size_t *len);
/* A worker thread ends: free its cached keys. */
void queue_sign_thread_end(void);

#endif
