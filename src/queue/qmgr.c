/*
 * qmgr: the queue manager's loop. A message in memory is a struct qmsg
 * (about a hundred bytes) in the schedule (schedule.c: an index by id
 * and a heap by next attempt); one timer is armed for the earliest, and
 * each event costs O(log n): nothing walks the whole queue but a flush.
 * Attempts are in attempt.c, destinations in destinations.c, capture
 * mode in capture.c. A recipient is finished (delivered or bounced) only
 * once that is written to ID.state, and a bounce is in the spool before
 * its recipients are marked: a crash can cause a duplicate, never a loss.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "qmgr_int.h"
#include "../tlspolicy/tlsrpt.h"
#include "../util/log.h"
#include "../util/str.h"

struct qmgr q;

/* What qmgr_stats() tells other threads: written on the queue's loop. */
static _Atomic int64_t qmgr_nqueued, qmgr_ninflight;

void
qmgr_stats(int64_t *queued, int64_t *inflight)
{
	*queued = atomic_load(&qmgr_nqueued);
	*inflight = atomic_load(&qmgr_ninflight);
}

void
qmgr_inflight_begin(void)
{
	atomic_fetch_add(&qmgr_ninflight, 1);
}

int64_t
qmgr_now(void)
{
	return (int64_t)time(NULL);
}

const struct conf *
qmgr_conf(void)
{
	return conf_current();
}

int64_t
qmgr_backoff(int attempts)
{
	int64_t d = qmgr_conf()->retry_first;
	int64_t max = qmgr_conf()->retry_max_interval;
	int i;

	for (i = 1; i < attempts && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

/* The message of this id, added (due at when) if it is new; NULL only
 * when out of memory. */
struct qmsg *
qmsg_add(const char *id, int64_t when)
{
	struct qsched_node *n;
	struct qmsg *m;

	if ((n = qsched_find(&q.sched, id)) != NULL)
		return (struct qmsg *)n;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	str_lcpy(m->node.id, id, sizeof(m->node.id));
	/* until it is loaded, the id's own time says when it came */
	m->time = spool_id_time(id);
	if (qsched_insert(&q.sched, &m->node) == -1) {
		free(m);
		return NULL;
	}
	atomic_store(&qmgr_nqueued, (int64_t)q.sched.count);
	qsched_set(&q.sched, &m->node, when);
	return m;
}

void
qmsg_free(struct qmsg *m)
{
	qmsg_unpark(m);
	qsched_remove(&q.sched, &m->node);
	atomic_store(&qmgr_nqueued, (int64_t)q.sched.count);
	qmsg_unload(m);
	free(m->dests);
	free(m);
}

static void qmgr_arm(void);

void
qmsg_schedule(struct qmsg *m, int64_t when)
{
	qsched_set(&q.sched, &m->node, when);
	/* the new earliest: the one timer moves to it */
	if (qsched_top(&q.sched) == &m->node && q.timer != NULL)
		qmgr_arm();
}

/* One timer, for the earliest message. */
static void
qmgr_arm(void)
{
	struct qsched_node *n = qsched_top(&q.sched);
	int64_t now = qmgr_now();
	struct timeval tv = { 0, 0 };

	if (n == NULL || q.stopping) {
		evtimer_del(q.timer);
		return;
	}
	/* due now but no room: the end of an attempt runs the next pass */
	if (n->when <= now && q.inflight >= QMGR_INFLIGHT_MAX) {
		evtimer_del(q.timer);
		return;
	}
	tv.tv_sec = n->when > now ? (time_t)(n->when - now) : 0;
	evtimer_add(q.timer, &tv);
}

/* Every way an attempt ends comes here: at the limit, qmgr_arm() left
 * the timer off, so the next pass must be asked for. */
void
qmgr_inflight_end(void)
{
	struct timeval now = { 0, 0 };

	atomic_fetch_sub(&qmgr_ninflight, 1);
	if (q.inflight-- >= QMGR_INFLIGHT_MAX && !q.stopping)
		evtimer_add(q.timer, &now);
}

void
qmgr_pass(void)
{
	struct qsched_node *n;
	int64_t now = qmgr_now();

	int turns = 0;

	while (!q.stopping && q.inflight < QMGR_INFLIGHT_MAX &&
	       (n = qsched_top(&q.sched)) != NULL && n->when <= now) {
		/* a million due at a start: the loop breathes between
		 * batches (attempts end, connections answer) */
		if (++turns > QMGR_PASS_MAX) {
			struct timeval tv = { 0, 0 };
			evtimer_add(q.timer, &tv);
			return;
		}
		qsched_unset(&q.sched, n);
		/* started, or put back later: never due again at once */
		qmsg_start((struct qmsg *)n);
	}
	qmgr_arm();
}

static int
qmgr_add_id(const char *id, void *arg)
{
	int64_t *now = arg;

	if (qmsg_add(id, *now) == NULL) {
		log_warnx("queue.add queue=%s error=\"out of memory\"", id);
		return -1;
	}
	return 0;
}

static void
qmgr_take_incoming(void)
{
	char(*ids)[SPOOL_ID_LEN + 1];
	size_t i, n;
	int flush;
	int64_t now = qmgr_now();

	pthread_mutex_lock(&q.mu);
	ids = q.incoming;
	n = q.nincoming;
	q.incoming = NULL;
	q.nincoming = q.capincoming = 0;
	flush = q.flush;
	q.flush = 0;
	pthread_mutex_unlock(&q.mu);
	for (i = 0; i < n; i++)
		(void)qmgr_add_id(ids[i], &now);
	free(ids);
	if (flush) {
		struct qsched_node **all;
		size_t k, cnt;
		/* the operator's "now": destinations are tried again too */
		dest_reset_all();
		(void)spool_each_id(qmgr_add_id, &now);
		/* reschedule what is waiting (not what is in an attempt) */
		cnt = q.sched.nheap;
		if ((all = malloc(sizeof(*all) * (cnt ? cnt : 1))) != NULL) {
			memcpy(all, q.sched.heap, sizeof(*all) * cnt);
			for (k = 0; k < cnt; k++)
				qsched_set(&q.sched, all[k], now);
			free(all);
		}
	}
}

static void
qmgr_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	qmgr_take_incoming();
	qmgr_pass();
}

static void
qmgr_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	qmgr_pass();
}

static void
qmgr_wake(void)
{
	uint64_t one = 1;

	if (write(q.efd, &one, sizeof(one)) < 0)
		log_warnx("queue.wake error=\"%s\"", strerror(errno));
}

void
qmgr_notify(const char *id)
{
	pthread_mutex_lock(&q.mu);
	if (q.nincoming == q.capincoming) {
		size_t cap = q.capincoming ? q.capincoming * 2 : 64;
		void *p = realloc(q.incoming, cap * sizeof(*q.incoming));
		if (p == NULL) {
			/* not lost: a rescan of the spool finds it */
			q.flush = 1;
			pthread_mutex_unlock(&q.mu);
			qmgr_wake();
			return;
		}
		q.incoming = p;
		q.capincoming = cap;
	}
	str_lcpy(q.incoming[q.nincoming++], id, SPOOL_ID_LEN + 1);
	pthread_mutex_unlock(&q.mu);
	qmgr_wake();
}

void
qmgr_flush(void)
{
	pthread_mutex_lock(&q.mu);
	q.flush = 1;
	pthread_mutex_unlock(&q.mu);
	qmgr_wake();
}

static void *
qmgr_main(void *arg)
{
	(void)arg;
	event_base_dispatch(q.base);
	return NULL;
}

static const char *const qmgr_modes[] = { "mx", "smarthost", "capture" };

int
qmgr_start(void)
{
	const struct conf *cf = conf_current();
	char err[256];
	int64_t now = qmgr_now();
	int n;
	void (*refused)(void *, const char *, int) = q.refused_fn;

	memset(&q, 0, sizeof(q));
	q.refused_fn = refused; /* set before the start */
	pthread_mutex_init(&q.mu, NULL);
	if (qsched_init(&q.sched) == -1 ||
	    (q.base = event_base_new()) == NULL || dest_init() == -1 ||
	    (q.wl = workers_loop_new(q.base)) == NULL)
		return -1;
	if ((q.res = resolver_new(q.base, cf->dns_servers, err, sizeof(err))) ==
	    NULL) {
		log_warnx("queue.start dns=\"%s\" error=\"%s\"",
		    cf->dns_servers, err);
		return -1;
	}
	/* TLS reports: without them, mail still goes */
	if (tlsrpt_start(q.base, resolver_dnsq(q.res), q.wl) == -1)
		log_warnx("queue.start error=\"TLS reports off\"");
	if ((q.tls = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	/* opportunistic TLS (RFC 3207): encrypt whenever offered */
	SSL_CTX_set_verify(q.tls, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(q.tls, SSL_MODE_RELEASE_BUFFERS);
	if (dest_smarthost_setup(cf) == -1 || dest_lmtp_setup(cf) == -1 ||
	    dest_tlspol_setup(cf) == -1)
		return -1;
	if ((q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	if ((q.wake = event_new(q.base, q.efd, EV_READ | EV_PERSIST,
		 qmgr_wake_cb, NULL)) == NULL ||
	    (q.timer = evtimer_new(q.base, qmgr_timer_cb, NULL)) == NULL ||
	    event_add(q.wake, NULL) == -1)
		return -1;
	/* every queued message is due at once after a start */
	if ((n = spool_each_id(qmgr_add_id, &now)) == -1)
		log_warnx("queue.start error=\"cannot read the spool: %s\"",
		    strerror(errno));
	log_info("queue.start messages=%zu mode=%s mailboxes=%s", q.sched.count,
	    qmgr_modes[cf->delivery_mode],
	    q.lmtp_key[0] && cf->delivery_mode != CONF_DELIVERY_CAPTURE
		? q.lmtp_key
		: "-");
	qmgr_pass();
	if (pthread_create(&q.thread, NULL, qmgr_main, NULL) != 0)
		return -1;
	(void)pthread_setname_np(q.thread, "queue");
	return 0;
}

static void
qmgr_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(q.base, NULL);
}

void
qmgr_stop(void)
{
	if (q.base == NULL)
		return;
	q.stopping = 1;
	event_base_once(q.base, -1, EV_TIMEOUT, qmgr_stop_cb, NULL, NULL);
	qmgr_wake();
	pthread_join(q.thread, NULL);
}

/* After the workers stopped: free what is left (no callbacks run). */
void
qmgr_free(void)
{
	size_t i;

	if (q.base == NULL)
		return;
	event_base_loop(q.base, EVLOOP_NONBLOCK);
	/* every message is in the index: free them bucket by bucket, then
	 * the destinations they may be parked on */
	for (i = 0; i < q.sched.nbuckets; i++) {
		struct qsched_node *n;
		while ((n = q.sched.buckets[i]) != NULL)
			qmsg_free((struct qmsg *)n);
	}
	qsched_free(&q.sched);
	dest_free_all();
	forward_rate_free();
	tlspol_ctx_free(q.tlspol);
	q.tlspol = NULL;
	tlsrpt_stop(); /* the last counts to disk */
	resolver_free(q.res);
	event_free(q.wake);
	event_free(q.timer);
	close(q.efd);
	workers_loop_free(q.wl);
	event_base_free(q.base);
	SSL_CTX_free(q.tls);
	SSL_CTX_free(q.smarthost_tls);
	q.smarthost_tls = NULL;
	SSL_CTX_free(q.verify_tls);
	q.verify_tls = NULL;
	free(q.incoming);
	q.incoming = NULL;
	q.base = NULL;
}
