/*
 * workers: a small pool of threads for what must not run on an event
 * loop: store queries, hashing, fsync. A job runs on some worker, then
 * its done() runs back on the loop that submitted it. A job carries ids,
 * not pointers into a session: the session may be gone when it returns.
 */
#ifndef POSTERN_WORKERS_H
#define POSTERN_WORKERS_H

#include <event2/event.h>

struct workers_loop;

struct worker_job {
	void (*run)(struct worker_job *, void *thread_ctx); /* on a worker */
	void (*done)(struct worker_job *);		    /* on the loop */
	void *owner; /* loop thread only: NULL'd if the owner goes away */
	struct workers_loop *loop;
	struct worker_job *next;
};

/* Start n threads; init(i) makes each thread's context (a store). */
int workers_start(int n, void *(*init)(int), void (*fini)(void *));
/* Stop after the queued jobs ran; their done() is not called. */
void workers_stop(void);
/* A loop's end of the pool: an eventfd that wakes the loop. */
struct workers_loop *workers_loop_new(struct event_base *);
void workers_loop_free(struct workers_loop *);
void workers_submit(struct workers_loop *, struct worker_job *);
/*
 * A lane: threads and a queue of their own for one kind of costly work
 * (argon2id), so a burst of it never waits in front of the shared pool's
 * jobs. Its threads get the pool's init/fini contexts and run at the
 * given nice value (lower priority than the loops). At most queue_max
 * jobs wait; workers_lane_submit() refuses more (-1, the job untouched).
 * Start after workers_start(); workers_stop() stops and frees lanes too.
 */
struct workers_lane;
struct workers_lane *workers_lane_start(int threads, int queue_max, int nice);
int workers_lane_submit(struct workers_lane *, struct workers_loop *,
    struct worker_job *);

#endif
