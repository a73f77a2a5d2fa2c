/*
 * workers: one mutex-protected queue of jobs shared by the threads, and
 * per event loop a queue of finished jobs with an eventfd to wake it.
 * The loop drains all finished jobs at once, so a burst costs one wakeup.
 * A lane is the same machine with threads and a bounded queue of its
 * own, for work that costs CPU by design (argon2id): a burst of it waits
 * or is refused there, never in front of a session's store query.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
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

struct workers_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct worker_job *head, *tail;
	int stopping, n;
	int queued, queue_max; /* queue_max 0: unbounded (the shared pool) */
	int nice, first_idx;
	pthread_t *threads;
	struct workers_pool *next; /* lanes, in start order */
};

static struct workers_pool pool = { PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL };
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

struct workers_arg {
	struct workers_pool *p;
	int idx;
};

static void *
workers_main(void *arg)
{
	struct workers_arg wa = *(struct workers_arg *)arg;
	struct workers_pool *p = wa.p;
	struct worker_job *j;
	void *ctx;

	free(arg);
	/* a lane's threads yield the CPU to the loops and the shared pool
	 * (Linux: the nice value is per thread) */
	if (p->nice > 0 &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), p->nice) == -1)
		log_warnx("workers.nice error=%d", errno);
	ctx = pool_init ? pool_init(wa.idx) : NULL;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->mu);
		j->run(j, ctx);
		workers_finish(j);
	}
	if (pool_fini)
		pool_fini(ctx);
	return NULL;
}

static int
workers_pool_start(struct workers_pool *p, int n)
{
	struct workers_arg *wa;
	int i;

	p->stopping = 0;
	if ((p->threads = calloc((size_t)n, sizeof(pthread_t))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((wa = malloc(sizeof(*wa))) == NULL)
			return -1;
		wa->p = p;
		wa->idx = p->first_idx + i;
		if (pthread_create(&p->threads[i], NULL, workers_main, wa) !=
		    0) {
			free(wa);
			return -1;
		}
		p->n++;
	}
	return 0;
}

static void
workers_pool_stop(struct workers_pool *p)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->n = 0;
}

/* Queue j; -1 (j untouched) if the pool is bounded and full. */
static int
workers_pool_submit(struct workers_pool *p, struct workers_loop *l,
    struct worker_job *j)
{
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
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
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
		pthread_cond_destroy(&p->cv);
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
	pthread_cond_init(&p->cv, NULL);
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
		pthread_cond_destroy(&p->cv);
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
