/*
 * workers: one mutex-protected queue of jobs shared by the threads, and
 * per event loop a queue of finished jobs with an eventfd to wake it.
 * The loop drains all finished jobs at once, so a burst costs one wakeup.
 * A lane is the same machine with threads and a bounded queue of its
 * own, for work that costs CPU by design (argon2id): a burst of it waits
 * or is refused there, never in front of a session's store query.
 *
 * An idle worker waits on a semaphore of its own, on a stack: a job wakes
 * the worker that went idle last (its caches, and its SQLite page cache,
 * are the warm ones), with one futex call made after the queue's lock is
 * released, so the woken thread never blocks on that lock. A condition
 * variable woke whichever thread, under the lock, and cost about four
 * futex calls per job in the 20 x 1 benchmark (docs/PERFORMANCE.md).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "workers.h"

struct workers_loop {
	struct event_base *base;
	struct event *ev;
	int efd;
	pthread_mutex_t mu;
	struct worker_job *done_head, *done_tail;
};

struct worker {
	pthread_t thread;
	sem_t wake;
	struct workers_pool *p;
	int idx;
	int idle; /* on p->idle: under p->mu */
	struct worker *next_idle;
};

struct workers_pool {
	pthread_mutex_t mu;
	struct worker_job *head, *tail;
	struct worker *idle; /* a stack: the last to go idle on top */
	int stopping, n;
	int queued, queue_max; /* queue_max 0: unbounded (the shared pool) */
	int nice, first_idx;
	struct worker *w;
	struct workers_pool *next; /* lanes, in start order */
};

static struct workers_pool pool = { .mu = PTHREAD_MUTEX_INITIALIZER };
static void *(*pool_init)(int);
static void (*pool_fini)(void *);
static struct workers_pool *lanes;
static pthread_mutex_t lanes_mu = PTHREAD_MUTEX_INITIALIZER;

static void
workers_finish(struct worker_job *j)
{
	struct workers_loop *l = j->loop;
	uint64_t one = 1;
	int wake;

	j->next = NULL;
	pthread_mutex_lock(&l->mu);
	wake = l->done_head == NULL;
	if (l->done_tail)
		l->done_tail->next = j;
	else
		l->done_head = j;
	l->done_tail = j;
	pthread_mutex_unlock(&l->mu);
	if (wake && write(l->efd, &one, sizeof(one)) != sizeof(one))
		log_warnx("workers.wake error=%d", errno);
}

/* "worker N" or "lane N": what top -H and /proc/PID/task show */
static void
workers_name(const struct worker *w)
{
	char name[32];

	snprintf(name, sizeof(name), "%s %d",
	    w->p->queue_max > 0 ? "lane" : "worker", w->idx);
	name[15] = '\0'; /* a thread's name: 15 bytes */
	(void)pthread_setname_np(w->thread, name);
}

/* The idle worker on top of the stack, off it (under p->mu), or NULL. */
static struct worker *
workers_pop_idle(struct workers_pool *p)
{
	struct worker *w = p->idle;

	if (w != NULL) {
		p->idle = w->next_idle;
		w->idle = 0;
	}
	return w;
}

static void *
workers_main(void *arg)
{
	struct worker *w = arg;
	struct workers_pool *p = w->p;
	struct worker_job *j;
	void *ctx;

	/* a lane's threads yield the CPU to the loops and the shared pool
	 * (Linux: the nice value is per thread) */
	if (p->nice > 0 &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) == -1)
		log_warnx("workers.nice error=%d", errno);
	ctx = pool_init ? pool_init(w->idx) : NULL;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if ((j = p->head) != NULL) {
			p->head = j->next;
			if (p->head == NULL)
				p->tail = NULL;
			p->queued--;
			pthread_mutex_unlock(&p->mu);
			j->run(j, ctx);
			workers_finish(j);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->stopping)
			break;
		if (!w->idle) {
			w->idle = 1;
			w->next_idle = p->idle;
			p->idle = w;
		}
		pthread_mutex_unlock(&p->mu);
		while (sem_wait(&w->wake) == -1 && errno == EINTR)
			;
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	if (pool_fini)
		pool_fini(ctx);
	return NULL;
}

static int
workers_pool_start(struct workers_pool *p, int n)
{
	struct worker *w;
	int i;

	p->stopping = 0;
	if ((p->w = calloc((size_t)n, sizeof(*p->w))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		w = &p->w[i];
		w->p = p;
		w->idx = p->first_idx + i;
		if (sem_init(&w->wake, 0, 0) == -1)
			return -1;
		if (pthread_create(&w->thread, NULL, workers_main, w) != 0) {
			sem_destroy(&w->wake);
			return -1;
		}
		workers_name(w);
		p->n++;
	}
	return 0;
}

static void
workers_pool_stop(struct workers_pool *p)
{
	struct worker *w;
	int i;

	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	while ((w = workers_pop_idle(p)) != NULL)
		sem_post(&w->wake);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++) {
		pthread_join(p->w[i].thread, NULL);
		sem_destroy(&p->w[i].wake);
	}
	free(p->w);
	p->w = NULL;
	p->n = 0;
}

/* Queue j; -1 (j untouched) if the pool is bounded and full. */
static int
workers_pool_submit(struct workers_pool *p, struct workers_loop *l,
    struct worker_job *j)
{
	struct worker *w;

	pthread_mutex_lock(&p->mu);
	if (p->queue_max > 0 && p->queued >= p->queue_max) {
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	j->loop = l;
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	w = workers_pop_idle(p);
	pthread_mutex_unlock(&p->mu);
	if (w != NULL)
		sem_post(&w->wake);
	return 0;
}

int
workers_start(int n, void *(*init)(int), void (*fini)(void *))
{
	pool_init = init;
	pool_fini = fini;
	pool.first_idx = 0;
	return workers_pool_start(&pool, n);
}

void
workers_stop(void)
{
	struct workers_pool *p;

	workers_pool_stop(&pool);
	pthread_mutex_lock(&lanes_mu);
	while ((p = lanes) != NULL) {
		lanes = p->next;
		workers_pool_stop(p);
		pthread_mutex_destroy(&p->mu);
		free(p);
	}
	pthread_mutex_unlock(&lanes_mu);
}

struct workers_lane *
workers_lane_start(int threads, int queue_max, int nice)
{
	struct workers_pool *p, *q;
	int idx = pool.n;

	if (threads < 1 || queue_max < 1 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->queue_max = queue_max;
	p->nice = nice;
	pthread_mutex_lock(&lanes_mu);
	for (q = lanes; q; q = q->next)
		idx += q->n;
	p->first_idx = idx;
	if (workers_pool_start(p, threads) == -1) {
		pthread_mutex_unlock(&lanes_mu);
		workers_pool_stop(p);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	p->next = lanes;
	lanes = p;
	pthread_mutex_unlock(&lanes_mu);
	return (struct workers_lane *)p;
}

int
workers_lane_submit(struct workers_lane *lane, struct workers_loop *l,
    struct worker_job *j)
{
	return workers_pool_submit((struct workers_pool *)lane, l, j);
}

static void
workers_loop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workers_loop *l = arg;
	struct worker_job *j, *next;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warnx("workers.read error=%d", errno);
	pthread_mutex_lock(&l->mu);
	j = l->done_head;
	l->done_head = l->done_tail = NULL;
	pthread_mutex_unlock(&l->mu);
	for (; j; j = next) {
		next = j->next;
		j->done(j);
	}
}

struct workers_loop *
workers_loop_new(struct event_base *base)
{
	struct workers_loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->base = base;
	pthread_mutex_init(&l->mu, NULL);
	if ((l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (l->ev = event_new(base, l->efd, EV_READ | EV_PERSIST,
		 workers_loop_cb, l)) == NULL ||
	    event_add(l->ev, NULL) == -1) {
		if (l->efd != -1)
			close(l->efd);
		free(l);
		return NULL;
	}
	return l;
}

void
workers_loop_free(struct workers_loop *l)
{
	if (l == NULL)
		return;
	event_free(l->ev);
	close(l->efd);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void
workers_submit(struct workers_loop *l, struct worker_job *j)
{
	(void)workers_pool_submit(&pool, l, j); /* unbounded: never -1 */
}
