/*
 * nodesync: the thread that keeps this node in step with the others on
 * one store, once a second (see nodesync.c): quota counts, blocks,
 * failed logins, and this node's queue for the API.
 */
#ifndef POSTERN_NODESYNC_H
#define POSTERN_NODESYNC_H

#define NODESYNC_INTERVAL 1 /* seconds between passes */

struct store;

/* Start on st (its own handle; closed by nodesync_stop). */
int nodesync_start(struct store *st);
/* Stop the thread (a last pass is the caller's: guard_flush). */
void nodesync_stop(void);
/* 1 while other nodes share the store (one wrote its row within
 * NODESYNC_PEER_AGE seconds), or before the first pass could tell; 0 for
 * a node alone, whose quota counts need no exchange after [quota]
 * node_batch messages (session_mail.c). Any thread. */
#define NODESYNC_PEER_AGE 60
int nodesync_peers(void);

#endif
