/*
 * The store handle of the calling thread: each worker thread (and the
 * main thread) opens its own connection at start and sets it here, so a
 * job finds its store without a context handed through every call.
 */
#ifndef POSTERN_STORE_THREAD_H
#define POSTERN_STORE_THREAD_H

struct store;

struct store *store_thread(void);
void store_thread_set(struct store *);

#endif
