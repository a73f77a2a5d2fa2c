/*
 * pwlane: started at first use, so only a server that checks passwords
 * pays for its threads; it lives until workers_stop(), as the pool.
 * Sizing: argon2id (interactive limits) keeps one core busy for its
 * whole run, so more threads than cores only lengthen every check; a
 * queue of a few per thread keeps a waiting sign-in under a second or
 * two, and anything beyond that is refused at once rather than queued.
 */
#include <pthread.h>
#include <unistd.h>

#include "pwlane.h"
#include "../util/log.h"

static struct workers_lane *lane;
static pthread_once_t lane_once = PTHREAD_ONCE_INIT;

int
pwlane_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void
pwlane_start(void)
{
	long n = pwlane_threads();

	lane = workers_lane_start((int)n, (int)n * PWLANE_QUEUE_PER_THREAD,
	    PWLANE_NICE);
	if (lane == NULL)
		log_warnx("pwlane.start error=\"cannot start threads\"");
	else
		log_info("pwlane.start threads=%ld queue=%ld", n,
		    n * PWLANE_QUEUE_PER_THREAD);
}

int
pwlane_submit(struct workers_loop *l, struct worker_job *j)
{
	pthread_once(&lane_once, pwlane_start);
	if (lane == NULL)
		return -1;
	return workers_lane_submit(lane, l, j);
}
