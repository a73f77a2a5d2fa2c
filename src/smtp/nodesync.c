/*
 * nodesync: what ties several nodes on one store together, on a thread
 * of its own with a store handle of its own, once a second and never on
 * a loop: this node's quota counts added to the shared counters and the
 * totals back (guard_flush), what the others wrote since (usage, blocks
 * set or lifted: guard_pull), failed logins exchanged (bruteforce.c),
 * and every NODESYNC_PUBLISH seconds this node's queue in node_status
 * for the API. Each pass that reaches the store says so
 * (guard_store_seen); a node that cannot for [store] stale_after refuses
 * new mail (session_mail.c). One node alone runs the same passes: its
 * numbers simply are all of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "guard.h"
#include "nodesync.h"
#include "../queue/qmgr.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/log.h"

#define NODESYNC_PUBLISH 2 /* seconds between queue summaries */

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int running, stopping;
	struct store *st;
	int64_t usage_seq, block_seq, bf_seq;
	int64_t started, published, pruned;
	int lost; /* the last pass failed: said once, and when it is back */
	int peers_told;
} ns = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* other nodes seen (nodesync_peers); 1 until a pass has looked */
static atomic_int ns_peers = 1;

int
nodesync_peers(void)
{
	return atomic_load(&ns_peers);
}

struct nodesync_bf {
	struct store *st;
	const struct bf_conf *c;
	int tab;
	int64_t now, seq;
	int64_t refuse_after; /* addresses' */
};

static void
nodesync_hex(const unsigned char *id, char *out)
{
	sodium_bin2hex(out, BF_ID_LEN * 2 + 1, id, BF_ID_LEN);
}

static int
nodesync_bf_put(void *arg, int kind, const unsigned char *id,
    const unsigned char *link_id, int64_t pend, int64_t last, int64_t *fails,
    int64_t *flast, int64_t *refused)
{
	struct nodesync_bf *b = arg;
	char hex[BF_ID_LEN * 2 + 1], lhex[BF_ID_LEN * 2 + 1];
	struct store_bf_row r;

	if (b->seq == 0) {
		if (store_begin(b->st) == -1)
			return -1;
		if ((b->seq = store_seq_next(b->st, "bf")) < 0) {
			b->seq = -1;
			return -1;
		}
	}
	nodesync_hex(id, hex);
	if (link_id)
		nodesync_hex(link_id, lhex);
	if (store_bf_add(b->st, b->tab, kind, hex, link_id ? lhex : NULL, pend,
		last, b->now - b->c->window, b->now,
		kind == 0 ? b->refuse_after : 0, b->c->refuse_time, b->seq,
		&r) != 0)
		return -1;
	*fails = r.fails;
	*flast = r.last_fail;
	*refused = r.refused_until;
	return 0;
}

/* One table's failures out, in one transaction. */
static int
nodesync_bf_table(struct bf_table *t, int tab, const struct bf_conf *c,
    int64_t now)
{
	struct nodesync_bf b = { ns.st, c, tab, now, 0,
		c->ip_refuse_after == INT64_MAX ? 0 : c->ip_refuse_after };
	int rc = bf_exchange(t, c, now, nodesync_bf_put, &b);

	if (b.seq > 0) {
		if (rc == 0 && store_commit(ns.st) == 0)
			return 0;
		store_rollback(ns.st);
		return -1;
	}
	if (b.seq < 0)
		store_rollback(ns.st);
	return rc;
}

static int
nodesync_bf(const struct conf *conf, int64_t now)
{
	struct bf_conf smtp, login;
	struct store_bf_rows rows;
	unsigned char id[BF_ID_LEN], link[BF_ID_LEN];
	size_t i, len;

	guard_bf_conf(conf, &smtp);
	bf_login_conf(conf, &login);
	if (nodesync_bf_table(bf_smtp, 0, &smtp, now) == -1 ||
	    nodesync_bf_table(bf_login, 1, &login, now) == -1)
		return -1;
	if (store_bf_since(ns.st, ns.bf_seq, &rows) != 0)
		return -1;
	for (i = 0; i < rows.n; i++) {
		const struct store_bf_row *r = &rows.v[i];
		int has_link = 0;
		if (r->seq > ns.bf_seq)
			ns.bf_seq = r->seq;
		if (r->hash == NULL ||
		    sodium_hex2bin(id, sizeof(id), r->hash, strlen(r->hash),
			NULL, &len, NULL) != 0 ||
		    len != BF_ID_LEN)
			continue;
		if (r->link &&
		    sodium_hex2bin(link, sizeof(link), r->link, strlen(r->link),
			NULL, &len, NULL) == 0 &&
		    len == BF_ID_LEN)
			has_link = 1;
		bf_merge(r->tab == 0 ? bf_smtp : bf_login,
		    r->tab == 0 ? &smtp : &login, (int)r->kind, id,
		    has_link ? link : NULL, r->fails, r->last_fail,
		    r->refused_until, now);
	}
	store_bf_rows_free(&rows);
	if (now - ns.pruned >= 3600) {
		int64_t w =
		    smtp.window > login.window ? smtp.window : login.window;
		ns.pruned = now;
		if (store_bf_prune(ns.st, now - w, now) != 0 ||
		    store_login_ip_prune(ns.st, now - now % 3600) != 0)
			return -1;
	}
	return 0;
}

static int
nodesync_publish(const struct conf *conf, int64_t now)
{
	int64_t queued, inflight;

	if (now - ns.published < NODESYNC_PUBLISH)
		return 0;
	qmgr_stats(&queued, &inflight);
	if (store_node_put(ns.st, conf_node_name(conf), ns.started, now, queued,
		inflight) != 0)
		return -1;
	ns.published = now;
	return 0;
}

/* Are there others? Each pass: a node that joins is known within one. */
static int
nodesync_others(const struct conf *conf, int64_t now)
{
	int64_t n;
	int peers, was;

	if (store_node_others(ns.st, conf_node_name(conf),
		now - NODESYNC_PEER_AGE, &n) != 0)
		return -1;
	peers = n > 0;
	was = atomic_exchange(&ns_peers, peers);
	if (was != peers || !ns.peers_told) {
		log_info("nodes.peers node=%s others=%lld",
		    conf_node_name(conf), (long long)n);
		ns.peers_told = 1;
	}
	return 0;
}

/* One pass; 0 if the store answered every part of it. */
static int
nodesync_pass(int64_t now)
{
	const struct conf *conf = conf_current();
	int rc = 0;

	if (guard_flush(ns.st) != 0)
		rc = -1;
	if (rc == 0 &&
	    guard_pull(ns.st, &ns.usage_seq, &ns.block_seq, now) != 0)
		rc = -1;
	if (rc == 0 && nodesync_bf(conf, now) != 0)
		rc = -1;
	if (rc == 0 && nodesync_publish(conf, now) != 0)
		rc = -1;
	if (rc == 0 && nodesync_others(conf, now) != 0)
		rc = -1;
	if (rc == 0) {
		guard_store_seen(now);
		if (ns.lost)
			log_info("store.back node=%s", conf_node_name(conf));
		ns.lost = 0;
	} else if (!ns.lost) {
		ns.lost = 1;
		log_warnx("store.lost node=%s error=\"%s\" (new logins and "
			  "mail get 451 until it is back)",
		    conf_node_name(conf), store_errmsg(ns.st));
	}
	return rc;
}

static void *
nodesync_main(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&ns.mu);
	while (!ns.stopping) {
		pthread_mutex_unlock(&ns.mu);
		nodesync_pass((int64_t)time(NULL));
		pthread_mutex_lock(&ns.mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += NODESYNC_INTERVAL;
		while (!ns.stopping && pthread_cond_timedwait(&ns.wake, &ns.mu,
					   &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&ns.mu);
	return NULL;
}

int
nodesync_start(struct store *st)
{
	pthread_condattr_t ca;

	ns.st = st;
	ns.usage_seq = ns.block_seq = ns.bf_seq = 0;
	ns.started = (int64_t)time(NULL);
	ns.published = ns.pruned = 0;
	ns.lost = 0;
	ns.stopping = 0;
	/* the wait is timed on the monotonic clock: a clock step never
	 * stretches it */
	pthread_cond_destroy(&ns.wake);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ns.wake, &ca);
	pthread_condattr_destroy(&ca);
	guard_store_seen(ns.started);
	if (pthread_create(&ns.thread, NULL, nodesync_main, NULL) != 0)
		return -1;
	(void)pthread_setname_np(ns.thread, "nodesync");
	ns.running = 1;
	return 0;
}

void
nodesync_stop(void)
{
	if (!ns.running)
		return;
	pthread_mutex_lock(&ns.mu);
	ns.stopping = 1;
	pthread_cond_signal(&ns.wake);
	pthread_mutex_unlock(&ns.mu);
	pthread_join(ns.thread, NULL);
	ns.running = 0;
	store_close(ns.st);
	ns.st = NULL;
}
