/* test_workers: a lane is bounded and never waits behind the pool. */
#include <pthread.h>
#include <unistd.h>

#include <event2/event.h>

#include "unit.h"
#include "util/workers.h"

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, ran, done;

static void
job_wait(struct worker_job *j, void *ctx)
{
	(void)j;
	(void)ctx;
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	ran++;
	pthread_mutex_unlock(&gate_mu);
}

static void
job_quick(struct worker_job *j, void *ctx)
{
	(void)j;
	(void)ctx;
	pthread_mutex_lock(&gate_mu);
	ran++;
	pthread_mutex_unlock(&gate_mu);
}

static void
job_done(struct worker_job *j)
{
	(void)j;
	done++;
}

/* Run the loop until n jobs came back, or about two seconds passed. */
static void
loop_until(struct event_base *base, int n)
{
	int i;

	for (i = 0; i < 200 && done < n; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
}

UNIT_TEST(test_a_full_lane_refuses_and_the_pool_goes_on_meanwhile)
{
	struct event_base *base = event_base_new();
	struct workers_loop *l = workers_loop_new(base);
	struct worker_job lane_jobs[4], pool_job;
	struct workers_lane *lane;
	int i, taken = 0;

	gate_open = ran = done = 0;
	CHECK(workers_start(1, NULL, NULL) == 0);
	lane = workers_lane_start(1, 2, 10);
	CHECK(lane != NULL);
	memset(lane_jobs, 0, sizeof(lane_jobs));
	/* one running (held at the gate), two waiting, the fourth refused */
	for (i = 0; i < 4; i++) {
		lane_jobs[i].run = job_wait;
		lane_jobs[i].done = job_done;
		if (workers_lane_submit(lane, l, &lane_jobs[i]) == 0)
			taken++;
		usleep(20000); /* the first is picked up before the next */
	}
	CHECK(taken == 3);
	/* the shared pool is not behind the lane's stuck jobs */
	memset(&pool_job, 0, sizeof(pool_job));
	pool_job.run = job_quick;
	pool_job.done = job_done;
	workers_submit(l, &pool_job);
	loop_until(base, 1);
	CHECK(done == 1);
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	loop_until(base, 4);
	CHECK(done == 4 && ran == 4);
	/* room again once the queue drained */
	CHECK(workers_lane_submit(lane, l, &lane_jobs[0]) == 0);
	loop_until(base, 5);
	CHECK(done == 5);
	workers_stop();
	workers_loop_free(l);
	event_base_free(base);
}
