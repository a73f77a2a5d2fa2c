/*
 * guard: the server's side of abuse control. It turns the config into
 * the quota engine's and the brute-force counters' settings, resolves an
 * owner's limits from the store (on a worker), and blocks a user when a
 * misuse rule trips: one UPDATE that only one caller can win, and only
 * the winner writes the two notices (to the user, to the operator)
 * straight into the spool, from the null sender, so they are delivered
 * and signed by the queue and can never bounce or loop.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard.h"
#include "../spool/spool.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/buf.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

static _Atomic int64_t guard_seen_at;

void
guard_store_seen(int64_t now)
{
	atomic_store(&guard_seen_at, now);
}

int
guard_store_stale(int64_t now)
{
	int64_t seen = atomic_load(&guard_seen_at);

	/* 0: the sync thread has not run (unit tests, the start) */
	return seen != 0 && now - seen > conf_current()->store_stale_after;
}

void
guard_abuse_conf(const struct conf *c, struct quota_abuse *a)
{
	a->excess_blocks = c->abuse_excess_blocks;
	a->ips_per_hour = c->abuse_ips_per_hour;
	a->rejected_share = c->abuse_rejected_share;
	a->rejected_min = c->abuse_rejected_min;
}

void
guard_bf_conf(const struct conf *c, struct bf_conf *b)
{
	memset(b, 0, sizeof(*b)); /* a login under attack slows, not refuses */
	b->window = c->auth_fail_window;
	b->ip_slow_after = c->auth_ip_slow_after;
	b->ip_refuse_after = c->auth_ip_refuse_after;
	b->refuse_time = c->auth_refuse_time;
	b->login_slow_after = c->auth_login_slow_after;
	b->slow_delay_ms = c->auth_slow_delay_ms;
	b->slow_max_ms = c->auth_slow_max_ms;
}

void
guard_conf_limits(const struct conf *c, const int64_t stored[QUOTA_N],
    int64_t lim[QUOTA_N])
{
	const int64_t def[QUOTA_N] = { c->quota_msgs_hour, c->quota_msgs_day,
		c->quota_rcpts_day, c->quota_rcpts_msg };
	int i;

	for (i = 0; i < QUOTA_N; i++)
		lim[i] = stored[i] >= 0 ? stored[i] : def[i];
}

int
guard_limits(struct store *st, const struct conf *c, const struct quota_key *k,
    int64_t now)
{
	int64_t q[QUOTA_N], lim[QUOTA_N];
	int blocked = 0;

	if (store_quota_resolve(st, k->user_id, k->domain_id, q, &blocked) != 0)
		return -1;
	guard_conf_limits(c, q, lim);
	quota_set_limits(k, lim, blocked, now);
	return 0;
}

static void
guard_date(int64_t now, char *out, size_t len)
{
	time_t t = (time_t)now;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* One notice into the spool; its queue id is handed to the queue. */
static int
guard_notice(const struct conf *c, const char *to, const char *subject,
    const char *text, int64_t now)
{
	struct spool_rcpt r;
	struct spool_env env;
	struct buf b;
	struct iovec iov;
	char date[64];
	int rc;

	memset(&env, 0, sizeof(env));
	memset(&r, 0, sizeof(r));
	spool_new_id(env.id);
	env.time = now;
	/* the null sender: a notice is never bounced, so it cannot loop */
	str_lcpy(env.ip, "127.0.0.1", sizeof(env.ip));
	str_lcpy(env.body, "8BITMIME", sizeof(env.body));
	str_lcpy(r.addr, to, sizeof(r.addr));
	env.rcpts = &r;
	env.nrcpt = 1;
	guard_date(now, date, sizeof(date));
	buf_init(&b, 64 * 1024);
	buf_printf(&b,
	    "Received: by %s (postern) id %s;\r\n\t%s\r\n"
	    "From: Postmaster <postmaster@%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s.notice@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n%s",
	    c->hostname, env.id, date, c->hostname, to, subject, date, env.id,
	    c->hostname, text);
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	rc = spool_write(&env, &iov, 1);
	buf_free(&b);
	if (rc == 0) {
		log_info("abuse.notice queue=%s to=<%s>", env.id, to);
		spool_announce(env.id);
	} else {
		log_warnx("abuse.notice to=<%s> error=\"cannot spool\"", to);
	}
	return rc;
}

int
guard_block(struct store *st, const struct conf *c, const struct quota_key *k,
    const char *login, const char *reason, int64_t now)
{
	char subject[512], text[2048];
	int won;

	if (k->user_id == 0)
		return 0;
	if ((won = store_user_autoblock(st, k->user_id, reason, now)) < 0) {
		log_warnx("abuse.block user=%s error=\"%s\"", login,
		    store_errmsg(st));
		return -1;
	}
	quota_block_stored(k);
	if (won == 0) /* blocked already: someone else told them */
		return 0;
	log_info("abuse.block user=%s reason=\"%s\"", login, reason);
	snprintf(subject, sizeof(subject), "Outgoing mail of %s is blocked",
	    login);
	snprintf(text, sizeof(text),
	    "Hello,\r\n\r\n"
	    "the outgoing mail of %s through %s has been blocked:\r\n\r\n"
	    "    %s\r\n\r\n"
	    "This usually means that the password of the account is known\r\n"
	    "to someone else, or that a device or program sends more mail\r\n"
	    "than it should. Your mailbox, the control panel and reading\r\n"
	    "mail still work. Change your SMTP password in the control\r\n"
	    "panel and contact the operator of this service to have the\r\n"
	    "block lifted.\r\n",
	    login, c->hostname, reason);
	guard_notice(c, login, subject, text, now);
	if (c->abuse_notify[0]) {
		snprintf(subject, sizeof(subject), "postern blocked %s: %.200s",
		    login, reason);
		snprintf(text, sizeof(text),
		    "postern on %s blocked the outgoing mail of %s:\r\n\r\n"
		    "    %s\r\n\r\n"
		    "The user was notified. See what happened with\r\n\r\n"
		    "    postern log auth %s\r\n"
		    "    postern user show %s\r\n\r\n"
		    "and lift the block with\r\n\r\n"
		    "    postern user unblock %s\r\n",
		    c->hostname, login, reason, login, login, login);
		guard_notice(c, c->abuse_notify, subject, text, now);
	}
	return 1;
}

struct guard_job {
	struct worker_job base;
	struct quota_key key;
	char login[ADDR_MAX + 1];
	char reason[256];
};

static void
guard_job_run(struct worker_job *j, void *ctx)
{
	struct guard_job *g = (struct guard_job *)j;

	guard_block(store_thread(), conf_current(), &g->key, g->login,
	    g->reason, (int64_t)time(NULL));
}

static void
guard_job_done(struct worker_job *j)
{
	free(j);
}

void
guard_block_submit(struct workers_loop *wl, const struct quota_key *k,
    const char *login, const char *reason)
{
	struct guard_job *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return;
	g->base.run = guard_job_run;
	g->base.done = guard_job_done;
	g->key = *k;
	str_lcpy(g->login, login, sizeof(g->login));
	str_lcpy(g->reason, reason, sizeof(g->reason));
	workers_submit(wl, &g->base);
}

/* worker: recipients of a user's message refused by their servers */
void
guard_refused(void *ctx, const char *login, int n)
{
	struct store *st = store_thread();
	const struct conf *c = conf_current();
	int64_t now = (int64_t)time(NULL);
	struct quota_abuse ab;
	struct store_user u;
	struct quota_key k;
	struct addr a;
	char why[160];

	if (strchr(login, '@') == NULL ||
	    addr_parse(login, &a, why, sizeof(why)) == -1 ||
	    store_user_get(st, &a, &u) != 0)
		return;
	quota_key_set(&k, u.id, u.domain_id);
	guard_abuse_conf(c, &ab);
	/* accepted at DATA, refused after all */
	if (quota_rcpt_result(&k, -n, n, &ab, now))
		guard_block(st, c, &k, login, GUARD_REFUSED_REASON, now);
}

struct guard_flushing {
	struct store *st;
	int begun;   /* a transaction only when there is something to write */
	int64_t seq; /* the number of this flush ("usage") */
};

static int
guard_put(void *arg, const struct quota_key *k, const char *counter,
    int64_t window, int64_t delta, int64_t *total, int64_t *twindow)
{
	struct guard_flushing *f = arg;

	if (!f->begun) {
		if (store_begin(f->st) == -1)
			return -1;
		f->begun = 1;
		if ((f->seq = store_seq_next(f->st, "usage")) < 0)
			return -1;
	}
	switch (store_usage_add(f->st, k->user_id, k->domain_id, counter,
	    window, delta, f->seq, total, twindow)) {
	case 0:
		return 0;
	case STORE_NOTFOUND: /* removed: forget it, write the others */
		return 1;
	default:
		return -1;
	}
}

static int
guard_flush_end(struct store *st, struct guard_flushing *f, int rc)
{
	if (rc == 0 && (!f->begun || store_commit(st) == 0))
		return 0;
	log_warnx("quota.flush error=\"%s\"", store_errmsg(st));
	if (f->begun)
		store_rollback(st);
	return -1;
}

int
guard_flush(struct store *st)
{
	struct guard_flushing f = { st, 0, 0 };

	return guard_flush_end(st, &f, quota_flush(guard_put, &f));
}

int
guard_sync_owner(struct store *st, const struct quota_key *k)
{
	struct guard_flushing f = { st, 0, 0 };

	return guard_flush_end(st, &f, quota_flush_one(k, guard_put, &f));
}

int
guard_pull(struct store *st, int64_t *usage_seq, int64_t *block_seq,
    int64_t now)
{
	struct store_usage_rows rows;
	struct store_block_rows b;
	size_t i;

	if (store_usage_since(st, *usage_seq, &rows) != 0)
		return -1;
	for (i = 0; i < rows.n; i++) {
		const struct store_usage_row *r = &rows.v[i];
		struct quota_key k = { r->user_id, r->domain_id };
		quota_load(&k, r->counter, r->window, r->n, now);
		if (r->seq > *usage_seq)
			*usage_seq = r->seq;
	}
	store_usage_rows_free(&rows);
	if (store_blocks_since(st, *block_seq, &b) != 0)
		return -1;
	for (i = 0; i < b.n; i++) {
		struct quota_key k = { b.v[i].user_id, 0 };
		quota_set_blocked(&k, (int)b.v[i].blocked, now);
		if (b.v[i].seq > *block_seq)
			*block_seq = b.v[i].seq;
	}
	store_block_rows_free(&b);
	return 0;
}

int
guard_load(struct store *st, int64_t now)
{
	struct store_usage_rows rows;
	size_t i;

	if (store_usage_list(st, 0, 0, &rows) != 0)
		return -1;
	for (i = 0; i < rows.n; i++) {
		const struct store_usage_row *r = &rows.v[i];
		struct quota_key k = { r->user_id, r->domain_id };
		quota_load(&k, r->counter, r->window, r->n, now);
	}
	store_usage_rows_free(&rows);
	return 0;
}
