/*
 * authlog: the authentication log written in batches. In the server,
 * store_auth_log() queues a copy of the event and returns; one writer
 * thread takes everything queued and inserts it in one transaction with
 * a store handle of its own, then lingers AUTHLOG_LINGER_MS for the
 * next batch to gather (a group commit: under load one transaction per
 * linger, not one per sign-in; every write makes each other store
 * handle re-read its pages). 10,000 clients logging in over 20 s cost a
 * few transactions a second, not one each from eight workers that wait
 * for SQLite's write lock.
 *
 * What a crash can lose: the batch being written and what queued behind
 * it (at most AUTHLOG_LINGER_MS of events, never more than
 * AUTHLOG_QUEUE_MAX); a clean stop writes everything.
 * A full queue is never dropped: the caller then writes its event
 * itself. Readers in the same process (store_auth_list) first wait for
 * what is queued, so the API and the panel always show every event;
 * another process (the CLI) may see an event one transaction late.
 * Without the writer (the CLI, unit tests) every event is written at
 * once, as before.
 */
#ifndef POSTERN_AUTHLOG_H
#define POSTERN_AUTHLOG_H

#define AUTHLOG_QUEUE_MAX 8192
#define AUTHLOG_LINGER_MS 20

struct store;
struct store_auth_event;

/* Start the writer on st (its own handle; closed by authlog_stop). */
int authlog_start(struct store *st);
/* Write what is queued, stop the writer, close its store. */
void authlog_stop(void);
/* Queue e (copied); -1 if there is no writer or no room: write it. */
int authlog_queue(const struct store_auth_event *e);
/* Wait until every event queued before this call is written. */
void authlog_sync(void);

#endif
