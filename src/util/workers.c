/*
 * workers: one mutex-protected queue of jobs shared by the threads, and
 * per event loop a queue of finished jobs with an eventfd to wake it.
 * The loop drains all finished jobs at once, so a burst costs one wakeup.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "workers.h"

struct workers_loop {
	struct event_base *base;
	struct event *ev;
	int efd;
	pthread_mutex_t mu;
	struct worker_job *done_head, *done_tail;
	int pending; /* submitted, done() not yet run; loop thread only */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct worker_job *head, *tail;
	int stopping, n;
	pthread_t *threads;
	void *(*init)(int);
	void (*fini)(void *);
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0,
	0, NULL, NULL, NULL };

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

static void *
workers_main(void *arg)
{
	int idx = (int)(intptr_t)arg;
	void *ctx = pool.init ? pool.init(idx) : NULL;
	struct worker_job *j;

	for (;;) {
		pthread_mutex_lock(&pool.mu);
		while (pool.head == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cv, &pool.mu);
		if (pool.head == NULL) {
			pthread_mutex_unlock(&pool.mu);
			break;
		}
		j = pool.head;
		pool.head = j->next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.mu);
		j->run(j, ctx);
		workers_finish(j);
	}
	if (pool.fini)
		pool.fini(ctx);
	return NULL;
}

int
workers_start(int n, void *(*init)(int), void (*fini)(void *))
{
	int i;

	pool.init = init;
	pool.fini = fini;
	pool.stopping = 0;
	if ((pool.threads = calloc((size_t)n, sizeof(pthread_t))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&pool.threads[i], NULL, workers_main,
			(void *)(intptr_t)i) != 0)
			return -1;
		pool.n++;
	}
	return 0;
}

void
workers_stop(void)
{
	int i;

	pthread_mutex_lock(&pool.mu);
	pool.stopping = 1;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	for (i = 0; i < pool.n; i++)
		pthread_join(pool.threads[i], NULL);
	free(pool.threads);
	pool.threads = NULL;
	pool.n = 0;
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
		l->pending--;
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
	j->loop = l;
	j->next = NULL;
	l->pending++;
	pthread_mutex_lock(&pool.mu);
	if (pool.tail)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
}

int
workers_loop_pending(struct workers_loop *l)
{
	return l->pending;
}
