/*
 * authlog: batched writes of the authentication log (see authlog.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authlog.h"
#include "store.h"
#include "../mail/addr.h"
#include "../util/log.h"
#include "../util/str.h"

/* One event, copied: the caller's strings are gone when it is written. */
struct authlog_rec {
	int64_t time;
	char login[ADDR_MAX + 1];
	char ip[64];
	char mech[24];
	char kind[24];
	char outcome[16];
	char reason[128];
	unsigned nulls; /* bit i: field i was NULL */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake, written;
	pthread_t thread;
	struct store *st;
	int running, stopping;
	int lingering, syncing; /* the writer waits on purpose; a sync waits */
	struct authlog_rec *q;	/* AUTHLOG_QUEUE_MAX, a ring */
	size_t head, n;
	uint64_t queued, done; /* sequence numbers: queued and written */
} al = { .mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.written = PTHREAD_COND_INITIALIZER };

static void
authlog_copy(char *dst, size_t len, const char *src, unsigned bit,
    unsigned *nulls)
{
	if (src == NULL) {
		*nulls |= bit;
		dst[0] = '\0';
	} else {
		str_lcpy(dst, src, len);
	}
}

static const char *
authlog_field(const struct authlog_rec *r, const char *v, unsigned bit)
{
	return r->nulls & bit ? NULL : v;
}

static int
authlog_insert(struct store *st, const struct authlog_rec *r)
{
	struct store_auth_event e = { r->time, authlog_field(r, r->login, 1),
		authlog_field(r, r->ip, 2), authlog_field(r, r->mech, 4),
		authlog_field(r, r->kind, 8), authlog_field(r, r->outcome, 16),
		authlog_field(r, r->reason, 32), NULL };

	return store_auth_insert(st, &e);
}

/* One transaction for the batch; if it fails, each event alone, so one
 * bad row costs only itself. -1 when not even the first event alone
 * could be written: the store is away, and the batch is kept for the
 * next try (nothing was written). */
static int
authlog_write(struct store *st, const struct authlog_rec *b, size_t n)
{
	size_t i;

	if (store_begin(st) == 0) {
		for (i = 0; i < n && authlog_insert(st, &b[i]) == 0; i++)
			;
		if (i == n && store_commit(st) == 0)
			return 0;
		store_rollback(st);
	}
	if (n > 0 && authlog_insert(st, &b[0]) != 0) {
		log_warnx("auth.log error=\"%s\" kept=%zu", store_errmsg(st),
		    n);
		return -1;
	}
	log_warnx("auth.log error=\"%s\" retry=one_by_one", store_errmsg(st));
	for (i = 1; i < n; i++)
		if (authlog_insert(st, &b[i]) != 0)
			log_warnx("auth.log error=\"%s\"", store_errmsg(st));
	return 0;
}

/* Put a batch the store did not take back in front of the queue, as
 * much as fits; under the lock. What does not fit is lost (and said). */
static void
authlog_requeue(const struct authlog_rec *b, size_t n)
{
	size_t room = AUTHLOG_QUEUE_MAX - al.n, k = n < room ? n : room, i;

	for (i = 0; i < k; i++) {
		al.head = (al.head + AUTHLOG_QUEUE_MAX - 1) % AUTHLOG_QUEUE_MAX;
		al.q[al.head] = b[k - 1 - i];
	}
	al.n += k;
	if (k < n)
		log_warnx("auth.log error=\"queue full\" lost=%zu", n - k);
}

static void authlog_pause(long ms);

static void
authlog_linger(void)
{
	authlog_pause(AUTHLOG_LINGER_MS);
}

static void
authlog_pause(long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	al.lingering = 1;
	while (!al.stopping && !al.syncing &&
	       pthread_cond_timedwait(&al.wake, &al.mu, &until) != ETIMEDOUT)
		;
	al.lingering = 0;
}

static void *
authlog_main(void *arg)
{
	struct authlog_rec *batch = malloc(sizeof(*batch) * AUTHLOG_QUEUE_MAX);
	size_t n;
	uint64_t upto;
	int away;

	(void)arg;
	if (batch == NULL)
		fatal("auth.log error=\"out of memory\"");
	pthread_mutex_lock(&al.mu);
	for (;;) {
		while (al.n == 0 && !al.stopping)
			pthread_cond_wait(&al.wake, &al.mu);
		if (al.n == 0 && al.stopping)
			break;
		for (n = 0; n < al.n; n++)
			batch[n] = al.q[(al.head + n) % AUTHLOG_QUEUE_MAX];
		al.head = (al.head + n) % AUTHLOG_QUEUE_MAX;
		al.n = 0;
		upto = al.queued;
		pthread_mutex_unlock(&al.mu);
		away = authlog_write(al.st, batch, n) == -1;
		pthread_mutex_lock(&al.mu);
		if (away && !al.stopping) {
			/* kept, and tried again after a second: a sync
			 * does not wait for a store that is away */
			authlog_requeue(batch, n);
			al.done = al.queued - al.n;
			pthread_cond_broadcast(&al.written);
			authlog_pause(1000);
			continue;
		}
		if (away)
			log_warnx("auth.log error=\"stopping\" lost=%zu", n);
		al.done = upto;
		pthread_cond_broadcast(&al.written);
		/* Let the next batch gather: an event queued meanwhile wakes
		 * nobody, and the other store handles re-read their pages
		 * once per batch, not once per sign-in. A sync or a stop cuts
		 * the wait short. */
		authlog_linger();
	}
	al.done = al.queued;
	pthread_cond_broadcast(&al.written);
	pthread_mutex_unlock(&al.mu);
	free(batch);
	return NULL;
}

int
authlog_start(struct store *st)
{
	pthread_condattr_t ca;

	if ((al.q = calloc(AUTHLOG_QUEUE_MAX, sizeof(*al.q))) == NULL)
		return -1;
	/* the linger is timed on the monotonic clock: a clock step never
	 * stretches it */
	pthread_cond_destroy(&al.wake);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&al.wake, &ca);
	pthread_condattr_destroy(&ca);
	al.st = st;
	al.head = al.n = 0;
	al.queued = al.done = 0;
	al.stopping = 0;
	if (pthread_create(&al.thread, NULL, authlog_main, NULL) == 0)
		(void)pthread_setname_np(al.thread, "authlog");
	else {
		free(al.q);
		al.q = NULL;
		return -1;
	}
	pthread_mutex_lock(&al.mu);
	al.running = 1;
	pthread_mutex_unlock(&al.mu);
	return 0;
}

void
authlog_stop(void)
{
	pthread_mutex_lock(&al.mu);
	if (!al.running) {
		pthread_mutex_unlock(&al.mu);
		return;
	}
	al.running = 0; /* from now on, callers write their own */
	al.stopping = 1;
	pthread_cond_signal(&al.wake);
	pthread_mutex_unlock(&al.mu);
	pthread_join(al.thread, NULL);
	store_close(al.st);
	al.st = NULL;
	free(al.q);
	al.q = NULL;
}

int
authlog_queue(const struct store_auth_event *e)
{
	struct authlog_rec *r;

	pthread_mutex_lock(&al.mu);
	if (!al.running || al.n >= AUTHLOG_QUEUE_MAX) {
		pthread_mutex_unlock(&al.mu);
		return -1;
	}
	r = &al.q[(al.head + al.n) % AUTHLOG_QUEUE_MAX];
	memset(r, 0, sizeof(*r));
	r->time = e->time;
	authlog_copy(r->login, sizeof(r->login), e->login, 1, &r->nulls);
	authlog_copy(r->ip, sizeof(r->ip), e->ip, 2, &r->nulls);
	authlog_copy(r->mech, sizeof(r->mech), e->mech, 4, &r->nulls);
	authlog_copy(r->kind, sizeof(r->kind), e->kind, 8, &r->nulls);
	authlog_copy(r->outcome, sizeof(r->outcome), e->outcome, 16, &r->nulls);
	authlog_copy(r->reason, sizeof(r->reason), e->reason, 32, &r->nulls);
	al.n++;
	al.queued++;
	if (al.n == 1 && !al.lingering)
		pthread_cond_signal(&al.wake);
	pthread_mutex_unlock(&al.mu);
	return 0;
}

void
authlog_sync(void)
{
	uint64_t want;

	pthread_mutex_lock(&al.mu);
	want = al.queued;
	if (al.running && al.done < want) {
		al.syncing++;
		pthread_cond_signal(&al.wake);
		struct timespec until;
		/* not forever: while the store is away the writer keeps
		 * what it could not write, and a reader will fail anyway */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		while (al.done < want && pthread_cond_timedwait(&al.written,
					     &al.mu, &until) != ETIMEDOUT)
			;
		al.syncing--;
	}
	pthread_mutex_unlock(&al.mu);
}
