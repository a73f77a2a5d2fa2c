/*
 * pwlane: the lane for argon2id checks (panel sign-in now, IMAP logins
 * later). One thread per core at a lower priority and a short queue, on
 * the worker pool's machinery (util/workers.c) but never in its queue:
 * a burst of password checks waits here, or is refused, while AUTH,
 * relay checks and spool writes go on.
 */
#ifndef POSTERN_PWLANE_H
#define POSTERN_PWLANE_H

#include "../util/workers.h"

#define PWLANE_QUEUE_PER_THREAD 4 /* jobs waiting per thread, at most */
#define PWLANE_NICE 10

/* Loop thread: run j on the lane (started at first use, after the pool).
 * -1 when the lane is full or cannot start: answer "try again" (503). */
int pwlane_submit(struct workers_loop *, struct worker_job *);
/* How many threads the lane has once started (each with its own store
 * handle, as the pool's workers). */
int pwlane_threads(void);

#endif
