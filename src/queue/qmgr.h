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
#include <stdint.h>

#include "../policy/route.h"

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
/* Messages in the queue and being attempted now (any thread). */
void qmgr_stats(int64_t *queued, int64_t *inflight);
/* Tell fn (on a worker, with its thread context) how many recipients of
 * a message a login submitted were refused by their servers (5xx). */
void qmgr_on_refused(void (*fn)(void *thread_ctx, const char *login, int n));

/* sign.c: DKIM-sign a message for the domain of its From: (on a
 * worker), if the envelope allowed its sender that domain (hostname:
 * postern's own messages). Prepends DKIM-Signature fields to *msg
 * (realloc'd); a message whose From: domain has no key, or is not the
 * sender's, is left as it is. 0 or -1. */
int queue_sign(struct store *, const struct spool_env *, const char *hostname,
    char **msg, size_t *len);
/* The RSA key that seals a forwarded copy's ARC set for domain (the
 * worker's cached copy: not to be freed); NULL if it has none. */
struct dkim_key *queue_arc_key(struct store *, const char *domain);
/* A worker thread ends: free its cached keys. */
void queue_sign_thread_end(void);

#endif
