/*
 * guard: abuse control as the server applies it: settings from the
 * config, an owner's limits resolved from the store, automatic blocks
 * and their notices, and the quota usage written to and read from the
 * store. Functions marked "worker" touch the store and never run on a
 * loop thread.
 */
#ifndef POSTERN_GUARD_H
#define POSTERN_GUARD_H

#include <stdint.h>

#include "server.h"
#include "../policy/bruteforce.h"
#include "../policy/quota.h"
#include "../util/conf.h"
#include "../util/workers.h"

struct store;

void guard_abuse_conf(const struct conf *, struct quota_abuse *);
void guard_bf_conf(const struct conf *, struct bf_conf *);
/* Stored quota (-1: not set) over the config's defaults. */
void guard_conf_limits(const struct conf *, const int64_t stored[QUOTA_N],
    int64_t lim[QUOTA_N]);
/* worker: resolve an owner's limits into the engine. */
int guard_limits(struct store *, const struct conf *, const struct quota_key *,
    int64_t now);
/* worker: block a user (1 if this call did, and sent the notices). */
int guard_block(struct store *, const struct conf *, const struct quota_key *,
    const char *login, const char *reason, int64_t now);
/* loop: the same, on a worker. */
void guard_block_submit(struct workers_loop *, const struct quota_key *,
    const char *login, const char *reason);
/* worker: n recipients of login's message were refused by their
 * servers (the queue's callback, qmgr_on_refused). */
void guard_refused(void *thread_ctx, const char *login, int n);
#define GUARD_REFUSED_REASON "a high share of refused recipients"
/* Changed usage added to the store's counters (behind the loops), the
 * totals back; and the whole of it at start. */
int guard_flush(struct store *);
int guard_load(struct store *, int64_t now);
/* The store answered at now (the sync thread, every second). */
void guard_store_seen(int64_t now);
/* Not for longer than [store] stale_after: 1. */
int guard_store_stale(int64_t now);
/* worker: one owner's counts exchanged with the store now (MAIL, once
 * this node accepted [quota] node_batch of its messages unseen). */
int guard_sync_owner(struct store *, const struct quota_key *);
/* What other nodes wrote after the numbers seen (moved on): usage, and
 * blocks set or lifted. */
int guard_pull(struct store *, int64_t *usage_seq, int64_t *block_seq,
    int64_t now);

#endif
