/*
 * quota: the engine behind sending quotas and the misuse rules. One hash
 * table of owners (users, domains' own sending) shared by every loop and
 * worker thread under one mutex; a check is a look-up and a few
 * comparisons. Windows are fixed (the clock hour, the UTC day), so a
 * reply can say when a quota resets. The server writes changed owners to
 * the store behind, about once a second, and loads them at start.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "quota.h"

#define QUOTA_BUCKETS 4096

const char *const quota_names[QUOTA_N] = { "messages_per_hour",
	"messages_per_day", "recipients_per_day", "recipients_per_message" };

#define QUOTA_B_NONE 0
#define QUOTA_B_TRIPPED 1 /* by a rule here; the store not told yet */
#define QUOTA_B_STORED 2  /* the store says blocked */

struct quota_entry {
	struct quota_key key;
	int64_t lim[QUOTA_N];
	int64_t lim_at; /* when the limits were resolved; 0: never */
	int64_t hour, day;
	int64_t msgs_hour, msgs_day, rcpts_day;
	int64_t excess, rc_ok, rc_refused; /* today */
	int64_t ips_hour;
	uint64_t ips[QUOTA_IPS_MAX];
	int nips;
	int64_t ips_shared; /* distinct addresses this hour, all nodes */
	int blocked; /* QUOTA_B_*: by a rule here, or as the store says */
	int dirty;
	/* Counted here and not yet added to the store's counters (in the
	 * order of quota_counters[]), and the messages accepted since this
	 * owner's counts were last exchanged with the store: past
	 * [quota] node_batch, MAIL waits for an exchange (QUOTA_STALE). */
	int64_t pend[6];
	int64_t unsynced;
	struct quota_entry *next;
};

static struct quota_entry *quota_tab[QUOTA_BUCKETS];
static pthread_mutex_t quota_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t
quota_hour_start(int64_t now)
{
	return now - now % 3600;
}

int64_t
quota_day_start(int64_t now)
{
	return now - now % 86400;
}

void
quota_key_set(struct quota_key *k, int64_t user_id, int64_t domain_id)
{
	k->user_id = user_id;
	k->domain_id = user_id ? 0 : domain_id;
}

void
quota_init(void)
{
	quota_free();
}

void
quota_free(void)
{
	struct quota_entry *e;
	int i;

	pthread_mutex_lock(&quota_mu);
	for (i = 0; i < QUOTA_BUCKETS; i++)
		while ((e = quota_tab[i]) != NULL) {
			quota_tab[i] = e->next;
			free(e);
		}
	pthread_mutex_unlock(&quota_mu);
}

static unsigned
quota_bucket(const struct quota_key *k)
{
	uint64_t h = (uint64_t)k->user_id * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)k->domain_id * 0xc2b2ae3d27d4eb4full;

	return (unsigned)(h >> 32) % QUOTA_BUCKETS;
}

/* Roll the windows forward: a new hour or day starts from zero. */
static void
quota_roll(struct quota_entry *e, int64_t now)
{
	int64_t h = quota_hour_start(now), d = quota_day_start(now);

	if (e->hour != h) {
		e->hour = h;
		e->msgs_hour = 0;
		e->pend[0] = 0;
		e->nips = 0;
		e->ips_shared = 0;
	}
	if (e->day != d) {
		e->day = d;
		e->msgs_day = e->rcpts_day = 0;
		e->excess = e->rc_ok = e->rc_refused = 0;
		memset(e->pend + 1, 0, sizeof(e->pend) - sizeof(e->pend[0]));
		e->unsynced = 0;
	}
}

/* The owner's entry or NULL, as it is; under the lock. */
static struct quota_entry *
quota_find(const struct quota_key *k)
{
	struct quota_entry *e;

	for (e = quota_tab[quota_bucket(k)]; e; e = e->next)
		if (e->key.user_id == k->user_id &&
		    e->key.domain_id == k->domain_id)
			return e;
	return NULL;
}

/* The owner's entry (made if absent), windows rolled; under the lock. */
static struct quota_entry *
quota_get(const struct quota_key *k, int64_t now)
{
	unsigned b = quota_bucket(k);
	struct quota_entry *e = quota_find(k);

	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return NULL;
		e->key = *k;
		e->hour = quota_hour_start(now);
		e->day = quota_day_start(now);
		e->next = quota_tab[b];
		quota_tab[b] = e;
	}
	quota_roll(e, now);
	return e;
}

static void
quota_zero(struct quota_entry *e)
{
	e->msgs_hour = e->msgs_day = e->rcpts_day = 0;
	e->excess = e->rc_ok = e->rc_refused = 0;
	e->nips = 0;
	e->ips_shared = 0;
	e->blocked = QUOTA_B_NONE;
	memset(e->pend, 0, sizeof(e->pend));
	e->unsynced = 0;
	e->dirty = 0; /* the store's rows were deleted with the block */
}

void
quota_set_limits(const struct quota_key *k, const int64_t lim[QUOTA_N],
    int blocked, int64_t now)
{
	struct quota_entry *e;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL) {
		memcpy(e->lim, lim, sizeof(e->lim));
		e->lim_at = now;
		if (blocked)
			e->blocked = QUOTA_B_STORED;
		else if (e->blocked == QUOTA_B_STORED)
			quota_zero(e); /* the operator unblocked them */
	}
	pthread_mutex_unlock(&quota_mu);
}

static enum quota_rc
quota_over(struct quota_verdict *v, const struct quota_entry *e, int which)
{
	v->which = which;
	v->limit = e->lim[which];
	v->resets = which == QUOTA_MSGS_HOUR   ? e->hour + 3600
		    : which == QUOTA_RCPTS_MSG ? 0
					       : e->day + 86400;
	return QUOTA_OVER;
}

/* Would nrcpt recipients (in one message, and today) pass? */
static enum quota_rc
quota_fits_rcpts(const struct quota_entry *e, int nrcpt,
    struct quota_verdict *v)
{
	if (e->blocked)
		return QUOTA_BLOCKED;
	if (e->lim[QUOTA_RCPTS_MSG] && nrcpt > e->lim[QUOTA_RCPTS_MSG])
		return quota_over(v, e, QUOTA_RCPTS_MSG);
	if (e->lim[QUOTA_RCPTS_DAY] &&
	    e->rcpts_day + nrcpt > e->lim[QUOTA_RCPTS_DAY])
		return quota_over(v, e, QUOTA_RCPTS_DAY);
	return QUOTA_OK;
}

/* Would one more message of nrcpt recipients (at least one) pass? */
static enum quota_rc
quota_fits(const struct quota_entry *e, int nrcpt, struct quota_verdict *v)
{
	if (e->blocked)
		return QUOTA_BLOCKED;
	if (e->lim[QUOTA_MSGS_HOUR] && e->msgs_hour >= e->lim[QUOTA_MSGS_HOUR])
		return quota_over(v, e, QUOTA_MSGS_HOUR);
	if (e->lim[QUOTA_MSGS_DAY] && e->msgs_day >= e->lim[QUOTA_MSGS_DAY])
		return quota_over(v, e, QUOTA_MSGS_DAY);
	return quota_fits_rcpts(e, nrcpt ? nrcpt : 1, v);
}

enum quota_rc
quota_check_mail(const struct quota_key *k, int64_t now, int64_t ttl,
    struct quota_verdict *v)
{
	return quota_check_mail_batch(k, now, ttl, 0, v);
}

enum quota_rc
quota_check_mail_batch(const struct quota_key *k, int64_t now, int64_t ttl,
    int64_t batch, struct quota_verdict *v)
{
	struct quota_entry *e;
	enum quota_rc rc = QUOTA_STALE;

	v->which = -1;
	pthread_mutex_lock(&quota_mu);
	/* past the batch, the other nodes' counts first: no node accepts
	 * more than batch messages of an owner unseen by the others */
	if ((e = quota_get(k, now)) != NULL && e->lim_at != 0 &&
	    (ttl == 0 || now - e->lim_at < ttl) &&
	    (batch == 0 || e->unsynced < batch))
		rc = quota_fits(e, 0, v);
	pthread_mutex_unlock(&quota_mu);
	return rc;
}

enum quota_rc
quota_check_rcpt(const struct quota_key *k, int nrcpt, int64_t now,
    struct quota_verdict *v)
{
	struct quota_entry *e;
	enum quota_rc rc = QUOTA_OK;

	v->which = -1;
	pthread_mutex_lock(&quota_mu);
	/* only the recipient quotas: the message ones were checked at MAIL
	 * and are checked again, with the others, at the end of DATA */
	if ((e = quota_get(k, now)) != NULL)
		rc = quota_fits_rcpts(e, nrcpt, v);
	pthread_mutex_unlock(&quota_mu);
	return rc;
}

enum quota_rc
quota_reserve(const struct quota_key *k, int nrcpt, int64_t now,
    struct quota_verdict *v)
{
	struct quota_entry *e;
	enum quota_rc rc = QUOTA_OK;

	v->which = -1;
	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL &&
	    (rc = quota_fits(e, nrcpt, v)) == QUOTA_OK) {
		e->msgs_hour++;
		e->msgs_day++;
		e->rcpts_day += nrcpt;
		e->rc_ok += nrcpt;
		e->pend[0]++;
		e->pend[1]++;
		e->pend[2] += nrcpt;
		e->pend[4] += nrcpt;
		e->unsynced++;
		e->dirty = 1;
	}
	pthread_mutex_unlock(&quota_mu);
	return rc;
}

void
quota_release(const struct quota_key *k, int nrcpt, int64_t reserved)
{
	struct quota_entry *e;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_find(k)) != NULL) {
		if (e->hour == quota_hour_start(reserved) && e->msgs_hour > 0) {
			e->msgs_hour--;
			e->pend[0]--;
		}
		if (e->day == quota_day_start(reserved) && e->msgs_day > 0) {
			int64_t r = e->rcpts_day < nrcpt ? e->rcpts_day : nrcpt,
				o = e->rc_ok < nrcpt ? e->rc_ok : nrcpt;
			e->msgs_day--;
			e->rcpts_day -= r;
			e->rc_ok -= o;
			e->pend[1]--;
			e->pend[2] -= r;
			e->pend[4] -= o;
		}
		e->dirty = 1;
	}
	pthread_mutex_unlock(&quota_mu);
}

/* Block by a rule: only users, only once. Under the lock. */
static int
quota_trip(struct quota_entry *e)
{
	if (e->key.user_id == 0 || e->blocked)
		return 0;
	e->blocked = QUOTA_B_TRIPPED;
	return 1;
}

void
quota_block_stored(const struct quota_key *k)
{
	struct quota_entry *e;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_find(k)) != NULL)
		e->blocked = QUOTA_B_STORED;
	pthread_mutex_unlock(&quota_mu);
}

int
quota_excess(const struct quota_key *k, const struct quota_abuse *a,
    int64_t now)
{
	struct quota_entry *e;
	int block = 0;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL) {
		e->excess++;
		e->pend[3]++;
		e->dirty = 1;
		if (a->excess_blocks && e->excess >= a->excess_blocks)
			block = quota_trip(e);
	}
	pthread_mutex_unlock(&quota_mu);
	return block;
}

int
quota_login_from(const struct quota_key *k, const char *ip,
    const struct quota_abuse *a, int64_t now)
{
	return quota_login_from_new(k, ip, a, now, NULL);
}

int
quota_login_from_new(const struct quota_key *k, const char *ip,
    const struct quota_abuse *a, int64_t now, int *fresh)
{
	struct quota_entry *e;
	uint64_t h;
	int i, block = 0;

	crypto_generichash((unsigned char *)&h, sizeof(h),
	    (const unsigned char *)ip, strlen(ip), NULL, 0);
	if (fresh)
		*fresh = 0;
	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL) {
		for (i = 0; i < e->nips; i++)
			if (e->ips[i] == h)
				break;
		if (i == e->nips && e->nips < QUOTA_IPS_MAX) {
			e->ips[e->nips++] = h;
			if (fresh)
				*fresh = 1;
		}
		if (a->ips_per_hour && (e->nips > a->ips_per_hour ||
					   e->ips_shared > a->ips_per_hour))
			block = quota_trip(e);
	}
	pthread_mutex_unlock(&quota_mu);
	return block;
}

int
quota_login_shared(const struct quota_key *k, int64_t n,
    const struct quota_abuse *a, int64_t now)
{
	struct quota_entry *e;
	int block = 0;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL) {
		if (n > e->ips_shared)
			e->ips_shared = n;
		if (a->ips_per_hour && e->ips_shared > a->ips_per_hour)
			block = quota_trip(e);
	}
	pthread_mutex_unlock(&quota_mu);
	return block;
}

int
quota_rcpt_result(const struct quota_key *k, int accepted, int refused,
    const struct quota_abuse *a, int64_t now)
{
	struct quota_entry *e;
	int block = 0;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL) {
		int64_t was = e->rc_ok;
		e->rc_ok += accepted;
		if (e->rc_ok < 0) /* counted accepted on another day */
			e->rc_ok = 0;
		e->pend[4] += e->rc_ok - was;
		e->rc_refused += refused;
		e->pend[5] += refused;
		e->dirty = 1;
		if (a->rejected_share && e->rc_refused >= a->rejected_min &&
		    e->rc_refused * 100 >=
			a->rejected_share * (e->rc_ok + e->rc_refused))
			block = quota_trip(e);
	}
	pthread_mutex_unlock(&quota_mu);
	return block;
}

static int64_t *
quota_counter(struct quota_entry *e, const char *name, int *hourly)
{
	static const struct {
		const char *name;
		size_t off;
		int hourly;
	} c[] = {
		{ "messages_hour", offsetof(struct quota_entry, msgs_hour), 1 },
		{ "messages_day", offsetof(struct quota_entry, msgs_day), 0 },
		{ "recipients_day", offsetof(struct quota_entry, rcpts_day),
		    0 },
		{ "excess_day", offsetof(struct quota_entry, excess), 0 },
		{ "rcpt_ok_day", offsetof(struct quota_entry, rc_ok), 0 },
		{ "rcpt_refused_day", offsetof(struct quota_entry, rc_refused),
		    0 },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (name == NULL ? 0 : strcmp(name, c[i].name) == 0) {
			*hourly = c[i].hourly;
			return (int64_t *)(void *)((char *)e + c[i].off);
		}
	return NULL;
}

static const char *const quota_row_names[6] = { "messages_hour", "messages_day",
	"recipients_day", "excess_day", "rcpt_ok_day", "rcpt_refused_day" };

static int
quota_counter_idx(const char *name)
{
	int j;

	for (j = 0; j < 6; j++)
		if (strcmp(name, quota_row_names[j]) == 0)
			return j;
	return -1;
}

int64_t
quota_usage_now(const char *counter, int64_t window, int64_t n, int64_t now)
{
	int hourly = strcmp(counter, "messages_hour") == 0;

	return window == (hourly ? quota_hour_start(now) : quota_day_start(now))
		   ? n
		   : 0;
}

/* What the store (the nodes together) counted, plus what this node
 * counted since and has not added yet. */
void
quota_load(const struct quota_key *k, const char *counter, int64_t window,
    int64_t n, int64_t now)
{
	struct quota_entry *e;
	int64_t *p;
	int hourly = 0, j;

	pthread_mutex_lock(&quota_mu);
	if ((e = quota_get(k, now)) != NULL &&
	    (p = quota_counter(e, counter, &hourly)) != NULL &&
	    window == (hourly ? e->hour : e->day) &&
	    (j = quota_counter_idx(counter)) >= 0)
		*p = n + e->pend[j];
	pthread_mutex_unlock(&quota_mu);
}

void
quota_set_blocked(const struct quota_key *k, int blocked, int64_t now)
{
	struct quota_entry *e;

	pthread_mutex_lock(&quota_mu);
	if ((e = blocked ? quota_get(k, now) : quota_find(k)) != NULL) {
		if (blocked)
			e->blocked = QUOTA_B_STORED;
		else if (e->blocked == QUOTA_B_STORED)
			quota_zero(e); /* lifted, on whichever node */
	}
	pthread_mutex_unlock(&quota_mu);
}

struct quota_row {
	struct quota_key key;
	int64_t hour, day, d[6]; /* the deltas */
	int64_t t[6];		 /* the store's totals after them */
	unsigned got;		 /* bit j: t[j] is of our window */
	int gone;
};

/* Remove an owner's entry (the owner no longer exists); under the lock. */
static void
quota_forget(const struct quota_key *k)
{
	struct quota_entry **pp, *e;

	for (pp = &quota_tab[quota_bucket(k)]; (e = *pp) != NULL; pp = &e->next)
		if (e->key.user_id == k->user_id &&
		    e->key.domain_id == k->domain_id) {
			*pp = e->next;
			free(e);
			return;
		}
}

/* Take an entry's unwritten counts into r; under the lock. */
static void
quota_take(struct quota_entry *e, struct quota_row *r)
{
	r->key = e->key;
	r->hour = e->hour;
	r->day = e->day;
	memcpy(r->d, e->pend, sizeof(r->d));
	memset(e->pend, 0, sizeof(e->pend));
	r->gone = 0;
	e->dirty = 0;
	e->unsynced = 0;
}

/* Copy the changed owners (one, with only) under the lock; NULL with *n
 * 0 if none. */
static struct quota_row *
quota_copy_dirty(const struct quota_key *only, size_t *np)
{
	struct quota_row *rows = NULL;
	struct quota_entry *e;
	size_t n = 0, cap = 0, i;

	pthread_mutex_lock(&quota_mu);
	if (only != NULL) {
		if ((e = quota_find(only)) != NULL &&
		    (rows = calloc(1, sizeof(*rows))) != NULL) {
			quota_take(e, &rows[0]);
			n = 1;
		}
		goto copied;
	}
	for (i = 0; i < QUOTA_BUCKETS; i++)
		for (e = quota_tab[i]; e; e = e->next) {
			if (!e->dirty)
				continue;
			if (n == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct quota_row *nr =
				    realloc(rows, c * sizeof(*nr));
				if (nr == NULL)
					goto copied; /* the rest next time */
				rows = nr;
				cap = c;
			}
			quota_take(e, &rows[n++]);
		}
copied:
	pthread_mutex_unlock(&quota_mu);
	*np = n;
	return rows;
}

/*
 * The deltas go to fn, which adds them to the store's counters and says
 * what they hold now (all nodes together); each counter then becomes
 * that total plus what was counted here meanwhile. An owner fn reports
 * gone (1: removed from the store) is forgotten and never holds up the
 * others; an error (-1) stops the batch, which the caller rolls back,
 * and every delta copied is counted as unwritten again.
 */
static int
quota_flush_rows(struct quota_row *rows, size_t n, quota_flush_fn fn, void *arg)
{
	struct quota_entry *e;
	int64_t twin;
	size_t i;
	int j, rc = 0, r;

	for (i = 0; i < n && rc == 0; i++)
		for (j = 0; j < 6; j++) {
			int64_t w = j == 0 ? rows[i].hour : rows[i].day;
			r = fn(arg, &rows[i].key, quota_row_names[j], w,
			    rows[i].d[j], &rows[i].t[j], &twin);
			if (r == 1) {
				rows[i].gone = 1;
				break;
			}
			if (r != 0) {
				rc = -1;
				break;
			}
			/* the store may hold a later window (ours turned
			 * on another node first): nothing to learn */
			if (twin == w)
				rows[i].got |= 1u << j;
		}
	pthread_mutex_lock(&quota_mu);
	for (i = 0; i < n; i++) {
		if (rows[i].gone) {
			quota_forget(&rows[i].key);
			continue;
		}
		if ((e = quota_find(&rows[i].key)) == NULL)
			continue;
		for (j = 0; j < 6; j++) {
			int hourly = 0;
			int64_t *p =
			    quota_counter(e, quota_row_names[j], &hourly);
			int64_t w = hourly ? rows[i].hour : rows[i].day;
			if (w != (hourly ? e->hour : e->day))
				continue; /* the window turned meanwhile */
			if (rc != 0) {	  /* rolled back: count it again */
				e->pend[j] += rows[i].d[j];
				e->dirty = 1;
			} else if (rows[i].got & (1u << j)) {
				*p = rows[i].t[j] + e->pend[j];
			}
		}
	}
	pthread_mutex_unlock(&quota_mu);
	return rc;
}

int
quota_flush(quota_flush_fn fn, void *arg)
{
	struct quota_row *rows;
	size_t n;
	int rc;

	rows = quota_copy_dirty(NULL, &n);
	rc = quota_flush_rows(rows, n, fn, arg);
	free(rows);
	return rc;
}

int
quota_flush_one(const struct quota_key *k, quota_flush_fn fn, void *arg)
{
	struct quota_row *rows;
	size_t n;
	int rc;

	rows = quota_copy_dirty(k, &n);
	rc = quota_flush_rows(rows, n, fn, arg);
	free(rows);
	return rc;
}
